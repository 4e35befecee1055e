"""The ``sesmail`` console script: ``lint``, ``check``, ``doctor``, ``outcomes``, ``addresses`` and ``workmail``.

Exit codes: 0 no finding / ALLOW, 1 findings / DENY, 2 usage error or unreadable input (one line on stderr);
``outcomes``: 1 when a stored message has no outcome or failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..doctor import cli as doctor_cli
from ..doctor import deferred as deferred_cli
from ..doctor import outcomes as outcomes_cli
from ..workmail_exit import cli as workmail_cli
from .intrinsics import StackContext, partition_of_region, unresolved

DEFAULT_PATH = "cdk.out"


class _Parser(argparse.ArgumentParser):
    """argparse that prints one line and exits 2 on a usage error (its default is usage + message)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(*, with_check: bool = True) -> argparse.ArgumentParser:
    """The ``sesmail`` argument parser with its ``lint`` and ``check`` subcommands (``check``'s own arguments only
    ``with_check``)."""
    parser = _Parser(prog="sesmail", description="Offline checks of the policies in synthesized CDK templates.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    lint = commands.add_parser(
        "lint",
        help="report policy mistakes in synthesized templates",
        description="Report policy mistakes in synthesized templates (exit 1 when any finding fails the lint).",
    )
    lint.add_argument(
        "paths", nargs="*", metavar="PATH", help=f"template files or directories (default {DEFAULT_PATH}/)"
    )
    lint.add_argument("--config", help="suppression file (default: sesmail-lint.json in the working directory, if any)")
    _add_context_options(lint)
    lint.add_argument("--list-rules", action="store_true", help="print the rule ids and what each reports, then exit")
    lint.add_argument(
        "--show-suppressed",
        action="store_true",
        help="also print each suppressed finding with its reason (the summary line counts them either way)",
    )
    lint.add_argument(
        "--json", action="store_true", help="print the findings, unused suppressions and notes as one JSON object"
    )
    lint.set_defaults(handler=_run_lint)

    check = commands.add_parser(
        "check",
        help="would this request be allowed? (evaluates the templates' policies)",
        description="Evaluate one request against the policies in the templates: ALLOW (exit 0) or DENY (exit 1).",
    )
    doctor_cli.add_arguments(commands.add_parser("doctor", help="check a deployed environment against cdk.out"))
    outcomes_cli.add_arguments(
        commands.add_parser(
            "outcomes",
            help="each stored message and its outcome (forwarded, notice, held, own-loop...), and those with none",
            description="List the deployed environment's stored messages and their outcomes (exit 1 when one has "
            "none or failed, 2 on bad usage or missing credentials).",
        )
    )
    addresses = commands.add_parser(
        "addresses",
        help="every address an environment receives, where its mail goes, who may send as it (offline)",
        description="Print an environment's address book from cdk.json (exit 2 on a bad environment or setting).",
    )
    _add_addresses_arguments(addresses)
    workmail_cli.add_arguments(
        commands.add_parser(
            "workmail",
            help="leave WorkMail: inventory an organization, export its mailboxes",
            description="Tools for leaving Amazon WorkMail (AWS ends it on 2027-03-31); see docs/leaving-workmail.md.",
        ),
        _Parser,
    )
    deferred_cli.add_arguments(
        commands.add_parser("forward-deferred", help="forward the messages the hourly forwarding cap deferred")
    )
    init = commands.add_parser(
        "init",
        help="make a company's own project that runs the installed sesmail app (pip install 'sesmail[app]')",
        description="Write cdk.json, package.json, mail.json and .gitignore into DIR: a project of the company's "
        "own that synthesizes its environments with the installed sesmail (docs/configuration.md). Never overwrites.",
    )
    init.add_argument("directory", metavar="DIR", type=Path, help="the project's folder (created if missing)")
    init.add_argument(
        "--flags-only",
        action="store_true",
        help="in an existing project: take this release's cdk.json feature flags and package.json pins, keep the rest",
    )
    init.set_defaults(handler=_run_init)
    if with_check:
        # The check subcommand (its arguments and its run) lives in sesmail.policy.check; imported only when used.
        from . import check as check_module

        check_module.add_arguments(check)
        check.set_defaults(handler=check_module.run)
    return parser


def _add_addresses_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("environment", metavar="ENVIRONMENT", help="an environment of cdk.json's environments context")
    parser.add_argument("--app-dir", default=".", type=Path, help="the app directory with cdk.json (default .)")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the company's configuration file (default: cdk.json's context config, $SESMAIL_CONFIG, else cdk.json)",
    )
    parser.add_argument("--json", action="store_true", help="print the address book as one JSON object")
    parser.set_defaults(handler=_run_addresses)


def _installed_app() -> Any:
    """The installed sesmail app (``sesmail_app``, the wheel's ``[app]`` extra), or ``None``."""
    import importlib.util

    return importlib.import_module("sesmail_app") if importlib.util.find_spec("sesmail_app") else None


def _run_addresses(args: argparse.Namespace) -> int:
    # The app's own settings reader reads the environments as synth does: the clone's stacks/ beside its cdk.json
    # (as app.py imports it), else the installed app (a project made by `sesmail init`).
    app_dir = Path(args.app_dir).resolve()
    if (app_dir / "stacks" / "addresses_cli.py").is_file():
        if str(app_dir) not in sys.path:
            sys.path.insert(0, str(app_dir))
        from stacks import addresses_cli
    elif _installed_app() is not None:
        from sesmail_app import addresses_cli  # type: ignore[no-redef]
    else:
        raise _UsageError(
            f"--app-dir: {args.app_dir} is not the sesmail app (no stacks/addresses_cli.py) and no sesmail app is "
            "installed (sesmail_app)"
        )
    return int(addresses_cli.run(args))


def _run_init(args: argparse.Namespace) -> int:
    import importlib.util

    # The project runs `python -m sesmail_app`, which runs cdk-nag's checks: the wheel's [app] extra brings it.
    if _installed_app() is None or importlib.util.find_spec("cdk_nag") is None:
        raise _UsageError("init: the sesmail app needs cdk-nag: install sesmail with its app extra (sesmail[app])")
    from sesmail_app import init_project

    try:
        changes = init_project.release_changes(args.directory) if args.flags_only else []
        written = init_project.init(args.directory, flags_only=args.flags_only)
    except init_project.InitError as error:
        raise _UsageError(str(error)) from None
    for line in changes:
        print(f"changed {line}")
    for path in written:
        print(f"wrote {path}")
    return 0


def _add_context_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stack context (used when a template is not in a cloud assembly with a manifest)")
    group.add_argument("--account", help="12-digit AWS account id")
    group.add_argument("--region", help="AWS region, e.g. us-east-1")
    group.add_argument("--partition", help="aws, aws-cn or aws-us-gov (default: from the region)")


def context_defaults(args: argparse.Namespace) -> StackContext | None:
    """The stack context given by ``--account``/``--region``/``--partition``, or ``None`` when none was."""
    account = getattr(args, "account", None)
    region = getattr(args, "region", None)
    partition = getattr(args, "partition", None)
    if not (account or region or partition):
        return None
    region = region or unresolved({"Ref": "AWS::Region"})
    return StackContext(
        account=account or unresolved({"Ref": "AWS::AccountId"}),
        region=region,
        partition=partition or partition_of_region(region),
    )


def _run_lint(args: argparse.Namespace) -> int:
    from .findings import RULES
    from .lint import lint

    if args.list_rules:
        for rule, text in RULES.items():
            print(f"{rule}  {text}")
        return 0
    if args.account is not None and not (args.account.isdigit() and len(args.account) == 12):
        raise _UsageError(f"--account: {args.account!r} is not a 12-digit AWS account id")
    report = lint(args.paths or [DEFAULT_PATH], config=args.config, defaults=context_defaults(args))
    from . import iamdb

    info = iamdb.data_info()
    stale = iamdb.staleness_note()
    failing = sum(f.fails for f in report.findings)
    suppressed = sum(f.suppressed is not None for f in report.findings)
    notes = len(report.findings) - failing - suppressed
    if args.json:
        print(json.dumps(_lint_json(report, info, stale, failing, suppressed, notes), indent=2))
        return 1 if report.failed else 0
    for finding in report.findings:
        # A suppressed finding was acknowledged in code with its reason; the summary counts it, and printing it on
        # every run (one long line per stack) would bury what fails.
        if finding.suppressed is None or args.show_suppressed:
            print(finding.format())
    for entry in report.unused:
        where = f" {entry.template}:{entry.logical_id}" + (f":{entry.statement}" if entry.statement else "")
        print(f"sesmail lint: warning: unused suppression {entry.rule}{where} ({entry.origin})", file=sys.stderr)
    if stale:
        print(f"sesmail lint: note: {stale}", file=sys.stderr)
    hint = " (--show-suppressed lists them)" if suppressed and not args.show_suppressed else ""
    print(
        f"sesmail lint: {report.templates} template(s), {failing} finding(s), {suppressed} suppressed{hint}, "
        f"{notes} note(s)",
        file=sys.stderr,
    )
    return 1 if report.failed else 0


def _lint_json(report: Any, info: Any, stale: str | None, failing: int, suppressed: int, notes: int) -> dict[str, Any]:
    """``sesmail lint --json``: one object; ``failed`` mirrors the exit status."""
    return {
        "failed": report.failed,
        "templates": report.templates,
        "counts": {"findings": failing, "suppressed": suppressed, "notes": notes},
        "findings": [
            {
                "template": f.template,
                "logical_id": f.logical_id,
                "statement": f.statement,
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
                "fails": f.fails,
                "suppressed": f.suppressed,
                "suppressed_by": f.suppressed_by,
            }
            for f in report.findings
        ],
        "unused_suppressions": [
            {
                "rule": e.rule,
                "template": e.template,
                "logical_id": e.logical_id,
                "statement": e.statement,
                "origin": e.origin,
            }
            for e in report.unused
        ],
        "iam_data": {"source": info.source, "date": info.date.isoformat(), "age_days": info.age_days()},
        "notes": [stale] if stale else [],
    }


class _UsageError(Exception):
    """Bad input: reported in one line, exit 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sesmail`` with ``argv`` (default: the command line); returns the exit code."""
    from .suppressions import ConfigError
    from .templates import TemplateError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(with_check=next((a for a in argv if not a.startswith("-")), None) == "check")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    try:
        return int(args.handler(args))
    except (_UsageError, TemplateError, ConfigError) as error:
        print(f"sesmail {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
