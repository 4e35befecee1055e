"""The mail forwarder Lambda: re-sends each stored message to staff addresses through SES."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_logs as logs
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_s3_notifications as s3n
from constructs import Construct

from .._assets import handler_code
from ..receiving.actions import LambdaAction
from ..validation import is_token


class MailForwarder(Construct):
    """Forwards every message stored in ``bucket`` to ``forward_to``, sent as the mailbox it reached.

    Two triggers: by default the bucket's ``ObjectCreated`` notification under ``prefix``; with ``key_prefixes``,
    a receipt rule instead (put :meth:`receipt_action` after the rule's S3 action), which leaves the bucket's one
    notification per prefix free for the parser. The function may send only as ``mailboxes`` on ``identity_arn``
    and read only the mail prefixes; it is invoked asynchronously with no retries, so a failure never sends
    duplicates.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        identity_arn: str,
        mailboxes: Sequence[str],
        forward_to: Sequence[str],
        prefix: str = "",
        key_prefixes: Mapping[str, str] | None = None,
    ) -> None:
        """
        :param bucket: the mail bucket SES stores messages in.
        :param identity_arn: ARN of the SES identity the forwards are sent through.
        :param mailboxes: the receiving addresses; a forward is sent as the first one the message was addressed to.
        :param forward_to: staff addresses that receive the forwards; at least one.
        :param prefix: key prefix SES writes under. Default ``""``: every new object (parser outputs are skipped).
        :param key_prefixes: default ``None``, the bucket notification triggers forwarding. A mapping from each
            receiving address to the S3 prefix its rule stores under switches to the receipt-rule trigger: no
            notification, the object is read at ``<prefix of the matched recipient><message id>``.
        """
        for prop, values in (("mailboxes", list(mailboxes)), ("forward_to", list(forward_to))):
            if not values:
                raise ValueError(f"{prop} must name at least one address, got {values!r}")
            for value in values:
                if not is_token(value) and value.count("@") != 1:
                    raise ValueError(f"{prop}: {value!r} is not an e-mail address")
        if key_prefixes is not None and not key_prefixes:
            raise ValueError(f"key_prefixes: {dict(key_prefixes)!r} must map at least one address to its prefix")
        super().__init__(scope, construct_id)
        environment = {"FORWARD_TO": ",".join(forward_to), "MAILBOXES": ",".join(mailboxes)}
        if key_prefixes is not None:
            environment |= {"MAIL_BUCKET": bucket.bucket_name, "KEY_PREFIXES": json.dumps(dict(key_prefixes))}
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.function = lambda_.Function(
            self,
            "Resource",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=handler_code("mail_forwarder"),
            memory_size=1024,
            timeout=cdk.Duration.minutes(2),
            retry_attempts=0,
            log_group=log_group,
            environment=environment,
            description="sesmail: forward inbound mail to staff",
        )
        for read_prefix in sorted(set(key_prefixes.values())) if key_prefixes is not None else [prefix]:
            bucket.grant_read(self.function, f"{read_prefix}*")
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[identity_arn],
                # FromAddress is single-valued: ForAllValues would also pass a request without one.
                conditions={"StringEquals": {"ses:FromAddress": list(mailboxes)}},
            )
        )
        if key_prefixes is None:
            # S3 rejects an empty key filter: without a prefix the notification covers the whole bucket.
            filters = [s3.NotificationKeyFilter(prefix=prefix)] if prefix else []
            bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(self.function), *filters)

    def receipt_action(self) -> LambdaAction:
        """The Lambda action that forwards a rule's messages; place it after the rule's S3 action."""
        return LambdaAction(function=self.function, invocation_type="Event")
