"""The inbound parser's document and the standard library's reading of the same message, in one comparable shape.

``stdlib_view`` is the reference: ``BytesParser(policy=policy.default)`` over the whole message, walked with the
parser's documented rules (docs/inbound-without-workmail.md): unnamed ``text/plain`` / ``text/html`` parts not marked
``attachment`` are the text, everything a mail client lists is an attachment, an attached message
(``message/rfc822``) is one attachment, not walked into. Strings pass through the parser's ``clean`` on both sides: the
stdlib keeps 8-bit header bytes as lone surrogates, which a JSON document cannot hold (a documented difference).
"""

from __future__ import annotations

import hashlib
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any

from tests.conftest import load_handler

mime = load_handler("inbound_parser", "mime")
mime_text = load_handler("inbound_parser", "mime_text")
clean = mime_text.clean


def _payload(part: Message) -> bytes:
    decoded = part.get_payload(decode=True)
    return decoded if isinstance(decoded, bytes) else b""


def _inner_headers(message: Message) -> list[list[str]]:
    return [[k, clean(str(v))] for k, v in message.items()]


def _walk(part: Message, root: bool, out: dict[str, Any]) -> None:
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "message/global") and not root:
        inner = part.get_payload(0)
        assert isinstance(inner, Message)
        out["attachments"].append((ctype, clean(part.get_filename() or ""), _inner_headers(inner)))
        return
    if part.is_multipart():
        for child in part.get_payload():
            assert isinstance(child, Message)
            _walk(child, False, out)
        return
    disposition, filename = part.get_content_disposition(), clean(part.get_filename() or "")
    if mime.is_attachment(ctype, disposition, filename):
        payload = _payload(part)
        out["attachments"].append((ctype, filename, len(payload), hashlib.sha256(payload).hexdigest()))
    elif ctype in ("text/plain", "text/html"):
        try:
            content = str(part.get_content())  # type: ignore[attr-defined]
        except LookupError:
            content = _payload(part).decode("utf-8", "replace")
        out["text" if ctype == "text/plain" else "html"].append(clean(content))


def stdlib_view(raw: bytes) -> dict[str, Any]:
    """What ``email.parser`` over the whole message gives for the document's headers, bodies and attachments."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    out: dict[str, Any] = {"text": [], "html": [], "attachments": []}
    _walk(msg, True, out)
    return {
        "text": "\n".join(out["text"]) or None,
        "html": "\n".join(out["html"]) or None,
        "attachments": out["attachments"],
        "headers": _inner_headers(msg),
    }


def parser_view(raw: bytes | bytearray, parsed: Any = None) -> dict[str, Any]:
    """The same shape from the inbound parser (attachments decoded and measured as the handler does); ``parsed``:
    ``mime.parse(raw)`` if the caller has it already (the document's attachments get their size and sha256)."""
    parsed = mime.parse(raw) if parsed is None else parsed
    attachments: list[tuple[Any, ...]] = []
    for attachment, described in zip(parsed.attachments, parsed.document["attachments"], strict=True):
        payload = mime.measured(attachment, described)
        if attachment.content_type in ("message/rfc822", "message/global"):
            inner = BytesParser(policy=policy.default).parsebytes(payload)
            attachments.append((described["contentType"], described["filename"], _inner_headers(inner)))
        else:
            measure = (described["size"], described["sha256"])
            attachments.append((described["contentType"], described["filename"], *measure))
    doc = parsed.document
    return {"text": doc["text"], "html": doc["html"], "attachments": attachments, "headers": doc["headers"]}


def stdlib_defects(raw: bytes) -> list[str]:
    """Every defect the standard library finds in the message, its parts and attached messages (empty: well-formed)."""
    found: list[str] = []
    for part in BytesParser(policy=policy.default).parsebytes(raw).walk():
        found.extend(type(d).__name__ for d in part.defects)
        for name, raw_value in part.raw_items():
            try:
                value = part.policy.header_fetch_parse(name, raw_value)
            except Exception as error:  # a header the stdlib cannot build is as broken as it gets
                found.append(f"{name}: {type(error).__name__}")
                continue
            found.extend(f"{name}: {type(d).__name__}" for d in getattr(value, "defects", ()))
    return found
