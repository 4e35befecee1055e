"""``sesmail addresses ENVIRONMENT [--app-dir DIR] [--json]``: the environment's address book, offline.

Every address the environment receives (with its aliases), where its mail goes (groups expanded), who may send as
it, and what happens to any other recipient, read from cdk.json exactly as synth reads it (no AWS call, no cdk.out).
The JSON form is documented in ``docs/addresses.md`` (version 1). Exit status: 0, or 2 with one line on stderr for a
bad ENVIRONMENT, an unreadable cdk.json or a bad setting.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

#: SES, when no rule of the active set matches a recipient (docs/addresses.md cites the page).
REJECT_NOTE = "SES rejects it (no rule of the active rule set matches the recipient)"


class _Usage(Exception):
    """One line for stderr, exit 2."""


def _load(app_dir: Path, name: str, flag: Path | None = None) -> Any:
    from sesmail.app_config import tool_config, tool_environments

    from .reader import SettingsError
    from .settings import parse_environment

    try:
        environments, source = tool_environments(app_dir, tool_config(app_dir, flag))
    except ValueError as error:
        raise _Usage(str(error)) from None
    if name not in environments:
        known = ", ".join(sorted(environments))
        raise _Usage(f"ENVIRONMENT: {name!r} is not in {source}'s environments (known: {known or 'none'})")
    try:
        return parse_environment(name, environments[name])
    except SettingsError as error:
        raise _Usage(str(error)) from None


def describe(settings: Any) -> dict[str, Any]:
    """The JSON form (version 1) of one environment's address book."""
    book = settings.address_book
    inbound = settings.inbound
    shared = bool(inbound and inbound.smtp_credentials)
    mailboxes = {a.lower() for a in settings.addresses()}
    first = settings.mail_domains[0].domain
    delegates = settings.sending.delegates if settings.sending is not None else ()
    addresses = []
    for entry in book.addresses if book is not None else ():
        address = entry.address.lower()
        people = [p.name for p in settings.people if address in (a.lower() for a in p.addresses)]
        named = [
            d.policy_name
            for d in delegates
            if address in ((box if "@" in box else f"{box}@{first}").lower() for box in d.from_mailboxes)
        ]
        addresses.append(
            {
                "address": entry.address,
                "aliases": list(entry.aliases),
                "destinations": list(entry.destinations),
                "sendAs": people,
                "sharedSmtpUser": shared and address in mailboxes,
                "delegates": named,
                "kind": entry.kind,
                "storedUnder": entry.prefix,
            }
        )
    domains = [
        {"domain": d.domain, "otherRecipients": d.other_recipients, "otherRecipientsNotify": d.notify}
        for d in (book.domains if book is not None else ())
    ]
    other = "store" if any(d["otherRecipients"] == "store" for d in domains) else "reject"
    return {
        "version": 1,
        "environment": settings.name,
        "workmail": settings.workmail is not None,
        "addresses": addresses,
        "otherRecipients": other,
        "domains": domains,
    }


def _text(described: dict[str, Any]) -> str:
    lines = [f"{described['environment']}: {len(described['addresses'])} address(es)"]
    for entry in described["addresses"]:
        aliases = f" (aliases: {', '.join(entry['aliases'])})" if entry["aliases"] else ""
        lines.append(f"{entry['address']}{aliases}")
        where = ", ".join(entry["destinations"]) or "stored only (nobody forwarded)"
        if described["workmail"] and not entry["destinations"]:
            where = "WorkMail's own rule delivers it (sesmail stores a copy first)"
        lines.append(f"  mail goes to: {where}; stored under {entry['storedUnder']}")
        senders = [*entry["sendAs"]]
        if entry["sharedSmtpUser"]:
            senders.append("the shared SMTP user")
        senders.extend(f"delegate {d}" for d in entry["delegates"])
        if described["workmail"]:
            senders.append("WorkMail (its sending authorization on the domain)")
        lines.append(f"  may send as it: {', '.join(senders) or 'nobody'}")
    for domain in described["domains"]:
        if described["workmail"]:
            what = "WorkMail's own rule decides (sesmail's rules only store ahead of it)"
        elif domain["otherRecipients"] == "store":
            what = f"stored under the address book's prefix; {domain['otherRecipientsNotify']} gets a notice"
        else:
            what = REJECT_NOTE
        lines.append(f"any other recipient @{domain['domain']}: {what}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the address book; 0, or 2 with one line on stderr."""
    try:
        settings = _load(args.app_dir, args.environment, getattr(args, "config", None))
    except _Usage as error:
        print(f"sesmail addresses: error: {error}", file=sys.stderr)
        return 2
    described = describe(settings)
    print(json.dumps(described, indent=2) if args.json else _text(described))
    return 0
