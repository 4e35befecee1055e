"""Forward each stored inbound message to staff addresses through SES, as the mailbox it reached, exactly once.

Triggers: a receipt rule's Lambda action placed after its S3 action (SES event records: the object is
``MAIL_BUCKET``/``<prefix of the matched recipient><message id>``, prefixes from ``KEY_PREFIXES``, a JSON object
address -> prefix; the receipt's verdicts decide), or the bucket's ``ObjectCreated`` notification (the verdicts are
read from the headers SES added). Environment: ``FORWARD_TO`` (comma-separated staff addresses), ``MAILBOXES``
(comma-separated configured addresses; a forward is sent as the configured spelling, because ``ses:FromAddress`` is
compared case-sensitively), ``VERDICT_POLICY`` (JSON, see ``fwd_verdicts``).

An address book ships as ``routes.json`` beside this file (``ROUTES_FILE`` names another): for SES events it decides
instead of ``FORWARD_TO``/``KEY_PREFIXES``. Only ``receipt.recipients`` count, "the recipients (specifically, the
envelope RCPT TO addresses) that were matched by the active receipt rule" (SES Developer Guide, "Contents of
notifications for Amazon SES email receiving"), never the To or Cc headers: a Bcc'd address routes like any other,
and an address named in To that was not a recipient routes nothing. Each recipient routes as its entry (an alias as
its entry); each destination gets one forward per stored message, sent as the first matched address that routes to
it; a recipient the book does not name, on a domain whose ``otherRecipients`` is ``store``, gets a notice to the
domain's ``notify``. Each (message, sending address) has its own record ``<key>.<address>.forward.json``. A message
stored by several rules (two domains, a book past 100 addresses) reaches each destination once: the copies claim
each (message id, destination) before sending, and a copy left with none records which copy sent it (``fwd_across``).

Per message: its kind and our own loops (``fwd_kinds``: only our own loops are skipped), a verdict decision (forward /
tag / notice / skip), a claim of ``<key>.forward.json`` (``fwd_once``: one forward per message however often it is
delivered), the send, and the record of what was done. A forward that would exceed SES's 40 MB loses its attachments
(listed, with where the message is kept); if even that is too large, staff get a notice. SES throttling is retried
here with backoff; any send that still fails releases the claim and raises an error naming the message, so Lambda's
asynchronous retries and the function's failure destination receive it. Each record ends with one ``outcome``
(``fwd_outcome``).
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import boto3
import fwd_across
import fwd_cap
import fwd_kinds
import fwd_outcome
from botocore.exceptions import ClientError
from fwd_message import Original, forwarded, notice, without_attachments
from fwd_once import DONE, claim, finish, record_key, utc
from fwd_verdicts import Decision, Verdicts, decide, from_headers, from_receipt, load_policy

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

#: "Using the SES v2 API or SMTP - Maximum message size (including attachments): 40 MB per message (after base64
#: encoding)" (SES quotas). Read as 10^6 bytes, the stricter reading, of the MIME message as sent.
SES_MAX_BYTES = 40_000_000
#: Room for what SES adds when it sends (its DKIM-Signature, Message-ID, Feedback-ID and the like).
SES_HEADROOM = 64 * 1024
#: "the API produces a ThrottlingException error ... Maximum sending rate exceeded" (SES sending-quota errors);
#: SES v2's model also names TooManyRequestsException. Worth retrying within seconds.
THROTTLING = ("Throttling", "ThrottlingException", "TooManyRequestsException")
SEND_ATTEMPTS = 4
RECORD_VERSION = 1


class ForwardFailed(RuntimeError):
    """A message could not be forwarded; the text names its bucket and key."""


@dataclass(frozen=True)
class Target:
    """One stored message to forward."""

    bucket: str
    key: str
    #: the recipient the receipt rule matched (SES events), else None: the mailbox is read from the headers.
    recipient: str | None = None
    receipt: dict[str, Any] | None = None
    #: routed by the address book: the address the forward is sent as, and where it goes (else the mailbox, staff).
    send_as: str | None = None
    to: tuple[str, ...] | None = None
    #: ``""``: the record is ``<key>.forward.json``; else ``<key>.<tag>.forward.json`` (one per sending address).
    record_tag: str = ""
    #: recipients the address book does not name (otherRecipients ``store``): a notice, never the message.
    catch_all: tuple[str, ...] = ()
    #: the address book stores this address's mail only (``to: []``): nothing is sent, the record says so.
    stored_only: bool = False
    #: SES's ``mail.messageId``, the same in every rule's event: each destination is sent to once (``fwd_across``).
    message_id: str = ""


@dataclass(frozen=True)
class Config:
    """The function's settings, from its environment."""

    staff: list[str]
    mailboxes: list[str]
    policy: dict[str, str]
    region: str
    #: a claim older than this has no live owner (longer than the function's timeout).
    stale_after: timedelta = timedelta(seconds=150)
    #: the address book's routing table (``routes.json``), ``{}`` without one.
    routes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: dict[str, str]) -> Config:
        def addresses(name: str) -> list[str]:
            return [a.strip() for a in environ.get(name, "").split(",") if a.strip()]

        return cls(
            staff=addresses("FORWARD_TO"),
            mailboxes=addresses("MAILBOXES"),
            policy=load_policy(environ.get("VERDICT_POLICY")),
            region=environ.get("AWS_REGION", ""),
            stale_after=timedelta(seconds=int(environ.get("CLAIM_STALE_SECONDS") or 150)),
            routes=load_routes(environ),
        )

    @property
    def own_domains(self) -> frozenset[str]:
        """The domains of the mailboxes and of the address book."""
        return frozenset(m.rpartition("@")[2].lower() for m in self.mailboxes) | frozenset(
            self.routes.get("domains", {})
        )

    @property
    def own_addresses(self) -> set[str]:
        """Every address we receive for, lower-cased (a message from one of them coming back is our own)."""
        return {m.lower() for m in self.mailboxes} | set(self.routes.get("addresses", {}))


def load_routes(environ: dict[str, str]) -> dict[str, Any]:
    """The routing table shipped beside the handler (or ``ROUTES_FILE``); ``{}`` when there is none."""
    path = Path(environ.get("ROUTES_FILE") or Path(__file__).with_name("routes.json"))
    if not path.is_file():
        return {}
    routes: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return routes


def mailbox_for(recipient: str | None, msg: EmailMessage, mailboxes: list[str]) -> str:
    """The configured mailbox to send as: the matched recipient, else the first mailbox addressed, else the first."""
    by_lower = {m.lower(): m for m in mailboxes}
    if recipient and lookup(by_lower, recipient) is not None:
        return str(lookup(by_lower, recipient))
    addressed = [a.lower() for _, a in getaddresses([str(v) for v in msg.get_all("To", []) + msg.get_all("Cc", [])])]
    return next((by_lower[a] for a in addressed if a in by_lower), mailboxes[0])


def without_label(recipient: str) -> str:
    """``jane+news@example.com`` -> ``jane@example.com`` (lower-cased): the address a rule for ``jane@`` matched.

    A rule's recipient "will match any form of the address with a label. Addresses that contain labels are of the
    form, with user-specified text between the plus sign (+) and the at sign (@)" (SES Developer Guide, "Creating
    receipt rules"), so ``receipt.recipients`` may hold the labelled form of an address the rule lists.
    """
    local, _, domain = recipient.lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}"


def lookup(table: dict[str, Any], recipient: str) -> Any:
    """``table``'s entry for ``recipient`` as written, else for it without its label; ``None`` for neither."""
    found = table.get(recipient.lower())
    return found if found is not None else table.get(without_label(recipient))


def routed(record: dict[str, Any], routes: dict[str, Any], bucket: str) -> list[Target]:
    """What the address book does with one SES receipt-rule record: one target per (stored copy, sending address).

    Only ``receipt.recipients`` (the envelope recipients this rule matched) are read, in their order; each
    destination is taken by the first recipient routing to it.
    """
    receipt = record["ses"]["receipt"]
    message_id = record["ses"]["mail"]["messageId"]
    plans: dict[tuple[str, str], list[str]] = {}
    kinds: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    unknown: dict[str, list[str]] = {}
    for recipient in receipt.get("recipients", []):
        route = lookup(routes.get("addresses", {}), recipient)
        if route is None:
            domain = recipient.rpartition("@")[2].lower()
            settings = routes.get("domains", {}).get(domain)
            if settings is not None and settings.get("otherRecipients") == "store":
                unknown.setdefault(domain, []).append(recipient)
            else:
                LOG.warning("%s: matched by a rule but not in the address book; nothing sent", recipient)
            continue
        plan = (route["prefix"], route["as"])
        destinations = plans.setdefault(plan, [])
        kinds[plan] = route.get("kind", "entry")
        for destination in route["to"]:
            if destination.lower() not in taken:
                taken.add(destination.lower())
                destinations.append(destination)
    found: list[Target] = []
    for (prefix, send_as), destinations in plans.items():
        tag = "" if kinds[(prefix, send_as)] == "mailbox" else send_as
        key = prefix + message_id
        # An address stored only still gets its record: every stored message ends in one recorded outcome.
        found.append(
            Target(
                bucket,
                key,
                send_as,
                receipt,
                send_as=send_as,
                to=tuple(destinations),
                record_tag=tag,
                stored_only=not destinations,
                message_id=message_id,
            )
        )
    for domain, recipients in unknown.items():
        settings = routes["domains"][domain]
        key = settings["prefix"] + message_id
        found.append(
            Target(
                bucket,
                key,
                None,
                receipt,
                send_as=settings["as"],
                to=(settings["notify"],),
                record_tag="catch-all",
                catch_all=tuple(recipients),
            )
        )
    return found


def targets(event: dict[str, Any], environ: dict[str, str], routes: dict[str, Any] | None = None) -> list[Target]:
    """The stored messages of an S3 notification or an SES receipt-rule Lambda event (derived objects skipped)."""
    found: list[Target] = []
    prefixes: dict[str, str] = {k.lower(): v for k, v in json.loads(environ.get("KEY_PREFIXES") or "{}").items()}
    for record in event.get("Records", []):
        if "s3" in record:
            key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
            if not (key.endswith(".json") or ".attachments/" in key):
                found.append(Target(record["s3"]["bucket"]["name"], key))
        elif "ses" in record and routes:
            found.extend(routed(record, routes, environ["MAIL_BUCKET"]))
        elif "ses" in record:
            receipt = record["ses"]["receipt"]
            matched = [r for r in receipt.get("recipients", []) if lookup(prefixes, r) is not None]
            if not matched:
                LOG.warning("no stored copy known for recipients %s", receipt.get("recipients"))
                continue
            key = lookup(prefixes, matched[0]) + record["ses"]["mail"]["messageId"]
            found.append(Target(environ["MAIL_BUCKET"], key, matched[0], receipt))
    return found


def location(bucket: str, key: str, region: str) -> str:
    """Where a held message is, in words staff can act on (bucket, key, and the AWS CLI command that fetches it)."""
    where = f" in {region}" if region else ""
    return f"s3://{bucket}/{key} (bucket {bucket}{where}); fetch it with: aws s3 cp 's3://{bucket}/{key}' message.eml"


def marked(out: EmailMessage, kind: fwd_kinds.Kind | None) -> bytes:
    """``out`` as bytes, with ``X-Sesmail-Kind`` for ``kind`` (a sender's own copy of that header never goes out)."""
    del out[fwd_kinds.KIND_HEADER]
    if kind is not None:
        out[fwd_kinds.KIND_HEADER] = kind.header
    return out.as_bytes()


def parse(raw: bytes) -> EmailMessage:
    """A stored message as the forwarder reads it (``policy.default``: headers as objects, bodies as parts)."""
    return BytesParser(policy=policy.default).parsebytes(raw)


def compose(
    msg: EmailMessage,
    decision: Decision,
    verdicts: Verdicts,
    *,
    stored: bytes,
    mailbox: str,
    target: Target,
    config: Config,
    kind: fwd_kinds.Kind | None = None,
) -> tuple[str, bytes | None]:
    """What to send for ``decision``: ``(kind, raw message)``; kind ``forward``, ``forward-without-attachments``,
    ``notice`` or ``skip`` (nothing). The size check is on the bytes sent, so what the forwarder adds counts.
    ``kind`` (automated, report, staff) adds its subject tag after the verdicts' and its ``X-Sesmail-Kind``.

    ``stored`` is the bytes ``msg`` was parsed from. A forward is made of ``msg`` itself (changed in place); only a
    forward too large for SES parses ``stored`` again, to cut the message down or hold it. Copying ``msg`` first
    (serialize, parse) cost every forward a second parse: about 2 s and the message's size again in memory at 40 MB.
    """
    where = location(target.bucket, target.key, config.region)
    staff = list(target.to) if target.to is not None else config.staff
    common = {"mailbox": mailbox, "staff": staff, "key": target.key, "verdicts": verdicts.header()}
    limit = SES_MAX_BYTES - SES_HEADROOM
    extra = kind.tags if kind is not None else []
    if decision.action == "skip":
        return "skip", None
    if decision.action == "notice":
        reasons = list(decision.triggered.values())
        tags = [*(decision.tags or ["[HELD]"]), *extra] if decision.tags or extra else []
        return "notice", marked(notice(msg, location=where, reasons=reasons, tags=tags, **common), kind)
    tags = [*(decision.tags if decision.action == "tag" else []), *extra]
    data = marked(forwarded(msg, tags=tags, **common), kind)
    if len(data) <= limit:
        return "forward", data
    del data  # the forward changed msg: the cut-down forward and the notice start from the stored message
    original = parse(stored)
    data = marked(without_attachments(original, location=where, tags=tags, **common), kind)
    if len(data) <= limit:
        return "forward-without-attachments", data
    reasons = ["too large for SES (40 MB) even without its attachments"]
    held = notice(original, location=where, reasons=reasons, tags=["[TOO LARGE]", *extra], **common)
    return "notice", marked(held, kind)


def send(ses: Any, *, mailbox: str, staff: list[str], data: bytes, sleep: Callable[[float], None] = time.sleep) -> str:
    """Send raw ``data`` as ``mailbox``; SES throttling is retried with backoff (1, 2, 4 s); SES's message id."""
    for attempt in range(SEND_ATTEMPTS):
        try:
            response = ses.send_email(
                FromEmailAddress=mailbox, Destination={"ToAddresses": staff}, Content={"Raw": {"Data": data}}
            )
            return str(response["MessageId"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = str(error.response.get("Error", {}).get("Message", ""))
            # A daily quota is not back within seconds: leave it to Lambda's retries, minutes apart.
            if code not in THROTTLING or "daily" in message.lower() or attempt == SEND_ATTEMPTS - 1:
                raise
            sleep(2.0**attempt)
    raise AssertionError("unreachable")


def process(
    s3: Any, ses: Any, target: Target, config: Config, *, now: datetime, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Forward (or hold, or skip) one stored message; its record says which. Raises :class:`ForwardFailed`."""
    raw = s3.get_object(Bucket=target.bucket, Key=target.key)["Body"].read()
    msg = parse(raw)
    mailbox = target.send_as or mailbox_for(target.recipient, msg, config.mailboxes)
    staff = list(target.to) if target.to is not None else config.staff
    verdicts = from_receipt(target.receipt) if target.receipt is not None else from_headers(msg)
    record: dict[str, Any] = {
        "version": RECORD_VERSION,
        "bucket": target.bucket,
        "key": target.key,
        "mailbox": mailbox,
        "to": staff,
        "verdicts": verdicts.as_dict(),
        "at": utc(now),
    }
    if target.catch_all:
        record["otherRecipients"] = list(target.catch_all)
    # Only our own loops are skipped; automated mail, reports and staff's own are sent on, marked (fwd_kinds).
    kind = fwd_kinds.classify(msg, staff=staff, own=config.own_addresses)
    if kind is not None:
        record["kind"] = kind.header
    reason = fwd_kinds.own_loop(
        msg,
        own=config.own_addresses,
        destinations=staff,
        dmarc=verdicts.dmarc,
        is_ours=lambda key, authors: fwd_outcome.recorded(s3, target.bucket, key, authors),
    )
    decision = Decision(action="skip", triggered={"loop": reason}) if reason else None
    if decision is None and target.stored_only:
        decision = Decision(action="skip", triggered={"stored": f"the address book stores {mailbox}'s mail only"})
    if decision is None and target.catch_all:
        # Stored for an address nobody owns: a person is told where it is, and opens it only if they trust it.
        why = f"sent to {', '.join(target.catch_all)}, which the address book does not name (otherRecipients: store)"
        decision = Decision(action="notice", triggered={"otherRecipients": why})
    if decision is None:
        decision = decide(verdicts, config.policy, from_domain=Original(msg).domain, own_domains=config.own_domains)
    record |= {"decision": decision.action, "reasons": decision.triggered}
    # One record per stored message and sending address: two rules storing the same key each forward their own.
    claim_key = f"{target.key}.{target.record_tag}" if target.record_tag else target.key
    claimed = claim(s3, target.bucket, claim_key, record, now=now, stale_after=config.stale_after)
    if claimed.etag is None:
        state = (claimed.existing or {}).get("state")
        if state in DONE:
            LOG.info("not forwarding %s again: its record says %s", target.key, state)
            return {"key": target.key, "duplicate": state}
        # Another delivery claimed it moments ago and may still fail: fail this one, so Lambda retries it later.
        raise ForwardFailed(f"s3://{target.bucket}/{target.key}: another delivery is forwarding it; retry later")
    if claimed.previous is not None:
        record["previous"] = {k: v for k, v in claimed.previous.items() if k != "previous"}
    # One send per destination however many rules stored the message (fwd_across).
    target, decision, record = fwd_across.apply(
        s3, target, decision, record, message_id=target.message_id, record_name=record_key(claim_key)
    )
    staff = list(target.to) if target.to is not None else staff
    decision, record = fwd_cap.apply(s3, target.bucket, decision, record, now=now)  # the hourly cap (fwd_cap)
    try:
        sent, out = compose(
            msg, decision, verdicts, stored=raw, mailbox=mailbox, target=target, config=config, kind=kind
        )
        message_id = None
        if out is not None:
            message_id = send(ses, mailbox=mailbox, staff=staff, data=out, sleep=sleep)
    except Exception as error:
        if isinstance(error, ClientError):
            failure = f"{error.response.get('Error', {}).get('Code')}: {error.response.get('Error', {}).get('Message')}"
        else:
            failure = f"{type(error).__name__}: {error}"
        # Released, so the retry Lambda makes next can claim it again.
        finish(s3, target.bucket, claim_key, claimed, {**record, "state": "failed", "error": failure})
        raise ForwardFailed(f"s3://{target.bucket}/{target.key}: not forwarded: {failure}") from error
    state = "skipped" if out is None else "sent" if sent.startswith("forward") else "held"
    state = fwd_cap.DEFERRED if record.get(fwd_cap.DEFERRED) else state  # over the cap: forward it later
    try:
        finish(
            s3,
            target.bucket,
            claim_key,
            claimed,
            {
                **record,
                "state": state,
                "outcome": fwd_outcome.outcome(state, sent, decision.triggered),
                "sent": sent,
                "sesMessageId": message_id,
            },
        )
    except ClientError:
        # Sent: raising now would make a retry send it again. The claim goes stale; a person sees this in the logs.
        LOG.exception("%s %s (SES id %s) but could not write its record", sent, target.key, message_id)
    if out is None:
        LOG.info("not forwarding %s: %s", target.key, decision.triggered)
        return {"key": target.key, "skipped": "; ".join(decision.triggered.values())}
    LOG.info("%s %s to %s as %s: %s", sent, target.key, staff, mailbox, message_id)
    return {"key": target.key, "sent": sent, "sesMessageId": message_id}


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    """Lambda entry point. Every message is tried; if any failed, one error naming each failed key is raised."""
    s3 = boto3.client("s3")
    ses = boto3.client("sesv2")
    config = Config.from_environ(dict(os.environ))
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for target in targets(event, dict(os.environ), config.routes):
        try:
            results.append(process(s3, ses, target, config, now=datetime.now(UTC)))
        except Exception as error:
            LOG.exception("could not forward s3://%s/%s", target.bucket, target.key)
            failures.append(
                str(error)
                if isinstance(error, ForwardFailed)
                else f"s3://{target.bucket}/{target.key}: {type(error).__name__}: {error}"
            )
    if failures:
        raise ForwardFailed("; ".join(failures))
    return {"results": results}
