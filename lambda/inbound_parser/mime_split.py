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
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import errors as defects
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import mime_decode

Buffer = bytes | bytearray

MAX_DEPTH = 20
MAX_PARTS = 1000
# email.feedparser's headerRE and boundary line pattern, over bytes.
_HEADER_LINE = re.compile(rb"From |[\041-\071\073-\176]*:|[\t ]")
_EOL = re.compile(rb"\r\n|\r|\n")
_DELIMITER_TAIL = re.compile(rb"(--)?[ \t]*(\r\n|\r|\n)?")
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


def walk(raw: Buffer, errors: list[str]) -> Iterator[Part]:
    """Every part of ``raw`` in document order (the message itself first), lazily: stop iterating to stop splitting.

    Containers (``multipart``, and ``message/*`` whose body is itself a message, as in ``email.parser``) come with
    ``multipart=True`` before their children. Parts nested deeper than ``MAX_DEPTH`` are not read; ``errors`` says so.
    """
    yield from _visit(raw, 0, len(raw), 0, "text/plain", False, errors)


def _visit(
    raw: Buffer, start: int, end: int, depth: int, default_type: str, strip: bool, errors: list[str]
) -> Iterator[Part]:
    # strip: the part ends where a delimiter line begins, so its last line break is the delimiter's (RFC 2046).
    if depth > MAX_DEPTH:
        errors.append(f"nesting deeper than {MAX_DEPTH} levels: inner parts not parsed")
        return
    headers, body, prefix = read_headers(raw, start, end)
    headers.set_default_type(default_type)
    # Every get_content_type() parses the header anew (policy.default does not cache): ask once per part.
    content_type = headers.get_content_type()
    maintype = content_type.partition("/")[0]
    part = Part(headers, raw, body, end, content_type, prefix=prefix)
    if maintype == "message":
        part.multipart = True
        yield part
        if content_type == "message/delivery-status":
            blocks = _status_blocks(raw, body, end)
            for number, (block_start, block_end) in enumerate(blocks, start=1):
                last = strip and number == len(blocks)  # feedparser strips the part it created last
                yield from _visit(raw, block_start, block_end, depth + 1, "text/plain", last, errors)
        else:
            yield from _visit(raw, body, end, depth + 1, "text/plain", strip, errors)
        return
    children = _split(part) if maintype == "multipart" else None
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
        yield from _visit(raw, child_start, child_end, depth + 1, child_type, True, errors)


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


def read_headers(raw: Buffer, start: int, end: int) -> tuple[EmailMessage, int, bytes]:
    """Parse the header block at ``raw[start:end]`` with ``email.parser``; return it, where the body starts, and a
    line the body starts with before that (feedparser moves a last header line ``From ...`` into the body)."""
    pos, body, missing_separator, last = start, end, False, start
    while pos < end:
        if not _HEADER_LINE.match(raw, pos, end):
            if raw[pos] in (_LF, _CR):  # the blank line that ends the headers
                found = _EOL.match(raw, pos, end)
                body = found.end() if found else end
            else:  # a line that is not a header: the body starts here (a defect, as in feedparser)
                body, missing_separator = pos, True
            break
        found = _EOL.search(raw, pos, end)
        last, pos = pos, found.end() if found else end
    prefix = bytes(raw[last:pos]) if last > start and raw.startswith(b"From ", last) else b""
    headers = BytesParser(policy=policy.default).parsebytes(bytes(raw[start:pos]), headersonly=True)
    assert isinstance(headers, EmailMessage)
    if missing_separator:
        # feedparser notes it before the header lines' own defects
        headers.defects.insert(0, defects.MissingHeaderBodySeparatorDefect())
    return headers, body, prefix


def _split(part: Part) -> list[tuple[int, int]] | None:
    """The body ranges of a multipart's children, or None (a leaf, with a defect) when it cannot be split."""
    headers, raw = part.headers, part.raw
    boundary = headers.get_boundary()
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
    pos = start
    while (hit := raw.find(separator, pos, end)) >= 0:
        pos = hit + 1
        if hit > start and raw[hit - 1] not in (_LF, _CR):
            continue
        tail = _DELIMITER_TAIL.match(raw, hit + len(separator), end)
        assert tail is not None  # every group is optional
        if tail.group(2) is None and tail.end() != end:
            continue
        pos = tail.end()
        yield hit, pos, tail.group(1) is not None


def _strip_eol(raw: Buffer, start: int, end: int) -> int:
    """``end`` moved back over one final CRLF, LF or CR (feedparser's NLCRE_eol)."""
    if end > start and raw[end - 1] == _LF:
        end -= 1
        return end - 1 if end > start and raw[end - 1] == _CR else end
    return end - 1 if end > start and raw[end - 1] == _CR else end
