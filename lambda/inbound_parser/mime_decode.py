"""Undo a body's Content-Transfer-Encoding in place, with the result ``Message.get_payload(decode=True)`` gives.

Clean base64 and all quoted-printable decode straight from the message buffer with ``binascii`` (one output, no copy
of the input). Anything else the stdlib would treat specially (base64 with bad characters or padding, uuencode) is
handed to ``email.message.Message`` itself, which copies that one body but reports the same defects.
"""

from __future__ import annotations

import binascii
from email import errors as defects
from email.message import Message

Buffer = bytes | bytearray

_IDENTITY = ("", "7bit", "8bit", "binary")
_UUENCODE = ("x-uuencode", "uuencode", "uue", "x-uue")


def decode(raw: Buffer, start: int, end: int, cte: str) -> tuple[bytes | memoryview, list[defects.MessageDefect]]:
    """``raw[start:end]`` decoded per ``cte`` (lower case); identity encodings return a view, not a copy."""
    view = memoryview(raw)[start:end]
    if cte == "base64":
        decoded = _clean_base64(raw, start, end)
        return (decoded, []) if decoded is not None else _stdlib(view, cte)
    if cte == "quoted-printable":
        return binascii.a2b_qp(view), []
    if cte in _UUENCODE:
        return _stdlib(view, cte)
    return view, []  # 7bit, 8bit, binary, none, or unknown: the stdlib returns the bytes as they are too


def _clean_base64(raw: Buffer, start: int, end: int) -> bytes | None:
    """The decoded bytes when the body is strictly base64 (alphabet, line breaks, final padding), else None.

    ``a2b_base64`` skips characters outside the alphabet silently; the stdlib reports them. A clean body of ``n``
    characters besides line breaks, ``pad`` of them ``=`` at the end, decodes to exactly ``(n - pad) * 3 // 4`` bytes;
    a skipped character makes it shorter (for the lengths a clean body can have, that function is strictly increasing).
    """
    n = end - start - raw.count(b"\n", start, end) - raw.count(b"\r", start, end)
    pad = raw.count(b"=", start, end)
    if n % 4 or pad > 2:
        return None
    last = end
    while last > start and raw[last - 1] in (10, 13):
        last -= 1
    if raw[last - pad : last] != b"=" * pad:
        return None
    try:
        decoded = binascii.a2b_base64(memoryview(raw)[start:end])
    except binascii.Error:
        return None
    return decoded if len(decoded) == (n - pad) * 3 // 4 else None


def _stdlib(view: memoryview, cte: str) -> tuple[bytes, list[defects.MessageDefect]]:
    message = Message()
    message["Content-Transfer-Encoding"] = cte
    message.set_payload(str(view, "ascii", "surrogateescape"))
    payload = message.get_payload(decode=True)
    return (payload if isinstance(payload, bytes) else bytes(view)), list(message.defects)
