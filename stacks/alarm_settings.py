"""The ``alarms`` section of an environment: who hears about sesmail's alarms.

- ``email`` (default none): addresses subscribed to the environment's alarm topic. SNS sends each a confirmation
  message first; alarms reach an address only after its owner confirms.

Every environment has the topic and the alarms (failed inbound messages, function errors, SES reputation) whether or
not anyone is subscribed; subscribe later in cdk.json, or to the topic directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sesmail.receiving.checks import check_address

from .reader import Reader, SettingsError


@dataclass(frozen=True)
class AlarmSettings:
    """Where the environment's alarms go."""

    emails: tuple[str, ...] = ()


def parse_alarms(reader: Reader) -> AlarmSettings:
    """The environment's ``alarms`` section; absent means the topic has no subscribers."""
    raw = reader.get("alarms", dict)
    if raw is None:
        return AlarmSettings()
    section = Reader(raw, reader.key("alarms"))
    emails = section.get("email", list, default=[])
    for i, address in enumerate(emails):
        key = f"email[{i}]"
        if not isinstance(address, str):
            raise SettingsError(f"{section.key(key)}: {address!r} is not a string")
        section.check(key, check_address, address)
    if len({address.lower() for address in emails}) != len(emails):
        raise SettingsError(f"{section.key('email')}: {emails!r} names an address twice")
    section.finish()
    return AlarmSettings(emails=tuple(emails))
