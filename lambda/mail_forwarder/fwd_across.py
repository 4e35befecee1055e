"""One forward per (message, destination) however many receipt rules stored the message.

An address book past 100 addresses, or spread over two domains, is several receipt rules (``addresses-1``,
``addresses-2``, ``addresses-1-<slug>``...). A message whose recipients fall into two of them is stored by each rule
and handed to the forwarder once per rule, each time with only the recipients that rule matched. SES gives the
message one id in every rule's event: ``mail.messageId`` is "the unique ID assigned to the email by Amazon SES. If
the email was delivered to Amazon S3, the message ID is also the Amazon S3 object key that was used to write the
message to your Amazon S3 bucket" (SES Developer Guide, "Contents of notifications for Amazon SES email receiving",
mail object), each copy at ``<the rule's prefix><messageId>``.

So before sending, each copy claims every destination it would send to: ``PutObject`` with ``If-None-Match: *`` of
``.sesmail/forward-once/<sha256(messageId, destination)>.json`` naming the copy (the same S3 conditional writes as
``fwd_once``: "How to prevent object overwrites with conditional writes", S3 User Guide). The first copy to claim a
destination forwards to it; a later copy leaves it out and records where it went (``forwardedBy``); a copy left with
no destination records ``skipped``, "forwarded by the copy under <key>". A claim is never released: a copy whose
send fails keeps its destinations, and Lambda's retries of that copy (which find their own claims) send them, or its
failure destination keeps it. The claims live under ``.sesmail/``, no mailbox's prefix (a dot-atom local part never
starts with a dot).

Catch-all notices are not shared: each names the recipients and the copy of its own rule.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError
from fwd_verdicts import Decision

PREFIX = ".sesmail/forward-once/"
_CONFLICT = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")


def claim_key(message_id: str, destination: str) -> str:
    """The claim object of one destination of one message (addresses compared case-insensitively)."""
    digest = hashlib.sha256(f"{message_id}\n{destination.lower()}".encode()).hexdigest()
    return f"{PREFIX}{digest}.json"


def owner(s3: Any, bucket: str, message_id: str, destination: str, copy: dict[str, str]) -> dict[str, Any]:
    """Claim ``destination`` for ``copy`` (``{"record": ..., "key": ..., "as": ...}``); the claim's holder: ``copy``
    itself when it is the first (or claimed it before: a retry), else the copy that did."""
    key = claim_key(message_id, destination)
    body = {"messageId": message_id, "destination": destination, **copy}
    for _ in range(3):
        try:
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=json.dumps(body, ensure_ascii=False, sort_keys=True).encode(),
                ContentType="application/json",
                IfNoneMatch="*",
            )
            return body
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _CONFLICT:
                raise
        try:
            holder: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            return holder
        except ClientError as error:
            # 409: a concurrent write of the same key was still in flight; read again once it is done.
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
    raise RuntimeError(f"s3://{bucket}/{key}: could not claim {destination} after 3 conflicting writes")


def apply(
    s3: Any, target: Any, decision: Decision, record: dict[str, Any], *, message_id: str, record_name: str
) -> tuple[Any, Decision, dict[str, Any]]:
    """Keep only the destinations this copy is the first to claim: the target (``to`` narrowed), the decision
    (``skip`` when none is left) and the record (``to``; ``forwardedBy``: destination -> the copy that has it).

    Unchanged for a skip (nothing is sent), a catch-all notice, or a target that is not routed by the book.
    """
    if decision.action == "skip" or target.to is None or target.catch_all or not message_id:
        return target, decision, record
    copy = {"record": record_name, "key": target.key, "as": str(target.send_as or "")}
    mine: list[str] = []
    elsewhere: dict[str, str] = {}
    for destination in target.to:
        holder = owner(s3, target.bucket, message_id, destination, copy)
        if holder.get("record") == record_name:
            mine.append(destination)
        else:
            elsewhere[destination] = f"the copy under {holder.get('key')} (as {holder.get('as')})"
    if not elsewhere:
        return target, decision, record
    record = {**record, "to": mine, "forwardedBy": elsewhere}
    if mine:
        return dataclasses.replace(target, to=tuple(mine)), decision, record
    copies = sorted(set(elsewhere.values()))
    done = "forwarded" if decision.action in ("forward", "tag") else "handled"
    why = f"{done} by {', '.join(copies)}: one send per destination however many rules stored the message"
    skip = Decision(action="skip", triggered={"elsewhere": why})
    return dataclasses.replace(target, to=()), skip, {**record, "decision": "skip", "reasons": skip.triggered}
