"""An SES domain identity that can send (Easy DKIM, custom MAIL FROM) and receive (inbound MX), with DMARC."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_route53 as route53
import aws_cdk.aws_ses as ses
import aws_cdk.interfaces as interfaces
import aws_cdk.interfaces.aws_ses as ses_interfaces
import jsii
from constructs import Construct

from . import regions, sending
from .dns import DnsRecord, publish_as_output, publish_to_zone
from .identities import SendingDomain
from .sending import SendConditions
from .validation import DMARC_POLICIES, check_domain, check_local_part, is_token


@jsii.implements(ses.IEmailIdentity)
class MailDomain(Construct):
    """A domain that SES sends for and receives for.

    Creates the SES domain identity with Easy DKIM (RSA 2048) and a custom MAIL FROM subdomain, and the DNS records
    that make it work: three DKIM CNAMEs, the MAIL FROM MX and SPF, the inbound MX and a DMARC record. With a hosted
    zone, the records are created there; without one, each record is a stack output to paste at the DNS provider.

    The identity is retained when the stack is deleted and when a change would replace it (``DeletionPolicy``
    ``RetainExceptOnCreate`` and ``UpdateReplacePolicy`` ``Retain``; only a failed first deploy's rollback deletes
    it): its DKIM keys, and so every sender's signatures, and WorkMail depend on it.
    A domain that already has an identity in the account and region is adopted either by CloudFormation's import
    (``cdk deploy --import-existing-resources``: the identity's name is the static ``EmailIdentity`` property) or
    with ``existing_identity=True`` (see docs/deploying.md, "Adopting a domain that already has an SES identity").

    It is an ``aws_ses.IEmailIdentity``: pass it wherever aws-cdk-lib takes one. :attr:`identity` is the underlying
    ``ses.EmailIdentity`` (or the reference to the existing one). Prefer :meth:`grant_send`, which limits the sender
    addresses, to the interface's ``grant_send_email``, which allows every address of the domain.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        hosted_zone: route53.IHostedZone | None = None,
        mail_from_subdomain: str = "mail",
        receive_mail: bool = True,
        dmarc_policy: str = "none",
        dmarc_report_address: str | None = None,
        configuration_set: ses.IConfigurationSet | None = None,
        existing_identity: bool = False,
        dmarc_record: bool = True,
        feedback_forwarding: bool = True,
    ) -> None:
        """
        :param domain_name: the domain to send as, such as ``example.com``.
        :param hosted_zone: default ``None``, records are listed as stack outputs. With a zone (for the domain or a
            parent of it), every record is created in it.
        :param mail_from_subdomain: default ``mail``, bounces return to ``mail.<domain>``, aligned for SPF and DMARC.
        :param receive_mail: default ``True``, the domain's MX points at SES receiving in the stack's region, which
            must offer receiving. ``False`` leaves MX to another mail system.
        :param dmarc_policy: default ``none`` (monitor only); ``quarantine`` or ``reject`` once reports look clean.
        :param dmarc_report_address: default ``None``, no aggregate reports. An address receives them (``rua``).
        :param configuration_set: default ``None``, sends use no configuration set unless they name one. Given, it is
            the identity's default set, and it is removed from the (retained) identity when the stack is deleted,
            which it does not survive: otherwise every later send through the identity would fail (a custom resource,
            ``lambda/default_configuration_set``).
        :param existing_identity: default ``False``, the identity is created (and retained). ``True`` uses the
            identity that already exists in the stack's account and region and creates none: grants and policies name
            its ARN as usual, but its DKIM, MAIL FROM and default configuration set stay as they are (no DKIM or MAIL
            FROM records are published: Easy DKIM's tokens of an existing identity are not known at synth), and
            :attr:`identity` is a reference without DKIM attributes.
        :param dmarc_record: default ``True``, the ``_dmarc.<domain>`` TXT record is published. ``False`` publishes
            none, for a domain whose DMARC record another stack (the same domain in another region) or the DNS
            administrator owns: Route 53 holds one record set per name and type, so a second one fails the deploy.
        :param feedback_forwarding: default ``True``, SES e-mails bounces and complaints to the sender's
            Return-Path. ``False`` once something consumes the configuration set's events (``DeliveryFeedback``):
            SES documents that it still e-mails them when "you haven't set up another mechanism for receiving
            bounce or complaint notifications (for example, by setting up an event destination)"
            (PutEmailIdentityFeedbackAttributes), so nothing is lost. Not applied to an existing identity.
        """
        super().__init__(scope, construct_id)
        check_domain("domain_name", domain_name)
        check_local_part("mail_from_subdomain", mail_from_subdomain)
        if dmarc_policy not in DMARC_POLICIES:
            raise ValueError(f"dmarc_policy: {dmarc_policy!r} is not one of {', '.join(DMARC_POLICIES)}")
        if dmarc_report_address is not None and not is_token(dmarc_report_address):
            local, _, domain = dmarc_report_address.partition("@")
            check_local_part("dmarc_report_address", local)
            check_domain("dmarc_report_address", domain)
        stack = cdk.Stack.of(self)
        if receive_mail and not is_token(stack.region):
            regions.check_receiving_region(stack.region, "region")
        if hosted_zone is not None and not is_token(hosted_zone.zone_name):
            zone = hosted_zone.zone_name.rstrip(".").lower()
            if domain_name.lower() != zone and not domain_name.lower().endswith(f".{zone}"):
                raise ValueError(f"hosted_zone: zone {hosted_zone.zone_name!r} cannot hold records for {domain_name!r}")

        self.domain_name = domain_name
        #: the identity's default configuration set, or ``None``.
        self.configuration_set = configuration_set
        self.mail_from_domain = f"{mail_from_subdomain}.{domain_name}"
        #: whether the identity existed before and is only referenced (``existing_identity``).
        self.existing_identity = existing_identity
        self.identity: ses.IEmailIdentity
        if existing_identity:
            self.identity = ses.EmailIdentity.from_email_identity_name(self, "Resource", domain_name)
        else:
            identity = ses.EmailIdentity(
                self,
                "Resource",
                identity=ses.Identity.domain(domain_name),
                dkim_identity=ses.DkimIdentity.easy_dkim(ses.EasyDkimSigningKeyLength.RSA_2048_BIT),
                mail_from_domain=self.mail_from_domain,
                mail_from_behavior_on_mx_failure=ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
                configuration_set=configuration_set,
                # None leaves SES's default (on) and the template as it was.
                feedback_forwarding=None if feedback_forwarding else False,
            )
            # Replacing or deleting it would drop its DKIM keys: every sender's DKIM CNAMEs would point at nothing.
            # Except on the create that made it: a failed first deploy's rollback deletes it, so the retry does not
            # meet AlreadyExists ("If the stack operation that created the resource is rolled back, CloudFormation
            # deletes the resource", DeletionPolicy RetainExceptOnCreate). Nothing depends on a just-created one.
            identity.apply_removal_policy(cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
            self.identity = identity
        #: ``arn:<partition>:ses:<region>:<account>:identity/<domain>``: the Resource of identity policies.
        self.identity_arn = stack.format_arn(
            service="ses", resource="identity", resource_name=domain_name, arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME
        )
        #: releases the default set from the retained identity on delete (``None``: no set, or an existing identity).
        self.default_configuration_set_release: Construct | None = None
        if not existing_identity and configuration_set is not None:
            from .default_configuration_set import DefaultConfigurationSetRelease  # only stacks with a default set

            # The identity outlives the stack, its default set does not: released on delete, so it keeps sending.
            self.default_configuration_set_release = DefaultConfigurationSetRelease(
                self,
                "DefaultConfigurationSetRelease",
                identity=self.identity.email_identity_name,
                identity_arn=self.identity_arn,
                configuration_set_name=configuration_set.configuration_set_name,
            )
        self.dns_records = self._records(
            stack.region, receive_mail, dmarc_policy if dmarc_record else None, dmarc_report_address
        )
        for record in self.dns_records:
            if hosted_zone is not None:
                publish_to_zone(self, hosted_zone, record)
            else:
                publish_as_output(self, record)

    def _records(
        self, region: str, receive_mail: bool, dmarc_policy: str | None, dmarc_report_address: str | None
    ) -> list[DnsRecord]:
        records = []
        identity = self.identity
        if isinstance(identity, ses.EmailIdentity):
            records = [
                DnsRecord("DkimToken1", identity.dkim_dns_token_name1, "CNAME", identity.dkim_dns_token_value1),
                DnsRecord("DkimToken2", identity.dkim_dns_token_name2, "CNAME", identity.dkim_dns_token_value2),
                DnsRecord("DkimToken3", identity.dkim_dns_token_name3, "CNAME", identity.dkim_dns_token_value3),
                DnsRecord("MailFromMx", self.mail_from_domain, "MX", f"10 {regions.mail_from_mx_endpoint(region)}"),
                DnsRecord("MailFromSpf", self.mail_from_domain, "TXT", "v=spf1 include:amazonses.com ~all"),
            ]
        if receive_mail:
            records.append(
                DnsRecord("InboundMx", self.domain_name, "MX", f"10 {regions.inbound_smtp_endpoint(region)}")
            )
        if dmarc_policy is not None:
            dmarc = f"v=DMARC1; p={dmarc_policy}"
            if dmarc_report_address:
                dmarc += f"; rua=mailto:{dmarc_report_address}"
            records.append(DnsRecord("Dmarc", f"_dmarc.{self.domain_name}", "TXT", dmarc))
        return records

    def address(self, local_part: str) -> str:
        """The address ``<local_part>@<domain>``, after checking the local part."""
        check_local_part("local_part", local_part)
        return f"{local_part}@{self.domain_name}"

    def grant_send(
        self,
        grantee: iam.IGrantable,
        *,
        conditions: SendConditions,
        templated: bool = False,
        templates: Sequence[str] = (),
        bulk: bool = False,
    ) -> iam.Grant:
        """Grant ``grantee`` sending as ``conditions.from_addresses``, which must be addresses of this domain.

        With a default configuration set and none in ``conditions``, the grant also covers the default set, which
        SES v2 authorizes on alongside the identity. See ``sesmail.sending.grant_send`` for the conditions, and for
        ``templates`` (the templates a templated sender may send: SES authorizes on them too) and ``bulk``.
        """
        for address in conditions.from_addresses:
            if not is_token(address) and not address.lower().endswith(f"@{self.domain_name.lower()}"):
                raise ValueError(f"conditions.from_addresses: {address!r} is not an address of {self.domain_name}")
        if conditions.configuration_set is None and self.configuration_set is not None:
            arn = cdk.Stack.of(self).format_arn(
                service="ses",
                resource="configuration-set",
                resource_name=self.configuration_set.configuration_set_name,
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            )
            conditions = dataclasses.replace(conditions, configuration_set=arn)
        return sending.grant_send(
            grantee,
            identity_arn=self.identity_arn,
            conditions=conditions,
            templated=templated,
            templates=templates,
            bulk=bulk,
        )

    @staticmethod
    def from_domain_name(scope: Construct, construct_id: str, domain_name: str) -> ses.IEmailIdentity:
        """A domain identity that exists outside this app, in the scope's account and region."""
        check_domain("domain_name", domain_name)
        return ses.EmailIdentity.from_email_identity_name(scope, construct_id, domain_name)

    # ses.IEmailIdentity, answered by the underlying identity.
    @property
    def email_identity_name(self) -> str:
        """The domain, as SES names the identity."""
        return self.identity.email_identity_name

    @property
    def email_identity_arn(self) -> str:
        """``arn:<partition>:ses:<region>:<account>:identity/<domain>``."""
        return self.identity_arn

    @property
    def email_identity_ref(self) -> ses_interfaces.EmailIdentityReference:
        """aws-cdk-lib's reference to the identity."""
        return self.identity.email_identity_ref

    @property
    def env(self) -> interfaces.ResourceEnvironment:
        """The account and region the identity lives in."""
        return self.identity.env

    @property
    def stack(self) -> cdk.Stack:
        """The stack the domain is defined in."""
        return cdk.Stack.of(self)

    def apply_removal_policy(self, policy: cdk.RemovalPolicy) -> None:
        """Apply ``policy`` to the identity (it is ``RETAIN`` by default: see the class docstring)."""
        self.identity.apply_removal_policy(policy)

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` on the identity to ``grantee`` (aws-cdk-lib's ``IEmailIdentity.grant``)."""
        return self.identity.grant(grantee, *actions)

    def grant_send_email(self, grantee: iam.IGrantable) -> iam.Grant:
        """aws-cdk-lib's grant: ``ses:SendEmail`` and ``ses:SendRawEmail`` as any address of the domain.

        :meth:`grant_send` is the least-privilege form (named sender addresses, optional recipients and more).
        """
        return self.identity.grant_send_email(grantee)


# sesmail.identities and sesmail.sending sit below this module: they recognize a MailDomain by this registration.
SendingDomain.register(MailDomain)
