"""One check's outcome: ``ok`` / ``warn`` / ``fail``, what was expected, what was found, the one thing to do."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OK = "ok"
WARN = "warn"
FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    #: ``dns``, ``ses``, ``receiving``, ``authorization``, ``smtp`` or ``round-trip``.
    area: str
    #: What was checked, e.g. ``example.com DKIM CNAME 1``.
    subject: str
    #: ``ok``, ``warn`` or ``fail``.
    status: str
    expected: str
    found: str
    #: The one thing to do about it (empty when there is nothing to do).
    action: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable form."""
        return asdict(self)


def ok(area: str, subject: str, expected: str, found: str) -> Check:
    """A passing check."""
    return Check(area, subject, OK, expected, found)


def warn(area: str, subject: str, expected: str, found: str, action: str) -> Check:
    """A check that does not stop mail but deserves a look."""
    return Check(area, subject, WARN, expected, found, action)


def fail(area: str, subject: str, expected: str, found: str, action: str) -> Check:
    """A failing check: the command exits 1."""
    return Check(area, subject, FAIL, expected, found, action)


def compare(area: str, subject: str, expected: str, found: str, action: str) -> Check:
    """``ok`` when ``found == expected``, else ``fail`` with ``action``."""
    if found == expected:
        return ok(area, subject, expected, found)
    return fail(area, subject, expected, found, action)
