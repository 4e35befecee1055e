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


@dataclass
class _Headers:
    """The message's headers, each decoded once by policy.default (which caches nothing: every get() re-parses)."""

    listed: list[list[str]]
    first: dict[str, Any]  # lower-case name -> the first such header (object, or its raw text when undecodable)

    @classmethod
    def of(cls, msg: EmailMessage, errors: list[str]) -> _Headers:
        listed: list[list[str]] = []
        first: dict[str, Any] = {}
        for name, raw in msg.raw_items():
            value: Any
            try:
                value = msg.policy.header_fetch_parse(name, raw)
                text = str(value)
            except Exception as error:  # e.g. an address group the header registry cannot build: keep the raw text
                errors.append(f"header {name}: {type(error).__name__}: {error}")
                value = text = str(raw)
            listed.append([name, text])
            first.setdefault(name.lower(), value)
        return cls(listed, first)

    def text(self, name: str) -> str | None:
        value = self.first.get(name.lower())
        return None if value is None else str(value)

    def addresses(self, name: str) -> list[dict[str, str]]:
        header = self.first.get(name.lower())
        return [{"name": a.display_name, "address": a.addr_spec} for a in getattr(header, "addresses", ())]


def _text(part: Part, errors: list[str]) -> str:
    ctype = part.content_type
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
        ctype = part.content_type
        _record(headers.defects, ctype, errors)
        if part.multipart:
            continue
        disposition = headers.get_content_disposition()
        if disposition != "attachment" and ctype == "text/plain":
            text.append(_text(part, errors))
        elif disposition != "attachment" and ctype == "text/html":
            html.append(_text(part, errors))
        elif (filename := headers.get_filename() or "") or disposition is not None or not ctype.startswith("text/"):
            index = len(attachments)
            attachments.append(Attachment(index, filename, safe_name(filename, index), ctype, part, errors))
    assert root is not None  # walk always yields the message itself first
    headers = _Headers.of(root, errors)
    document = {
        "subject": headers.text("Subject"),
        "date": headers.text("Date"),
        "messageId": headers.text("Message-ID"),
        "inReplyTo": headers.text("In-Reply-To"),
        "references": (headers.text("References") or "").split(),
        "from": headers.addresses("From"),
        "to": headers.addresses("To"),
        "cc": headers.addresses("Cc"),
        "replyTo": headers.addresses("Reply-To"),
        "headers": headers.listed,
        "verdicts": verdicts(root),
        "text": "\n".join(text) or None,
        "html": "\n".join(html) or None,
        "attachments": [a.describe() for a in attachments],
        "size": len(raw),
        "errors": errors,
    }
    return Parsed(document, attachments)
