"""IAM condition operators, wildcard and ARN matching, and policy variables, as IAM documents them.

Pure functions over plain values: no file I/O, no AWS calls, no CDK. ``evaluate.py`` builds on them.

Semantics implemented (IAM User Guide, "Condition operators" and "Multivalued context keys"):

- Operators in a ``Condition`` block are ANDed, keys within one operator are ANDed, and the values listed for one key
  are ORed; for a negated operator (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``...) the request value must
  match *none* of the listed values.
- A key that is absent from the request: a positive operator is false, a negated operator is true, ``...IfExists``
  is true, ``ForAllValues:`` is true (also for an empty set: the pitfall seed 002 warns about) and ``ForAnyValue:``
  is false.
- A multi-valued key used without a set qualifier is treated like ``ForAnyValue:`` for positive operators and as
  "no value matches" for negated ones.
- Condition key names are case-insensitive; values compare case-sensitively except for the ``...IgnoreCase``
  operators and ``Bool``.
- Policy variables (``${aws:username}``, ``${aws:PrincipalTag/team}``, ``${key, 'default'}`` and the escapes
  ``${*}``, ``${?}``, ``${$}``) are substituted in String*/Arn* condition values and in ``Resource``; a variable
  whose key has no value makes that value match nothing, so a positive operator does not match and a negated one
  (``StringNotEquals``...) does, as IAM documents.
- Under ``ForAllValues:``/``ForAnyValue:`` a key whose values are all empty strings is a null data set, like an
  absent key.
- A value produced by the template extraction for an intrinsic it could not resolve (``${Unresolved:...}``) is
  *unknown*: results are three-valued (True, False, None) so the caller can tell "does not match" from "cannot
  tell offline", and a note names the value.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

#: Marker the template extraction writes for an intrinsic it could not resolve.
UNRESOLVED_MARKER = "${Unresolved:"

Context = Mapping[str, tuple[str, ...]]

# An operator family compares one policy value with one request value; negation and set qualifiers wrap it.
_Matcher = Callable[[str, str, Context], bool]


class ConditionError(ValueError):
    """A value in a condition or resource that cannot be evaluated (unresolved intrinsic, unparsable number...):
    the outcome is unknown."""


class NoValue(ConditionError):
    """A policy variable whose key has no (single) value in the request: IAM's defined "no value" semantics apply
    (the value matches nothing; a negated operator matches), not an unknown outcome."""


#: Three-valued outcome: True, False, or None for "cannot tell offline" (an unresolved value).
Outcome = bool | None


def any3(values: Iterable[Outcome]) -> Outcome:
    """Three-valued OR: True if one is True, else None if one is unknown, else False."""
    unknown = False
    for value in values:
        if value:
            return True
        unknown = unknown or value is None
    return None if unknown else False


def all3(values: Iterable[Outcome]) -> Outcome:
    """Three-valued AND: False if one is False, else None if one is unknown, else True."""
    unknown = False
    for value in values:
        if value is False:
            return False
        unknown = unknown or value is None
    return None if unknown else True


def not3(value: Outcome) -> Outcome:
    """Three-valued NOT."""
    return None if value is None else not value


# --- wildcards and ARNs ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool, colon_bound: bool) -> re.Pattern[str]:
    star = "[^:]*" if colon_bound else ".*"
    one = "[^:]" if colon_bound else "."
    body = "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


@lru_cache(maxsize=16384)
def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """``*`` matches any run of characters and ``?`` one character; the whole value must match."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _wildcard_regex(pattern, ignore_case, False).fullmatch(value) is not None


@lru_cache(maxsize=16384)  # pure; policies and requests repeat the same ARNs
def arn_match(pattern: str, value: str) -> bool:
    """IAM's ARN matching (Resource elements, ``ArnEquals``/``ArnLike``): case-sensitive, wildcards per segment.

    Each of the first five colon-separated segments is matched on its own, so a wildcard does not run into the next
    segment; the sixth (the resource part) may contain colons. A pattern with fewer segments whose last one ends in
    ``*`` (``arn:aws:s3:::*``, ``arn:aws:ses:*``) expands across the remaining colons, as IAM documents.
    """
    if pattern == "*":
        return True
    p_parts = pattern.split(":", 5)
    v_parts = value.split(":", 5)
    if len(p_parts) == 6 and len(v_parts) == 6:
        return all(
            _wildcard_regex(p, False, i < 5).fullmatch(v) is not None if ("*" in p or "?" in p) else p == v
            for i, (p, v) in enumerate(zip(p_parts, v_parts, strict=True))
        )
    return wildcard_match(pattern, value)


# --- policy variables ------------------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def substitute(value: str, context: Context, *, wildcards: bool) -> str:
    """``value`` with its policy variables replaced from ``context``.

    With ``wildcards`` the result is a wildcard pattern: substituted text and the escapes ``${*}``/``${?}`` are
    literal, so a ``*`` inside a user name cannot widen the match. Raises :class:`NoValue` for a variable whose key
    has no single value in the request (a value that matches nothing) and ``ConditionError`` for an unresolved
    intrinsic (unknown).
    """
    if UNRESOLVED_MARKER in value:
        raise ConditionError(f"unresolved value {value}")
    if "${" not in value:
        return value
    out: list[str] = []
    pos = 0
    for m in _VARIABLE.finditer(value):
        out.append(value[pos : m.start()])
        pos = m.end()
        inner = m.group(1)
        if inner in _ESCAPES:
            text = _ESCAPES[inner]
        else:
            default = _DEFAULT.match(inner)
            key, fallback = (default.group(1), default.group(2)) if default else (inner.strip(), None)
            values = context.get(key.lower())
            if values and len(values) == 1:
                text = values[0]
            elif fallback is not None:
                text = fallback
            else:
                raise NoValue(f"policy variable ${{{inner}}} has no value in the request")
        # A literal * or ? in a wildcard pattern is spelled with a one-character class the wildcard compiler keeps.
        out.append(_literal(text) if wildcards else text)
    out.append(value[pos:])
    return "".join(out)


_LITERAL_STAR = "\x00"
_LITERAL_QMARK = "\x01"


def _literal(text: str) -> str:
    return text.replace("*", _LITERAL_STAR).replace("?", _LITERAL_QMARK)


def _unliteral(text: str) -> str:
    return text.replace(_LITERAL_STAR, "*").replace(_LITERAL_QMARK, "?")


def pattern_match(pattern: str, value: str, *, arn: bool, ignore_case: bool = False) -> bool:
    """Wildcard (or ARN) match of a pattern that went through :func:`substitute` with ``wildcards=True``."""
    if _LITERAL_STAR in pattern or _LITERAL_QMARK in pattern:
        # Rare: a substituted value held a wildcard character. Match it literally by splitting on the markers.
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(_unliteral(c)) for c in pattern)
        return re.fullmatch(regex, value, (re.IGNORECASE if ignore_case else 0) | re.DOTALL) is not None
    if arn:
        return arn_match(pattern, value)
    return wildcard_match(pattern, value, ignore_case=ignore_case)


# --- value parsing ---------------------------------------------------------------------------------------------------


def policy_values(raw: Any) -> list[str]:
    """The values listed for a key in a condition, as strings (JSON booleans and numbers as IAM reads them)."""
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (int, float)):
            out.append(str(item))
        elif isinstance(item, str):
            out.append(item)
        else:
            out.append(str(item))
    return out


def parse_number(text: str) -> float:
    """A condition number (integer or decimal)."""
    try:
        return float(text)
    except ValueError:
        raise ConditionError(f"{text!r} is not a number") from None


def parse_date(text: str) -> float:
    """A condition date as epoch seconds: ISO 8601 (``2018-08-31T12:00Z``, a date, an offset) or epoch seconds."""
    stripped = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", stripped):
        number = float(stripped)
        # aws:EpochTime is in seconds; a 13-digit value is milliseconds, which IAM also accepts.
        return number / 1000 if abs(number) >= 1e11 else number
    try:
        when = datetime.fromisoformat(stripped.replace("z", "Z"))
    except ValueError:
        raise ConditionError(f"{text!r} is not an ISO 8601 date or epoch time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


@lru_cache(maxsize=1024)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ConditionError(f"{text!r} is not an IP address or CIDR block") from None


def _binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConditionError(f"{text!r} is not base64") from None


# --- operator families -----------------------------------------------------------------------------------------------


def _string_equals(p: str, v: str, ctx: Context) -> bool:
    return substitute(p, ctx, wildcards=False) == v


def _string_equals_ic(p: str, v: str, ctx: Context) -> bool:
    return substitute(p, ctx, wildcards=False).lower() == v.lower()


def _string_like(p: str, v: str, ctx: Context) -> bool:
    return pattern_match(substitute(p, ctx, wildcards=True), v, arn=False)


def _arn_like(p: str, v: str, ctx: Context) -> bool:
    # ArnEquals and ArnLike behave the same: both accept wildcards per segment; a non-ARN value never matches.
    if not v.startswith("arn:"):
        return False
    return pattern_match(substitute(p, ctx, wildcards=True), v, arn=True)


def _numeric(compare: Callable[[float, float], bool]) -> _Matcher:
    def match(p: str, v: str, ctx: Context) -> bool:
        return compare(parse_number(v), parse_number(p))

    return match


def _date(compare: Callable[[float, float], bool]) -> _Matcher:
    def match(p: str, v: str, ctx: Context) -> bool:
        return compare(parse_date(v), parse_date(p))

    return match


def _bool(p: str, v: str, ctx: Context) -> bool:
    return p.strip().lower() == v.strip().lower()


def _ip(p: str, v: str, ctx: Context) -> bool:
    network = _network(p)
    address = _network(v)
    return address.version == network.version and address.subnet_of(network)  # type: ignore[arg-type]


def _binary_equals(p: str, v: str, ctx: Context) -> bool:
    return _binary(p) == _binary(v)


#: Lower-cased base operator -> (family matcher, negated).
OPERATORS: dict[str, tuple[_Matcher, bool]] = {
    "stringequals": (_string_equals, False),
    "stringnotequals": (_string_equals, True),
    "stringequalsignorecase": (_string_equals_ic, False),
    "stringnotequalsignorecase": (_string_equals_ic, True),
    "stringlike": (_string_like, False),
    "stringnotlike": (_string_like, True),
    "arnequals": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnlike": (_arn_like, False),
    "arnnotlike": (_arn_like, True),
    "numericequals": (_numeric(lambda a, b: a == b), False),
    "numericnotequals": (_numeric(lambda a, b: a == b), True),
    "numericlessthan": (_numeric(lambda a, b: a < b), False),
    "numericlessthanequals": (_numeric(lambda a, b: a <= b), False),
    "numericgreaterthan": (_numeric(lambda a, b: a > b), False),
    "numericgreaterthanequals": (_numeric(lambda a, b: a >= b), False),
    "dateequals": (_date(lambda a, b: a == b), False),
    "datenotequals": (_date(lambda a, b: a == b), True),
    "datelessthan": (_date(lambda a, b: a < b), False),
    "datelessthanequals": (_date(lambda a, b: a <= b), False),
    "dategreaterthan": (_date(lambda a, b: a > b), False),
    "dategreaterthanequals": (_date(lambda a, b: a >= b), False),
    "bool": (_bool, False),
    "ipaddress": (_ip, False),
    "notipaddress": (_ip, True),
    "binaryequals": (_binary_equals, False),
}


def parse_operator(name: str) -> tuple[str | None, str, bool] | None:
    """``(set qualifier or None, base operator, if_exists)`` for an operator name, or None when unknown."""
    qualifier: str | None = None
    base = name
    if ":" in name:
        prefix, base = name.split(":", 1)
        if prefix.lower() not in ("forallvalues", "foranyvalue"):
            return None
        qualifier = prefix.lower()
    if_exists = base.lower().endswith("ifexists") and base.lower() != "ifexists"
    if if_exists:
        base = base[: -len("IfExists")]
    key = base.lower()
    if key == "null":
        return (None, "null", False) if qualifier is None and not if_exists else None
    if key not in OPERATORS:
        return None
    return qualifier, key, if_exists


def _hit(matcher: _Matcher, pvals: Sequence[str], v: str, ctx: Context, notes: list[str]) -> Outcome:
    """Whether ``v`` matches one of ``pvals``: a value holding a variable with no value matches nothing; a value that
    cannot be evaluated (unresolved) makes the outcome unknown unless another value matches."""
    unknown = False
    for p in pvals:
        try:
            if matcher(p, v, ctx):
                return True
        except NoValue:
            continue
        except ConditionError as exc:
            notes.append(str(exc))
            unknown = True
    return None if unknown else False


def _is_null_data_set(values: tuple[str, ...]) -> bool:
    # IAM treats a key whose values are empty strings like an empty set ("null data set") under set operators.
    return all(value == "" for value in values)


def evaluate_operator(operator: str, key: str, raw_values: Any, context: Context, notes: list[str]) -> Outcome:
    """One key under one operator, e.g. ``("ForAllValues:StringLike", "ses:Recipients", ["*@example.com"])``.

    ``context`` must have lower-cased key names. Unknown operators are false and noted. ``None`` when the outcome
    rests on a value that cannot be evaluated offline (an unresolved intrinsic).
    """
    parsed = parse_operator(operator)
    if parsed is None:
        notes.append(f"unknown condition operator {operator!r}: treated as not matching")
        return False
    qualifier, base, if_exists = parsed
    pvals = policy_values(raw_values)
    present = context.get(key.lower())
    if base == "null":
        # A key whose values are all empty strings counts as absent too (IAM: Null "false" keeps "a context key
        # with an empty value" from evaluating to true under ForAllValues).
        is_absent = not present or _is_null_data_set(present)
        if any(UNRESOLVED_MARKER in p for p in pvals):
            notes.append(f"unresolved value in Null condition on {key}")
            return None
        return any(p.strip().lower() == ("true" if is_absent else "false") for p in pvals)
    matcher, negated = OPERATORS[base]
    if present is None:
        if if_exists or qualifier == "forallvalues":
            return True
        if qualifier == "foranyvalue":
            return False
        return negated
    if not present or (qualifier is not None and _is_null_data_set(present)):
        # An empty set: ForAllValues is vacuously true, ForAnyValue false; a single-valued operator sees no value.
        if qualifier == "forallvalues":
            return True
        if qualifier == "foranyvalue":
            return False
        return if_exists or negated
    hits = [_hit(matcher, pvals, v, context, notes) for v in present]
    if qualifier == "forallvalues":
        return all3(not3(h) if negated else h for h in hits)
    if qualifier == "foranyvalue":
        return any3(not3(h) if negated else h for h in hits)
    return not3(any3(hits)) if negated else any3(hits)


def conditions_match(block: Any, context: Context, notes: list[str]) -> Outcome:
    """A whole ``Condition`` block: every operator and every key true (three-valued AND; stops at the first
    false)."""
    if not block:
        return True
    if not isinstance(block, Mapping):
        notes.append(f"Condition is not an object: {block!r}")
        return False
    unknown = False
    for operator, keys in block.items():
        if not isinstance(keys, Mapping):
            notes.append(f"condition operator {operator!r} does not map keys to values")
            return False
        for key, raw in keys.items():
            outcome = evaluate_operator(operator, key, raw, context, notes)
            if outcome is False:
                return False
            unknown = unknown or outcome is None
    return None if unknown else True
