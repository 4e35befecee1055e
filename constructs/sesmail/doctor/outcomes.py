"""``sesmail outcomes ENVIRONMENT [--app-dir DIR] [--since AGE] [--lost-after MINUTES] [--json]``.

Lists every message the deployed environment stored since ``--since`` (default ``24h``) with the outcome its forward
record gives (``<key>.forward.json``, or ``<key>.<address>.forward.json`` per sending address, written by
``lambda/mail_forwarder``): ``forwarded``, ``notice``, ``held`` (a verdict's policy says skip), ``stored`` (the
address book stores the address only), ``own-loop``, ``deferred`` (over the hourly cap). And what did not end:
``failed`` (the last attempt failed; Lambda retries, then the failure queue), ``in progress`` (a claim younger than
``--lost-after``), and ``NO OUTCOME`` for a message with no record, or a claim, older than ``--lost-after`` minutes
(default 15): nothing handled it (lost?); in an environment without the mail forwarder a message is ``stored``.
Messages are the objects under the receipt rules' S3 prefixes in the
synthesized template (SES's ``AMAZON_SES_SETUP_NOTIFICATION`` test object excepted), the bucket the deployed stack's
``MailBucket`` resource (its physical id). Read-only: ``s3:ListBucket`` and ``s3:GetObject`` (records only).

Exit status: 0 every listed message has an outcome; 1 some have none, or failed; 2 bad usage, no credentials, an
environment that is not deployed or has no mail bucket (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from .expected import Environment, UsageError

if TYPE_CHECKING:
    from .live import ClientFactory

RECORD_SUFFIX = ".forward.json"
#: SES writes this object under a rule's prefix when the rule is created ("Give permissions to Amazon SES to write to
#: your S3 bucket"): a test of its permission, not a message.
SETUP_OBJECT = "AMAZON_SES_SETUP_NOTIFICATION"
FINAL = ("forwarded", "notice", "held", "stored", "own-loop", "deferred")
_AGE = re.compile(r"^(\d+)([mhd])$")


@dataclass(frozen=True)
class Line:
    """One stored message and one of its records (or none)."""

    key: str
    stored: str
    outcome: str
    record: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Whether this line is an outcome (or a message still being handled)."""
        return self.outcome in FINAL or self.outcome == "in progress"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``outcomes`` subcommand's arguments to ``parser``."""
    parser.add_argument("environment", metavar="ENVIRONMENT", help="an environment of cdk.json's environments context")
    parser.add_argument(
        "--app-dir", default=".", type=Path, help="the app directory with cdk.json and cdk.out (default .)"
    )
    parser.add_argument("--since", default="24h", help="messages stored in the last AGE: 30m, 24h, 7d (default 24h)")
    parser.add_argument(
        "--lost-after",
        default=15,
        type=int,
        metavar="MINUTES",
        help="a message with no outcome this long after it was stored is reported (default 15)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def parse_age(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d`` as a duration; raises :class:`UsageError` naming ``--since``."""
    match = _AGE.match(text.strip())
    if not match or int(match[1]) == 0:
        raise UsageError(f"--since: {text!r} is not an age like 30m, 24h or 7d")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def mail_prefixes(env: Environment) -> list[str]:
    """The ``ObjectKeyPrefix`` of every receipt rule's S3 action (literal strings only)."""
    found: list[str] = []
    for _, props in env.of_type("AWS::SES::ReceiptRule"):
        for action in (props.get("Rule") or {}).get("Actions") or []:
            prefix = (action.get("S3Action") or {}).get("ObjectKeyPrefix", "")
            if isinstance(prefix, str) and prefix not in found:
                found.append(prefix)
    return found


def _bucket_id(env: Environment) -> str | None:
    for logical_id, _ in env.of_type("AWS::S3::Bucket"):
        if logical_id.startswith("MailBucket") and "AccessLogs" not in logical_id:
            return logical_id
    return None


def has_forwarder(env: Environment) -> bool:
    """Whether the environment has the mail forwarder (``inbound.forwardTo`` or an address book): without it a
    stored message is stored only, and no record is expected."""
    return any(logical_id.startswith("MailForwarder") for logical_id, _ in env.of_type("AWS::Lambda::Function"))


def is_message(key: str) -> bool:
    """A stored message, not a record, parser output or SES's setup object."""
    name = key.rsplit("/", 1)[-1]
    return not (key.endswith(".json") or ".attachments/" in key or name == SETUP_OBJECT or name.startswith("."))


def describe(record: Mapping[str, Any], modified: datetime, now: datetime, lost_after: timedelta) -> tuple[str, str]:
    """``(outcome, detail)`` of one forward record."""
    state = str(record.get("state", ""))
    reasons = record.get("reasons") or {}
    detail = "; ".join(str(v) for v in reasons.values()) if isinstance(reasons, Mapping) else ""
    if state == "deferred":
        return "deferred", detail
    if state == "failed":
        return "failed", str(record.get("error", ""))
    if state == "sending":
        stuck = now - modified > lost_after
        return ("NO OUTCOME", "a claim nobody finished") if stuck else ("in progress", "")
    outcome = record.get("outcome")
    if isinstance(outcome, str) and outcome in FINAL:
        return outcome, detail
    # Records written before outcomes were recorded.
    sent = str(record.get("sent", ""))
    if state == "sent" or sent.startswith("forward"):
        return "forwarded", detail
    if state == "held":
        return "notice", detail
    if state == "skipped":
        return ("own-loop" if "loop" in reasons else "held"), detail
    return "NO OUTCOME", f"unknown record state {state!r}"


def collect(
    s3: Any,
    bucket: str,
    prefixes: Iterable[str],
    *,
    now: datetime,
    since: timedelta,
    lost_after: timedelta,
    forwarder: bool = True,
) -> list[Line]:
    """Every message stored under ``prefixes`` since ``now - since``, one line per record (or one without).
    Without a ``forwarder`` a message without a record is ``stored`` (nothing is meant to handle it)."""
    lines: list[Line] = []
    for prefix in prefixes:
        objects: dict[str, datetime] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents") or []:
                objects[str(item["Key"])] = item["LastModified"]
        messages = sorted((k for k in objects if is_message(k) and now - objects[k] <= since), key=objects.__getitem__)
        records: dict[str, list[str]] = {}
        for key in objects:
            if key.endswith(RECORD_SUFFIX):
                stem = key[: -len(RECORD_SUFFIX)]
                owner = next((m for m in _owners(stem) if m in objects), None)
                if owner is not None:
                    records.setdefault(owner, []).append(key)
        for message in messages:
            stored = objects[message].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            found = sorted(records.get(message, []))
            if not found and not forwarder:
                lines.append(Line(message, stored, "stored", None, "no mail forwarder in this environment"))
                continue
            if not found:
                late = now - objects[message] > lost_after
                outcome, detail = ("NO OUTCOME", "no record: nothing handled it") if late else ("in progress", "")
                lines.append(Line(message, stored, outcome, None, detail))
            for record_key in found:
                body = s3.get_object(Bucket=bucket, Key=record_key)
                try:
                    record = json.loads(body["Body"].read())
                except ValueError:
                    record = {"state": "unreadable"}
                outcome, detail = describe(record, body["LastModified"], now, lost_after)
                lines.append(Line(message, stored, outcome, record_key, detail))
    return lines


def _owners(stem: str) -> list[str]:
    """The message keys a record stem may belong to: itself, then each cut at a dot after the last slash."""
    head, _, name = stem.rpartition("/")
    base = f"{head}/" if head else ""
    return [stem] + [base + name[:i] for i, c in enumerate(name) if c == "."]


def run(args: argparse.Namespace, factory: ClientFactory | None = None, *, now: datetime | None = None) -> int:
    """List the outcomes; returns the exit status."""
    from .expected import config_for, load_environment
    from .live import connect

    try:
        since = parse_age(args.since)
        if args.lost_after < 0:
            raise UsageError(f"--lost-after: {args.lost_after} is not a number of minutes")
        env = load_environment(args.app_dir, args.environment, config_for(args.app_dir))
        bucket_id = _bucket_id(env)
        if bucket_id is None:
            raise UsageError(f"{env.stack_name} stores no mail (no MailBucket in {env.template_path.name})")
        live = connect(env, factory)
        bucket = live.stack.physical.get(bucket_id)
        if not bucket:
            raise UsageError(f"{env.stack_name} is not deployed ({live.stack.problem or 'no mail bucket'})")
        lines = collect(
            live.clients("s3"),
            bucket,
            mail_prefixes(env) or [""],
            now=now or datetime.now(UTC),
            since=since,
            lost_after=timedelta(minutes=args.lost_after),
            forwarder=has_forwarder(env),
        )
    except UsageError as error:
        print(f"sesmail outcomes: error: {error}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print(
            "sesmail outcomes: error: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY)",
            file=sys.stderr,
        )
        return 2
    except ClientError as error:
        info = error.response.get("Error", {})
        print(f"sesmail outcomes: error: {info.get('Code')}: {info.get('Message', '')}".rstrip(": "), file=sys.stderr)
        return 2
    except BotoCoreError as error:
        print(f"sesmail outcomes: error: {error}", file=sys.stderr)
        return 2
    missing = [line for line in lines if not line.ok]
    if args.json:
        print(json.dumps({"bucket": bucket, "messages": [asdict(line) for line in lines], "problems": len(missing)}))
    else:
        for line in lines:
            print(f"{line.stored}  {line.outcome:<11}  s3://{bucket}/{line.key}  {line.detail}".rstrip())
        print(
            f"sesmail outcomes {env.name}: {len(lines)} line(s), {len(missing)} without an outcome or failed",
            file=sys.stderr,
        )
    return 1 if missing else 0
