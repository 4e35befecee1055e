"""Compare a live policy document with the synthesized one, statement by statement, as AWS stores them.

AWS may return a stored policy with its lists reordered, single values unwrapped, and an account id principal as
the account's root ARN; those differences are not changes. What remains is reported as the statements missing from
the live policy and the statements found that the template does not declare.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_ACCOUNT = re.compile(r"^\d{12}$")


def _canonical(value: Any, key: str = "", partition: str = "aws") -> Any:
    if isinstance(value, Mapping):
        return {k: _canonical(v, k, partition) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        items = [_canonical(v, key, partition) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True)) if len(items) != 1 else items[0]
    if key == "AWS" and isinstance(value, str) and _ACCOUNT.match(value):
        return f"arn:{partition}:iam::{value}:root"
    if key in ("Action", "NotAction") and isinstance(value, str):
        return value.lower()
    return value


def statements(document: Any, partition: str = "aws") -> list[tuple[str, str]]:
    """``(label, canonical JSON)`` of each statement; the label is the Sid, or ``#index`` without one."""
    if isinstance(document, str):
        document = json.loads(document)
    raw = (document or {}).get("Statement") or []
    if isinstance(raw, Mapping):
        raw = [raw]
    out = []
    for index, statement in enumerate(raw):
        label = str(statement.get("Sid") or f"#{index}") if isinstance(statement, Mapping) else f"#{index}"
        out.append((label, json.dumps(_canonical(statement, partition=partition), sort_keys=True)))
    return out


def difference(expected: Any, found: Any, partition: str = "aws") -> tuple[list[str], list[str]]:
    """``(missing, unexpected)`` statement labels between the expected and the found document."""
    want = statements(expected, partition)
    have = statements(found, partition)
    have_texts = [text for _, text in have]
    want_texts = [text for _, text in want]
    missing = [label for label, text in want if text not in have_texts]
    unexpected = [label for label, text in have if text not in want_texts]
    return missing, unexpected


def describe_difference(missing: list[str], unexpected: list[str]) -> str:
    """``changed [A]; missing [B]; not in the template [C]`` (``equal`` when both lists are empty); a Sid on both
    sides is a changed statement."""
    changed = [label for label in missing if label in unexpected and not label.startswith("#")]
    missing = [label for label in missing if label not in changed]
    unexpected = [label for label in unexpected if label not in changed]
    parts = []
    if changed:
        parts.append(f"changed statements {changed}")
    if missing:
        parts.append(f"missing statements {missing}")
    if unexpected:
        parts.append(f"statements not in the template {unexpected}")
    return "; ".join(parts) or "equal"
