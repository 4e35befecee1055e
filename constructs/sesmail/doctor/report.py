"""The report: one line per check (text), or a JSON document for CI; the exit status."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .checks import FAIL, OK, WARN, Check


def exit_status(checks: Sequence[Check]) -> int:
    """0 when no check fails, 1 otherwise."""
    return 1 if any(c.status == FAIL for c in checks) else 0


def summary(checks: Sequence[Check]) -> dict[str, int]:
    """How many checks ended ok, warn and fail."""
    return {status: sum(c.status == status for c in checks) for status in (OK, WARN, FAIL)}


def text(checks: Sequence[Check], environment: str) -> str:
    """``status  area  subject: found`` and, unless ok, ``(expected ...) -> action``; then a summary line."""
    lines = []
    for c in checks:
        line = f"{c.status:<4}  {c.area:<13} {c.subject}: {c.found}"
        if c.status != OK:
            line += f" (expected {c.expected})"
            if c.action:
                line += f" -> {c.action}"
        lines.append(line)
    counts = summary(checks)
    lines.append(f"sesmail doctor {environment}: {counts[OK]} ok, {counts[WARN]} warn, {counts[FAIL]} fail")
    return "\n".join(lines)


def as_json(checks: Sequence[Check], environment: str) -> str:
    """The checks and their summary as JSON."""
    return json.dumps(
        {
            "environment": environment,
            "summary": summary(checks),
            "failed": bool(exit_status(checks)),
            "checks": [c.to_json() for c in checks],
        },
        indent=2,
    )
