"""The app's settings: cdk.json context ``environments``, validated into frozen dataclasses before any construct.

Every error names the environment, the key and the bad value on one line, e.g.
``environments.prod.domain: 'exa mple.com' is not a valid DNS domain name``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sesmail import regions
from sesmail.mail_domain import DMARC_POLICIES
from sesmail.validation import (
    check_account,
    check_account_or_iam_arn,
    check_domain,
    check_local_part,
    check_workmail_organization_id,
)

from .alarm_settings import AlarmSettings, parse_alarms
from .inbound_settings import InboundSettings, parse_inbound
from .reader import Reader, SettingsError, check_one_of
from .receiving_settings import ReceivingSettings, mailbox_rule_name, parse_receiving

DEFAULT_MAILBOXES = ("info", "support", "register")
# Ends in a letter or digit: the name becomes part of the stack and rule-set names.
_ENV_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")


@dataclass(frozen=True)
class HostedZoneSettings:
    """The Route 53 public hosted zone that receives the domain's records."""

    zone_id: str
    zone_name: str


@dataclass(frozen=True)
class WorkMailSettings:
    """The WorkMail organization allowed to send as the domain.

    ``legacy_account_principal`` is ``None`` for the service principal (default), else an account id or IAM ARN.
    """

    organization_id: str
    legacy_account_principal: str | None = None


@dataclass(frozen=True)
class DelegateSettings:
    """Another account, IAM user or role allowed to send as some of the environment's mailboxes."""

    policy_name: str
    principal: str
    from_mailboxes: tuple[str, ...]


@dataclass(frozen=True)
class SendingSettings:
    """The ``sending`` section: account-suppression reasons and delegate senders."""

    suppression_reasons: str = "BOUNCES_AND_COMPLAINTS"
    #: the configuration set's TLS policy, for every send from the identity: ``REQUIRE`` or ``OPTIONAL``.
    tls_policy: str = "REQUIRE"
    delegates: tuple[DelegateSettings, ...] = ()


SUPPRESSION_REASONS = ("BOUNCES_AND_COMPLAINTS", "BOUNCES_ONLY", "COMPLAINTS_ONLY")
TLS_POLICIES = ("REQUIRE", "OPTIONAL")


@dataclass(frozen=True)
class EnvironmentSettings:
    """One deployable environment: one stack, one account and region, one mail domain."""

    name: str
    account: str
    region: str
    domain: str
    mailboxes: tuple[str, ...] = DEFAULT_MAILBOXES
    hosted_zone: HostedZoneSettings | None = None
    mail_from_subdomain: str = "mail"
    dmarc_policy: str = "none"
    dmarc_report_address: str | None = None
    workmail: WorkMailSettings | None = None
    sending: SendingSettings | None = None
    #: the rule set, mail bucket lifecycle and extra rules; ``None`` only when built by hand without receiving.
    receiving: ReceivingSettings | None = None
    #: replace a receipt rule set that sesmail did not activate (WorkMail's ``INBOUND_MAIL``, for one).
    take_over_active_rule_set: bool = False
    #: the WorkMail-free path: parsing, forwarding to staff, SMTP send-as credentials.
    inbound: InboundSettings | None = None
    #: who is told about the stack's alarms.
    alarms: AlarmSettings = field(default_factory=AlarmSettings)
    #: the domain's SES identity exists already (verified outside this stack): reference it, create none.
    existing_identity: bool = False

    @property
    def stack_name(self) -> str:
        """The stack (and ``cdk deploy`` target) for this environment."""
        return f"sesmail-{self.name}"

    def addresses(self) -> tuple[str, ...]:
        """The mailboxes as full addresses, ``info@example.com`` and so on."""
        return tuple(f"{box}@{self.domain}" for box in self.mailboxes)


def _check_region(prop: str, value: str) -> None:
    regions.check_receiving_region(value, prop)


def _check_address(prop: str, value: str) -> None:
    local, at, domain = value.partition("@")
    if not at:
        raise ValueError(f"{prop}: {value!r} is not an e-mail address")
    check_local_part(prop, local)
    check_domain(prop, domain)


def _mailboxes(reader: Reader) -> tuple[str, ...]:
    raw = reader.get("mailboxes", list, default=list(DEFAULT_MAILBOXES))
    if not raw:
        raise SettingsError(f"{reader.key('mailboxes')}: [] must name at least one mailbox")
    seen: set[str] = set()
    for i, box in enumerate(raw):
        if not isinstance(box, str):
            raise SettingsError(f"{reader.key('mailboxes')}[{i}]: {box!r} is not a string")
        reader.check(f"mailboxes[{i}]", check_local_part, box)
        if box.lower() in seen:
            raise SettingsError(f"{reader.key('mailboxes')}[{i}]: {box!r} is listed twice")
        seen.add(box.lower())
    return tuple(raw)


def _hosted_zone(reader: Reader, domain: str) -> HostedZoneSettings | None:
    zone_id = reader.get("hostedZoneId", str)
    zone_name = reader.get("hostedZoneName", str)
    if zone_id is None and zone_name is None:
        return None
    if zone_id is None or zone_name is None:
        missing = "hostedZoneId" if zone_id is None else "hostedZoneName"
        raise SettingsError(f"{reader.key(missing)}: missing (hostedZoneId and hostedZoneName go together)")
    if not _HOSTED_ZONE_ID.match(zone_id):
        raise SettingsError(f"{reader.key('hostedZoneId')}: {zone_id!r} is not a Route 53 hosted zone id")
    reader.check("hostedZoneName", check_domain, zone_name)
    zone = zone_name.rstrip(".").lower()
    if domain != zone and not domain.endswith(f".{zone}"):
        raise SettingsError(f"{reader.key('hostedZoneName')}: {zone_name!r} is not {domain!r} or a parent of it")
    return HostedZoneSettings(zone_id=zone_id, zone_name=zone)


def _workmail(reader: Reader) -> WorkMailSettings | None:
    raw = reader.get("workmail", dict)
    if raw is None:
        return None
    section = Reader(raw, reader.key("workmail"))
    org = section.check(
        "organizationId", check_workmail_organization_id, section.get("organizationId", str, required=True)
    )
    legacy = section.get("legacyAccountPrincipal", str)
    if legacy is not None:
        section.check("legacyAccountPrincipal", check_account_or_iam_arn, legacy)
    section.finish()
    return WorkMailSettings(organization_id=org, legacy_account_principal=legacy)


def parse_environment(name: str, raw: Any) -> EnvironmentSettings:
    """Validate one environment's settings; raise :class:`SettingsError` on the first bad value."""
    path = f"environments.{name}"
    if not _ENV_NAME.match(name):
        raise SettingsError(f"{path}: environment name {name!r} must be lowercase letters, digits and '-'")
    reader = Reader(raw, path)
    account = reader.check("account", check_account, reader.get("account", str, required=True))
    region = reader.check("region", _check_region, reader.get("region", str, required=True))
    domain = reader.check("domain", check_domain, reader.get("domain", str, required=True)).lower().rstrip(".")
    mailboxes = _mailboxes(reader)
    workmail = _workmail(reader)
    workmail_arn = f"arn:aws:workmail:{region}:{account}:organization/{workmail.organization_id}" if workmail else None
    settings = EnvironmentSettings(
        name=name,
        account=account,
        region=region,
        domain=domain,
        mailboxes=mailboxes,
        hosted_zone=_hosted_zone(reader, domain),
        mail_from_subdomain=reader.check(
            "mailFromSubdomain", check_local_part, reader.get("mailFromSubdomain", str, default="mail")
        ),
        dmarc_policy=reader.check(
            "dmarcPolicy", check_one_of(DMARC_POLICIES), reader.get("dmarcPolicy", str, default="none")
        ),
        dmarc_report_address=_optional(reader, "dmarcReportAddress", _check_address),
        workmail=workmail,
        sending=_sending(reader),
        receiving=parse_receiving(reader, name, tuple(mailbox_rule_name(box) for box in mailboxes), workmail_arn),
        take_over_active_rule_set=reader.get("takeOverActiveRuleSet", bool, default=False),
        inbound=parse_inbound(reader, tuple(f"{box}@{domain}" for box in mailboxes)),
        alarms=parse_alarms(reader),
        existing_identity=reader.get("existingIdentity", bool, default=False),
    )
    if settings.workmail is not None and region not in regions.WORKMAIL_REGIONS:
        supported = ", ".join(sorted(regions.WORKMAIL_REGIONS))
        raise SettingsError(f"{path}.workmail: WorkMail is not offered in {region!r} (supported: {supported})")
    reader.finish()
    return settings


def _sending(reader: Reader) -> SendingSettings | None:
    raw = reader.get("sending", dict)
    if raw is None:
        return None
    section = Reader(raw, reader.key("sending"))
    reasons = section.get("suppressionReasons", str, default="BOUNCES_AND_COMPLAINTS")
    section.check("suppressionReasons", check_one_of(SUPPRESSION_REASONS), reasons)
    tls_policy = section.get("tlsPolicy", str, default="REQUIRE")
    section.check("tlsPolicy", check_one_of(TLS_POLICIES), tls_policy)
    mailboxes = set(reader.raw.get("mailboxes", DEFAULT_MAILBOXES))
    delegates = []
    for i, item in enumerate(section.get("delegates", list, default=[])):
        entry = Reader(item, section.key(f"delegates[{i}]"))
        name = entry.get("policyName", str, required=True)
        principal = entry.check("principal", check_account_or_iam_arn, entry.get("principal", str, required=True))
        boxes = entry.get("from", list, required=True)
        if not boxes:
            raise SettingsError(f"{entry.key('from')}: [] must name at least one mailbox")
        for j, box in enumerate(boxes):
            if box not in mailboxes:
                raise SettingsError(f"{entry.key('from')}[{j}]: {box!r} is not one of mailboxes")
        entry.finish()
        delegates.append(DelegateSettings(policy_name=name, principal=principal, from_mailboxes=tuple(boxes)))
    section.finish()
    return SendingSettings(suppression_reasons=reasons, tls_policy=tls_policy, delegates=tuple(delegates))


def _optional(reader: Reader, key: str, check: Callable[[str, Any], None]) -> str | None:
    value = reader.get(key, str)
    return None if value is None else reader.check(key, check, value)


def load_environments(raw: Any) -> tuple[EnvironmentSettings, ...]:
    """All environments from the ``environments`` context value, in the order cdk.json lists them."""
    if raw is None:
        raise SettingsError("environments: missing from cdk.json context")
    if not isinstance(raw, Mapping) or not raw:
        raise SettingsError(f"environments: {raw!r} must be an object with at least one environment")
    return tuple(parse_environment(name, value) for name, value in raw.items())
