"""The ``inbound`` section of an environment: the WorkMail-free path (parse, forward to staff, SMTP send-as).

Selectable per environment, instead of or beside ``workmail``:

- ``parse`` (default ``false``): every stored message gets ``<key>.json`` and its attachments beside it;
- ``forwardTo`` (default none): staff addresses that receive a forward of every message, sent as the mailbox;
- ``smtpCredentials`` (default ``false``): an IAM user whose SMTP credentials may send only as the mailboxes;
- ``smtpRotationToken`` (default ``"1"``): change it to rotate those credentials on the next deploy.
"""

from __future__ import annotations

from dataclasses import dataclass

from sesmail.receiving.checks import check_address

from .reader import Reader, SettingsError


@dataclass(frozen=True)
class InboundSettings:
    """How staff read and answer mail without WorkMail."""

    parse: bool = False
    forward_to: tuple[str, ...] = ()
    smtp_credentials: bool = False
    smtp_rotation_token: str = "1"


def parse_inbound(reader: Reader, mailbox_addresses: tuple[str, ...]) -> InboundSettings | None:
    """The environment's ``inbound`` section, or ``None`` when absent."""
    raw = reader.get("inbound", dict)
    if raw is None:
        return None
    section = Reader(raw, reader.key("inbound"))
    forward_to = section.get("forwardTo", list, default=[])
    for i, address in enumerate(forward_to):
        key = f"forwardTo[{i}]"
        if not isinstance(address, str):
            raise SettingsError(f"{section.key(key)}: {address!r} is not a string")
        section.check(key, check_address, address)
        if address.lower() in {a.lower() for a in mailbox_addresses}:
            # Forwarding a mailbox to itself would loop (the loop guard would stop it, but nothing would arrive).
            raise SettingsError(f"{section.key(key)}: {address!r} is one of the mailboxes it forwards")
    token = section.get("smtpRotationToken", str, default="1")
    if not token:
        raise SettingsError(f"{section.key('smtpRotationToken')}: '' must not be empty")
    settings = InboundSettings(
        parse=section.get("parse", bool, default=False),
        forward_to=tuple(forward_to),
        smtp_credentials=section.get("smtpCredentials", bool, default=False),
        smtp_rotation_token=token,
    )
    section.finish()
    return settings
