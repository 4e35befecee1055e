"""Generated messages built to make a MIME parser slow or large: what benchmarks/parse.py times and the parser's
limit tests feed it (they assert the bounded result, never the time).

Each function returns raw message bytes; ``WORST_CASES`` names them with the size the issue measured them at.
"""

from __future__ import annotations

from collections.abc import Callable

MB = 1024 * 1024


def long_boundary(size: int = 2 * MB, boundary_bytes: int = 64 * 1024) -> bytes:
    """A multipart whose body is lines that start like its (very long) boundary and are not delimiters."""
    boundary = b"b" * boundary_bytes
    line = b"--" + boundary + b"x\r\n"
    lines = b"".join([line] * max(1, size // len(line)))
    return (
        b'Subject: long boundary\r\nContent-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
        b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\n" + lines + b"--" + boundary + b"--\r\n"
    )


def encoded_word_subject(words: int = 100_000) -> bytes:
    """A Subject of ``words`` RFC 2047 encoded words."""
    return b"Subject: " + b" ".join([b"=?utf-8?q?caf=C3=A9?="] * words) + b"\r\n\r\nbody\r\n"


def address_flood(addresses: int = 100_000) -> bytes:
    """A To: with ``addresses`` named addresses."""
    listed = b", ".join(b'"Person %d" <p%d@example.com>' % (i, i) for i in range(addresses))
    return b"From: a@example.org\r\nTo: " + listed + b"\r\nSubject: many\r\n\r\nbody\r\n"


def folded_header(lines: int = 100_000) -> bytes:
    """One header folded over ``lines`` lines."""
    return b"Subject: start" + b"\r\n word" * lines + b"\r\n\r\nbody\r\n"


def header_flood(fields: int = 100_000) -> bytes:
    """``fields`` short header fields."""
    return b"".join(b"X-Field-%d: value\r\n" % i for i in range(fields)) + b"Subject: flood\r\n\r\nbody\r\n"


def deep_nesting(depth: int = 10_000) -> bytes:
    """Multiparts nested ``depth`` deep."""
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    tail = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return b"Subject: deep\r\n" + head + b"Content-Type: text/plain\r\n\r\nleaf\r\n" + tail


def heavy_part_headers(parts: int = 1000, param_bytes: int = 15 * 1024) -> bytes:
    """``parts`` parts, each with a Content-Type of ``param_bytes`` of parameters (slow for the stdlib to parse)."""
    params = b"; ".join(b"p%d=v" % i for i in range(param_bytes // 8))
    part = b"--b\r\nContent-Type: text/plain; " + params + b"\r\n\r\nx\r\n"
    return b'Subject: heavy\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + part * parts + b"--b--\r\n"


WORST_CASES: dict[str, Callable[[], bytes]] = {
    "2 MB body, 64 KiB boundary": long_boundary,
    "2 MB body, 8 KiB boundary": lambda: long_boundary(boundary_bytes=8 * 1024),
    "Subject of 100,000 encoded words": encoded_word_subject,
    "To: with 100,000 addresses": address_flood,
    "header folded over 100,000 lines": folded_header,
    "100,000 header fields": header_flood,
    "multiparts nested 10,000 deep": deep_nesting,
    "1000 parts with 15 KiB Content-Type": heavy_part_headers,
}
