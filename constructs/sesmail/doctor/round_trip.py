"""``--round-trip``: send a test message from one mailbox to another through SES and time each hop.

Hops: sent (SES accepted it), stored (the receipt rule's S3 action wrote it under the recipient's prefix), parsed
(the inbound parser wrote ``<output prefix><key>.json``, when the environment parses), forwarded (when it forwards: the
forwarder records no per-message success that AWS APIs can read, so the doctor says so instead of guessing). Each
wait is bounded by ``timeout`` seconds and reports progress.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from .checks import Check, fail, ok, warn
from .expected import referenced, rule_set
from .live import Live, error_code

AREA = "round-trip"
#: Bytes of a stored message read to find the test's token (it is in the Subject header).
_HEAD_BYTES = 65535


def _output_prefix(live: Live) -> str:
    """Where the inbound parser writes its documents: its function's ``OUTPUT_PREFIX`` (unset: beside the message)."""
    for _, props in live.env.of_type("AWS::Lambda::Function"):
        variables = (props.get("Environment") or {}).get("Variables") or {}
        if isinstance(variables.get("OUTPUT_PREFIX"), str):
            return str(variables["OUTPUT_PREFIX"])
    return ""


def _mailboxes(live: Live) -> list[tuple[str, str, str]]:
    """``(address, bucket logical id, prefix)`` of each rule that stores one address in S3."""
    found = []
    expected = rule_set(live.env)
    for _, rule in expected.rules if expected else []:
        recipients = rule.get("Recipients") or []
        for action in rule.get("Actions") or []:
            s3 = action.get("S3Action")
            if s3 and len(recipients) == 1 and "@" in str(recipients[0]):
                found.append(
                    (str(recipients[0]), str(referenced(s3.get("BucketName"))), str(s3.get("ObjectKeyPrefix", "")))
                )
    return found


def run(
    live: Live,
    *,
    timeout: float = 300.0,
    interval: float = 5.0,
    progress: Callable[[str], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Check]:
    """Send the test message and wait for each hop; one check per hop."""
    boxes = _mailboxes(live)
    if len(boxes) < 2:
        return [
            fail(
                AREA,
                "round trip",
                "two mailboxes stored in S3",
                f"{len(boxes)}",
                "add a second mailbox to the environment",
            )
        ]
    (sender, _, _), (recipient, bucket_id, prefix) = boxes[0], boxes[1]
    bucket = live.stack.physical.get(bucket_id)
    if bucket is None:
        return [
            fail(AREA, "round trip", "the mail bucket deployed", "not in the stack", f"deploy {live.env.stack_name}")
        ]
    token = uuid.uuid4().hex
    started_at, start = datetime.now(UTC), clock()
    try:
        live.clients("sesv2").send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": [recipient]},
            Content={
                "Simple": {"Subject": {"Data": f"sesmail doctor round trip {token}"}, "Body": {"Text": {"Data": token}}}
            },
        )
    except ClientError as error:
        return [
            fail(
                AREA,
                f"sent {sender} -> {recipient}",
                "accepted by SES",
                error_code(error),
                "fix the ses checks above first",
            )
        ]
    checks = [ok(AREA, f"sent {sender} -> {recipient}", "accepted by SES", f"{clock() - start:.1f}s")]
    s3 = live.clients("s3")

    def stored() -> str | None:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents") or []:
            if item["LastModified"] < started_at.replace(microsecond=0) or item["Key"].endswith((".json", "/")):
                continue
            head = s3.get_object(Bucket=bucket, Key=item["Key"], Range=f"bytes=0-{_HEAD_BYTES}")["Body"].read()
            if token.encode() in head:
                return str(item["Key"])
        return None

    key = _wait("stored", stored, timeout, interval, progress, clock, sleep, start)
    if key is None:
        checks.append(
            fail(
                AREA,
                f"stored in s3://{bucket}/{prefix}",
                f"within {timeout:.0f}s",
                "not arrived",
                "check the receiving checks and the MX record",
            )
        )
        return checks
    checks.append(
        ok(AREA, f"stored in s3://{bucket}/{prefix}", f"within {timeout:.0f}s", f"{clock() - start:.1f}s ({key})")
    )
    if any(True for _ in live.env.of_type("Custom::S3BucketNotifications")):
        document_key = _output_prefix(live) + key + ".json"

        def parsed() -> str | None:
            try:
                s3.head_object(Bucket=bucket, Key=document_key)
            except ClientError:
                return None
            return document_key

        document = _wait("parsed", parsed, timeout, interval, progress, clock, sleep, start)
        if document is None:
            checks.append(
                fail(AREA, "parsed", f"within {timeout:.0f}s", "no parsed document", "read the parser's log group")
            )
        else:
            checks.append(ok(AREA, "parsed", f"within {timeout:.0f}s", f"{clock() - start:.1f}s ({document})"))
    expected = rule_set(live.env)
    if expected and any("LambdaAction" in a for _, r in expected.rules for a in r.get("Actions") or []):
        checks.append(
            warn(
                AREA,
                "forwarded",
                "in the staff mailbox",
                "not observable through AWS APIs",
                f"look for subject 'sesmail doctor round trip {token}'",
            )
        )
    return checks


def _wait(
    hop: str,
    probe: Callable[[], str | None],
    timeout: float,
    interval: float,
    progress: Callable[[str], None],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    start: float,
) -> str | None:
    while True:
        found = probe()
        if found is not None:
            return found
        waited = clock() - start
        if waited >= timeout:
            return None
        progress(f"waiting until {hop}: {waited:.0f}s of {timeout:.0f}s")
        sleep(min(interval, max(timeout - waited, 0.0)))
