"""The MIME tree of a raw message, found in place: header blocks go to ``email.parser``, bodies stay byte offsets.

``email.parser`` over a whole message holds the bytes, a surrogate-escaped ``str`` copy and per-part line lists (about
6x the message). Here only each part's header block is copied and parsed by the standard library (``policy.default``:
RFC 2047, addresses, parameters, defects stay the stdlib's); multipart bodies are split on the raw buffer with
``bytes.find``, following ``email.feedparser``'s reading of RFC 2046 so that both agree on every part's bytes:

- a delimiter is a line ``--boundary``, optionally ``--`` (close), then spaces/tabs, then CRLF, CR, LF or the end;
- text before the first delimiter is the preamble, after the close delimiter the epilogue (neither is kept);
- the line break before a delimiter belongs to it, not to the part; delimiter lines in a row make no empty parts;
- a part ends at its multipart's next delimiter or at the end of the enclosing part (which is how an enclosing
  boundary ends an unclosed inner multipart);
- defects are the stdlib's classes: no boundary parameter, start or close delimiter not found, bad multipart
  Content-Transfer-Encoding, header block without a blank line after it.

Unlike ``email.parser``, an attached message (``message/rfc822``, ``message/global``) is a leaf: it is an attachment,
as mail clients show it, not more parts of this message. Work is bounded by ``mime_limits`` (header field lengths,
the header decoding budget, depth, parts), and each delimiter search resumes at the next line, so that a long
boundary cannot make the split quadratic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import errors as defects
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import mime_decode
from mime_limits import (
    ADDRESS_HEADERS,
    MAX_ADDRESS_HEADER_BYTES,
    MAX_DEPTH,
    MAX_HEADER_BYTES,
    MAX_PARTS,
    State,
)

Buffer = bytes | bytearray

#: Attached messages: leaves (attachments), not containers.
MESSAGE_TYPES = ("message/rfc822", "message/global")
# email.feedparser's headerRE and boundary line pattern, over bytes.
_HEADER_LINE = re.compile(rb"From |[\041-\071\073-\176]*:|[\t ]")
_EOL = re.compile(rb"\r\n|\r|\n")
_DELIMITER_TAIL = re.compile(rb"(--)?[ \t]*(\r\n|\r|\n)?")
_LINE_BREAK = re.compile(rb"[\r\n]")
_NAME_END = re.compile(rb"[ \t]*:")
# Structured headers of a part the splitter decodes; they are charged to the decoding budget.
_MIME_FIELDS = (b"content-", b"mime-version")
_LF, _CR = 10, 13


@dataclass
class Part:
    """One MIME part: its parsed headers and where its body lies in ``raw`` (``raw[start:end]``, not copied)."""

    headers: EmailMessage
    raw: Buffer
    start: int
    end: int
    content_type: str = "text/plain"
    multipart: bool = False
    prefix: bytes = b""

    def decoded(self) -> tuple[bytes | memoryview, list[defects.MessageDefect]]:
        """The body with its Content-Transfer-Encoding undone, and the decoding's defects."""
        cte = str(self.headers.get("content-transfer-encoding", "")).lower()
        if self.prefix:  # rare (see read_headers): decode a copy
            body = self.prefix + self.raw[self.start : self.end]
            return mime_decode.decode(body, 0, len(body), cte)
        return mime_decode.decode(self.raw, self.start, self.end, cte)


def walk(raw: Buffer, state: State) -> Iterator[Part]:
    """Every part of ``raw`` in document order (the message itself first), lazily: stop iterating to stop splitting.

    Containers (``multipart``, and ``message/*`` other than an attached message, whose body is itself a message, as
    in ``email.parser``) come with ``multipart=True`` before their children. Parts nested deeper than ``MAX_DEPTH``
    or past the header decoding budget are not read; ``state`` says so.
    """
    yield from _visit(raw, 0, len(raw), 0, "text/plain", False, state)


def _visit(
    raw: Buffer, start: int, end: int, depth: int, default_type: str, strip: bool, state: State
) -> Iterator[Part]:
    # strip: the part ends where a delimiter line begins, so its last line break is the delimiter's (RFC 2046).
    if depth > MAX_DEPTH:
        state.cut(f"nesting deeper than MAX_DEPTH={MAX_DEPTH} levels: inner parts not parsed")
        return
    if state.exhausted:
        return
    headers, body, prefix = read_headers(raw, start, end, state, root=depth == 0)
    if headers is None:
        return
    headers.set_default_type(default_type)
    content_type = _content_type(headers, state)
    maintype = content_type.partition("/")[0]
    part = Part(headers, raw, body, end, content_type, prefix=prefix)
    # A message that is itself one attached message (Content-Type: message/rfc822 at the top) has nothing else to
    # show: it is walked into, as email.parser does; attached deeper, a message is an attachment.
    if maintype == "message" and (content_type not in MESSAGE_TYPES or depth == 0):
        part.multipart = True
        yield part
        if content_type == "message/delivery-status":
            blocks = _status_blocks(raw, body, end)
            for number, (block_start, block_end) in enumerate(blocks, start=1):
                last = strip and number == len(blocks)  # feedparser strips the part it created last
                yield from _visit(raw, block_start, block_end, depth + 1, "text/plain", last, state)
        else:
            yield from _visit(raw, body, end, depth + 1, "text/plain", strip, state)
        return
    children = _split(part, state) if maintype == "multipart" else None
    if children is None:
        if maintype == "multipart" and depth == 0:
            headers.policy.handle_defect(headers, defects.MultipartInvariantViolationDefect())
        elif maintype != "multipart" and strip:
            if part.end > part.start:
                part.end = _strip_eol(raw, part.start, part.end)
            else:
                part.prefix = part.prefix[: _strip_eol(part.prefix, 0, len(part.prefix))]
        yield part
        return
    part.multipart = True
    yield part
    child_type = "message/rfc822" if content_type == "multipart/digest" else "text/plain"
    for child_start, child_end in children:
        yield from _visit(raw, child_start, child_end, depth + 1, child_type, True, state)


def _content_type(headers: EmailMessage, state: State) -> str:
    # Every get_content_type() parses the header anew (policy.default does not cache): ask once per part.
    try:
        return headers.get_content_type()
    except Exception as error:  # a Content-Type the stdlib cannot parse: the part keeps its default type
        state.errors.append(f"header Content-Type: {type(error).__name__}: {error}")
        return headers.get_default_type()


def _status_blocks(raw: Buffer, start: int, end: int) -> list[tuple[int, int]]:
    """message/delivery-status: header blocks separated by blank lines (each one a part, as in email.feedparser)."""
    blocks: list[tuple[int, int]] = []
    pos = start
    while True:
        stop = pos
        while stop < end and raw[stop] not in (_LF, _CR):
            found = _EOL.search(raw, stop, end)
            stop = found.end() if found else end
        blocks.append((pos, stop))
        found = _EOL.match(raw, stop, end)
        if found is None or found.end() >= end:
            return blocks
        pos = found.end()


class _Message(EmailMessage):
    """An EmailMessage that parses each header once, and whose content type falls back to the default when the
    stdlib cannot parse the header.

    ``policy.default`` parses a header anew on every ``get`` (content type, boundary, charset, file name each ask):
    the cache makes a part's Content-* fields cost one parse each. ``email.parser`` asks for the content type when it
    closes a message; one unparsable ``Content-Type`` (say a bare RFC 2231 ``name*``) must cost that header its
    parameters, not the whole message.
    """

    _cache: dict[str, Any]

    def get(self, name: str, failobj: Any = None) -> Any:
        cache = self.__dict__.setdefault("_cache", {})
        key = name.lower()
        if key not in cache:
            cache[key] = super().get(name, _MISSING)
        value = cache[key]
        return failobj if value is _MISSING else value

    def __setitem__(self, name: str, value: Any) -> None:
        self.__dict__.pop("_cache", None)
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        self.__dict__.pop("_cache", None)
        super().__delitem__(name)

    def replace_header(self, _name: str, _value: Any) -> None:
        self.__dict__.pop("_cache", None)
        super().replace_header(_name, _value)

    def get_content_type(self) -> str:
        try:
            return super().get_content_type()
        except Exception:
            return self.get_default_type()


_MISSING = object()
_PARSER = BytesParser(_class=_Message, policy=policy.default)


def read_headers(
    raw: Buffer, start: int, end: int, state: State, root: bool = False
) -> tuple[EmailMessage | None, int, bytes]:
    """Parse the header block at ``raw[start:end]`` with ``email.parser``; return it (None when the decoding budget
    is spent), where the body starts, and a line the body starts with before that (feedparser moves a last header line
    ``From ...`` into the body). Fields longer than their limit are cut first; ``state`` records it."""
    pos, body, missing_separator, last = start, end, False, start
    fields: list[int] = []  # where each field (a line that is not a continuation) starts
    while pos < end:
        if not _HEADER_LINE.match(raw, pos, end):
            if raw[pos] in (_LF, _CR):  # the blank line that ends the headers
                found = _EOL.match(raw, pos, end)
                body = found.end() if found else end
            else:  # a line that is not a header: the body starts here (a defect, as in feedparser)
                body, missing_separator = pos, True
            break
        if raw[pos] not in (9, 32) or not fields:
            fields.append(pos)
        found = _EOL.search(raw, pos, end)
        last, pos = pos, found.end() if found else end
    prefix = bytes(raw[last:pos]) if last > start and raw.startswith(b"From ", last) else b""
    block, mime_bytes = _capped(raw, fields, pos, state)
    # The root's Content-* fields always fit (the budget is far larger than three capped fields).
    if not state.spend(mime_bytes) and not root:
        return None, body, prefix
    headers = _PARSER.parsebytes(block, headersonly=True)
    assert isinstance(headers, EmailMessage)
    if missing_separator:
        # feedparser notes it before the header lines' own defects
        headers.defects.insert(0, defects.MissingHeaderBodySeparatorDefect())
    _repair(headers, state)
    return headers, body, prefix


def _capped(raw: Buffer, fields: list[int], end: int, state: State) -> tuple[bytes, int]:
    """The header block with each field cut to its limit, and the size of its Content-* fields."""
    pieces: list[bytes] = []
    mime_bytes = 0
    for number, field_start in enumerate(fields):
        field_end = fields[number + 1] if number + 1 < len(fields) else end
        colon = raw.find(b":", field_start, min(field_end, field_start + 1000))
        name = bytes(raw[field_start : colon if colon >= 0 else field_start]).rstrip().lower()
        limit = MAX_ADDRESS_HEADER_BYTES if name.decode("ascii", "replace") in ADDRESS_HEADERS else MAX_HEADER_BYTES
        piece = bytes(raw[field_start:field_end])
        if len(piece) > limit:
            piece = _cut(piece, limit, addresses=limit == MAX_ADDRESS_HEADER_BYTES)
            label = "MAX_ADDRESS_HEADER_BYTES" if limit == MAX_ADDRESS_HEADER_BYTES else "MAX_HEADER_BYTES"
            state.cut(f"header {name.decode('ascii', 'replace')} longer than {label}={limit} bytes: cut")
        if name.startswith(_MIME_FIELDS):
            mime_bytes += len(piece)
        pieces.append(piece)
    return b"".join(pieces), mime_bytes


def _cut(field: bytes, limit: int, addresses: bool) -> bytes:
    """``field`` cut to at most ``limit`` bytes, at its last comma (an address list: between addresses) or white space
    (not inside a word), ending in one line break."""
    head = field[: limit - 2]
    at = head.rfind(b",") if addresses else max(head.rfind(b","), head.rfind(b" "), head.rfind(b"\t"))
    if at > head.find(b":"):
        head = head[:at]
    return head.rstrip(b"\r\n \t") + b"\r\n"


_REPAIRED = ("content-type", "content-disposition", "content-transfer-encoding")


def _repair(headers: EmailMessage, state: State) -> None:
    """Replace a MIME header the stdlib cannot parse by its value without parameters, or drop it."""
    for name in _REPAIRED:
        if name not in headers:
            continue
        try:
            value = headers[name]
            getattr(value, "params", None)
            continue
        except Exception as error:
            state.errors.append(f"header {name}: {type(error).__name__}: {error}: its parameters are ignored")
        raw_value = next(str(v) for k, v in headers.raw_items() if k.lower() == name)
        try:
            headers.replace_header(name, raw_value.split(";", 1)[0].strip())
            str(headers[name])
        except Exception:
            del headers[name]


def _split(part: Part, state: State) -> list[tuple[int, int]] | None:
    """The body ranges of a multipart's children, or None (a leaf, with a defect) when it cannot be split."""
    headers, raw = part.headers, part.raw
    try:
        boundary = headers.get_boundary()
    except Exception as error:  # _repair keeps Content-Type parsable; this is a last resort
        state.errors.append(f"header Content-Type: {type(error).__name__}: {error}")
        boundary = None
    if boundary is None:
        headers.policy.handle_defect(headers, defects.NoBoundaryInMultipartDefect())
        return None
    if str(headers.get("content-transfer-encoding", "8bit")).lower() not in ("7bit", "8bit", "binary"):
        headers.policy.handle_defect(headers, defects.InvalidMultipartContentTransferEncodingDefect())
    try:
        separator = b"--" + boundary.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # decoded non-ASCII boundary: the stdlib cannot match it against body lines either
        separator = b""
    delimiters = _delimiters(raw, separator, part.start, part.end) if separator else iter(())
    first = next(delimiters, None)
    if first is None or first[2]:
        headers.policy.handle_defect(headers, defects.StartBoundaryNotFoundDefect())
        if first is not None:  # a close delimiter before any other: the text before it is the whole body
            part.end = first[0]
        return None
    children: list[tuple[int, int]] = []
    cursor = first[1]
    for line_start, line_end, close in delimiters:
        if line_start != cursor:  # delimiter lines directly after a delimiter are skipped (no empty parts)
            children.append((cursor, line_start))
            if close or len(children) > MAX_PARTS:  # past MAX_PARTS the message is cut anyway: bound the list
                return children
        cursor = line_end
    children.append((cursor, part.end))
    headers.policy.handle_defect(headers, defects.CloseBoundaryNotFoundDefect())
    return children


def _delimiters(raw: Buffer, separator: bytes, start: int, end: int) -> Iterator[tuple[int, int, bool]]:
    """Delimiter lines in ``raw[start:end]``: (line start, line end incl. its line break, is the close delimiter)."""
    if _LINE_BREAK.search(separator):  # no line can hold it
        return
    pos = start
    while (hit := raw.find(separator, pos, end)) >= 0:
        if hit == start or raw[hit - 1] in (_LF, _CR):
            tail = _DELIMITER_TAIL.match(raw, hit + len(separator), end)
            assert tail is not None  # every group is optional
            if tail.group(2) is not None or tail.end() == end:
                pos = tail.end()
                yield hit, pos, tail.group(1) is not None
                continue
        # Not a delimiter: the next one can only start on a later line, past this hit (the separator holds no line
        # break). Searching from hit + 1 instead would compare a long boundary again at every byte: quadratic.
        found = _LINE_BREAK.search(raw, hit + len(separator), end)
        if found is None:
            return
        pos = found.start()


def _strip_eol(raw: Buffer, start: int, end: int) -> int:
    """``end`` moved back over one final CRLF, LF or CR (feedparser's NLCRE_eol)."""
    if end > start and raw[end - 1] == _LF:
        end -= 1
        return end - 1 if end > start and raw[end - 1] == _CR else end
    return end - 1 if end > start and raw[end - 1] == _CR else end
