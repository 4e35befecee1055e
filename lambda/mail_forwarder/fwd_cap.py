"""A cap on forwards per hour, so that a wave of inbound mail cannot spend the account's SES sending quota.

Every forward and notice is an SES send, counted against the account's quotas that the web app's own mail shares
("sending quota: the maximum number of emails that you can send in a 24-hour period" and "maximum send rate", SES
Developer Guide, "Managing your Amazon SES sending quotas"). ``FORWARD_CAP_PER_HOUR`` (unset: no cap) bounds the
forwarder's share: a counter object per UTC hour, ``.sesmail/forward-cap/<YYYY-MM-DDTHH>.json`` in the mail bucket, is
incremented with S3 conditional writes (``If-None-Match: *`` for the hour's first, ``If-Match: <ETag>`` after; a
lost race gets 412 or 409 and reads again: "How to prevent object overwrites with conditional writes", S3 User Guide).

Over the cap nothing is lost: the message stays stored, its record says ``"state": "deferred"`` (not a final state,
so a later delivery of the same message forwards it), and the first message over the cap in an hour gets one notice
to staff saying so and how to forward the deferred messages (``sesmail forward-deferred``). Later ones that hour are
deferred silently; the counter object lists how many.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from fwd_verdicts import Decision

PREFIX = ".sesmail/forward-cap/"
DEFERRED = "deferred"
_CONFLICT = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")


def limit(environ: dict[str, str] | None = None) -> int | None:
    """The cap from ``FORWARD_CAP_PER_HOUR`` (``None``: no cap)."""
    value = (environ if environ is not None else os.environ).get("FORWARD_CAP_PER_HOUR", "")
    return int(value) if value.strip() else None


def counter_key(now: datetime) -> str:
    """The hour's counter object (UTC)."""
    return f"{PREFIX}{now:%Y-%m-%dT%H}.json"


def take(s3: Any, bucket: str, now: datetime) -> int:
    """Count one send in this hour; returns the count including it."""
    key = counter_key(now)
    for _ in range(20):
        try:
            current = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            condition: dict[str, str] = {"IfNoneMatch": "*"}
            count = 0
        else:
            count = int(json.loads(current["Body"].read()).get("count", 0))
            condition = {"IfMatch": current["ETag"]}
        try:
            body = json.dumps({"count": count + 1, "hour": f"{now:%Y-%m-%dT%H}"}).encode()
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", **condition)
            return count + 1
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _CONFLICT:
                raise
    raise RuntimeError(f"s3://{bucket}/{key}: could not count this forward after 20 conflicting writes")


def apply(
    s3: Any, bucket: str, decision: Decision, record: dict[str, Any], *, now: datetime
) -> tuple[Decision, dict[str, Any]]:
    """The decision after the cap, and the record to write. Skips (nothing sent) are not counted.

    Under the cap: unchanged. The first message over it: a notice (one per hour) instead of the message, recorded
    ``deferred``. Later ones: nothing sent, recorded ``deferred``.
    """
    cap = limit()
    if cap is None or decision.action == "skip":
        return decision, record
    count = take(s3, bucket, now)
    if count <= cap:
        return decision, record
    reason = (
        f"the forwarding cap of {cap} messages an hour was reached at {now:%Y-%m-%d %H:%M} UTC; this message and "
        "later ones this hour are stored, not forwarded. Forward them later with: sesmail forward-deferred "
        "ENVIRONMENT (or raise inbound.forwardsPerHour)"
    )
    triggered = {"cap": reason}
    new = Decision(action="notice", triggered=triggered) if count == cap + 1 else Decision("skip", triggered)
    return new, {**record, "decision": new.action, "reasons": triggered, DEFERRED: True}
