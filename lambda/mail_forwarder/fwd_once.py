"""Exactly one forward per stored message: a record object ``<key>.forward.json`` written with S3 conditional writes.

S3 documents conditional writes ("How to prevent object overwrites with conditional writes", Amazon S3 User Guide):
``If-None-Match: *`` makes a PutObject fail with 412 Precondition Failed when an object with that key exists (a
concurrent one gets 409 ConditionalRequestConflict), and ``If-Match: <etag>`` makes it fail unless the object still
has that ETag. So:

1. before sending, the forwarder *claims* the message: ``PutObject(IfNoneMatch="*")`` of ``{"state": "sending"}``;
2. after SES accepted the forward, it overwrites the record (``IfMatch`` = the claim's ETag) with the decision and
   SES's message id; if sending failed, with ``"state": "failed"`` and the error, then raises;
3. a repeated delivery whose claim fails reads the record: ``sent``/``held``/``skipped`` means done (not sent again);
   ``failed`` is taken over (``IfMatch``) and retried; a ``sending`` claim younger than ``stale_after`` (longer than
   the function's timeout) belongs to a delivery that may still succeed or fail, so the caller fails and Lambda
   retries it minutes later; an older one belonged to a delivery that died mid-send and is taken over (the one case
   that can send twice: the earlier attempt died after SES accepted, before it wrote the record).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

RECORD_SUFFIX = ".forward.json"
DONE = ("sent", "held", "skipped")


def record_key(key: str) -> str:
    """The forward record of the stored message ``key``."""
    return key + RECORD_SUFFIX


@dataclass(frozen=True)
class Claim:
    """This delivery owns the message's record (its ETag), or another one has it (``existing``)."""

    etag: str | None
    existing: dict[str, Any] | None = None
    #: the record this delivery took over (a failed or stale attempt), kept in the final record.
    previous: dict[str, Any] | None = None


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _put(s3: Any, bucket: str, key: str, record: dict[str, Any], **condition: str) -> str:
    response = s3.put_object(
        Bucket=bucket,
        Key=record_key(key),
        Body=json.dumps(record, ensure_ascii=False, sort_keys=True).encode(),
        ContentType="application/json",
        **condition,
    )
    return str(response["ETag"])


def claim(s3: Any, bucket: str, key: str, record: dict[str, Any], *, now: datetime, stale_after: timedelta) -> Claim:
    """Claim ``key`` for this delivery; ``Claim.etag`` is None when another delivery has it or has finished it."""
    for _ in range(3):
        try:
            return Claim(etag=_put(s3, bucket, key, {**record, "state": "sending"}, IfNoneMatch="*"))
        except ClientError as error:
            if _code(error) not in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise
        current = s3.get_object(Bucket=bucket, Key=record_key(key))
        existing = json.loads(current["Body"].read())
        stale = now - current["LastModified"] > stale_after
        if existing.get("state") in DONE or (existing.get("state") == "sending" and not stale):
            return Claim(etag=None, existing=existing)
        try:
            takeover = {**record, "state": "sending", "previous": existing}
            return Claim(etag=_put(s3, bucket, key, takeover, IfMatch=current["ETag"]), previous=existing)
        except ClientError as error:
            if _code(error) not in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise
            # Another delivery took it over between our read and our write: look again.
    raise RuntimeError(f"s3://{bucket}/{record_key(key)}: could not claim after 3 conflicting writes")


def finish(s3: Any, bucket: str, key: str, claimed: Claim, record: dict[str, Any]) -> None:
    """Replace this delivery's claim with the final ``record``."""
    assert claimed.etag is not None
    _put(s3, bucket, key, record, IfMatch=claimed.etag)


def utc(moment: datetime) -> str:
    """ISO 8601 in UTC, as records write times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
