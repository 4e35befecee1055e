"""Raw MIME bytes -> a JSON-ready document plus attachment payloads. Pure: no AWS calls, never raises on bad input."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

MAX_DEPTH = 20
MAX_PARTS = 1000
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Attachment:
    """One attachment; its payload is decoded only on demand so that one decoded payload is alive at a time."""

    index: int
    filename: str
    safe_name: str
    content_type: str
    part: EmailMessage = field(repr=False)

    def payload(self) -> bytes:
        decoded = self.part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else b""

    def describe(self) -> dict[str, Any]:
        return {"filename": self.filename, "contentType": self.content_type}


def measured(attachment: Attachment, described: dict[str, Any]) -> bytes:
    """Decode ``attachment``, record its size and sha256 in ``described``, and return the payload."""
    payload = attachment.payload()
    described.update(size=len(payload), sha256=hashlib.sha256(payload).hexdigest())
    return payload


@dataclass
class Parsed:
    document: dict[str, Any]
    attachments: list[Attachment]


def safe_name(filename: str, index: int) -> str:
    """An S3 key segment from an untrusted file name: ASCII letters, digits, ``._-``; no ``..``; never empty."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    cleaned = _SAFE_NAME.sub("_", ascii_name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")[:100]
    return f"{index:03d}-{cleaned or 'attachment'}"


def _header(msg: EmailMessage, name: str, errors: list[str]) -> str | None:
    try:
        value = msg.get(name)
        return None if value is None else str(value)
    except Exception as error:  # a header policy.default cannot decode: keep the raw text
        errors.append(f"header {name}: {type(error).__name__}: {error}")
        raw = msg.get_all(name, failobj=[None])
        return None if raw[0] is None else str(raw[0])


def _addresses(msg: EmailMessage, name: str, errors: list[str]) -> list[dict[str, str]]:
    try:
        header = msg.get(name)
        if header is None:
            return []
        return [{"name": a.display_name, "address": a.addr_spec} for a in getattr(header, "addresses", ())]
    except Exception as error:
        errors.append(f"header {name}: {type(error).__name__}: {error}")
        return []


def _text(part: EmailMessage, errors: list[str]) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError) as error:  # unknown or wrong charset: decode leniently, say so
        errors.append(f"part {part.get_content_type()}: {type(error).__name__}: {error}")
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _walk(part: EmailMessage, depth: int, errors: list[str]) -> Iterator[EmailMessage]:
    if depth > MAX_DEPTH:
        errors.append(f"nesting deeper than {MAX_DEPTH} levels: inner parts not parsed")
        return
    yield part
    if part.is_multipart():
        for child in part.iter_parts():
            yield from _walk(child, depth + 1, errors)  # type: ignore[arg-type]


def verdicts(msg: EmailMessage) -> dict[str, str | None]:
    """SES's verdicts from the headers SES adds to a stored message (X-SES-*, Received-SPF, Authentication-Results)."""
    auth = " ".join(str(v) for v in msg.get_all("Authentication-Results", []))

    def result(method: str) -> str | None:
        found = re.search(rf"\b{method}=(\w+)", auth)
        return found.group(1).upper() if found else None

    spf = msg.get("Received-SPF")
    return {
        "spam": msg.get("X-SES-Spam-Verdict"),
        "virus": msg.get("X-SES-Virus-Verdict"),
        "spf": str(spf).split()[0].upper() if spf else result("spf"),
        "dkim": result("dkim"),
        "dmarc": result("dmarc"),
    }


def parse(raw: bytes) -> Parsed:
    """Parse ``raw``; problems (and the parser's defects) are listed in ``document["errors"]``, not raised."""
    errors: list[str] = []
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    text: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    parts = 0
    for part in _walk(msg, 0, errors):
        parts += 1
        if parts > MAX_PARTS:
            errors.append(f"more than {MAX_PARTS} parts: the rest not parsed")
            break
        for defect in part.defects:
            errors.append(f"defect in {part.get_content_type()}: {type(defect).__name__}")
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        ctype = part.get_content_type()
        if disposition != "attachment" and ctype == "text/plain":
            text.append(_text(part, errors))
        elif disposition != "attachment" and ctype == "text/html":
            html.append(_text(part, errors))
        elif disposition is not None or part.get_filename() or not ctype.startswith("text/"):
            index = len(attachments)
            filename = part.get_filename() or ""
            attachments.append(Attachment(index, filename, safe_name(filename, index), ctype, part))
    document = {
        "subject": _header(msg, "Subject", errors),
        "date": _header(msg, "Date", errors),
        "messageId": _header(msg, "Message-ID", errors),
        "inReplyTo": _header(msg, "In-Reply-To", errors),
        "references": (_header(msg, "References", errors) or "").split(),
        "from": _addresses(msg, "From", errors),
        "to": _addresses(msg, "To", errors),
        "cc": _addresses(msg, "Cc", errors),
        "replyTo": _addresses(msg, "Reply-To", errors),
        "headers": [[name, _safe_str(value)] for name, value in msg.items()],
        "verdicts": verdicts(msg),
        "text": "\n".join(text) or None,
        "html": "\n".join(html) or None,
        "attachments": [a.describe() for a in attachments],
        "size": len(raw),
        "errors": errors,
    }
    return Parsed(document, attachments)


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return repr(value)
