"""Reading one cdk.json object: every error is one line naming the key path and the bad value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: How cdk.json's users know the types: JSON's words, not Python's.
_JSON_TYPES = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


class SettingsError(ValueError):
    """A bad value in cdk.json; its message is the one line shown to the user."""


class Reader:
    """Reads one JSON object, naming every key it reports on and rejecting keys it was never asked about."""

    def __init__(self, raw: Any, path: str) -> None:
        if not isinstance(raw, Mapping):
            raise SettingsError(f"{path}: expected an object, got {raw!r}")
        self.raw = raw
        self.path = path
        self._seen: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.path}.{key}"

    def get(self, key: str, kind: type | tuple[type, ...], *, required: bool = False, default: Any = None) -> Any:
        self._seen.add(key)
        if key not in self.raw:
            if required:
                raise SettingsError(f"{self.key(key)}: missing (required)")
            return default
        value = self.raw[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            names = " or ".join(_JSON_TYPES.get(t, t.__name__) for t in _as_tuple(kind))
            raise SettingsError(f"{self.key(key)}: {value!r} is not {names}")
        return value

    def check(self, key: str, check: Callable[[str, Any], None], value: Any) -> Any:
        try:
            check(self.key(key), value)
        except SettingsError:
            raise
        except ValueError as error:
            raise SettingsError(str(error)) from None
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.raw) - self._seen)
        if unknown:
            raise SettingsError(f"{self.key(unknown[0])}: unknown setting (known: {', '.join(sorted(self._seen))})")


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def check_one_of(options: tuple[str, ...]) -> Callable[[str, Any], None]:
    def check(prop: str, value: Any) -> None:
        if value not in options:
            raise ValueError(f"{prop}: {value!r} is not one of {', '.join(options)}")

    return check
