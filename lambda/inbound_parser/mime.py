"""Raw MIME bytes -> a JSON-ready document plus attachment payloads. Pure: no AWS calls, never raises on bad input.

The message is never handed to ``email.parser`` whole: ``mime_split`` parses each part's header block with the
standard library (``policy.default``) and finds bodies as offsets in the one raw buffer; bodies are decoded one at a
time (``mime_decode``), text when the document is built, attachments only when asked for.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from mime_split import MAX_DEPTH, MAX_PARTS, Buffer, Part, walk

__all__ = ["MAX_DEPTH", "MAX_PARTS", "Attachment", "Parsed", "measured", "parse", "safe_name", "verdicts"]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Attachment:
    """One attachment; its payload is decoded only on demand so that one decoded payload is alive at a time."""

    index: int
    filename: str
    safe_name: str
    content_type: str
    part: Part = field(repr=False)
    errors: list[str] = field(repr=False)

    def payload(self) -> bytes:
        """The decoded payload; decoding defects (bad base64, ...) are appended to the document's ``errors``."""
        decoded, found = self.part.decoded()
        _record(found, self.content_type, self.errors)
        return bytes(decoded)

    def describe(self) -> dict[str, Any]:
        """The attachment's entry in the document, before it is measured."""
        return {"filename": self.filename, "contentType": self.content_type}


def measured(attachment: Attachment, described: dict[str, Any]) -> bytes:
    """Decode ``attachment``, record its size and sha256 in ``described``, and return the payload."""
    payload = attachment.payload()
    described.update(size=len(payload), sha256=hashlib.sha256(payload).hexdigest())
    return payload


@dataclass
class Parsed:
    """The JSON-ready document and the attachments in the order of ``document["attachments"]``."""

    document: dict[str, Any]
    attachments: list[Attachment]


def safe_name(filename: str, index: int) -> str:
    """An S3 key segment from an untrusted file name: ASCII letters, digits, ``._-``; no ``..``; never empty."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    cleaned = _SAFE_NAME.sub("_", ascii_name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")[:100]
    return f"{index:03d}-{cleaned or 'attachment'}"


def _record(found: list[Any], content_type: str, errors: list[str]) -> None:
    errors.extend(f"defect in {content_type}: {type(defect).__name__}" for defect in found)


def _header(msg: EmailMessage, name: str, errors: list[str]) -> str | None:
    try:
        value = msg.get(name)
        return None if value is None else str(value)
    except Exception as error:  # a header policy.default cannot decode: keep the raw text
        errors.append(f"header {name}: {type(error).__name__}: {error}")
        return next((str(raw) for key, raw in msg.raw_items() if key.lower() == name.lower()), None)


def _addresses(msg: EmailMessage, name: str, errors: list[str]) -> list[dict[str, str]]:
    try:
        header = msg.get(name)
        if header is None:
            return []
        return [{"name": a.display_name, "address": a.addr_spec} for a in getattr(header, "addresses", ())]
    except Exception as error:
        errors.append(f"header {name}: {type(error).__name__}: {error}")
        return []


def _text(part: Part, errors: list[str]) -> str:
    ctype = part.headers.get_content_type()
    decoded, found = part.decoded()
    _record(found, ctype, errors)
    # As EmailMessage.get_content() does: the charset parameter, ASCII by default, undecodable bytes replaced.
    charset = part.headers.get_param("charset", "ascii")
    if not isinstance(charset, str):  # an RFC 2231 value: let the stdlib turn it into a name
        charset = part.headers.get_content_charset("ascii")
    try:
        return str(decoded, charset, "replace")
    except (LookupError, UnicodeError) as error:  # unknown charset: decode leniently, say so
        errors.append(f"part {ctype}: {type(error).__name__}: {error}")
        return str(decoded, "utf-8", "replace")


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


def parse(raw: Buffer) -> Parsed:
    """Parse ``raw`` (bytes, or a bytearray the caller will not change); problems are in ``document["errors"]``.

    The result refers to ``raw`` (attachments are decoded from it later), so keep it alive until they are.
    """
    errors: list[str] = []
    text: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    root: EmailMessage | None = None
    for count, part in enumerate(walk(raw, errors), start=1):
        if count > MAX_PARTS:
            errors.append(f"more than {MAX_PARTS} parts: the rest not parsed")
            break
        headers = part.headers
        if root is None:
            root = headers
        _record(headers.defects, headers.get_content_type(), errors)
        if part.multipart:
            continue
        disposition = headers.get_content_disposition()
        ctype = headers.get_content_type()
        if disposition != "attachment" and ctype == "text/plain":
            text.append(_text(part, errors))
        elif disposition != "attachment" and ctype == "text/html":
            html.append(_text(part, errors))
        elif disposition is not None or headers.get_filename() or not ctype.startswith("text/"):
            index = len(attachments)
            filename = headers.get_filename() or ""
            attachments.append(Attachment(index, filename, safe_name(filename, index), ctype, part, errors))
    assert root is not None  # walk always yields the message itself first
    document = {
        "subject": _header(root, "Subject", errors),
        "date": _header(root, "Date", errors),
        "messageId": _header(root, "Message-ID", errors),
        "inReplyTo": _header(root, "In-Reply-To", errors),
        "references": (_header(root, "References", errors) or "").split(),
        "from": _addresses(root, "From", errors),
        "to": _addresses(root, "To", errors),
        "cc": _addresses(root, "Cc", errors),
        "replyTo": _addresses(root, "Reply-To", errors),
        "headers": _all_headers(root, errors),
        "verdicts": verdicts(root),
        "text": "\n".join(text) or None,
        "html": "\n".join(html) or None,
        "attachments": [a.describe() for a in attachments],
        "size": len(raw),
        "errors": errors,
    }
    return Parsed(document, attachments)


def _all_headers(msg: EmailMessage, errors: list[str]) -> list[list[str]]:
    decoded = []
    for name, raw in msg.raw_items():
        try:
            value = str(msg.policy.header_fetch_parse(name, raw))
        except Exception as error:  # e.g. an address group the header registry cannot build: keep the raw text
            message = f"header {name}: {type(error).__name__}: {error}"
            if message not in errors:  # _header/_addresses may have said so already
                errors.append(message)
            value = str(raw)
        decoded.append([name, value])
    return decoded
