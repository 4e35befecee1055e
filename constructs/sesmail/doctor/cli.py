"""``sesmail doctor ENVIRONMENT [--app-dir DIR] [--json] [--round-trip] [--nameserver HOST[:PORT]]``.

Exit status: 0 when no check fails, 1 when one does, 2 on bad usage or an unreadable app directory (one line on
stderr). Progress of long checks goes to stderr, so ``--json`` output stays parseable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .expected import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date

    from .live import ClientFactory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``doctor`` subcommand's arguments to ``parser``."""
    parser.add_argument("environment", metavar="ENVIRONMENT", help="an environment of cdk.json's environments context")
    parser.add_argument(
        "--app-dir", default=".", type=Path, help="the app directory with cdk.json and cdk.out (default .)"
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON (for CI)")
    parser.add_argument(
        "--round-trip", action="store_true", help="also send a test message mailbox to mailbox and time each hop"
    )
    parser.add_argument(
        "--round-trip-timeout", type=float, default=300.0, metavar="SECONDS", help="bound of each wait (default 300)"
    )
    parser.add_argument(
        "--nameserver", metavar="HOST[:PORT]", help="ask this DNS server (default: the system's resolvers)"
    )
    parser.set_defaults(handler=run)


def _progress(message: str) -> None:
    print(f"sesmail doctor: {message}", file=sys.stderr, flush=True)


def run(
    args: argparse.Namespace, factory: ClientFactory | None = None, *, today: Callable[[], date] | None = None
) -> int:
    """Run every check and print the report; returns the exit status. ``today`` is the clock of the WorkMail
    end-of-support warning (default: :func:`sesmail.doctor.workmail_checks.today`)."""
    from . import (
        auth_checks,
        dns_checks,
        provider_checks,
        receiving_checks,
        report,
        round_trip,
        ses_checks,
        smtp_checks,
        workmail_checks,
    )
    from .checks import fail
    from .expected import load_environment
    from .live import connect

    try:
        if args.round_trip_timeout <= 0:
            raise UsageError(f"--round-trip-timeout: {args.round_trip_timeout:g} is not a positive number of seconds")
        env = load_environment(args.app_dir, args.environment)
        resolver = dns_checks.make_resolver(args.nameserver)
    except UsageError as error:
        print(f"sesmail doctor: error: {error}", file=sys.stderr)
        return 2
    live = connect(env, factory)
    checks = []
    if live.stack.deployed:
        healthy = str(live.stack.status).endswith("_COMPLETE") and "ROLLBACK" not in str(live.stack.status)
        status_check = fail if not healthy else None
        if status_check:
            checks.append(
                status_check(
                    "stack",
                    env.stack_name,
                    "CREATE_COMPLETE or UPDATE_COMPLETE",
                    str(live.stack.status),
                    "read the stack's events and redeploy",
                )
            )
    else:
        checks.append(
            fail("stack", env.stack_name, "deployed", live.stack.problem or "not found", f"cdk deploy {env.stack_name}")
        )
    _progress(f"checking {env.stack_name} in {env.account}/{env.region}")
    checks.extend(workmail_checks.run(env.settings, today or workmail_checks.today))
    checks.extend(workmail_checks.organization(env.settings, live.clients, args.app_dir))
    for area in (
        dns_checks.run(live, resolver),
        provider_checks.run(env.settings, resolver),
        ses_checks.run(live),
        receiving_checks.run(live),
        auth_checks.run(live),
        smtp_checks.run(live),
    ):
        checks.extend(area)
    if args.round_trip:
        checks.extend(round_trip.run(live, timeout=args.round_trip_timeout, progress=_progress))
    print(report.as_json(checks, env.name) if args.json else report.text(checks, env.name))
    return report.exit_status(checks)
