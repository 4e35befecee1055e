"""A normalized view of a policy statement, shared by the lint rules."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .templates import ExtractedPolicy


def as_list(value: Any) -> list[Any]:
    """A policy element as a list (a single string or object becomes a one-item list; absent becomes empty)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` entry of a statement's ``Condition``."""

    operator: str  # as written, e.g. "ForAllValues:StringLike"
    key: str
    values: tuple[Any, ...]

    @property
    def qualifier(self) -> str | None:
        """``ForAllValues`` or ``ForAnyValue`` (any case, normalized), else ``None``."""
        head, sep, _ = self.operator.partition(":")
        if not sep:
            return None
        return {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}.get(head.lower(), head)

    @property
    def base(self) -> str:
        """The operator without its set qualifier and without ``IfExists`` (e.g. ``StringLike``)."""
        name = self.operator.partition(":")[2] or self.operator
        return name[: -len("IfExists")] if name.endswith("IfExists") else name

    @property
    def if_exists(self) -> bool:
        """Whether the operator ends with ``IfExists``."""
        return self.operator.endswith("IfExists")


@dataclass(frozen=True)
class Statement:
    """One statement of an extracted policy, with its elements as lists."""

    policy: ExtractedPolicy
    index: int
    raw: Mapping[str, Any]

    @property
    def label(self) -> str:
        """How findings name the statement: its Sid, else its index (after the policy name where a resource has
        several policies, e.g. a role's inline policies)."""
        sid = self.raw.get("Sid")
        own = sid if isinstance(sid, str) and sid else str(self.index)
        if self.policy.name and self.policy.resource_type in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            return f"{self.policy.name}/{own}"
        return own

    @property
    def effect(self) -> str:
        """``Allow`` or ``Deny`` (as written)."""
        return str(self.raw.get("Effect", ""))

    @property
    def actions(self) -> list[str]:
        """``Action`` entries (empty when the statement uses ``NotAction``)."""
        return [str(a) for a in as_list(self.raw.get("Action"))]

    @property
    def resources(self) -> list[str]:
        """``Resource`` entries (empty when the statement uses ``NotResource``)."""
        return [str(r) for r in as_list(self.raw.get("Resource"))]

    @property
    def principals(self) -> dict[str, list[str]]:
        """``Principal`` as ``{"AWS": [...], "Service": [...], ...}``; a bare ``"*"`` is ``{"*": ["*"]}``."""
        principal = self.raw.get("Principal")
        if principal is None:
            return {}
        if not isinstance(principal, Mapping):
            return {"*": ["*"]} if principal == "*" else {"AWS": [str(principal)]}
        return {str(kind): [str(v) for v in as_list(values)] for kind, values in principal.items()}

    @property
    def conditions(self) -> list[Condition]:
        """Every condition entry, in document order."""
        out = []
        block = self.raw.get("Condition")
        if isinstance(block, Mapping):
            for operator, entries in block.items():
                if isinstance(entries, Mapping):
                    for key, values in entries.items():
                        out.append(Condition(str(operator), str(key), tuple(as_list(values))))
        return out

    def has_condition_key(self, key: str) -> bool:
        """Whether any condition (any operator) tests ``key`` (condition key names are case-insensitive)."""
        return any(c.key.lower() == key.lower() for c in self.conditions)


def statements(policy: ExtractedPolicy) -> Iterator[Statement]:
    """The statements of a policy document that are objects, with their indexes."""
    for index, raw in enumerate(as_list(policy.document.get("Statement"))):
        if isinstance(raw, Mapping):
            yield Statement(policy, index, raw)


def glob_match(value: str, pattern: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard match: ``*`` is any run of characters, ``?`` any one character, nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None
