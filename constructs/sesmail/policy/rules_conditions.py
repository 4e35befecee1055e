"""Condition rules: SES001 (unknown or unsupported key), SES002 (set operator missing), SES003 (unguarded
ForAllValues)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from . import iamdb
from .findings import NOTE, Finding
from .intrinsics import is_unresolved
from .statements import Condition, Statement

#: Global request keys that SES does not put in its requests (seed 004 lists the global keys SES implements:
#: aws:CurrentTime, aws:EpochTime, aws:SecureTransport, aws:SourceIp, aws:SourceVpc, aws:SourceVpce,
#: aws:UserAgent, aws:VpcSourceIp). Principal keys are IAM's and always present, so they are not listed here.
SES_MISSING_GLOBAL_KEYS = frozenset(
    k.lower() for k in ("aws:Referer", "aws:SourceVpcArn", "aws:VpceAccount", "aws:VpceOrgID", "aws:VpceOrgPaths")
)


def check(statement: Statement) -> Iterator[Finding]:
    """SES001, SES002 and SES003 for one statement."""
    conditions = statement.conditions
    for condition in conditions:
        if is_unresolved(condition.key):
            continue
        yield from _key_exists_and_supported(statement, condition)
        yield from _set_operators(statement, condition, conditions)


def _key_exists_and_supported(statement: Statement, condition: Condition) -> Iterator[Finding]:
    key = condition.key
    prefix = key.partition(":")[0].lower()
    if prefix == "aws":
        canonical = iamdb.canonical_global(key)
        if canonical is None:
            candidates = list(iamdb.GLOBAL_KEYS.values())
            yield Finding.at(statement, "SES001", f"unknown global condition key {key}{_did_you_mean(key, candidates)}")
            return
        if key.partition(":")[2] != canonical.partition(":")[2]:
            # Key names match case-insensitively in IAM, so this works; the note keeps spelling reviewable. (A
            # different case of the "aws" prefix alone, as CDK writes "AWS:SourceAccount", is left alone.)
            yield Finding.at(
                statement, "SES001", f"write {canonical} (IAM ignores the case of key names, {key} works)", NOTE
            )
        ses_actions = [a for a in statement.actions if a.lower().startswith("ses:")]
        if ses_actions and canonical.lower() in SES_MISSING_GLOBAL_KEYS:
            yield Finding.at(
                statement,
                "SES001",
                f"SES does not put {canonical} in its requests, so this condition never matches "
                f"{', '.join(ses_actions)} (SES provides aws:CurrentTime, aws:EpochTime, aws:SecureTransport, "
                "aws:SourceIp, aws:SourceVpc, aws:SourceVpce, aws:UserAgent, aws:VpcSourceIp)",
            )
        return
    known = iamdb.service_condition_keys(prefix)
    if not known:
        if iamdb.service(prefix) is None:
            yield Finding.at(statement, "SES001", f"condition key {key}: IAM has no service prefix {prefix!r}")
        return
    matching = [k for k in known.values() if iamdb._key_pattern(k).fullmatch(key)]
    if not matching:
        yield Finding.at(statement, "SES001", f"unknown condition key {key}{_did_you_mean(key, list(known.values()))}")
        return
    exact = [k for k in matching if "${" not in k]
    if exact and key not in exact:
        yield Finding.at(
            statement, "SES001", f"write {exact[0]} (IAM ignores the case of key names, {key} works)", NOTE
        )
    for entry in statement.actions:
        if entry == "*" or is_unresolved(entry):
            continue
        covered = iamdb.expand(entry)
        if covered and not any(a.supports_key(key) for a in covered):
            absent = "so the condition is ignored" if condition.if_exists else "so the statement never applies to it"
            yield Finding.at(
                statement,
                "SES001",
                f"{entry} does not support the condition key {exact[0] if exact else key} (it is absent from its "
                f"requests, {absent})",
            )


def _set_operators(statement: Statement, condition: Condition, conditions: list[Condition]) -> Iterator[Finding]:
    key = condition.key
    multivalued = iamdb.is_multivalued(key)
    if multivalued and condition.qualifier is None and condition.base != "Null":
        yield Finding.at(
            statement,
            "SES002",
            f"{key} is multi-valued (a request can carry several values) but {condition.operator} tests a single "
            f"value: use ForAllValues:{condition.operator} (every value must match) or "
            f"ForAnyValue:{condition.operator} (at least one)",
        )
    if condition.qualifier is not None and not multivalued and _single_valued(key):
        yield Finding.at(
            statement,
            "SES002",
            f"{key} is single-valued but {condition.operator} treats it as a set (ForAllValues is then also true "
            f"when the key is absent): use {condition.base}{'IfExists' if condition.if_exists else ''}",
        )
    if condition.qualifier == "ForAllValues" and statement.effect == "Allow" and condition.base != "Null":
        guarded = any(
            other.key.lower() == key.lower()
            and (
                (
                    other.base == "Null"
                    and other.qualifier is None
                    and all(str(v).lower() == "false" for v in other.values)
                )
                or other.qualifier == "ForAnyValue"
            )
            for other in conditions
        )
        if not guarded:
            yield Finding.at(
                statement,
                "SES003",
                f"{condition.operator} on {key} is true when the request has no {key} at all (an empty set), so "
                f'this Allow also matches such requests: add "Null": {{"{key}": "false"}} to the same statement',
            )


def _single_valued(key: str) -> bool:
    if key.lower().startswith("aws:"):
        return iamdb.canonical_global(key) is not None and not key.lower().startswith(iamdb.GLOBAL_KEY_PREFIXES_LOWER)
    kind = iamdb.key_type(key)
    return bool(kind) and not str(kind).startswith("ArrayOf")


def _did_you_mean(key: str, candidates: list[str]) -> str:
    lowered = {c.lower(): c for c in candidates if "${" not in c}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.75)
    return f" (did you mean {lowered[close[0]]}?)" if close else ""
