"""``DeliveryFeedback``: SES's delivery events of the configuration set, turned into notices for the people concerned.

The configuration set publishes Bounce, Complaint, Reject and DeliveryDelay events to its SNS topic ("Contents of
event data that Amazon SES publishes to Amazon SNS", SES Developer Guide); this function is the topic's subscriber.
SNS invokes Lambda asynchronously, so Lambda's retries and on-failure destination apply as for the parser and the
forwarder (``InboundFailures``); a message SNS itself cannot deliver to the function goes to the subscription's
dead-letter queue, the same failure queue, whose alarm fires on its first message.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sns as sns
import aws_cdk.aws_sns_subscriptions as subscriptions
from constructs import Construct

from .._provider import handler_function
from ..sending.identities import IdentityLike, send_resources
from ..validation import is_token, strings
from ._permissions import grant_objects
from .failures import InboundFailures

#: Where the function claims each event it answered (one notice per event, however often SNS delivers it).
CLAIM_PREFIX = "feedback/"
TIMEOUT = cdk.Duration.seconds(60)


class DeliveryFeedback(Construct):
    """Subscribes a function to ``events`` (the configuration set's event topic) that tells people about failures.

    A forward or notice to staff that bounced, was complained about, rejected or delayed (or suppressed: a bounce
    whose subtype is ``OnAccountSuppressionList``) goes to ``alarm_topic``, and to the staff addresses that did not
    fail as a notice; any other send from one of ``mailboxes`` (a staff reply) gets a notice from that mailbox to
    ``feedback_to``. Notices are marked ``X-Sesmail-Feedback``; the failure of a notice goes to ``alarm_topic`` only,
    so no notice is ever sent about a notice. The role may send only as ``mailboxes``, publish only to
    ``alarm_topic``, and write and delete only ``feedback/*`` in ``bucket``.
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
    ) -> None:
        """
        :param events: the SES configuration set's event topic (``MailConfigurationSet.topic``).
        :param alarm_topic: where failures of sends to staff (and of notices) are published (``MailAlarms.topic``).
        :param bucket: where the function records each event it answered, under ``feedback/`` (the mail bucket).
        :param identity: the identity (or identities) the notices are sent through, as for ``MailForwarder``.
        :param mailboxes: the addresses staff send as; a failed send from one of them is theirs to hear about.
        :param feedback_to: default none: failures of staff sends go to ``alarm_topic``. The staff addresses that
            read the mailboxes (the forwarder's ``forward_to``) get a notice instead.
        """
        mailboxes, feedback_to = strings("mailboxes", mailboxes), strings("feedback_to", feedback_to)
        if not mailboxes:
            raise ValueError(f"mailboxes must name at least one address, got {mailboxes!r}")
        for prop, values in (("mailboxes", mailboxes), ("feedback_to", feedback_to)):
            for value in values:
                if not is_token(value) and value.count("@") != 1:
                    raise ValueError(f"{prop}: {value!r} is not an e-mail address")
        send = send_resources(scope, identity=identity, identity_arn=None, configuration_set_arn=None)
        super().__init__(scope, construct_id)
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
                "MAILBOXES": ",".join(mailboxes),
                "FEEDBACK_TO": ",".join(feedback_to),
                "ALARM_TOPIC_ARN": alarm_topic.topic_arn,
                "FEEDBACK_BUCKET": bucket.bucket_name,
            },
            description="sesmail: notices about SES delivery failures",
        )
        failures.watch(self, self.function, "delivery feedback function")
        # SNS's own delivery to Lambda failing for good ends in the failure queue too.
        events.add_subscription(subscriptions.LambdaSubscription(self.function, dead_letter_queue=failures.queue))
        grant_objects(
            self.role,
            bucket,
            actions=["s3:PutObject", "s3:DeleteObject"],
            key_patterns=[f"{CLAIM_PREFIX}*"],
            reason="One claim object per SES event (named by a hash of its message id and feedback id), known only "
            "when the event arrives.",
        )
        if bucket.encryption_key is not None:
            bucket.encryption_key.grant(self.role, "kms:GenerateDataKey")
        alarm_topic.grant_publish(self.role)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=send.all,
                conditions={"StringEquals": {"ses:FromAddress": list(mailboxes)}},
            )
        )
