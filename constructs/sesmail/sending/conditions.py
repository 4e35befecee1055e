"""``SendConditions``: each option maps to exactly one documented SES/IAM condition; options AND together."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..validation import is_token, strings

_ADDRESS_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_API_VERSIONS = ("1", "2")


def _check_addresses(prop: str, values: tuple[str, ...], *, allow_wildcards: bool) -> None:
    for value in values:
        if is_token(value):
            continue
        if not isinstance(value, str) or not _ADDRESS_PATTERN.match(value):
            raise ValueError(f"{prop}: {value!r} is not an e-mail address")
        if not allow_wildcards and any(c in value for c in "*?"):
            raise ValueError(f"{prop}: {value!r} contains a wildcard; list exact addresses")


@dataclass(frozen=True)
class SendConditions:
    """Restrictions on a send grant or delegate policy. Every field left at its default adds no condition.

    :param from_addresses: exact From addresses allowed (``ses:FromAddress``, ``StringEquals``). Required by
        ``grant_send`` so that no grant lets a principal send as any address of the domain.
    :param recipients: allowed recipient patterns (``ses:Recipients``, ``ForAllValues:StringLike``; ``*`` and ``?``
        allowed, such as ``*@example.com``). ``ForAllValues`` alone is true for an empty set, so a
        ``Null: {"ses:Recipients": "false"}`` guard is always added with it. Default: any recipient.
    :param from_display_name: the exact display name of From (``ses:FromDisplayName``, ``StringEquals``). Default: any.
    :param feedback_address: the exact Return-Path / feedback address (``ses:FeedbackAddress``, ``StringEquals``).
        Default: any.
    :param api_version: ``"1"`` or ``"2"`` (``ses:ApiVersion``, ``StringEquals``). Default: both SES APIs.
    :param not_before: earliest time a send is allowed (``aws:CurrentTime``, ``DateGreaterThan``). Default: no start.
    :param not_after: latest time a send is allowed (``aws:CurrentTime``, ``DateLessThan``). Default: no end.
    :param configuration_set: ARN of the configuration set sends may use; SES v2 authorizes ``SendEmail`` on the
        configuration-set resource too, so it is added to the grant's resources (no condition key). Default: none added.
    """

    from_addresses: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    from_display_name: str | None = None
    feedback_address: str | None = None
    api_version: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    configuration_set: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "from_addresses", tuple(strings("from_addresses", self.from_addresses)))
        object.__setattr__(self, "recipients", tuple(strings("recipients", self.recipients)))
        _check_addresses("from_addresses", self.from_addresses, allow_wildcards=False)
        _check_addresses("recipients", self.recipients, allow_wildcards=True)
        if self.feedback_address is not None:
            _check_addresses("feedback_address", (self.feedback_address,), allow_wildcards=False)
        display_name = self.from_display_name
        if display_name is not None and not is_token(display_name) and not display_name.strip():
            raise ValueError(f"from_display_name: {self.from_display_name!r} is empty")
        if self.api_version is not None and self.api_version not in _API_VERSIONS:
            raise ValueError(f"api_version: {self.api_version!r} is not one of {', '.join(_API_VERSIONS)}")
        for name in ("not_before", "not_after"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name}: {moment.isoformat()!r} has no time zone; use an aware datetime (UTC)")
        if self.not_before and self.not_after and self.not_before >= self.not_after:
            raise ValueError(
                f"not_before: {self.not_before.isoformat()!r} is not earlier than "
                f"not_after {self.not_after.isoformat()!r}"
            )

    def to_iam(self) -> dict[str, dict[str, Any]]:
        """The IAM ``Condition`` block: operator -> {key: value}. Operators are shared, so options AND together."""
        block: dict[str, dict[str, Any]] = {}

        def put(operator: str, key: str, value: Any) -> None:
            block.setdefault(operator, {})[key] = value

        if self.from_addresses:
            put("StringEquals", "ses:FromAddress", list(self.from_addresses))
        if self.recipients:
            put("ForAllValues:StringLike", "ses:Recipients", list(self.recipients))
            put("Null", "ses:Recipients", "false")
        if self.from_display_name is not None:
            put("StringEquals", "ses:FromDisplayName", self.from_display_name)
        if self.feedback_address is not None:
            put("StringEquals", "ses:FeedbackAddress", self.feedback_address)
        if self.api_version is not None:
            put("StringEquals", "ses:ApiVersion", self.api_version)
        if self.not_before is not None:
            put("DateGreaterThan", "aws:CurrentTime", _iso(self.not_before))
        if self.not_after is not None:
            put("DateLessThan", "aws:CurrentTime", _iso(self.not_after))
        return block


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
