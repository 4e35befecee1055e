"""The seven SES receipt actions, one class each: what SES does with a message that matches a rule.

Each action renders its ``AWS::SES::ReceiptRule`` action property and adds the resource policies SES needs (see
:mod:`.grants`). aws-cdk-lib's ``aws_ses_actions`` are not used for S3 and Lambda because they scope SES's grants by
``aws:SourceAccount`` only; the other five are rendered here too so every action shares one validated shape.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_ses as ses
import aws_cdk.aws_sns as sns

from . import checks
from .grants import RuleContext, grant_bucket_write, grant_invoke, grant_publish


class ReceiptAction(abc.ABC):
    """One action of a receipt rule."""

    @abc.abstractmethod
    def bind(self, context: RuleContext) -> ses.CfnReceiptRule.ActionProperty:
        """Grant what SES needs for the rule in ``context`` and return the action's CloudFormation property."""


def _topic_arn(context: RuleContext, topic: sns.ITopic | None) -> str | None:
    if topic is None:
        return None
    grant_publish(context, topic)
    return topic.topic_arn


@dataclass(frozen=True)
class S3Action(ReceiptAction):
    """Store the message in ``bucket`` under ``object_key_prefix``.

    SES writes through an IAM role (``IamRoleArn``), one per rule set and bucket (:class:`~.grants.S3WriteRole`).
    AWS documents that "if an IAM role ARN is provided, the role (and only the role) is used to access all the given
    resources (Amazon S3 bucket, AWS KMS customer managed key and Amazon SNS topic)": the bucket, its key and the
    topic need no statement for ``ses.amazonaws.com``, and a statement for SES there would not be used
    (CloudFormation, ``AWS::SES::ReceiptRule`` ``S3Action``; SES developer guide, "Giving permissions to Amazon SES
    for email receiving").

    :param bucket: the bucket, of this stack, of another stack, or imported. The role may put objects under the
        prefix and use the bucket's SSE-KMS key through S3. For an imported bucket, synth warns with the bucket
        policy statement its owner must add for the role if the bucket is in another account.
    :param object_key_prefix: default ``""``, objects are keyed by SES's message id at the bucket's root.
    :param kms_key: default ``None``, SES stores the message as received (the bucket's default encryption applies).
        A key makes SES encrypt the message itself (S3 encryption client) before storing it; readers then need that
        client to decrypt.
    :param topic: default ``None``, no notification. A topic is notified of each stored message (the role may publish
        to it).
    """

    bucket: s3.IBucket
    object_key_prefix: str = ""
    kms_key: kms.IKey | None = None
    topic: sns.ITopic | None = None

    def __post_init__(self) -> None:
        checks.check_object_key_prefix("object_key_prefix", self.object_key_prefix)

    def bind(self, context: RuleContext) -> ses.CfnReceiptRule.ActionProperty:
        role_arn = grant_bucket_write(
            context, self.bucket, self.object_key_prefix, kms_key=self.kms_key, topic=self.topic
        )
        return ses.CfnReceiptRule.ActionProperty(
            s3_action=ses.CfnReceiptRule.S3ActionProperty(
                bucket_name=self.bucket.bucket_name,
                iam_role_arn=role_arn,
                object_key_prefix=self.object_key_prefix or None,
                kms_key_arn=self.kms_key.key_arn if self.kms_key is not None else None,
                topic_arn=self.topic.topic_arn if self.topic is not None else None,
            )
        )


@dataclass(frozen=True)
class LambdaAction(ReceiptAction):
    """Invoke ``function`` with the message's notification (not its content).

    :param function: the function; it gets one permission for the rules of this rule set (``aws:SourceAccount`` and
        ``aws:SourceArn`` matching ``receipt-rule-set/<set>:receipt-rule/*``), shared by every rule that invokes it.
        For another account's function, synth warns with the statement its owner must add.
    :param invocation_type: default ``Event`` (asynchronous). ``RequestResponse`` waits for the function, whose
        result can stop the rule set (``STOP_RULE``, ``STOP_RULE_SET``); SES gives it 30 seconds.
    :param topic: default ``None``, no notification.
    """

    function: lambda_.IFunction
    invocation_type: str = "Event"
    topic: sns.ITopic | None = None

    def __post_init__(self) -> None:
        checks.check_one_of("invocation_type", self.invocation_type, checks.LAMBDA_INVOCATION_TYPES)

    def bind(self, context: RuleContext) -> ses.CfnReceiptRule.ActionProperty:
        grant_invoke(context, self.function)
        return ses.CfnReceiptRule.ActionProperty(
            lambda_action=ses.CfnReceiptRule.LambdaActionProperty(
                function_arn=self.function.function_arn,
                invocation_type=self.invocation_type,
                topic_arn=_topic_arn(context, self.topic),
            )
        )


@dataclass(frozen=True)
class SnsAction(ReceiptAction):
    """Publish the whole message (up to 150 KB) to ``topic``.

    :param topic: the topic; it gets SES's ``sns:Publish`` grant for this rule (and its KMS key, if any).
    :param encoding: default ``UTF-8``; ``Base64`` keeps messages in other encodings intact.
    """

    topic: sns.ITopic
    encoding: str = "UTF-8"

    def __post_init__(self) -> None:
        checks.check_one_of("encoding", self.encoding, checks.SNS_ENCODINGS)

    def bind(self, context: RuleContext) -> ses.CfnReceiptRule.ActionProperty:
        return ses.CfnReceiptRule.ActionProperty(
            sns_action=ses.CfnReceiptRule.SNSActionProperty(
                topic_arn=_topic_arn(context, self.topic), encoding=self.encoding
            )
        )


@dataclass(frozen=True)
class WorkMailAction(ReceiptAction):
    """Deliver the message to an Amazon WorkMail organization (support ends 2027-03-31).

    :param organization_arn: ``arn:<partition>:workmail:<region>:<account>:organization/m-...``.
    :param topic: default ``None``, no notification.
    """

    organization_arn: str
    topic: sns.ITopic | None = None

    def __post_init__(self) -> None:
        checks.check_workmail_organization_arn("organization_arn", self.organization_arn)

    def bind(self, context: RuleContext) -> ses.CfnReceiptRule.ActionProperty:
        return ses.CfnReceiptRule.ActionProperty(
            workmail_action=ses.CfnReceiptRule.WorkmailActionProperty(
                organization_arn=self.organization_arn, topic_arn=_topic_arn(context, self.topic)
            )
        )


@dataclass(frozen=True)
class AddHeaderAction(ReceiptAction):
    """Add a header to the message for the actions that follow (the stored or delivered copy carries it).

    :param header_name: letters, digits and ``-``, under 50 characters.
    :param header_value: at most 2048 characters, no line breaks.
    """

    header_name: str
    header_value: str

    def __post_init__(self) -> None:
        checks.check_header_name("header_name", self.header_name)
        checks.check_header_value("header_value", self.header_value)

    def bind(self, context: RuleContext) -> ses.CfnReceiptRule.ActionProperty:
        return ses.CfnReceiptRule.ActionProperty(
            add_header_action=ses.CfnReceiptRule.AddHeaderActionProperty(
                header_name=self.header_name, header_value=self.header_value
            )
        )


@dataclass(frozen=True)
class BounceAction(ReceiptAction):
    """Reject the message with a bounce sent from ``sender``.

    :param smtp_reply_code: a permanent-failure SMTP code, ``5xx`` (e.g. ``550``).
    :param message: the human-readable text of the bounce.
    :param sender: the address the bounce comes from; it must be of a verified domain of this account.
    :param status_code: default ``None``; an RFC 3463 enhanced code ``5.x.y`` (e.g. ``5.1.1``) matching the reply code.
    :param topic: default ``None``, no notification.
    """

    smtp_reply_code: str
    message: str
    sender: str
    status_code: str | None = None
    topic: sns.ITopic | None = None

    def __post_init__(self) -> None:
        checks.check_smtp_reply_code("smtp_reply_code", self.smtp_reply_code)
        if self.status_code is not None:
            checks.check_status_code("status_code", self.status_code)
        checks.check_bounce_message("message", self.message)
        checks.check_address("sender", self.sender)

    def bind(self, context: RuleContext) -> ses.CfnReceiptRule.ActionProperty:
        return ses.CfnReceiptRule.ActionProperty(
            bounce_action=ses.CfnReceiptRule.BounceActionProperty(
                smtp_reply_code=self.smtp_reply_code,
                message=self.message,
                sender=self.sender,
                status_code=self.status_code,
                topic_arn=_topic_arn(context, self.topic),
            )
        )


@dataclass(frozen=True)
class StopAction(ReceiptAction):
    """Stop evaluating the rule set: no later action or rule sees the message.

    :param topic: default ``None``, no notification.
    """

    topic: sns.ITopic | None = None

    def bind(self, context: RuleContext) -> ses.CfnReceiptRule.ActionProperty:
        return ses.CfnReceiptRule.ActionProperty(
            stop_action=ses.CfnReceiptRule.StopActionProperty(
                scope="RuleSet", topic_arn=_topic_arn(context, self.topic)
            )
        )
