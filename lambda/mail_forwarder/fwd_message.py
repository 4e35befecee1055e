"""The messages the forwarder sends: the forward itself, a forward without its attachments, and a notice.

Header rules, from SES's "Amazon SES header fields" (SES Developer Guide): the fields in :data:`SINGLE_HEADERS` "can't
appear more than once in the header section of a message", so every forward keeps only the first of each; "If you
specify a Return-Path header, Amazon SES sends bounce and complaint notifications to the address that you specified",
so the original's is dropped (bounces of a forward come back to us, not to the customer); "If you provide a
Message-ID header, Amazon SES overrides the header with its own value", so the original's id is carried in
``In-Reply-To``/``References`` instead. Incoming ``X-SES-*`` headers are dropped: SES reads some on sending
(``X-SES-CONFIGURATION-SET``, ``X-SES-SOURCE-ARN``, ``X-SES-FROM-ARN``...), and a sender must not choose them.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import getaddresses
from typing import Any

MARKER = "X-Sesmail-Forwarded"
VERDICTS_HEADER = "X-Sesmail-Verdicts"
#: "The following fields can't appear more than once in the header section of a message" (SES header fields).
SINGLE_HEADERS = (
    "Accept-Language", "acceptLanguage", "Archived-At", "Auto-Submitted", "Bounces-to", "Comments",
    "Content-Alternative", "Content-Base", "Content-Class", "Content-Description", "Content-Disposition",
    "Content-Duration", "Content-ID", "Content-Language", "Content-Length", "Content-Location", "Content-MD5",
    "Content-Transfer-Encoding", "Content-Type", "Date", "Delivered-To", "Disposition-Notification-Options",
    "Disposition-Notification-To", "DKIM-Signature", "DomainKey-Signature", "Errors-To", "From", "Importance",
    "In-Reply-To", "Keywords", "List-Archive", "List-Help", "List-Id", "List-Owner", "List-Post", "List-Subscribe",
    "List-Unsubscribe", "Message-Context", "Message-ID", "MIME-Version", "Organization", "Original-From",
    "Original-Message-ID", "Original-Recipient", "Original-Subject", "Precedence", "Priority", "References",
    "Reply-To", "Return-Path", "Return-Receipt-To", "Sender", "Solicitation", "Sensitivity", "Subject",
    "Thread-Index", "Thread-Topic", "User-Agent", "VBR-Info",
)  # fmt: skip
#: Replaced by the forward's own values, or meaningless once re-sent (SES signs anew; delivery addresses change).
_DROPPED = (
    "From", "To", "Cc", "Bcc", "Reply-To", "Return-Path", "Sender", "DKIM-Signature", "DomainKey-Signature",
    "Message-ID", "In-Reply-To", "References", "Auto-Submitted", "Delivered-To", "Disposition-Notification-To",
    "Return-Receipt-To", MARKER, VERDICTS_HEADER,
)  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_NAME_MAX = 78
_MSGID = re.compile(r"<[^<>\s]+>")


class Original:
    """What the forward keeps of the message it re-sends: who wrote it, how to answer, how to thread."""

    def __init__(self, msg: EmailMessage) -> None:
        senders = getaddresses([str(v) for v in (msg.get_all("From") or [])[:1]])
        self.name, self.address = senders[0] if senders else ("", "")
        reply_to = msg.get_all("Reply-To") or []
        #: where a staff reply should go: the original Reply-To, else its From.
        self.reply_to = str(reply_to[0]) if reply_to else str((msg.get_all("From") or [""])[0])
        ids = _MSGID.findall(str((msg.get_all("Message-ID") or [""])[0]))
        self.message_id = ids[0] if ids else None
        self.references = _MSGID.findall(str((msg.get_all("References") or [""])[0]))
        self.subject = _clean(str((msg.get_all("Subject") or [""])[0]))

    @property
    def domain(self) -> str:
        """The From address's domain, lower-cased (``""`` without one)."""
        return self.address.rpartition("@")[2].lower()


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text).strip()


def sender_display(original: Original, mailbox: str) -> Address:
    """``"Jane Doe via info@example.com" <info@example.com>``: the customer's name, our address (SES signs it)."""
    who = _clean(original.name.replace('"', "")) or original.address or "unknown sender"
    return Address(display_name=f"{who[:_NAME_MAX]} via {mailbox}", addr_spec=mailbox)


def _address_headers(out: EmailMessage, original: Original, *, mailbox: str, staff: list[str], key: str) -> None:
    out["From"] = sender_display(original, mailbox)
    out["To"] = ", ".join(staff)
    out["Auto-Submitted"] = "auto-forwarded"
    out[MARKER] = key


#: The header fields whose value is a list of msg-ids: "In-Reply-To:" 1*msg-id CRLF, "References:" 1*msg-id CRLF
#: (RFC 5322 section 3.6.4). A msg-id is not text: it must go out as it came, never as an RFC 2047 encoded-word.
THREAD_HEADERS = ("In-Reply-To", "References")
#: "Each line of characters MUST be no more than 998 characters, and SHOULD be no more than 78 characters, excluding
#: the CRLF" (RFC 5322 section 2.1.1).
LINE_SHOULD, LINE_MUST = 78, 998


def fold_ids(name: str, ids: list[str], linesep: str = "\r\n") -> str:
    """``name: id id ...`` folded only at the white space between msg-ids (RFC 5322 section 2.2.3 folds at FWS).

    A line holds as many ids as fit in 78 characters; an id longer than that gets a line of its own (up to 998).
    """
    lines = [f"{name}:"]
    for msg_id in ids:
        if len(lines[-1]) + 1 + len(msg_id) > LINE_SHOULD and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += f" {msg_id}"
    return linesep.join(lines) + linesep


def thread_ids(value: str) -> list[str]:
    """The msg-ids of an In-Reply-To or References value that fit on a line (longer ones cannot be sent)."""
    return [i for i in _MSGID.findall(value) if len(i) + len("References: ") <= LINE_MUST]


class _ThreadPolicy(EmailPolicy):
    """``policy.default``, except that In-Reply-To and References are folded as msg-id lists.

    The standard library folds every field it does not know as unstructured text, and unstructured text longer than a
    line becomes encoded-words: SES's own Message-IDs (``<0102018c...-000000@eu-west-1.amazonses.com>``) do not fit
    beside ``References:`` and came out as ``=?utf-8?q?=3C0102...?=``, which no mail client reads as an id, so the
    staff's reply lost the customer's thread.
    """

    def fold(self, name: str, value: Any) -> str:
        if name.lower() in ("in-reply-to", "references"):
            return fold_ids(name, thread_ids(str(value)), self.linesep)
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in ("in-reply-to", "references"):
            # msg-ids are ASCII (RFC 5322 section 3.6.4); anything else was dropped by thread_ids' pattern or is
            # kept as the bytes it came as.
            return fold_ids(name, thread_ids(str(value)), self.linesep).encode("ascii", "surrogateescape")
        return bytes(super().fold_binary(name, value))


THREAD_POLICY = _ThreadPolicy()


def _thread(out: EmailMessage, original: Original) -> None:
    # A staff reply to the forward carries the forward's References on, so the customer's client threads it.
    if original.message_id:
        out["In-Reply-To"] = original.message_id
        out["References"] = " ".join([*original.references, original.message_id])
        # Serialized with the policy that writes both as msg-id lists (the rest exactly as policy.default).
        out.policy = THREAD_POLICY


def collapse_single_headers(msg: EmailMessage) -> None:
    """Keep only the first occurrence of each header SES refuses twice."""
    for name in SINGLE_HEADERS:
        values = msg.get_all(name) or []
        if len(values) > 1:
            del msg[name]
            msg[name] = values[0]


def forwarded(
    msg: EmailMessage, *, mailbox: str, staff: list[str], key: str, verdicts: str, tags: list[str]
) -> EmailMessage:
    """``msg`` re-addressed from ``mailbox`` to ``staff``: Reply-To the original sender, threaded, loop-marked."""
    original = Original(msg)
    for name in _DROPPED:
        del msg[name]
    for name in {n for n in msg if n.lower().startswith("x-ses-")}:
        del msg[name]
    _address_headers(msg, original, mailbox=mailbox, staff=staff, key=key)
    if original.reply_to:
        msg["Reply-To"] = original.reply_to
    _thread(msg, original)
    msg[VERDICTS_HEADER] = verdicts
    if tags:
        del msg["Subject"]
        msg["Subject"] = " ".join([*tags, original.subject])
    collapse_single_headers(msg)
    return msg


def encoded_size(part: Any) -> int:
    """The size of ``part`` as it travels: a leaf part's body as transfer-encoded (base64, quoted-printable, 8bit)
    without its header lines; a part made of parts (message/rfc822, multipart) serialized, its own headers included.

    A parsed leaf part keeps its body as the text the parser read, one character per byte (bytes it could not decode
    as ASCII are kept as surrogate escapes), so it is counted, not serialized again. Not through ``get_payload()``:
    that decodes such a body by the part's declared charset, which changes its length and raises for a charset such
    as ``idna``, and a hostile attachment would make the forwarder fail instead of leaving it out.
    """
    payload = getattr(part, "_payload", None)  # the email package's own storage of the parsed body
    return len(payload) if isinstance(payload, str) else len(part.as_bytes())


def without_attachments(
    msg: EmailMessage, *, mailbox: str, staff: list[str], key: str, location: str, verdicts: str, tags: list[str]
) -> EmailMessage:
    """The message's body (HTML or text) and a list of its attachments, which stay in the mail bucket."""
    dropped = [
        f"- {part.get_filename() or '(unnamed)'} ({part.get_content_type()}, {encoded_size(part)} bytes encoded)"
        for part in msg.iter_attachments()
    ]
    body = msg.get_body(preferencelist=("related", "html", "plain"))
    out = EmailMessage()
    for name in ("Subject", "Date", "From", "Reply-To", "Message-ID", "References"):
        value = (msg.get_all(name) or [None])[0]
        if value is not None:
            out[name] = str(value)
    note = (
        "This message was too large for SES (40 MB) with its attachments, so they were left out:\n"
        + ("\n".join(dropped) or "- (none found)")
        + f"\n\nThe complete message is stored at {location}\n"
    )
    out.set_content(note)
    out.make_mixed()
    if body is not None:
        out.attach(body)  # type: ignore[arg-type]  # typeshed: a part of a message is a MIMEPart
    return forwarded(out, mailbox=mailbox, staff=staff, key=key, verdicts=verdicts, tags=tags)


def notice(
    msg: EmailMessage,
    *,
    mailbox: str,
    staff: list[str],
    key: str,
    location: str,
    reasons: list[str],
    verdicts: str,
    tags: list[str],
) -> EmailMessage:
    """A short text notice instead of the message: who sent it, why it was held, where it is kept.

    No Reply-To and no attachment: a staff member who answers it answers us, and opens nothing of the sender's.
    """
    original = Original(msg)
    out = EmailMessage()
    _address_headers(out, original, mailbox=mailbox, staff=staff, key=key)
    out["Subject"] = " ".join([*(tags or ["[HELD]"]), original.subject or "(no subject)"])
    out[VERDICTS_HEADER] = verdicts
    out.set_content(
        f"A message to {mailbox} was not forwarded: {'; '.join(reasons)}.\n\n"
        f"From: {original.name} <{original.address}>\n"
        f"Subject: {original.subject}\n"
        f"SES verdicts: {verdicts}\n\n"
        f"It is stored, unchanged, at {location}\n"
        "Open it only if you trust it.\n"
    )
    return out
