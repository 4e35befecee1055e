"""The ``inbound`` section of an environment: the WorkMail-free path (parse, forward to staff, SMTP send-as).

Selectable per environment, instead of or beside ``workmail``:

- ``parse`` (default ``false``): every stored message gets ``<key>.json`` and its attachments beside it;
- ``forwardTo`` (default none): staff addresses that receive a forward of every message, sent as the mailbox;
- ``verdicts`` (default: virus, spam and DMARC failures held as notices): what a message failing one of SES's checks
  gets (``{"spam": "tag"}``...), see ``sesmail.inbound.verdicts.DEFAULT_VERDICT_POLICY``;
- ``smtpCredentials`` (default ``false``): an IAM user whose SMTP credentials may send only as the mailboxes;
- ``smtpRotationToken`` (default ``"1"``): change it to rotate those credentials on the next deploy;
- ``forwardsPerHour`` (default ``100``, ``null``: no cap): forwards and notices an hour; over it messages stay stored
  (``deferred``) and one notice says so;
- ``forwarderConcurrency`` (default ``2``, ``null``: none reserved): the forwarder's reserved concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass

from sesmail.inbound.verdicts import DEFAULT_VERDICT_POLICY, VERDICT_ACTIONS, VERDICT_CHECKS
from sesmail.receiving.checks import check_address

from .reader import Reader, SettingsError


@dataclass(frozen=True)
class InboundSettings:
    """How staff read and answer mail without WorkMail."""

    parse: bool = False
    forward_to: tuple[str, ...] = ()
    #: check -> action for messages failing SES's verdicts (``virus``, ``spam``, ``dmarc``, ``spf``, ``dkim``).
    verdicts: tuple[tuple[str, str], ...] = tuple(sorted(DEFAULT_VERDICT_POLICY.items()))
    smtp_credentials: bool = False
    smtp_rotation_token: str = "1"
    #: sends (forwards, notices) an hour before messages are deferred; ``None``: no cap.
    forwards_per_hour: int | None = 100
    #: the forwarder's reserved concurrency; ``None``: none reserved.
    forwarder_concurrency: int | None = 2


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
        verdicts=_verdicts(section),
        smtp_credentials=section.get("smtpCredentials", bool, default=False),
        smtp_rotation_token=token,
        forwards_per_hour=_positive_or_null(section, "forwardsPerHour", 100),
        forwarder_concurrency=_positive_or_null(section, "forwarderConcurrency", 2),
    )
    section.finish()
    return settings


def _verdicts(section: Reader) -> tuple[tuple[str, str], ...]:
    raw = section.get("verdicts", dict, default={})
    policy = Reader(raw, section.key("verdicts"))
    chosen = dict(DEFAULT_VERDICT_POLICY)
    for check in VERDICT_CHECKS:
        action = policy.get(check, str)
        if action is None:
            continue
        # A virus's content is never sent on: only a notice, or nothing.
        allowed = VERDICT_ACTIONS[2:] if check == "virus" else VERDICT_ACTIONS
        if action not in allowed:
            raise SettingsError(f"{policy.key(check)}: {action!r} is not one of {', '.join(allowed)}")
        chosen[check] = action
    policy.finish()
    return tuple(sorted(chosen.items()))


def _positive_or_null(section: Reader, key: str, default: int) -> int | None:
    value = section.get(key, (int, type(None)), default=default)
    if value is not None and value < 1:
        raise SettingsError(f"{section.key(key)}: {value!r} must be at least 1 (or null)")
    return value
