"""``sesmail forward-deferred ENVIRONMENT [--app-dir DIR] [--dry-run]``: forward the messages the hourly cap deferred.

Over ``inbound.forwardsPerHour`` the forwarder keeps a message stored and writes its record ``<key>.forward.json``
with ``"state": "deferred"`` (``lambda/mail_forwarder/fwd_cap.py``). This command finds those records in the deployed
mail bucket and invokes the deployed forwarder asynchronously once per message with the S3 event shape it accepts
(``Records[].s3.bucket.name`` / ``.object.key``, URL-encoded as S3 writes keys into events). A deferred record is not
final, so the forwarder claims it again and forwards it; the cap still applies (messages still over it this hour are
deferred again, and the command says how many it handed over). Exit 0, or 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .expected import UsageError

if TYPE_CHECKING:
    from .live import ClientFactory

RECORD_SUFFIX = ".forward.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``forward-deferred`` subcommand's arguments to ``parser``."""
    parser.add_argument("environment", metavar="ENVIRONMENT", help="an environment of cdk.json's environments context")
    parser.add_argument(
        "--app-dir", default=".", type=Path, help="the app directory with cdk.json and cdk.out (default .)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list the deferred messages, forward nothing")
    parser.set_defaults(handler=run)


def _logical(template: Mapping[str, Any], kind: str, prefix: str) -> str | None:
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") == kind and logical_id.startswith(prefix):
            return str(logical_id)
    return None


def deferred_keys(s3: Any, bucket: str) -> list[str]:
    """The stored messages whose forward record says ``deferred``."""
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents") or []:
            key = str(item["Key"])
            if not key.endswith(RECORD_SUFFIX):
                continue
            record = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            if record.get("state") == "deferred":
                found.append(key[: -len(RECORD_SUFFIX)])
    return found


def event_for(bucket: str, key: str) -> bytes:
    """The S3 notification shape the forwarder reads (it URL-decodes the key, as S3 encodes it)."""
    record = {"s3": {"bucket": {"name": bucket}, "object": {"key": urllib.parse.quote_plus(key, safe="/")}}}
    return json.dumps({"Records": [record]}).encode()


def run(args: argparse.Namespace, factory: ClientFactory | None = None) -> int:
    """Find the deferred messages and hand each to the forwarder; returns the exit status: 0, 2 on bad usage or a
    stack without a forwarder, and the doctor's 3 (no or expired credentials), 4 (AWS refused a call) and 5 (an
    endpoint did not answer), each with one line on stderr."""
    from . import aws_errors

    try:
        return _run(args, factory)
    except Exception as error:
        found = aws_errors.from_exception(error, getattr(args, "_region", "its region"))
        if found is None:
            raise
        print(f"sesmail forward-deferred: error: {found.message}", file=sys.stderr)
        return found.status


def _run(args: argparse.Namespace, factory: ClientFactory | None) -> int:
    from .expected import config_for, load_environment
    from .live import connect

    try:
        env = load_environment(args.app_dir, args.environment, config_for(args.app_dir))
    except UsageError as error:
        print(f"sesmail forward-deferred: error: {error}", file=sys.stderr)
        return 2
    args._region = env.region
    bucket_id = _logical(env.template, "AWS::S3::Bucket", "MailBucket")
    function_id = _logical(env.template, "AWS::Lambda::Function", "MailForwarder")
    if bucket_id is None or function_id is None:
        print(
            f"sesmail forward-deferred: error: {env.stack_name} has no mail forwarder (inbound.forwardTo)",
            file=sys.stderr,
        )
        return 2
    live = connect(env, factory)
    bucket, function = live.stack.physical.get(bucket_id), live.stack.physical.get(function_id)
    if not bucket or not function:
        print(
            f"sesmail forward-deferred: error: {env.stack_name} is not deployed ({live.stack.problem})", file=sys.stderr
        )
        return 2
    keys = deferred_keys(live.clients("s3"), bucket)
    for key in keys:
        print(f"s3://{bucket}/{key}")
        if not args.dry_run:
            live.clients("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=event_for(bucket, key))
    what = "found" if args.dry_run else "handed to the forwarder"
    print(f"sesmail forward-deferred {env.name}: {len(keys)} deferred message(s) {what}", file=sys.stderr)
    return 0
