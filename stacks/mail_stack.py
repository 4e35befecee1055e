"""One environment's mail: the sesmail constructs composed from its settings."""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_route53 as route53
from constructs import Construct

from sesmail import MailboxExportTarget, MailDomain, WorkMailPrincipal, WorkMailSendingAuthorization
from sesmail.inbound import (
    DeliveryFeedback,
    InboundFailures,
    InboundParser,
    MailForwarder,
    PeopleSmtpCredentials,
    Person,
    SmtpCredentials,
)
from sesmail.sending import DelegateSender, EmailTemplate, MailConfigurationSet, SendConditions
from sesmail.sending.example_sender import ExampleSender

from .across import signup_template_name
from .address_book import AddressBook
from .alarms import build_alarms
from .inbound_settings import InboundSettings
from .receiving import Receiving, build_receiving
from .settings import DelegateSettings, DomainSettings, EnvironmentSettings, SendingSettings

# The shipped example: the sign-up verification mail, sent from register@ by the example sender. Its name is
# signup_template_name(environment): SES template names are per account and region, shared by every environment there.
SIGNUP_VERIFICATION = {
    "subject_part": "Confirm your address, {{name}}",
    "text_part": "Hello {{name}},\n\nconfirm your address: {{verification_url}}\n",
    "html_part": '<p>Hello {{name}},</p><p><a href="{{verification_url}}">Confirm your address</a></p>',
}


def delivery_feedback_wanted(settings: EnvironmentSettings) -> bool:
    """Staff send through sesmail without WorkMail: forwards to them (``inbound.forwardTo`` or the address book's),
    SMTP credentials to reply with (the shared user, or people's own)."""
    inbound = settings.inbound
    staff_send = inbound is not None and bool(inbound.forward_to or inbound.smtp_credentials)
    return (
        settings.workmail is None
        and settings.receiving is not None
        and bool(settings.receiving_domains)
        and (staff_send or _book_forwards(settings) or bool(settings.people))
    )


class MailStack(cdk.Stack):
    """The stack ``cdk deploy sesmail-<environment>`` deploys."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=settings.account, region=settings.region),
            description=f"sesmail: mail for {', '.join(d.domain for d in settings.mail_domains)} ({settings.name})",
        )
        self.settings = settings
        #: whether staff send through sesmail (forwards, SMTP replies): then SES's delivery events become notices
        #: (DeliveryFeedback) and SES's e-mailed feedback is switched off, so nobody hears of a bounce twice.
        self.delivery_feedback = delivery_feedback_wanted(settings)
        sending = settings.sending or SendingSettings()
        # One configuration set per environment, the default set of every domain's identity.
        self.configuration_set = MailConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=f"sesmail-{settings.name}",
            suppression_reasons=sending.suppression_reasons,
            tls_policy=sending.tls_policy,
        )
        #: one MailDomain per domain, the first one first (its construct id ``MailDomain``, later ``MailDomain-<slug>``)
        self.mail_domains: dict[str, MailDomain] = {}
        for domain in settings.mail_domains:
            self.mail_domains[domain.domain] = self._mail_domain(domain)
        self.mail_domain = self.mail_domains[settings.domain]
        if settings.workmail is not None:
            if not settings.mail_domains[0].existing_identity:
                # WorkMail's RegisterMailDomain "Registers a new domain in WorkMail and SES": the identity exists.
                cdk.Annotations.of(self.mail_domain).add_warning_v2(
                    "sesmail:workmail:identityExists",
                    f"{settings.domain}: a WorkMail organization's domain already has its SES identity, so a plain "
                    "first deploy fails with AlreadyExists: deploy with --import-existing-resources, or set "
                    f'"existingIdentity": true (environments.{settings.name}); once chosen, acknowledge this warning '
                    'in "acknowledgeWarnings"; see docs/deploying.md, "Adopting a domain that already has an SES '
                    'identity"',
                )
            legacy = settings.workmail.legacy_account_principal
            if not settings.workmail.organization_deleted:
                # WorkMail keeps sending until the organization is deleted, which synth allows only once every
                # user is a person with their own send-as (stacks/cutover.py).
                WorkMailSendingAuthorization(
                    self,
                    "WorkMailSending",
                    mail_domain=self.mail_domain,
                    organization_id=settings.workmail.organization_id,
                    principal=WorkMailPrincipal.legacy_account(legacy) if legacy else WorkMailPrincipal.service(),
                )
            else:
                cdk.Annotations.of(self).add_warning_v2(
                    "sesmail:workmail:noRestore",
                    f"workmail.organizationDeleted (environments.{settings.name}): deleting this stack later "
                    f"deactivates receiving in {settings.region} (WorkMail's set is not restored: its organization "
                    "is gone), and SES then rejects all mail for the account's domains there",
                )
            if settings.workmail.mailbox_export:
                # Where `sesmail workmail export` puts every mailbox before the organization goes (retained).
                MailboxExportTarget(self, "MailboxExport", organization_id=settings.workmail.organization_id)
        if settings.receiving is not None and settings.receiving_domains:
            self.receiving = build_receiving(self, settings, settings.receiving)
            if settings.inbound is not None or _book_forwards(settings):
                self._inbound(settings, settings.inbound or InboundSettings(), self.receiving)
        # Opt-in (sending.exampleSender): whoever may invoke it sends the template, with any URL, to anyone.
        if sending.example_sender:
            verification = EmailTemplate(
                self, "SignupVerification", template_name=signup_template_name(settings.name), **SIGNUP_VERIFICATION
            )
            ExampleSender(
                self,
                "ExampleSender",
                mail_domain=self.mail_domain,
                from_address=self.mail_domain.address("register"),
                template=verification,
                configuration_set=self.configuration_set,
            )
        for delegate in sending.delegates:
            self._delegate(settings, delegate)
        if settings.people:
            self._people(settings)
        # Last, so that every alarm of the stack reports to the environment's alarm topic.
        self.alarms = build_alarms(self, settings)
        if self.delivery_feedback:
            self._feedback(settings)
        for warning, reason in settings.acknowledged_warnings:
            # CDK records the acknowledgement and its reason in the cloud assembly, and drops the warning.
            cdk.Annotations.of(self).acknowledge_warning(warning, reason)

    def _feedback(self, settings: EnvironmentSettings) -> None:
        """Delivery events of staff's sends (forwards, notices, SMTP replies) reach staff, or the alarm topic."""
        addresses = self.receiving.mailbox_addresses
        book = settings.address_book
        forward_to = settings.inbound.forward_to if settings.inbound is not None else ()
        identities = self._identities(addresses)
        routes, send_as = None, []
        if book is not None and _book_beyond_short_form(settings):
            # The book decides who hears of a failure, as it decides where mail goes: the forwarder's table, and
            # what the forwarder may send as (a notice is sent as the address of the failed message).
            routes, send_as = book.routes(), _book_send_as(book)
            identities = self._identities((*addresses, *(f"postmaster@{d.domain}" for d in book.domains)))
        feedback = DeliveryFeedback(
            self,
            "DeliveryFeedback",
            events=self.configuration_set.topic,
            alarm_topic=self.alarms.topic,
            bucket=self.receiving.mail_bucket.bucket,
            identity=identities,
            mailboxes=addresses,
            feedback_to=forward_to,
            routes=routes,
            send_as=send_as,
        )
        # Made after the alarm topic (it publishes there): its alarms, and the failure queue's, are watched here.
        self.alarms.watch(*InboundFailures.of(feedback).alarms)

    def _mail_domain(self, domain: DomainSettings) -> MailDomain:
        zone = None
        if domain.hosted_zone is not None:
            zone = route53.PublicHostedZone.from_public_hosted_zone_attributes(
                self,
                domain.construct_id("HostedZone"),
                hosted_zone_id=domain.hosted_zone.zone_id,
                zone_name=domain.hosted_zone.zone_name,
            )
        return MailDomain(
            self,
            domain.construct_id("MailDomain"),
            configuration_set=self.configuration_set,
            domain_name=domain.domain,
            hosted_zone=zone,
            mail_from_subdomain=domain.mail_from_subdomain,
            receive_mail=not domain.send_only,
            dmarc_policy=domain.dmarc_policy,
            dmarc_report_address=domain.dmarc_report_address,
            existing_identity=domain.existing_identity,
            dmarc_record=domain.dmarc_record,
            # Off where staff send (its events become notices); a send-only domain keeps SES's e-mailed feedback.
            feedback_forwarding=not (self.delivery_feedback and not domain.send_only),
        )

    def _identities(self, addresses: tuple[str, ...]) -> list[MailDomain]:
        """The domain of each address, in the order of the environment's domains."""
        domains = {address.rpartition("@")[2].lower() for address in addresses}
        return [md for name, md in self.mail_domains.items() if name in domains]

    def _people(self, settings: EnvironmentSettings) -> None:
        """Each person's own SMTP credentials (``People``: one nested stack), sending only as their addresses."""
        people = [
            Person(
                name=person.name,
                send_as=person.addresses,
                rotation_token=person.rotation_token,
                keep_previous_key=person.keep_previous_key,
            )
            for person in settings.people
        ]
        addresses = tuple(address for person in settings.people for address in person.addresses)
        PeopleSmtpCredentials(self, "People", people=people, identity=self._identities(addresses))

    def _delegate(self, settings: EnvironmentSettings, delegate: DelegateSettings) -> None:
        """One identity policy per domain the delegate sends from (``Delegate-<name>``, later ``-<slug>``)."""
        addresses = [box if "@" in box else self.mail_domain.address(box) for box in delegate.from_mailboxes]
        for domain in settings.mail_domains:
            own = tuple(a for a in addresses if a.rpartition("@")[2].lower() == domain.domain)
            if not own:
                continue
            mail_domain = self.mail_domains[domain.domain]
            DelegateSender(
                self,
                domain.construct_id(f"Delegate-{delegate.policy_name}"),
                identity=mail_domain,
                principal=delegate.principal,
                policy_name=delegate.policy_name,
                conditions=SendConditions(from_addresses=own),
            )

    def _inbound(self, settings: EnvironmentSettings, inbound: InboundSettings, receiving: Receiving) -> None:
        """The WorkMail-free path: parse every stored message, forward it to staff, SMTP credentials to reply."""
        bucket = receiving.mail_bucket.bucket
        if inbound.parse:
            # Notified of mail stored under each mailbox's prefix (and extra rules' prefixes in the mail bucket) only.
            rules = settings.receiving.rules if settings.receiving else ()
            extra = [a.prefix for rule in rules for a in rule.actions if a.type == "s3" and a.bucket_name is None]
            prefixes = [*receiving.mailbox_prefixes, *dict.fromkeys(receiving.book_prefixes)]
            InboundParser(self, "InboundParser", bucket=bucket, mail_prefixes=[*prefixes, *extra])
        addresses = receiving.mailbox_addresses
        book = settings.address_book
        book_domains = book.domains if book is not None else ()
        # Given the domains, the forwarder and SMTP user find their default configuration set themselves: SES
        # authorizes a send on it too, not only on the identity.
        identities = self._identities(addresses)
        if inbound.forward_to or _book_forwards(settings):
            assert book is not None
            forwarder = MailForwarder(
                self,
                "MailForwarder",
                bucket=bucket,
                identity=self._identities((*addresses, *(f"postmaster@{d.domain}" for d in book_domains))),
                mailboxes=addresses,
                forward_to=inbound.forward_to,
                key_prefixes=dict(zip(addresses, receiving.mailbox_prefixes, strict=True)),
                verdict_policy=dict(inbound.verdicts),
                routes=book.routes(),
                send_as=_book_send_as(book),
                reserved_concurrency=inbound.forwarder_concurrency,
                forwards_per_hour=inbound.forwards_per_hour,
            )
            # The bucket's one ObjectCreated notification belongs to the parser: forwarding runs from each
            # mailbox rule, after its S3 action has stored the message.
            if inbound.forward_to:
                for rule in receiving.mailbox_rules:
                    rule.add_action(forwarder.receipt_action())
            for rule in receiving.book_rules:
                rule.add_action(forwarder.receipt_action())
        if inbound.smtp_credentials:
            SmtpCredentials(
                self,
                "SmtpCredentials",
                identity=identities,
                from_addresses=addresses,
                rotation_token=inbound.smtp_rotation_token,
            )


def _book_forwards(settings: EnvironmentSettings) -> bool:
    """Whether the address book sends anything: an entry of the book with a destination, or a catch-all notice."""
    book = settings.address_book
    if book is None or settings.receiving is None:
        return False
    if settings.workmail is not None and not settings.workmail.cutover:
        return False  # beside WorkMail, or preparing a cutover: WorkMail delivers, the book is not deployed
    return any(a.destinations for a in book.addresses if a.kind != "mailbox") or any(
        d.other_recipients == "store" for d in book.domains
    )


def _book_beyond_short_form(settings: EnvironmentSettings) -> bool:
    """Whether the address book says more than ``mailboxes`` + ``inbound.forwardTo``: a domain with ``addresses``
    or a catch-all, ``people``, or ``postmaster@``/``abuse@`` going elsewhere than ``forwardTo``. Otherwise delivery
    feedback keeps the short form (``MAILBOXES`` + ``FEEDBACK_TO``), whose template and behaviour are unchanged."""
    book = settings.address_book
    if book is None:
        return False
    forward_to = {a.lower() for a in (settings.inbound.forward_to if settings.inbound is not None else ())}
    roles_elsewhere = any(
        a.kind == "role" and not {d.lower() for d in a.destinations} <= forward_to for a in book.addresses
    )
    return (
        bool(settings.people)
        or roles_elsewhere
        or any(d.explicit or d.other_recipients == "store" for d in book.domains)
    )


def _book_send_as(book: AddressBook) -> list[str]:
    """What the forwarder and delivery feedback may send as beside the mailboxes: a domain with ``addresses`` any of
    its addresses (``*@domain``, so the role's policy does not grow with the book), a short-form domain postmaster@
    and abuse@."""
    send_as: list[str] = []
    for domain in book.domains:
        if domain.explicit:
            send_as.append(f"*@{domain.domain}")
        else:
            send_as.extend(a.address for a in book.addresses if a.domain == domain.domain and a.kind == "role")
    return send_as
