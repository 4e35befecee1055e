"""Tell the person concerned when SES could not deliver a message sesmail sent for staff or staff sent themselves.

Trigger: the configuration set's event topic (SNS invokes the function asynchronously, one record per SNS message).
Each message is an SES event record ("Contents of event data that Amazon SES publishes to Amazon SNS", SES Developer
Guide): ``eventType`` (``Bounce``, ``Complaint``, ``Delivery``, ``Send``, ``Reject``, ``DeliveryDelay``...), ``mail``
(``messageId``, ``source``, ``destination``, ``headers`` as ``[{"name", "value"}]``, ``commonHeaders``) and one object
named after the event (``bounce``, ``complaint``, ``reject``, ``deliveryDelay``).

Who is told (``concerned``):

- a forward or notice of the forwarder (``X-Sesmail-Forwarded`` among the headers) that failed: the staff mailbox
  itself failed, so the team hears it through the alarm topic (``ALARM_TOPIC_ARN``), and the other staff addresses
  that did not fail get a notice;
- one of our own feedback notices (``X-Sesmail-Feedback``) that failed: the alarm topic only. No notice is ever sent
  about a notice, so a mailbox that bounces cannot start a loop;
- any other send from a mailbox (a staff reply through SMTP credentials, mail sent as the mailbox): a notice from that
  mailbox to the staff who read it (``FEEDBACK_TO``), naming the recipients, SES's reason and what to do; without
  staff addresses, the alarm topic;
- a send from another address (the web app's ``no-reply@``): the alarm topic, since SES no longer e-mails its
  feedback either (an app that wants its own sends through a configuration set of its own).

With an address book, its routing table ships as ``routes.json`` beside this file (``ROUTES_FILE`` names another;
the forwarder's table, ``AddressBook.routes``), and it decides instead of ``MAILBOXES``/``FEEDBACK_TO``: the person
concerned is whoever reads the address the failed message was sent as, i.e. that address's destinations (a person's
own address: their own mailbox; a shared one like ``info@`` or a group: its destinations):

- a forward or notice of the forwarder, or any send whose failed recipients include one of its own destinations: the
  alarm topic, and a notice to the address's *other* destinations (never to the one that failed);
- any other send (a person's reply through their own credentials, as their address or one granted to them): a
  notice to the address's destinations;
- an address with no destinations (stored only) or none of the book's: the alarm topic.

``Delivery``, ``Send`` and other events are ignored. Each notice is sent once per SES event: the function claims the
event's ``(messageId, eventType, feedbackId or timestamp)`` before sending, by ``PutObject`` with ``If-None-Match:
*`` in the mail bucket (``FEEDBACK_BUCKET``), as the forwarder claims its forwards. The claims live under
``.sesmail/feedback/``, which is no mailbox's prefix: an RFC 5322 dot-atom local part never starts with a dot.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

#: The forwarder's loop marker (``fwd_message.MARKER``): present on every forward and notice it sends.
FORWARDED = "X-Sesmail-Forwarded"
#: This function's own marker, on every notice it sends.
FEEDBACK = "X-Sesmail-Feedback"
#: The event types a person must hear about; the others (Delivery, Send, Open...) are not failures.
FAILURES = ("Bounce", "Complaint", "Reject", "DeliveryDelay")
#: ``bounceSubType`` "OnAccountSuppressionList: Amazon SES has suppressed sending to this address because it has a
#: recent history of bouncing as an invalid address" (SES Developer Guide, bounce types).
SUPPRESSED = "OnAccountSuppressionList"
CLAIM_PREFIX = ".sesmail/feedback/"
#: The forwarder's record beside each stored message (``fwd_once``) and its not-final state (``fwd_cap``).
RECORD_SUFFIX = ".forward.json"
DEFERRED = "deferred"


@dataclass(frozen=True)
class Config:
    """The function's settings, from its environment."""

    mailboxes: frozenset[str]
    staff: tuple[str, ...]
    alarm_topic: str | None
    bucket: str | None
    region: str = ""
    #: the address book's routing table (``routes.json``), ``{}`` without one (the short form).
    routes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: dict[str, str]) -> Config:
        def addresses(name: str) -> list[str]:
            return [a.strip() for a in environ.get(name, "").split(",") if a.strip()]

        return cls(
            mailboxes=frozenset(a.lower() for a in addresses("MAILBOXES")),
            staff=tuple(addresses("FEEDBACK_TO")),
            alarm_topic=environ.get("ALARM_TOPIC_ARN") or None,
            bucket=environ.get("FEEDBACK_BUCKET") or None,
            region=environ.get("AWS_REGION", ""),
            routes=load_routes(environ),
        )

    def route(self, address: str) -> dict[str, Any] | None:
        """The book's route of the address a message was sent as (an alias routes as its entry), or None."""
        found = self.routes.get("addresses", {}).get(address.lower())
        return dict(found) if found is not None else None


def load_routes(environ: dict[str, str]) -> dict[str, Any]:
    """The routing table shipped beside the handler (or ``ROUTES_FILE``); ``{}`` when there is none."""
    path = Path(environ.get("ROUTES_FILE") or Path(__file__).with_name("routes.json"))
    if not path.is_file():
        return {}
    routes: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return routes


@dataclass
class Failure:
    """One SES event about a message that did not (yet) arrive, in words a person can act on."""

    kind: str
    message_id: str
    sender: str
    subject: str
    recipients: list[str]
    reason: str
    todo: str
    headers: dict[str, str] = field(default_factory=dict)
    event_key: str = ""


def header(mail: dict[str, Any], name: str) -> str | None:
    """The first header ``name`` of the event's ``mail.headers`` (SES lists the original headers), or None."""
    for item in mail.get("headers") or []:
        if str(item.get("name", "")).lower() == name.lower():
            return str(item.get("value", ""))
    return None


def _address(text: str) -> str:
    found = getaddresses([text])
    return found[0][1].lower() if found and found[0][1] else text.strip().lower()


def describe(record: dict[str, Any]) -> Failure | None:
    """The failure an SES event record reports, or None for events that are not failures."""
    kind = str(record.get("eventType") or record.get("notificationType") or "")
    if kind not in FAILURES:
        return None
    mail = record.get("mail") or {}
    common = mail.get("commonHeaders") or {}
    sender = _address(str((common.get("from") or [mail.get("source", "")])[0]))
    subject = str(common.get("subject") or "(no subject)")
    message_id = str(mail.get("messageId", ""))
    headers = {name: value for name in (FORWARDED, FEEDBACK) if (value := header(mail, name)) is not None}
    if kind == "Bounce":
        bounce = record.get("bounce") or {}
        sub = str(bounce.get("bounceSubType", ""))
        who = bounce.get("bouncedRecipients") or []
        recipients = [str(r.get("emailAddress", "")) for r in who]
        codes = "; ".join(str(r.get("diagnosticCode") or r.get("status") or "") for r in who if r) or "no diagnostic"
        if sub == SUPPRESSED:
            kind = "Suppressed"
            reason = "SES did not send it: the address is on the account's suppression list (it bounced before)"
            todo = (
                "if the address is right and works again, remove it from the list: aws sesv2 "
                "delete-suppressed-destination --email-address ADDRESS; then send the message again"
            )
        elif bounce.get("bounceType") == "Permanent":
            reason = f"permanent bounce ({sub}): {codes}"
            todo = "check the address (a typo, a closed mailbox); SES will not deliver to it as it is"
        else:
            reason = f"{bounce.get('bounceType', 'Transient')} bounce ({sub}): {codes}"
            todo = "SES gave up after its retries; try again later or reach the recipient another way"
        key = str(bounce.get("feedbackId") or bounce.get("timestamp") or "")
    elif kind == "Complaint":
        complaint = record.get("complaint") or {}
        recipients = [str(r.get("emailAddress", "")) for r in complaint.get("complainedRecipients") or []]
        reason = f"the recipient marked it as spam ({complaint.get('complaintFeedbackType') or 'no type given'})"
        todo = "do not write to this recipient again unless they ask; SES may suppress the address"
        key = str(complaint.get("feedbackId") or complaint.get("timestamp") or "")
    elif kind == "Reject":
        recipients = [str(r) for r in mail.get("destination") or []]
        reason = f"SES rejected it: {(record.get('reject') or {}).get('reason', 'no reason given')}"
        todo = "SES found a virus in it; remove the attachment and send it again"
        key = "reject"
    else:
        delay = record.get("deliveryDelay") or {}
        recipients = [str(r.get("emailAddress", "")) for r in delay.get("delayedRecipients") or []]
        reason = f"delivery is delayed ({delay.get('delayType', 'unknown')})"
        todo = f"nothing yet: SES keeps trying until {delay.get('expirationTime', 'it expires')}, then reports a bounce"
        key = str(delay.get("timestamp") or "")
    return Failure(kind, message_id, sender, subject, recipients, reason, todo, headers, f"{kind}/{key}")


def concerned(failure: Failure, config: Config) -> tuple[str, list[str]]:
    """Who hears of ``failure``: ``("topic", [])``, ``("notice", addresses)``, or both as ``("both", ...)``."""
    if FEEDBACK in failure.headers:
        return "topic", []
    if config.routes:
        return _concerned_in_book(failure, config)
    staff = {a.lower() for a in config.staff}
    # A send from a mailbox to staff addresses only is a forward even when SES truncated the headers
    # ("headersTruncated") and the marker with them: a notice to the address that failed would fail again.
    to_staff = bool(failure.recipients) and all(r.lower() in staff for r in failure.recipients)
    if FORWARDED in failure.headers or (to_staff and failure.sender in config.mailboxes):
        failed = {r.lower() for r in failure.recipients}
        others = [a for a in config.staff if a.lower() not in failed]
        return ("both", others) if others else ("topic", [])
    if failure.sender in config.mailboxes:
        return ("notice", list(config.staff)) if config.staff else ("topic", [])
    # Another address of the domain (the web app's no-reply@): SES no longer e-mails its feedback (the identity's
    # forwarding is off), so the team hears it rather than nobody. An app that wants its own feedback sends through
    # a configuration set of its own.
    return "topic", []


def _concerned_in_book(failure: Failure, config: Config) -> tuple[str, list[str]]:
    """:func:`concerned` with an address book: the destinations of the address the message was sent as."""
    route = config.route(failure.sender)
    destinations = [str(d) for d in (route or {}).get("to") or []]
    if not destinations:
        # Not an address of the book (the web app's no-reply@), or one stored only: nobody reads it by mail.
        return "topic", []
    failed = {r.lower() for r in failure.recipients}
    others = [d for d in destinations if d.lower() not in failed]
    # A forward failed, or a send reached one of the address's own destinations and that one failed (a reply Cc'd
    # to the person's own mailbox; a forward whose marker SES truncated with the headers): that destination cannot
    # be told by mail, so the team hears it, and the address's other destinations get the notice.
    if FORWARDED in failure.headers or failed & {d.lower() for d in destinations}:
        return ("both", others) if others else ("topic", [])
    return "notice", others


def sender_as(failure: Failure, config: Config) -> str:
    """The address a notice is sent as: the failed message's own sender as configured (``ses:FromAddress`` is
    compared case-sensitively), else the first mailbox."""
    route = config.route(failure.sender) if config.routes else None
    if route is not None:
        return str(route["as"])
    return failure.sender if failure.sender in config.mailboxes else sorted(config.mailboxes)[0]


def record_key(failure: Failure, config: Config) -> str | None:
    """The forwarder's record of the forward ``failure`` is about (``fwd_once``), or None for other sends: with a
    book, one record per (stored message, sending address), ``<key>.<address>.forward.json``, except a mailbox's."""
    key = failure.headers.get(FORWARDED, "").strip()
    if not key:
        return None
    route = config.route(failure.sender) if config.routes else None
    if route is not None and route.get("kind", "entry") != "mailbox":
        return f"{key}.{route['as']}{RECORD_SUFFIX}"
    return key + RECORD_SUFFIX


def text(failure: Failure) -> str:
    """The notice's body: what, to whom, why, what to do."""
    what = (
        f"A forward of the stored message {failure.headers[FORWARDED]}" if FORWARDED in failure.headers else "A message"
    )
    return (
        f"{what} sent from {failure.sender} did not reach {', '.join(failure.recipients) or 'its recipients'}.\n\n"
        f"Subject: {failure.subject}\n"
        f"SES event: {failure.kind}\n"
        f"Why: {failure.reason}\n"
        f"What to do: {failure.todo}\n"
        f"SES message id: {failure.message_id}\n"
    )


def notice(failure: Failure, *, mailbox: str, to: list[str]) -> bytes:
    """A plain-text notice from ``mailbox``; marked so that its own failure is never answered by another notice."""
    out = EmailMessage()
    out["From"] = mailbox
    out["To"] = ", ".join(to)
    tag = {"DeliveryDelay": "[DELAYED]", "Complaint": "[COMPLAINT]"}.get(failure.kind, "[NOT DELIVERED]")
    out["Subject"] = f"{tag} {failure.subject}"[:200]
    # RFC 3834 section 5: automatic responses are marked auto-replied; the forwarder and mail clients treat it so.
    out["Auto-Submitted"] = "auto-replied"
    out[FEEDBACK] = failure.message_id
    out.set_content(text(failure))
    return bytes(out.as_bytes())


def claim(s3: Any, config: Config, failure: Failure) -> bool:
    """True when this delivery is the first to handle the event (S3 conditional write), else False."""
    if config.bucket is None:
        return True
    digest = hashlib.sha256(f"{failure.message_id}/{failure.event_key}".encode()).hexdigest()
    try:
        s3.put_object(
            Bucket=config.bucket,
            Key=f"{CLAIM_PREFIX}{digest}.json",
            Body=json.dumps({"messageId": failure.message_id, "event": failure.event_key}).encode(),
            ContentType="application/json",
            IfNoneMatch="*",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
            return False
        raise
    return True


def release(s3: Any, config: Config, failure: Failure) -> None:
    """Undo :func:`claim` after a failed send, so Lambda's retry can send it."""
    if config.bucket is None:
        return
    digest = hashlib.sha256(f"{failure.message_id}/{failure.event_key}".encode()).hexdigest()
    s3.delete_object(Bucket=config.bucket, Key=f"{CLAIM_PREFIX}{digest}.json")


def defer_suppressed_forward(s3: Any, config: Config, failure: Failure) -> bool:
    """A forward SES suppressed was never sent: its record becomes ``deferred`` again, so ``sesmail
    forward-deferred`` forwards it once the address is off the suppression list. True when the record changed."""
    record_name = record_key(failure, config)
    if failure.kind != "Suppressed" or record_name is None or config.bucket is None:
        return False
    try:
        current = s3.get_object(Bucket=config.bucket, Key=record_name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return False
        raise
    record = json.loads(current["Body"].read())
    if record.get("state") != "sent" or record.get("sesMessageId") != failure.message_id:
        return False  # forwarded again since, or another send: leave it
    record |= {"state": DEFERRED, "outcome": DEFERRED, "suppressed": failure.recipients, "previous": {"state": "sent"}}
    body = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
    try:
        s3.put_object(
            Bucket=config.bucket,
            Key=record_name,
            Body=body,
            ContentType="application/json",
            IfMatch=current["ETag"],
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
            return False  # the forwarder wrote it meanwhile
        raise
    return True


def handle(record: dict[str, Any], config: Config, *, s3: Any, ses: Any, sns: Any) -> str:
    """Act on one SES event record; returns what was done (for the log and tests)."""
    failure = describe(record)
    if failure is None:
        return "ignored"
    who, addresses = concerned(failure, config)
    if not claim(s3, config, failure):
        return "duplicate"
    if defer_suppressed_forward(s3, config, failure):
        failure.todo += "; then forward the stored message again: sesmail forward-deferred ENVIRONMENT"
    try:
        if who in ("topic", "both"):
            if config.alarm_topic is None:
                raise RuntimeError(f"{failure.kind} of {failure.message_id}: no alarm topic to tell")
            sns.publish(
                TopicArn=config.alarm_topic,
                Subject=f"sesmail: {failure.kind} of a message from {failure.sender}"[:100],
                Message=text(failure),
            )
        if who in ("notice", "both"):
            mailbox = sender_as(failure, config)
            ses.send_email(
                FromEmailAddress=mailbox,
                Destination={"ToAddresses": addresses},
                Content={"Raw": {"Data": notice(failure, mailbox=mailbox, to=addresses)}},
            )
    except Exception:
        release(s3, config, failure)
        raise
    return who


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    """Lambda entry point for the SNS subscription. A record that fails raises, so Lambda retries the invocation and
    then hands it to the function's failure destination."""
    config = Config.from_environ(dict(os.environ))
    s3, ses, sns = boto3.client("s3"), boto3.client("sesv2"), boto3.client("sns")
    done = []
    for record in event.get("Records", []):
        message = json.loads(record["Sns"]["Message"])
        done.append(handle(message, config, s3=s3, ses=ses, sns=sns))
    return {"done": done}
