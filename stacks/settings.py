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
from sesmail.receiving.names import check_rule_name, check_rule_set_name
from sesmail.validation import (
    DMARC_POLICIES,
    check_account,
    check_account_or_iam_arn,
    check_domain,
    check_local_part,
    check_workmail_organization_id,
)

from .across import check_across
from .address_book import AddressBook, DomainBookSettings, PersonSettings, parse_domain_book, parse_people, resolve
from .alarm_settings import AlarmSettings, parse_alarms
from .cutover import check_cutover
from .inbound_settings import InboundSettings, parse_inbound
from .reader import Reader, SettingsError, check_one_of
from .receiving_settings import ReceivingSettings, mailbox_rule_name, parse_receiving

DEFAULT_MAILBOXES = ("info", "support", "register")
#: The receipt rule set an existing WorkMail organization receives through (set by ``workmail.ruleSetName``).
WORKMAIL_RULE_SET_NAME = "INBOUND_MAIL"
# Ends in a letter or digit: the name becomes part of the stack and rule-set names.
_ENV_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)+[A-Za-z]{2,63}\.?$")


@dataclass(frozen=True)
class HostedZoneSettings:
    """The Route 53 public hosted zone that receives the domain's records."""

    zone_id: str
    zone_name: str


@dataclass(frozen=True)
class WorkMailSettings:
    """The WorkMail organization allowed to send as the domain, and the rule set it receives through.

    ``legacy_account_principal`` is ``None`` for the service principal (default), else an account id or IAM ARN.
    Until the cutover sesmail never creates or activates a rule set beside WorkMail: its mailbox rules go at the
    start of ``rule_set_name``, the organization's own active set, ahead of WorkMail's rule (which still delivers
    every recipient). With ``cutover`` the environment's own set replaces ``rule_set_name`` (see ``stacks/cutover``).
    """

    organization_id: str
    legacy_account_principal: str | None = None
    rule_set_name: str = WORKMAIL_RULE_SET_NAME
    #: add a MailboxExportTarget (bucket, key, role) for ``sesmail workmail export`` (``mailboxExport``).
    mailbox_export: bool = False
    #: the inventory file (``sesmail workmail inventory --json``) the address book must cover (``inventory``).
    inventory: str | None = None
    #: ``(address, reason)`` of inventory addresses left out on purpose (``dropped``).
    dropped: tuple[tuple[str, str], ...] = ()
    #: the environment's own rule set replaces WorkMail's (``cutover``); WorkMail still sends.
    cutover: bool = False
    #: the organization is deleted (``organizationDeleted``): no WorkMail sending policy, nothing to restore.
    organization_deleted: bool = False

    @property
    def beside(self) -> bool:
        """sesmail's rules sit in WorkMail's active set (no cutover yet)."""
        return not self.cutover


@dataclass(frozen=True)
class MailboxProviderSettings:
    """Another mailbox provider that receives a send-only domain's mail by MX (``mailboxProvider``)."""

    #: the provider's MX hosts, as the provider's setup page lists them.
    mx: tuple[str, ...]
    #: a name for people (``Google Workspace``); default "the mailbox provider".
    name: str = "the mailbox provider"
    #: the domain the provider asks SPF to include (``_spf.google.com``), if it sends as the domain.
    spf_include: str | None = None
    #: the provider's DKIM selectors (``google``): ``<selector>._domainkey.<domain>`` must exist.
    dkim_selectors: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainSettings:
    """One mail domain of an environment: its identity, DNS, DMARC and (unless send-only) its mailboxes.

    The first domain of an environment keeps the one-domain names (construct ids, rule ``mailbox-<local>``, S3
    prefix ``<mailbox>/``), so moving from ``domain`` to ``domains`` changes nothing deployed; later domains get
    ``slug`` in their construct ids and rule names and store under ``<domain>/<mailbox>/``.
    """

    domain: str
    mailboxes: tuple[str, ...] = DEFAULT_MAILBOXES
    hosted_zone: HostedZoneSettings | None = None
    mail_from_subdomain: str = "mail"
    dmarc_policy: str = "none"
    dmarc_report_address: str | None = None
    #: identity, DKIM, MAIL FROM and DMARC only: no inbound MX, no receipt rules.
    send_only: bool = False
    #: ``""`` for the first domain, else the domain with ``.`` as ``-`` (``example-net``).
    slug: str = ""
    #: the domain's SES identity exists already (verified outside this stack): reference it, create none.
    existing_identity: bool = False
    #: publish ``_dmarc.<domain>``; ``False`` when another environment or the DNS administrator owns it.
    dmarc_record: bool = True
    #: the domain's ``addresses``, ``postmasterTo`` and ``otherRecipients*`` as written (see ``address_book``).
    book: DomainBookSettings = field(default_factory=DomainBookSettings)
    #: send-only because another provider receives its mail (``mailboxProvider``); the doctor checks its DNS.
    mailbox_provider: MailboxProviderSettings | None = None

    def addresses(self) -> tuple[str, ...]:
        """The mailboxes as full addresses."""
        return tuple(f"{box}@{self.domain}" for box in self.mailboxes)

    def rule_name(self, mailbox: str) -> str:
        """``mailbox-<local>`` for the first domain, ``mailbox-<local>-<slug>`` for later ones."""
        base = mailbox_rule_name(mailbox)
        return f"{base}-{self.slug}" if self.slug else base

    def prefix(self, mailbox: str) -> str:
        """``<mailbox>/`` for the first domain, ``<domain>/<mailbox>/`` for later ones."""
        return f"{self.domain}/{mailbox}/" if self.slug else f"{mailbox}/"

    def construct_id(self, base: str) -> str:
        """``base`` for the first domain, ``base-<slug>`` for later ones."""
        return f"{base}-{self.slug}" if self.slug else base


def domain_slug(domain: str) -> str:
    """``example.co.jp`` -> ``example-co-jp``: letters, digits and ``-`` only (construct ids and rule names)."""
    return re.sub(r"[^a-z0-9-]", "-", domain.lower())


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
    #: deploy the README's example sign-up sender (a Lambda that sends the verification template from register@ to
    #: any address, with any URL, for anyone allowed to invoke it): only when asked for, never by default.
    example_sender: bool = False


SUPPRESSION_REASONS = ("BOUNCES_AND_COMPLAINTS", "BOUNCES_ONLY", "COMPLAINTS_ONLY")
TLS_POLICIES = ("REQUIRE", "OPTIONAL")


@dataclass(frozen=True)
class EnvironmentSettings:
    """One deployable environment: one stack, one account and region, one or more mail domains.

    ``domain``, ``mailboxes``, ``hosted_zone``, ``mail_from_subdomain`` and ``dmarc_*`` are the first domain's;
    :attr:`mail_domains` lists every domain (the short form's one, when ``domains`` is not given).
    """

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
    #: every domain, the first one first; ``()`` when built by hand with the short form's fields only.
    domains: tuple[DomainSettings, ...] = ()
    #: every address received, resolved (:mod:`stacks.address_book`); ``None`` when built by hand.
    address_book: AddressBook | None = None
    #: people who send as addresses of the book with credentials of their own.
    people: tuple[PersonSettings, ...] = ()
    #: synth warnings acknowledged in the configuration: (warning id, the reason given).
    acknowledged_warnings: tuple[tuple[str, str], ...] = ()

    @property
    def mail_domains(self) -> tuple[DomainSettings, ...]:
        """Every domain of the environment, the first one first."""
        if self.domains:
            return self.domains
        return (
            DomainSettings(
                domain=self.domain,
                mailboxes=self.mailboxes,
                hosted_zone=self.hosted_zone,
                mail_from_subdomain=self.mail_from_subdomain,
                dmarc_policy=self.dmarc_policy,
                dmarc_report_address=self.dmarc_report_address,
            ),
        )

    @property
    def receiving_domains(self) -> tuple[DomainSettings, ...]:
        """The domains that receive mail (not send-only), in order."""
        return tuple(d for d in self.mail_domains if not d.send_only)

    @property
    def receives(self) -> bool:
        """Whether any domain receives mail (and so the environment has receipt rules)."""
        return self.receiving is not None and bool(self.receiving_domains)

    @property
    def stack_name(self) -> str:
        """The stack (and ``cdk deploy`` target) for this environment."""
        return f"sesmail-{self.name}"

    def addresses(self) -> tuple[str, ...]:
        """The receiving mailboxes of every domain as full addresses, ``info@example.com`` and so on."""
        return tuple(address for d in self.receiving_domains for address in d.addresses())


def _check_region(prop: str, value: str) -> None:
    regions.check_receiving_region(value, prop)


def _check_address(prop: str, value: str) -> None:
    local, at, domain = value.partition("@")
    if not at:
        raise ValueError(f"{prop}: {value!r} is not an e-mail address")
    check_local_part(prop, local)
    check_domain(prop, domain)


def _mailboxes(
    reader: Reader, default: tuple[str, ...] = DEFAULT_MAILBOXES, *, empty_ok: bool = False
) -> tuple[str, ...]:
    raw = reader.get("mailboxes", list, default=list(default))
    if not raw and not empty_ok:
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


def _domain(reader: Reader, slug: str, *, allow_send_only: bool, workmail: bool = False) -> DomainSettings:
    """One domain's keys, read from the environment (short form) or from one entry of ``domains``."""
    domain = reader.check("domain", check_domain, reader.get("domain", str, required=True)).lower().rstrip(".")
    send_only = reader.get("sendOnly", bool, default=False) if allow_send_only else False
    # With an address book the role mailboxes are not implied: list them in mailboxes or as entries.
    book_only = "addresses" in reader.raw
    mailboxes = _mailboxes(reader, () if send_only or book_only else DEFAULT_MAILBOXES, empty_ok=send_only or book_only)
    result = DomainSettings(
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
        send_only=send_only,
        slug=slug,
        # Beside WorkMail the first domain's identity exists (RegisterMailDomain "Registers a new domain in WorkMail
        # and SES"): referenced by default, never created or deleted by the stack.
        existing_identity=reader.get("existingIdentity", bool, default=workmail and not slug),
        dmarc_record=reader.get("dmarcRecord", bool, default=True),
        book=parse_domain_book(reader, send_only=send_only),
        # The short form cannot be send-only, so there the key is unknown.
        mailbox_provider=_mailbox_provider(reader, send_only) if allow_send_only else None,
    )
    if not send_only:
        for i, box in enumerate(mailboxes):
            # SES rule names: at most 64 characters (CreateReceiptRule, ReceiptRule.Name).
            reader.check(f"mailboxes[{i}]", lambda p, v: check_rule_name(p, v), result.rule_name(box))
    return result


def _mailbox_provider(reader: Reader, send_only: bool) -> MailboxProviderSettings | None:
    raw = reader.get("mailboxProvider", dict)
    if raw is None:
        return None
    if not send_only:
        raise SettingsError(
            f"{reader.key('mailboxProvider')}: needs sendOnly: true (the provider receives the domain's mail by MX, "
            "SES only sends)"
        )
    section = Reader(raw, reader.key("mailboxProvider"))
    hosts = section.get("mx", list, required=True)
    if not hosts:
        raise SettingsError(f"{section.key('mx')}: [] must name the provider's MX host(s)")
    for i, host in enumerate(hosts):
        if not isinstance(host, str):
            raise SettingsError(f"{section.key('mx')}[{i}]: {host!r} is not a string")
        section.check(f"mx[{i}]", check_domain, host.rstrip("."))
    include = section.get("spfInclude", str)
    if include is not None and not _DNS_NAME.match(include):
        # SPF's include takes any DNS name (RFC 7208 section 5.2), underscores too: _spf.google.com.
        raise SettingsError(f"{section.key('spfInclude')}: {include!r} is not a DNS name")
    selectors = section.get("dkimSelectors", list, default=[])
    for i, selector in enumerate(selectors):
        if not isinstance(selector, str):
            raise SettingsError(f"{section.key('dkimSelectors')}[{i}]: {selector!r} is not a string")
        section.check(f"dkimSelectors[{i}]", check_local_part, selector)
    name = section.get("name", str, default="the mailbox provider")
    section.finish()
    return MailboxProviderSettings(
        mx=tuple(h.lower().rstrip(".") for h in hosts),
        name=name,
        spf_include=include,
        dkim_selectors=tuple(selectors),
    )


def _domains(reader: Reader) -> tuple[DomainSettings, ...]:
    """The short form (``domain`` + ``mailboxes`` + ...) or the ``domains`` list; not both."""
    workmail = isinstance(reader.raw.get("workmail"), Mapping)
    if "domains" not in reader.raw:
        return (_domain(reader, "", allow_send_only=False, workmail=workmail),)
    for key in (
        "domain",
        "mailboxes",
        "hostedZoneId",
        "hostedZoneName",
        "mailFromSubdomain",
        "dmarcPolicy",
        "dmarcReportAddress",
        "existingIdentity",
        "dmarcRecord",
        "addresses",
        "postmasterTo",
        "otherRecipients",
        "otherRecipientsNotify",
    ):
        if key in reader.raw:
            raise SettingsError(f"{reader.key(key)}: not allowed with domains (give it in the domains entry)")
    raw = reader.get("domains", list, required=True)
    if not raw:
        raise SettingsError(f"{reader.key('domains')}: [] must name at least one domain")
    domains: list[DomainSettings] = []
    for i, item in enumerate(raw):
        entry = Reader(item, reader.key(f"domains[{i}]"))
        name = entry.get("domain", str)
        slug = "" if i == 0 else domain_slug(name if isinstance(name, str) else "")
        domain = _domain(entry, slug, allow_send_only=True, workmail=workmail)
        entry.finish()
        for j, earlier in enumerate(domains):
            if earlier.domain == domain.domain:
                raise SettingsError(f"{entry.key('domain')}: {domain.domain!r} is already domains[{j}]")
            if earlier.slug == domain.slug and domain.slug:
                raise SettingsError(f"{entry.key('domain')}: {domain.domain!r} has the same name slug as domains[{j}]")
        domains.append(domain)
    rules: dict[str, str] = {}
    for i, domain in enumerate(domains):
        for j, box in enumerate(domain.mailboxes if not domain.send_only else ()):
            name, key = domain.rule_name(box), reader.key(f"domains[{i}].mailboxes[{j}]")
            if name in rules:
                raise SettingsError(f"{key}: {box!r} gives rule {name!r}, as {rules[name]} does")
            rules[name] = key
    return tuple(domains)


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
    rule_set_name = section.check(
        "ruleSetName", check_rule_set_name, section.get("ruleSetName", str, default=WORKMAIL_RULE_SET_NAME)
    )
    mailbox_export = section.get("mailboxExport", bool, default=False)
    inventory = section.get("inventory", str)
    if inventory is not None and not inventory.strip():
        raise SettingsError(f"{section.key('inventory')}: '' is not a file name")
    dropped = []
    for i, item in enumerate(section.get("dropped", list, default=[])):
        entry = Reader(item, section.key(f"dropped[{i}]"))
        address = entry.get("address", str, required=True)
        entry.check("address", _check_address, address)
        reason = entry.get("reason", str, required=True)
        if not reason.strip():
            raise SettingsError(f"{entry.key('reason')}: '' must say why {address} receives nothing any more")
        entry.finish()
        dropped.append((address.lower(), reason))
    cutover = section.get("cutover", bool, default=False)
    deleted = section.get("organizationDeleted", bool, default=False)
    if cutover and inventory is None:
        raise SettingsError(
            f"{section.key('cutover')}: true needs workmail.inventory (the `sesmail workmail inventory --json` file): "
            "the address book must cover every address WorkMail accepts"
        )
    if deleted and not cutover:
        raise SettingsError(
            f"{section.key('organizationDeleted')}: true needs cutover: true (an organization is deleted only after "
            "the environment's own rule set receives its mail)"
        )
    if dropped and inventory is None:
        raise SettingsError(f"{section.key('dropped')}: only applies with workmail.inventory")
    section.finish()
    return WorkMailSettings(
        organization_id=org,
        legacy_account_principal=legacy,
        rule_set_name=rule_set_name,
        mailbox_export=mailbox_export,
        inventory=inventory,
        dropped=tuple(dropped),
        cutover=cutover,
        organization_deleted=deleted,
    )


def parse_environment(name: str, raw: Any) -> EnvironmentSettings:
    """Validate one environment's settings; raise :class:`SettingsError` on the first bad value."""
    path = f"environments.{name}"
    if not _ENV_NAME.match(name):
        raise SettingsError(f"{path}: environment name {name!r} must be lowercase letters, digits and '-'")
    reader = Reader(raw, path)
    account = reader.check("account", check_account, reader.get("account", str, required=True))
    region = reader.check("region", _check_region, reader.get("region", str, required=True))
    domains = _domains(reader)
    first = domains[0]
    workmail = _workmail(reader)
    workmail_arn = f"arn:aws:workmail:{region}:{account}:organization/{workmail.organization_id}" if workmail else None
    take_over = reader.get("takeOverActiveRuleSet", bool, default=False)
    if workmail is not None:
        _refuse_workmail_takeover(reader, take_over, workmail)
    inbound = parse_inbound(reader, tuple(a for d in domains if not d.send_only for a in d.addresses()))
    book = resolve(
        path,
        domains,
        [d.book for d in domains],
        forward_to=inbound.forward_to if inbound is not None else (),
        # Preparing a cutover (an inventory given), the whole book is checked now though deployed only at cutover.
        beside_workmail=workmail is not None and workmail.inventory is None,
        listed="domains" in reader.raw,
    )
    beside = workmail is not None and workmail.beside
    rule_names = tuple(d.rule_name(box) for d in domains if not d.send_only for box in d.mailboxes)
    if not beside:
        rule_names += tuple(rule for d in book.domains for rule, _ in d.rules)
    receiving = parse_receiving(
        reader, name, rule_names, workmail_arn, workmail.rule_set_name if workmail and beside else None
    )
    if receiving.join and take_over:
        raise SettingsError(
            f"{reader.key('takeOverActiveRuleSet')}: true with receiving.joinRuleSet: the rules join the active set, "
            "nothing is taken over; remove one"
        )
    settings = EnvironmentSettings(
        name=name,
        account=account,
        region=region,
        domain=first.domain,
        mailboxes=first.mailboxes,
        hosted_zone=first.hosted_zone,
        mail_from_subdomain=first.mail_from_subdomain,
        dmarc_policy=first.dmarc_policy,
        dmarc_report_address=first.dmarc_report_address,
        workmail=workmail,
        sending=_sending(reader, domains, book),
        receiving=receiving,
        take_over_active_rule_set=take_over,
        inbound=inbound,
        domains=domains,
        alarms=parse_alarms(reader),
        address_book=book,
        people=parse_people(reader, book, first.domain),
        acknowledged_warnings=_acknowledged_warnings(reader),
    )
    if workmail is not None and workmail.inventory is not None:
        check_cutover(settings, reader.key("workmail"))
    if settings.workmail is not None and region not in regions.WORKMAIL_REGIONS:
        supported = ", ".join(sorted(regions.WORKMAIL_REGIONS))
        raise SettingsError(f"{path}.workmail: WorkMail is not offered in {region!r} (supported: {supported})")
    if settings.inbound is not None and not settings.receiving_domains:
        raise SettingsError(f"{path}.inbound: every domain is sendOnly, so there is no mail to parse or forward")
    if settings.inbound is not None and settings.inbound.smtp_credentials and not settings.addresses():
        # The shared user's policy lists the mailboxes; an address book's entries are sent as by people.
        raise SettingsError(
            f"{path}.inbound.smtpCredentials: true, but no domain has mailboxes for the shared SMTP user to send as; "
            "give the people who reply a people entry each, or list mailboxes"
        )
    reader.finish()
    return settings


#: Synth warnings a configuration may acknowledge (``acknowledgeWarnings``), each with what it is about. Only warnings
#: that describe a choice the user makes once; a warning that carries a statement someone must add stays visible.
ACKNOWLEDGEABLE_WARNINGS = {
    "sesmail:workmail:identityExists": "a WorkMail organization's domain already has its SES identity",
}


def _acknowledged_warnings(reader: Reader) -> tuple[tuple[str, str], ...]:
    """``acknowledgeWarnings``: warning id -> the reason it does not apply (required, so the file says why)."""
    raw = reader.get("acknowledgeWarnings", dict, default={})
    acknowledged = []
    for warning, reason in raw.items():
        key = reader.key(f"acknowledgeWarnings.{warning}")
        if warning not in ACKNOWLEDGEABLE_WARNINGS:
            known = ", ".join(sorted(ACKNOWLEDGEABLE_WARNINGS))
            raise SettingsError(f"{key}: {warning!r} is not a warning that can be acknowledged (known: {known})")
        if not isinstance(reason, str) or not reason.strip():
            raise SettingsError(f"{key}: {reason!r} is not a reason (a non-empty string saying why it does not apply)")
        acknowledged.append((warning, reason.strip()))
    return tuple(acknowledged)


def _refuse_workmail_takeover(reader: Reader, take_over: bool, workmail: WorkMailSettings) -> None:
    """Beside WorkMail, nothing may replace the organization's active set or reject what it accepts."""
    if take_over:
        raise SettingsError(
            f"{reader.key('takeOverActiveRuleSet')}: true with workmail would replace WorkMail's rule set and reject "
            "every other WorkMail recipient; remove it (workmail.cutover replaces it once the address book covers "
            "every WorkMail address)"
        )
    if workmail.cutover:
        return
    receiving = reader.raw.get("receiving")
    if isinstance(receiving, Mapping) and "ruleSetName" in receiving:
        raise SettingsError(
            f"{reader.key('receiving.ruleSetName')}: {receiving['ruleSetName']!r} with workmail would need its own "
            "active set in place of WorkMail's; remove it (set workmail.ruleSetName to name WorkMail's set)"
        )


def _sending(reader: Reader, domains: tuple[DomainSettings, ...], book: AddressBook) -> SendingSettings | None:
    raw = reader.get("sending", dict)
    if raw is None:
        return None
    section = Reader(raw, reader.key("sending"))
    reasons = section.get("suppressionReasons", str, default="BOUNCES_AND_COMPLAINTS")
    section.check("suppressionReasons", check_one_of(SUPPRESSION_REASONS), reasons)
    tls_policy = section.get("tlsPolicy", str, default="REQUIRE")
    section.check("tlsPolicy", check_one_of(TLS_POLICIES), tls_policy)
    first_boxes = set(domains[0].mailboxes)
    addresses = {a.lower(): a for d in domains for a in d.addresses()}
    # An entry of the address book (not an alias) may be a delegate's From as well.
    entries = {a.address.lower() for a in book.addresses if a.kind == "entry"}
    addresses |= {a: a for a in entries}
    first_boxes |= {a.rpartition("@")[0] for a in entries if a.rpartition("@")[2] == domains[0].domain}
    delegates = []
    for i, item in enumerate(section.get("delegates", list, default=[])):
        entry = Reader(item, section.key(f"delegates[{i}]"))
        name = entry.get("policyName", str, required=True)
        principal = entry.check("principal", check_account_or_iam_arn, entry.get("principal", str, required=True))
        boxes = entry.get("from", list, required=True)
        if not boxes:
            raise SettingsError(f"{entry.key('from')}: [] must name at least one mailbox")
        for j, box in enumerate(boxes):
            # A bare name is a mailbox of the first domain; a full address may be any domain's mailbox.
            known = box.lower() in addresses if isinstance(box, str) and "@" in box else box in first_boxes
            if not known:
                what = "one of the domains' mailboxes" if len(domains) > 1 else "one of mailboxes"
                raise SettingsError(f"{entry.key('from')}[{j}]: {box!r} is not {what}")
        entry.finish()
        delegates.append(DelegateSettings(policy_name=name, principal=principal, from_mailboxes=tuple(boxes)))
    example_sender = section.get("exampleSender", bool, default=False)
    if example_sender and "register" not in first_boxes:
        raise SettingsError(
            f"{section.key('exampleSender')}: true needs 'register' among the first domain's mailboxes, which it sends "
            f"from; the mailboxes are {sorted(first_boxes)}"
        )
    section.finish()
    return SendingSettings(
        suppression_reasons=reasons, tls_policy=tls_policy, delegates=tuple(delegates), example_sender=example_sender
    )


def _optional(reader: Reader, key: str, check: Callable[[str, Any], None]) -> str | None:
    value = reader.get(key, str)
    return None if value is None else reader.check(key, check, value)


def load_environments(raw: Any) -> tuple[EnvironmentSettings, ...]:
    """All environments from the ``environments`` context value, in the order cdk.json lists them."""
    if raw is None:
        raise SettingsError("environments: missing from cdk.json context")
    if not isinstance(raw, Mapping) or not raw:
        raise SettingsError(f"environments: {raw!r} must be an object with at least one environment")
    environments = tuple(parse_environment(name, value) for name, value in raw.items())
    check_across(environments)
    return environments
