"""``DeliveryFeedback``: SES's delivery events of the configuration set, turned into notices for the people concerned.

The configuration set publishes Bounce, Complaint, Reject and DeliveryDelay events to its SNS topic ("Contents of
event data that Amazon SES publishes to Amazon SNS", SES Developer Guide); this function is the topic's subscriber.
SNS invokes Lambda asynchronously, so Lambda's retries and on-failure destination apply as for the parser and the
forwarder (``InboundFailures``); a message SNS itself cannot deliver to the function goes to the subscription's
dead-letter queue, the same failure queue, whose alarm fires on its first message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sns as sns
from constructs import Construct

from .._provider import handler_function
from ..identities import IdentityLike, send_resources
from ..validation import is_token, strings
from ._permissions import grant_objects, grant_send_as
from .failures import InboundFailures
from .forwarder import RECORD_SUFFIX

#: Where the function claims each event it answered (one notice per event, however often SNS delivers it).
CLAIM_PREFIX = ".sesmail/feedback/"
TIMEOUT = cdk.Duration.seconds(60)


class DeliveryFeedback(Construct):
    """Subscribes a function to ``events`` (the configuration set's event topic) that tells people about failures.

    A forward or notice to staff that bounced, was complained about, rejected or delayed (or suppressed: a bounce
    whose subtype is ``OnAccountSuppressionList``) goes to ``alarm_topic``, and to the staff addresses that did not
    fail as a notice; any other send from one of ``mailboxes`` (a staff reply) gets a notice from that mailbox to
    ``feedback_to``. With ``routes`` (an address book) the address a failed message was sent as decides instead: a
    person's reply reaches that address's destinations (their own mailbox; a shared address's or a group's
    destinations), a failed forward the alarm topic and the address's other destinations. Notices are marked
    ``X-Sesmail-Feedback``; the failure of a notice goes to ``alarm_topic`` only, so no notice is ever sent about a
    notice, and no notice goes to the address whose failure it reports. The role may send only as ``mailboxes`` (and
    ``send_as``), publish only to ``alarm_topic``, and write and delete only ``.sesmail/feedback/*`` in ``bucket``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        events: sns.ITopic,
        alarm_topic: sns.ITopic,
        bucket: s3.IBucket,
        identity: IdentityLike | Sequence[IdentityLike],
        mailboxes: Sequence[str],
        feedback_to: Sequence[str] = (),
        routes: Mapping[str, Any] | None = None,
        send_as: Sequence[str] = (),
    ) -> None:
        """
        :param events: the SES configuration set's event topic (``MailConfigurationSet.topic``).
        :param alarm_topic: where failures of sends to staff (and of notices) are published (``MailAlarms.topic``).
        :param bucket: where the function records each event it answered, under ``.sesmail/feedback/`` (the mail
            bucket; a dot-atom local part never starts with a dot, so this is no mailbox's prefix).
        :param identity: the identity (or identities) the notices are sent through, as for ``MailForwarder``.
        :param mailboxes: the addresses staff send as; a failed send from one of them is theirs to hear about.
        :param feedback_to: default none: failures of staff sends go to ``alarm_topic``. The staff addresses that
            read the mailboxes (the forwarder's ``forward_to``) get a notice instead.
        :param routes: default ``None``, ``mailboxes`` and ``feedback_to`` decide. An address book's routing table,
            the one ``MailForwarder`` gets (``{"addresses": {address: {"as", "to", "kind", ...}}, ...}``): the
            ``to`` of the address a failed message was sent as are the people told. It ships as ``routes.json`` in
            the function's code, so the environment does not grow with the number of addresses; ``mailboxes`` may
            then be empty and ``feedback_to`` is not used.
        :param send_as: default ``()``, notices are sent only as ``mailboxes``. More addresses the routes send as,
            or ``*@<domain>`` for every address of a domain (one policy line however many addresses it has), as for
            ``MailForwarder``.
        """
        mailboxes, feedback_to = strings("mailboxes", mailboxes), strings("feedback_to", feedback_to)
        send_as = strings("send_as", send_as)
        if not mailboxes and routes is None:
            raise ValueError(f"mailboxes must name at least one address, got {mailboxes!r}")
        for prop, values in (("mailboxes", mailboxes), ("feedback_to", feedback_to)):
            for value in values:
                if not is_token(value) and value.count("@") != 1:
                    raise ValueError(f"{prop}: {value!r} is not an e-mail address")
        for value in send_as:
            if not is_token(value) and (value.count("@") != 1 or "*" in value.rpartition("@")[2]):
                raise ValueError(f"send_as: {value!r} is not an e-mail address or *@<domain>")
        send = send_resources(scope, identity=identity, identity_arn=None, configuration_set_arn=None)
        super().__init__(scope, construct_id)
        # With routes, the table decides (and is not repeated in the environment, where it would grow with the book).
        who = {} if routes is not None else {"MAILBOXES": ",".join(mailboxes), "FEEDBACK_TO": ",".join(feedback_to)}
        failures = InboundFailures.of(self)
        self.function, self.role = handler_function(
            self,
            "Resource",
            handler="delivery_feedback",
            role_description="sesmail: tells staff about SES delivery failures",
            memory_size=256,
            timeout=TIMEOUT,
            # Safe to retry: each event is claimed before its notice is sent.
            retry_attempts=2,
            on_failure=failures.destination,
            environment={
                **who,
                "ALARM_TOPIC_ARN": alarm_topic.topic_arn,
                "FEEDBACK_BUCKET": bucket.bucket_name,
            },
            description="sesmail: notices about SES delivery failures",
            extra_files={"routes.json": json.dumps(routes, sort_keys=True, indent=1)} if routes is not None else None,
        )
        failures.watch(self, self.function, "delivery feedback function")
        self._subscribe(events, failures)
        grant_objects(
            self.role,
            bucket,
            actions=["s3:PutObject", "s3:DeleteObject"],
            key_patterns=[f"{CLAIM_PREFIX}*"],
            reason="One claim object per SES event (named by a hash of its message id and feedback id), known only "
            "when the event arrives.",
        )
        # A forward SES suppressed is marked deferred again in the forwarder's record (read, then If-Match write).
        grant_objects(
            self.role,
            bucket,
            actions=["s3:GetObject", "s3:PutObject"],
            key_patterns=[f"*{RECORD_SUFFIX}"],
            reason="The forwarder's record beside each stored message (<key>.forward.json); keys are SES message ids.",
        )
        if bucket.encryption_key is not None:
            bucket.encryption_key.grant(self.role, "kms:Decrypt", "kms:GenerateDataKey")
        # Not grant_publish: with an encrypted topic it adds kms:GenerateDataKey*; publishing calls GenerateDataKey
        # and Decrypt on the topic's key (SNS Developer Guide, "Managing Amazon SNS encryption keys and costs").
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[alarm_topic.topic_arn])
        )
        if alarm_topic.master_key is not None:
            alarm_topic.master_key.grant(self.role, "kms:GenerateDataKey", "kms:Decrypt")
        # A notice is sent as the address of the failed message (the forwarder's rule for ses:FromAddress).
        grant_send_as(self.role, send.all, mailboxes, send_as)

    def _subscribe(self, events: sns.ITopic, failures: InboundFailures) -> None:
        """The function's subscription to ``events``, with the failure queue as its dead-letter queue.

        Built by hand rather than with ``LambdaSubscription``, whose function permission and queue statement name
        the topic (``aws:SourceArn``) but not the account: both grants here carry ``aws:SourceAccount`` too.
        """
        account = cdk.Stack.of(self).account
        subscription = sns.Subscription(
            self,
            "Subscription",
            topic=events,
            protocol=sns.SubscriptionProtocol.LAMBDA,
            endpoint=self.function.function_arn,
        )
        # A message SNS cannot deliver to the function after its retries goes to the failure queue ("Amazon SNS
        # dead-letter queues (DLQs)", SNS Developer Guide): RedrivePolicy deadLetterTargetArn.
        cfn = subscription.node.default_child
        assert isinstance(cfn, sns.CfnSubscription)
        cfn.redrive_policy = {"deadLetterTargetArn": failures.queue.queue_arn}
        failures.queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[failures.queue.queue_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnEquals": {"aws:SourceArn": events.topic_arn},
                },
            )
        )
        self.function.add_permission(
            "InvokeFromEvents",
            principal=iam.ServicePrincipal("sns.amazonaws.com"),
            source_arn=events.topic_arn,
            source_account=account,
        )
