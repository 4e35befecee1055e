"""``sesmail doctor ENVIRONMENT [--app-dir DIR] [--config FILE] [--json] [--round-trip] [--nameserver HOST[:PORT]]``.

Exit status: 0 when no check fails, 1 when one does, 2 on bad usage or an unreadable app directory, 3 when no AWS
credentials are found or they expired, 4 when AWS refuses one of the doctor's reads (AccessDenied), 5 when an AWS
endpoint does not answer (a region that does not offer the service, a timeout). Statuses 2 to 5 print one line on
stderr, and with ``--json`` also ``{"error": {"kind", "message", "exitStatus"}}`` on stdout. Progress of long checks
goes to stderr, so ``--json`` output stays parseable.
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the company's configuration file (default: cdk.json's context config, $SESMAIL_CONFIG, else cdk.json)",
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


def _stop(args: argparse.Namespace, kind: str, message: str, status: int) -> int:
    print(f"sesmail doctor: error: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"error": {"kind": kind, "message": message, "exitStatus": status}}))
    return status


def run(
    args: argparse.Namespace, factory: ClientFactory | None = None, *, today: Callable[[], date] | None = None
) -> int:
    """Run every check and print the report; returns the exit status (module docs). ``today`` is the clock of the
    WorkMail end-of-support warning (default: :func:`sesmail.doctor.workmail_checks.today`)."""
    from . import aws_errors

    try:
        return _run(args, factory, today)
    except UsageError as error:
        return _stop(args, "usage", str(error), 2)
    except aws_errors.Stop as stop:
        return _stop(args, stop.kind, stop.message, stop.status)
    except Exception as error:
        found = aws_errors.from_exception(error, getattr(args, "_region", "its region"))
        if found is None:
            raise
        return _stop(args, found.kind, found.message, found.status)


def _run(args: argparse.Namespace, factory: ClientFactory | None, today: Callable[[], date] | None) -> int:

    from . import (
        alarm_checks,
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
    from .expected import config_for, load_environment
    from .live import connect

    if args.round_trip_timeout <= 0:
        raise UsageError(f"--round-trip-timeout: {args.round_trip_timeout:g} is not a positive number of seconds")
    config = config_for(args.app_dir, getattr(args, "config", None))
    env = load_environment(args.app_dir, args.environment, config)
    resolver = dns_checks.make_resolver(args.nameserver)
    args._region = env.region
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
        alarm_checks.run(live),
    ):
        checks.extend(area)
    if args.round_trip:
        checks.extend(round_trip.run(live, timeout=args.round_trip_timeout, progress=_progress))
    print(report.as_json(checks, env.name) if args.json else report.text(checks, env.name))
    return report.exit_status(checks)
