"""``MailConfigurationSet``: one SES configuration set per environment, with delivery events to an encrypted topic."""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.interfaces as interfaces
import aws_cdk.interfaces.aws_ses as ses_interfaces
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

#: the delivery outcomes a platform team acts on; opens and clicks are tracking, not delivery.
EVENTS = (
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.DELIVERY,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
)
#: "If the value is Require, messages are only delivered if a TLS connection can be established. If the value is
#: Optional, messages can be delivered in plain text if a TLS connection can't be established" (SES DeliveryOptions).
TLS_POLICIES = {"REQUIRE": ses.ConfigurationSetTlsPolicy.REQUIRE, "OPTIONAL": ses.ConfigurationSetTlsPolicy.OPTIONAL}
SUPPRESSION_REASONS = {
    "BOUNCES_AND_COMPLAINTS": ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    "BOUNCES_ONLY": ses.SuppressionReasons.BOUNCES_ONLY,
    "COMPLAINTS_ONLY": ses.SuppressionReasons.COMPLAINTS_ONLY,
}


@jsii.implements(ses.IConfigurationSet)
class MailConfigurationSet(Construct):
    """A configuration set that requires TLS (by default), records reputation metrics and publishes delivery events.

    As the identity's default set it applies to every send from the identity: the app's mail, WorkMail's staff
    replies, forwards and SMTP replies alike, so ``tls_policy`` decides for all of them.

    Bounce, complaint, delivery, reject and delivery-delay events go to a KMS-encrypted topic whose policy lets only
    SES publish, and only for this account (``aws:SourceAccount``) and this configuration set (``aws:SourceArn``).

    It is an ``aws_ses.IConfigurationSet``: pass it wherever aws-cdk-lib takes one (``ses.EmailIdentity``'s
    ``configuration_set``, for one). :attr:`configuration_set` is the underlying ``ses.ConfigurationSet``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        configuration_set_name: str,
        suppression_reasons: str = "BOUNCES_AND_COMPLAINTS",
        tls_policy: str = "REQUIRE",
        topic: sns.ITopic | None = None,
        key: kms.IKey | None = None,
    ) -> None:
        """
        :param configuration_set_name: the set's name, also the last part of its ARN.
        :param suppression_reasons: default ``BOUNCES_AND_COMPLAINTS``, SES's account suppression list applies to both;
            ``BOUNCES_ONLY`` or ``COMPLAINTS_ONLY`` narrow it.
        :param tls_policy: default ``REQUIRE``: a message is delivered only over TLS; a receiving server that offers
            no TLS gets nothing (SES reports the message as not delivered). ``OPTIONAL`` lets SES fall back to plain
            text for such servers: every message arrives, some readable on the way.
        :param topic: default ``None``, a new topic encrypted with ``key`` is created. A topic you bring must
            already let SES publish to it.
        :param key: default ``None``, a new customer managed key (rotation on) encrypts the new topic.
        """
        super().__init__(scope, construct_id)
        if suppression_reasons not in SUPPRESSION_REASONS:
            raise ValueError(
                f"suppression_reasons: {suppression_reasons!r} is not one of {', '.join(SUPPRESSION_REASONS)}"
            )
        if tls_policy not in TLS_POLICIES:
            raise ValueError(f"tls_policy: {tls_policy!r} is not one of {', '.join(TLS_POLICIES)}")
        if topic is not None and key is not None:
            raise ValueError("key: a key was given with an existing topic; the key encrypts only a new topic")
        stack = cdk.Stack.of(self)
        self.configuration_set = ses.ConfigurationSet(
            self,
            "Resource",
            configuration_set_name=configuration_set_name,
            reputation_metrics=True,
            tls_policy=TLS_POLICIES[tls_policy],
            suppression_reasons=SUPPRESSION_REASONS[suppression_reasons],
        )
        #: ``arn:<partition>:ses:<region>:<account>:configuration-set/<name>``.
        self.configuration_set_arn = stack.format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=configuration_set_name,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        ses_principal = iam.ServicePrincipal("ses.amazonaws.com")
        scoped = {"StringEquals": {"aws:SourceAccount": stack.account, "aws:SourceArn": self.configuration_set_arn}}
        if topic is None:
            key = key or kms.Key(self, "Key", enable_key_rotation=True, description="Encrypts SES delivery events")
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[ses_principal],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                    conditions=scoped,
                )
            )
            new_topic = sns.Topic(self, "Events", master_key=key, enforce_ssl=True)
            # The event destination adds the topic statement for SES itself, scoped by SourceAccount and SourceArn.
            topic = new_topic
        self.topic = topic
        self.event_destination = self.configuration_set.add_event_destination(
            "Events", destination=ses.EventDestination.sns_topic(topic), events=list(EVENTS)
        )

    @staticmethod
    def from_configuration_set_name(scope: Construct, construct_id: str, name: str) -> ses.IConfigurationSet:
        """A configuration set that exists outside this app (aws-cdk-lib's reference to it)."""
        return ses.ConfigurationSet.from_configuration_set_name(scope, construct_id, name)

    # ses.IConfigurationSet, answered by the underlying configuration set.
    @property
    def configuration_set_name(self) -> str:
        """The configuration set's name."""
        return self.configuration_set.configuration_set_name

    @property
    def configuration_set_ref(self) -> ses_interfaces.ConfigurationSetReference:
        """aws-cdk-lib's reference to the configuration set."""
        return self.configuration_set.configuration_set_ref

    @property
    def env(self) -> interfaces.ResourceEnvironment:
        """The account and region the configuration set lives in."""
        return self.configuration_set.env

    @property
    def stack(self) -> cdk.Stack:
        """The stack the configuration set is defined in."""
        return self.configuration_set.stack

    def apply_removal_policy(self, policy: cdk.RemovalPolicy) -> None:
        """Apply ``policy`` to the underlying configuration set."""
        self.configuration_set.apply_removal_policy(policy)
