"""Raw MIME bytes -> a JSON-ready document plus attachment payloads. Pure: no AWS calls, never raises on bad input.

The message is never handed to ``email.parser`` whole: ``mime_split`` parses each part's header block with the
standard library (``policy.default``) and finds bodies as offsets in the one raw buffer; bodies are decoded one at a
time (``mime_decode``), text when the document is built, attachments only when asked for. A header or part the
standard library cannot handle costs that header or part (an entry in ``errors``), never the message; a limit hit
(``mime_limits``) is an entry in ``truncated``. Every string is UTF-8-safe (``mime_text``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from mime_limits import ADDRESS_HEADERS, ADDRESS_WEIGHT, FIELD_COST, MAX_DEPTH, MAX_PARTS, State
from mime_split import MESSAGE_TYPES, Buffer, Part, walk
from mime_text import clean, json_safe

__all__ = [
    "MAX_DEPTH",
    "MAX_PARTS",
    "SCHEMA_VERSION",
    "Attachment",
    "Parsed",
    "measured",
    "parse",
    "safe_name",
    "verdicts",
]

#: The version of the document's format (docs/inbound-without-workmail.md, "The JSON document").
SCHEMA_VERSION = 2

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
    def of(cls, msg: EmailMessage, state: State) -> _Headers:
        listed: list[list[str]] = []
        first: dict[str, Any] = {}
        items = list(msg.raw_items())
        # The document's own fields are decoded first, so a flood of other headers cannot spend their budget.
        order = sorted(range(len(items)), key=lambda i: items[i][0].lower() not in _DOCUMENT_FIELDS)
        decoded: dict[int, Any] = {}
        for i in order:
            name, raw = items[i]
            weight = ADDRESS_WEIGHT if name.lower() in ADDRESS_HEADERS else 1
            if not state.spend((len(name) + len(raw)) * weight + FIELD_COST):
                decoded[i] = str(raw)  # listed undecoded: the budget is spent (state.truncated says so)
                continue
            try:
                decoded[i] = msg.policy.header_fetch_parse(name, raw)
                str(decoded[i])
            except Exception as error:  # e.g. an address group the header registry cannot build: keep the raw text
                state.errors.append(f"header {name}: {type(error).__name__}: {error}")
                decoded[i] = str(raw)
        for i, (name, _) in enumerate(items):
            listed.append([name, str(decoded[i])])
            first.setdefault(name.lower(), decoded[i])
        return cls(listed, first)

    def text(self, name: str) -> str | None:
        value = self.first.get(name.lower())
        return None if value is None else str(value)

    def addresses(self, name: str) -> list[dict[str, str]]:
        header = self.first.get(name.lower())
        return [{"name": a.display_name, "address": a.addr_spec} for a in getattr(header, "addresses", ())]


_DOCUMENT_FIELDS = frozenset(
    {
        *("subject", "date", "message-id", "in-reply-to", "references", "from", "to", "cc", "reply-to"),
        *("x-ses-spam-verdict", "x-ses-virus-verdict", "received-spf", "authentication-results"),
    }
)


def _charset(part: Part, state: State) -> str:
    try:
        charset = part.headers.get_param("charset", "ascii")
        if not isinstance(charset, str):  # an RFC 2231 value: let the stdlib turn it into a name
            charset = part.headers.get_content_charset("ascii")
        return str(charset)
    except Exception as error:
        state.errors.append(f"part {part.content_type}: charset: {type(error).__name__}: {error}")
        return "ascii"


def _text(part: Part, state: State) -> str:
    ctype = part.content_type
    decoded, found = part.decoded()
    _record(found, ctype, state.errors)
    # As EmailMessage.get_content() does: the charset parameter, ASCII by default, undecodable bytes replaced.
    charset = _charset(part, state)
    try:
        return clean(str(decoded, charset, "replace"))
    except Exception as error:  # unknown charset (LookupError), or one the codec registry refuses (a NUL in it)
        state.errors.append(f"part {ctype}: {type(error).__name__}: {error}")
        return str(decoded, "utf-8", "replace")


def _spf(value: Any) -> str | None:
    words = str(value).split()
    return words[0].upper() if words else None


def verdicts(msg: EmailMessage, state: State | None = None) -> dict[str, str | None]:
    """SES's verdicts from the headers SES adds to a stored message (X-SES-*, Received-SPF, Authentication-Results).

    A verdict whose header cannot be read is None (and an entry in ``state.errors``), never an exception.
    """
    state = state or State()

    def header(name: str) -> Any:
        try:
            value = msg.get(name)
            return None if value is None else str(value)
        except Exception as error:
            state.errors.append(f"header {name}: {type(error).__name__}: {error}")
            return None

    try:
        auth = " ".join(str(value) for value in msg.get_all("Authentication-Results", []))
    except Exception as error:
        state.errors.append(f"header Authentication-Results: {type(error).__name__}: {error}")
        auth = ""

    def result(method: str) -> str | None:
        found = re.search(rf"\b{method}=(\w+)", auth)
        return found.group(1).upper() if found else None

    spf = header("Received-SPF")
    return {
        "spam": header("X-SES-Spam-Verdict"),
        "virus": header("X-SES-Virus-Verdict"),
        "spf": _spf(spf) if spf and _spf(spf) else result("spf"),
        "dkim": result("dkim"),
        "dmarc": result("dmarc"),
    }


def _disposition(part: Part, state: State) -> tuple[str | None, str]:
    """The part's Content-Disposition and file name; a value the stdlib cannot parse counts as absent."""
    headers = part.headers
    try:
        disposition = headers.get_content_disposition()
    except Exception as error:
        state.errors.append(f"part {part.content_type}: Content-Disposition: {type(error).__name__}: {error}")
        disposition = None
    try:
        filename = clean(headers.get_filename() or "")
    except Exception as error:
        state.errors.append(f"part {part.content_type}: file name: {type(error).__name__}: {error}")
        filename = ""
    return disposition, filename


def is_attachment(content_type: str, disposition: str | None, filename: str) -> bool:
    """What a mail client lists as an attachment: any part with a file name, an attached message, any part marked
    ``attachment``, and any leaf that is neither ``text/plain`` nor ``text/html`` (images, PDFs, calendars ...).

    Unnamed ``text/plain`` / ``text/html`` parts not marked ``attachment`` are the message's text.
    """
    if filename or disposition == "attachment" or content_type in MESSAGE_TYPES:
        return True
    return content_type not in ("text/plain", "text/html") and (
        disposition is not None or not content_type.startswith("text/")
    )


def _leaf(part: Part, state: State, text: list[str], html: list[str], attachments: list[Attachment]) -> None:
    ctype = part.content_type
    disposition, filename = _disposition(part, state)
    if is_attachment(ctype, disposition, filename):
        index = len(attachments)
        default = "message.eml" if ctype in MESSAGE_TYPES else ""
        named = safe_name(filename or default, index)
        attachments.append(Attachment(index, filename, named, ctype, part, state.errors))
    elif ctype == "text/plain":
        text.append(_text(part, state))
    elif ctype == "text/html":
        html.append(_text(part, state))


def parse(raw: Buffer) -> Parsed:
    """Parse ``raw`` (bytes, or a bytearray the caller will not change); problems are in ``document["errors"]``,
    limits hit in ``document["truncated"]``.

    The result refers to ``raw`` (attachments are decoded from it later), so keep it alive until they are.
    """
    state = State()
    text: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    root: EmailMessage | None = None
    for count, part in enumerate(walk(raw, state), start=1):
        if count > MAX_PARTS:
            state.cut(f"more than MAX_PARTS={MAX_PARTS} parts: the rest not parsed")
            break
        if root is None:
            root = part.headers
        _record(part.headers.defects, part.content_type, state.errors)
        if part.multipart:
            continue
        try:
            _leaf(part, state, text, html, attachments)
        except Exception as error:  # one part the parser cannot read costs that part only
            state.errors.append(f"part {part.content_type}: {type(error).__name__}: {error}: skipped")
    assert root is not None  # walk always yields the message itself first
    headers = _Headers.of(root, state)
    document = {
        "schemaVersion": SCHEMA_VERSION,
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
        "verdicts": verdicts(root, state),
        "text": "\n".join(text) or None,
        "html": "\n".join(html) or None,
        "attachments": [a.describe() for a in attachments],
        "size": len(raw),
        "errors": state.errors,
        "truncated": state.truncated,
    }
    safe = json_safe(document)
    safe["errors"] = state.errors  # the same list: decoding an attachment later appends its defects (cleaned on write)
    return Parsed(safe, attachments)
