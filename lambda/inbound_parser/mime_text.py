"""Make any text the parser produced fit in a JSON document written as UTF-8.

The standard library keeps 8-bit header bytes as lone surrogates (``surrogateescape``) and some codecs (UTF-7) decode
to lone surrogates too; neither can be encoded as UTF-8, so a document holding one cannot be written.
"""

from __future__ import annotations

import re
from typing import Any

_ESCAPED = re.compile("[\udc80-\udcff]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unescape(found: re.Match[str]) -> str:
    # Runs of escaped bytes are the raw header bytes: read them as UTF-8 (RFC 6532), U+FFFD where they are not.
    return found.group().encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def clean(text: str) -> str:
    """``text`` with escaped 8-bit bytes decoded as UTF-8 and any other lone surrogate replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", _ESCAPED.sub(_unescape, text))


def json_safe(value: Any) -> Any:
    """``value`` (dicts, lists, strings, numbers) with every string :func:`clean`; keys included."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
