"""Forward each stored inbound message to staff addresses through SES, as the original recipient.

Triggered either like the parser (S3 ``ObjectCreated`` on the mail prefix) or as a receipt rule's Lambda action placed
after its S3 action (SES event records; the object is ``MAIL_BUCKET``/``<prefix of the matched recipient><message
id>``, prefixes from ``KEY_PREFIXES``, a JSON object address -> prefix). Environment: ``FORWARD_TO`` (comma-separated
staff addresses), ``MAILBOXES`` (comma-separated addresses the domain receives for; the forward is sent from the
recipient the rule matched, else the first mailbox the message was addressed to). The forward keeps the original MIME
(attachments intact), replaces From/To/Return-Path headers, sets Reply-To to the original sender and marks itself
``Auto-Submitted: auto-forwarded`` plus ``X-Sesmail-Forwarded``. Skipped (loop and bounce protection): messages
already forwarded, auto-submitted or bounce messages (empty or MAILER-DAEMON sender, ``multipart/report``), and mail
from the staff addresses themselves. Messages above SES's 40 MB limit become a short summary with a pre-signed link to
the raw message (signed with the function's role session, so valid for hours, never more than 7 days).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

import boto3

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

SES_MAX_BYTES = 40 * 1024 * 1024
LINK_SECONDS = 7 * 24 * 3600
MARKER = "X-Sesmail-Forwarded"
_REPLACED = ("From", "To", "Cc", "Bcc", "Reply-To", "Return-Path", "Sender", "DKIM-Signature", "Message-ID")


def skip_reason(msg: EmailMessage, staff: set[str]) -> str | None:
    """Why ``msg`` must not be forwarded, or None."""
    if msg.get(MARKER):
        return "already forwarded"
    if (msg.get("Auto-Submitted") or "no").strip().lower() != "no":
        return "auto-submitted"
    sender = (msg.get("Return-Path") or "").strip("<> ").lower()
    if msg.get("Return-Path") is not None and (not sender or sender.startswith("mailer-daemon")):
        return "bounce"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    senders = {a.lower() for _, a in getaddresses([str(v) for v in msg.get_all("From", [])])}
    if senders & staff:
        return "sent by staff"
    return None


def forwarded(msg: EmailMessage, *, as_address: str, to: list[str], key: str) -> EmailMessage:
    """``msg`` re-addressed: from ``as_address`` to ``to``, Reply-To the original sender, loop markers set."""
    original_from = str(msg.get("Reply-To") or msg.get("From") or "")
    for name in _REPLACED:
        del msg[name]
    msg["From"] = as_address
    msg["To"] = ", ".join(to)
    if original_from:
        msg["Reply-To"] = original_from
    msg["Auto-Submitted"] = "auto-forwarded"
    msg[MARKER] = key
    return msg


def summary(msg: EmailMessage, *, as_address: str, to: list[str], key: str, link: str, size: int) -> EmailMessage:
    """A short notice for a message too large for SES, linking to the raw message."""
    out = EmailMessage()
    out["From"] = as_address
    out["To"] = ", ".join(to)
    if msg.get("From"):
        out["Reply-To"] = str(msg.get("Reply-To") or msg["From"])
    out["Subject"] = f"[too large to forward] {msg.get('Subject', '')}"
    out["Auto-Submitted"] = "auto-forwarded"
    out[MARKER] = key
    out.set_content(
        f"A message from {msg.get('From', 'unknown')} of {size} bytes exceeds SES's size limit.\n"
        f"Download the raw message (the link expires within hours):\n{link}\n"
    )
    return out


def _recipient(msg: EmailMessage, mailboxes: list[str]) -> str:
    addressed = {a.lower() for _, a in getaddresses([str(v) for v in msg.get_all("To", []) + msg.get_all("Cc", [])])}
    return next((m for m in mailboxes if m.lower() in addressed), mailboxes[0])


def targets(event: dict[str, Any], environ: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """``(bucket, key, recipient)`` of each message in an S3 notification or an SES receipt-rule Lambda event.

    ``recipient`` is the mailbox the receipt rule matched (SES events), or None (S3 events: read from the headers).
    """
    found: list[tuple[str, str, str | None]] = []
    prefixes: dict[str, str] = {k.lower(): v for k, v in json.loads(environ.get("KEY_PREFIXES") or "{}").items()}
    for record in event.get("Records", []):
        if "s3" in record:
            key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
            if not (key.endswith(".json") or ".attachments/" in key):
                found.append((record["s3"]["bucket"]["name"], key, None))
        elif "ses" in record:
            matched = [r for r in record["ses"]["receipt"].get("recipients", []) if r.lower() in prefixes]
            if not matched:
                LOG.warning("no stored copy known for recipients %s", record["ses"]["receipt"].get("recipients"))
                continue
            key = prefixes[matched[0].lower()] + record["ses"]["mail"]["messageId"]
            found.append((environ["MAIL_BUCKET"], key, matched[0]))
    return found


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    s3 = boto3.client("s3")
    ses = boto3.client("sesv2")
    staff = [a.strip() for a in os.environ["FORWARD_TO"].split(",") if a.strip()]
    mailboxes = [a.strip() for a in os.environ["MAILBOXES"].split(",") if a.strip()]
    results: list[dict[str, Any]] = []
    for bucket, key, recipient in targets(event, dict(os.environ)):
        raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
        reason = skip_reason(msg, {a.lower() for a in staff})
        if reason:
            LOG.info("not forwarding %s: %s", key, reason)
            results.append({"key": key, "skipped": reason})
            continue
        sender = recipient or _recipient(msg, mailboxes)
        if len(raw) > SES_MAX_BYTES:
            link = s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=LINK_SECONDS
            )
            out = summary(msg, as_address=sender, to=staff, key=key, link=link, size=len(raw))
        else:
            out = forwarded(msg, as_address=sender, to=staff, key=key)
        ses.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": staff},
            Content={"Raw": {"Data": out.as_bytes()}},
        )
        results.append({"key": key, "forwarded": len(staff)})
    return {"results": results}
