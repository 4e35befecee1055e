"""Where the inbound functions' failed invocations go: one queue per stack, and alarms a person sees.

"When an event fails all processing attempts or stays in the asynchronous invocation queue for too long, Lambda
discards it" unless a destination is configured; an on-failure destination receives an invocation record that
"contains details about the request and response in JSON format" — the request payload holds the S3 event, and so the
stored message's bucket and key (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html;
PutFunctionEventInvokeConfig in the Lambda API reference for the discard rule).
"""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_cloudwatch as cloudwatch
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_lambda_destinations as destinations
import aws_cdk.aws_sqs as sqs
from constructs import Construct

from .._provider import stack_singleton

_ID = "SesmailInboundFailures"

#: SQS keeps a message at most "1,209,600 seconds (14 days)" (MessageRetentionPeriod, SQS API reference).
RETENTION = cdk.Duration.days(14)
#: Lambda's asynchronous retry settings for the inbound functions: "Retry attempts - ... between 0 and 2" and "Maximum
#: age of event - ... up to 6 hours" (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html).
#: Both at their maximum: a transient failure (S3 or KMS throttling, a timeout) gets every chance before it is
#: recorded in the failure queue; throttled invocations are retried by Lambda "for up to 6 hours"
#: (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = cdk.Duration.hours(6)


class InboundFailures(Construct):
    """The stack's failure queue for the parser and forwarder (SSE-SQS, TLS only, messages kept 14 days), with an
    alarm when it holds anything and one per function on its ``Errors`` metric.

    :attr:`alarms` holds every alarm; ``sesmail.MailAlarms(...).watch(*failures.alarms)`` (or ``watch_all(stack)``)
    sends them to an alarm topic, as the app does for every environment.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
            # Its records point at stored mail that was not handled: deleting the stack must not drop them.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        cdk.Validations.of(self.queue).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself the failure destination of the inbound functions; it has no consumer "
                "to fail, and its alarm fires on the first message.",
            )
        )
        self.alarms: list[cloudwatch.Alarm] = [
            cloudwatch.Alarm(
                self,
                "QueueAlarm",
                metric=self.queue.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(5)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="sesmail: an inbound message failed for good; its S3 key is in the queue's record",
            )
        ]

    @classmethod
    def of(cls, scope: Construct) -> InboundFailures:
        """The stack's failure queue, created on first use."""
        return stack_singleton(cls, scope, _ID)

    @property
    def destination(self) -> lambda_.IDestination:
        """The on-failure destination for an asynchronously invoked function."""
        return destinations.SqsDestination(self.queue)

    def watch(self, scope: Construct, function: lambda_.IFunction, what: str) -> cloudwatch.Alarm:
        """An alarm on ``function``'s errors (any invocation that raised, retried or not), a child of ``scope``."""
        alarm = cloudwatch.Alarm(
            scope,
            "ErrorsAlarm",
            metric=function.metric_errors(period=cdk.Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"sesmail: the {what} raised; Lambda retries, then records it in the failure queue",
        )
        self.alarms.append(alarm)
        return alarm
