"""``sesmail workmail inventory`` and ``sesmail workmail export``.

Exit status: 0 done; 1 (export only) a mailbox is not exported yet; 2 a bad flag value; 3 AWS refused or could not
be reached (no credentials, access denied, no such organization). Every failure is one line on stderr (with
``--json``: a JSON object ``{"error": {"code", "message", "exitStatus"}}`` on stdout as well); never a traceback.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .failure import fail

if TYPE_CHECKING:  # botocore is imported only when a workmail command runs (``sesmail lint`` stays light)
    from .aws import ClientFactory


def add_arguments(parser: argparse.ArgumentParser, parser_class: Any) -> None:
    """Add ``workmail``'s subcommands to ``parser``."""
    commands = parser.add_subparsers(dest="workmail_command", required=True, parser_class=parser_class)
    inventory = commands.add_parser(
        "inventory",
        help="list every address a WorkMail organization accepts and propose an address book (read-only)",
        description="Read every user, group, resource, alias and mail domain of a WorkMail organization, each "
        "mailbox's size, and the features in use that sesmail has no equivalent for (read-only).",
    )
    _common(inventory)
    inventory.add_argument(
        "--out", type=Path, metavar="FILE", help="write the proposed address book (JSON) to FILE (never overwritten)"
    )
    inventory.set_defaults(handler=run_inventory)

    export = commands.add_parser(
        "export",
        help="export every mailbox to the environment's export bucket (resumable)",
        description="Export every mailbox of the organization with StartMailboxExportJob: at most 10 jobs at a time, "
        "each mailbox at most once per 24 hours; a re-run continues where the last one stopped.",
    )
    _export_arguments(export)
    _common(export)
    export.set_defaults(handler=_run_export)


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("environment", metavar="ENV", help="the environment whose stack holds the export target")
    parser.add_argument("--bucket", help="the export bucket (instead of the stack's outputs; with the two below)")
    parser.add_argument("--role-arn", help="the role export.workmail.amazonaws.com assumes")
    parser.add_argument("--kms-key-arn", help="the customer-managed key that encrypts the export")
    parser.add_argument("--prefix", help="key prefix in the bucket (default: the stack's, else mailbox-export)")
    parser.add_argument("--wait", action="store_true", help="keep going until no job runs and none can start")
    parser.add_argument("--poll-seconds", type=float, default=60.0, metavar="S", help="poll interval with --wait")
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write the verification report (JSON)")


def _run_export(args: argparse.Namespace) -> int:
    from .export import run

    return run(args)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--organization-id", required=True, metavar="m-…", help="the WorkMail organization id")
    parser.add_argument("--region", help="the organization's region (default: boto3's default region)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run_inventory(args: argparse.Namespace, factory: ClientFactory | None = None) -> int:
    """``sesmail workmail inventory``."""
    from . import inventory
    from .aws import (
        AWS_FAILURES,
        EXIT_OK,
        AwsError,
        UsageError,
        check_organization_id,
        default_factory,
        describe,
        workmail_region,
    )

    try:
        organization_id = check_organization_id(args.organization_id)
        region = workmail_region(args.region)
        if args.out is not None and args.out.exists():
            raise UsageError(f"--out: {str(args.out)!r} exists (it may hold destinations filled in): choose another")
        try:
            client = (factory or default_factory)("workmail", region)
        except AWS_FAILURES as error:  # a named profile that does not exist, a malformed config file
            raise describe(error, "workmail client") from None
        inv = inventory.read(client, organization_id, region)
    except (UsageError, AwsError) as error:
        return fail(args, error)
    if args.out is not None:
        try:
            args.out.write_text(json.dumps(inventory.address_book(inv), indent=2) + "\n")
        except OSError as error:
            return fail(args, UsageError(f"--out: cannot write {str(args.out)!r}: {error.strerror}"))
    if args.json:
        print(json.dumps(inv.to_json(), indent=2, default=str))
    else:
        print(text(inv, args.out))
    return EXIT_OK


def text(inv: Any, out: Path | None) -> str:
    """The inventory for a person."""
    from .inventory import ALIAS, GROUP, IN_USE, RESOURCE, USER, domain_of, movable, not_movable

    lines = [f"organization {inv.organization_id} ({inv.region}), state {inv.state or '?'}"]
    domains = []
    for domain, default in inv.domains:
        label = domain + (" (default)" if default else "")
        if not movable(domain):
            label += " (WorkMail's test domain: its addresses end with the organization)"
        domains.append(label)
    lines.append("mail domains: " + (", ".join(domains) or "none"))
    counts = {kind: len(inv.of_kind(kind)) for kind in (USER, GROUP, RESOURCE, ALIAS)}
    lines.append(
        f"addresses: {counts[USER]} user(s), {counts[GROUP]} group(s), {counts[RESOURCE]} resource(s), "
        f"{counts[ALIAS]} alias(es)"
    )
    for a in inv.addresses:
        line = f"  {a.kind:<9} {a.address}"
        if a.kind == ALIAS:
            line += f" -> {a.target}"
        elif a.kind == GROUP:
            nested = set(a.member_groups or [])
            members = [m + (" (group)" if m in nested else "") for m in a.members or []]
            line += ": " + (", ".join(members) or "no enabled member")
        if a.mailbox_size_mb is not None:
            line += f"  mailbox {a.mailbox_size_mb:g} MB of {a.mailbox_quota_mb} MB"
        lines.append(line)
    total = sum(a.mailbox_size_mb or 0 for a in inv.addresses)
    lines.append(f"mailboxes: {total:g} MB in all")
    if inv.skipped:
        lines.append("skipped (not ENABLED: WorkMail accepts no mail for them):")
        lines += [f"  {kind:<9} {name} ({state})" for kind, name, state in inv.skipped]
    lines.append("WorkMail features with no equivalent in sesmail:")
    for f in inv.features:
        line = f"  {f.status:<12} {f.name}: {f.detail}"
        if f.status != IN_USE:
            lines.append(line)
            continue
        lines.append(f"{line} -> {f.instead}")
    for note in inv.notes:
        lines.append(f"note: {note}")
    stuck = not_movable(inv)
    if stuck:
        lines.append(f"not movable ({domain_of(stuck[0])} belongs to AWS): {', '.join(stuck)}")
    if out is not None:
        lines.append(f"proposed address book written to {out}: fill in every `to` before synth accepts it")
    return "\n".join(lines)
