"""The one outcome each stored message ends in, as its forward record (``<key>[.<tag>].forward.json``) writes it.

``outcome`` is one of :data:`OUTCOMES`; ``sesmail outcomes ENV`` lists them (and the stored messages that have no
record, which nothing has handled). The record's ``state`` stays what ``fwd_once`` needs for exactly-once delivery.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from fwd_once import record_key

#: forwarded: the message (or its body without attachments) went to the destinations; notice: a notice went instead
#: (a verdict, an address the book does not name, too large, the hourly cap); held: nothing sent, a verdict's policy
#: says skip; stored: the address book stores this address's mail only; own-loop: nothing sent, one of our own
#: loops; deferred: over the hourly cap, forwarded later.
OUTCOMES = ("forwarded", "notice", "held", "stored", "own-loop", "deferred")


def outcome(state: str, sent: str, triggered: dict[str, str]) -> str:
    """The outcome of a finished record: its ``state``, what was ``sent`` and the reasons that decided it."""
    if state == "deferred":
        return "deferred"
    if sent.startswith("forward"):
        return "forwarded"
    if sent == "notice":
        return "notice"
    if "loop" in triggered:
        return "own-loop"
    if "stored" in triggered:
        return "stored"
    if "elsewhere" in triggered:  # another stored copy of the message forwarded it (fwd_across)
        return "forwarded"
    return "held"


def recorded(s3: Any, bucket: str, key: str, addresses: list[str]) -> bool:
    """Whether the stored message ``key`` has a forward record: the mailbox's, a routed address's
    (``<key>.<address>``, one per From address given) or the catch-all's. Unreadable means no."""
    for stem in [key, *(f"{key}.{a}" for a in addresses), f"{key}.catch-all"]:
        try:
            body = s3.get_object(Bucket=bucket, Key=record_key(stem))["Body"].read()
        except ClientError:
            continue
        try:
            record = json.loads(body)
        except ValueError:
            continue
        # Any record: only a message this function handled has one, and only our own send names its key.
        if isinstance(record, dict):
            return True
    return False
