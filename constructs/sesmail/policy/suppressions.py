"""Suppressing a lint finding takes an explicit entry with a reason, which the report prints.

Two places hold them:

1. A config file, ``sesmail-lint.json`` in the working directory or the one given with ``--config``::

       {"suppress": [
           {"rule": "SES010", "template": "sesmail-*.template.json", "logicalId": "ExampleSenderRole*",
            "statement": "1", "reason": "ses:ListIdentities is needed and cannot be scoped"}
       ]}

   ``rule``, ``logicalId`` and ``reason`` are required; ``template`` (default ``*``) is matched against the
   template's path as printed and against its file name; ``template`` and ``logicalId`` take ``*``/``?`` wildcards;
   ``statement`` (the Sid or index as printed) is optional: without it the entry covers every statement.

2. The resource's CloudFormation metadata, written by code (``sesmail.policy_suppress.suppress`` in a CDK app)::

       "Metadata": {"sesmail-lint": {"suppress": [{"rule": "SES006", "reason": "...", "statement": "0"}]}}

   An entry there covers findings on that resource only.

A missing or empty reason, an unknown rule id or an unknown field is a usage error (:class:`ConfigError`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .findings import RULES, Finding
from .statements import glob_match

METADATA_KEY = "sesmail-lint"
CONFIG_FILE = "sesmail-lint.json"
_CONFIG_FIELDS = {"rule", "template", "logicalId", "statement", "reason"}
_METADATA_FIELDS = {"rule", "statement", "reason"}


class ConfigError(ValueError):
    """A suppression entry that is not valid (the lint stops with a usage error)."""


@dataclass(frozen=True)
class Suppression:
    """One reasoned suppression entry."""

    rule: str
    reason: str
    origin: str  # where it was written: the config file path, or "<template>:<logical id> metadata"
    template: str = "*"
    logical_id: str = "*"
    statement: str | None = None

    def matches(self, finding: Finding) -> bool:
        """Whether this entry covers ``finding``."""
        if finding.rule != self.rule or (self.statement is not None and self.statement != finding.statement):
            return False
        if not glob_match(finding.logical_id, self.logical_id):
            return False
        name = Path(finding.template).name
        return glob_match(finding.template, self.template) or glob_match(name, self.template)


def load_config(path: str | Path) -> list[Suppression]:
    """The suppressions of a config file (see the module docstring); raises :class:`ConfigError`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    except ValueError as error:
        raise ConfigError(f"{path}: not JSON: {error}") from None
    if not isinstance(data, Mapping) or set(data) - {"suppress"} or not isinstance(data.get("suppress", []), list):
        raise ConfigError(f'{path}: expected {{"suppress": [...]}}')
    out = []
    for index, entry in enumerate(data.get("suppress", [])):
        where = f"{path}: suppress[{index}]"
        _validate(entry, where, _CONFIG_FIELDS, required=("rule", "logicalId", "reason"))
        out.append(
            Suppression(
                rule=entry["rule"],
                reason=entry["reason"].strip(),
                origin=str(path),
                template=entry.get("template", "*"),
                logical_id=entry["logicalId"],
                statement=entry.get("statement"),
            )
        )
    return out


def from_metadata(template: str, logical_id: str, metadata: Any) -> list[Suppression]:
    """The suppressions in one resource's ``Metadata``; raises :class:`ConfigError`."""
    block = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    if block is None:
        return []
    where = f"{template}:{logical_id}: Metadata.{METADATA_KEY}"
    if not isinstance(block, Mapping) or set(block) - {"suppress"} or not isinstance(block.get("suppress"), list):
        raise ConfigError(f'{where}: expected {{"suppress": [...]}}')
    out = []
    for index, entry in enumerate(block["suppress"]):
        _validate(entry, f"{where}.suppress[{index}]", _METADATA_FIELDS, required=("rule", "reason"))
        out.append(
            Suppression(
                rule=entry["rule"],
                reason=entry["reason"].strip(),
                origin=f"{template}:{logical_id} metadata",
                template=template,
                logical_id=logical_id,
                statement=entry.get("statement"),
            )
        )
    return out


def _validate(entry: Any, where: str, fields: set[str], required: tuple[str, ...]) -> None:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected an object")
    unknown = set(entry) - fields
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(fields))})"
        )
    for name in required:
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            what = "a reason is required: say why the finding is acceptable" if name == "reason" else "required"
            raise ConfigError(f"{where}: {name!r} missing or empty ({what})")
    if entry["rule"] not in RULES:
        raise ConfigError(f"{where}: unknown rule {entry['rule']!r} (known: {', '.join(RULES)})")
    if "statement" in entry and not isinstance(entry["statement"], str):
        raise ConfigError(f"{where}: 'statement' must be a string (the Sid or index as printed)")
