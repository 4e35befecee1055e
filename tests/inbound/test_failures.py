"""The inbound functions' failure destination and alarms.

Lambda: "When an event fails all processing attempts or stays in the asynchronous invocation queue for too long,
Lambda discards it" (PutFunctionEventInvokeConfig, Lambda API reference); an on-failure destination keeps "details
about the request and response in JSON format"
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html). So each asynchronously invoked
function must have one, or a message that fails for good is lost without a trace.
"""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
from aws_cdk import assertions

from sesmail import InboundFailures, InboundParser, MailForwarder


def _template() -> tuple[cdk.Stack, assertions.Template]:
    stack = cdk.Stack(cdk.App(), "T", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    bucket = s3.Bucket.from_bucket_name(stack, "Mail", "mail")
    InboundParser(stack, "Parser", bucket=bucket)
    MailForwarder(
        stack,
        "Forwarder",
        bucket=bucket,
        identity_arn="arn:aws:ses:eu-west-1:123456789012:identity/example.com",
        mailboxes=["info@example.com"],
        forward_to=["staff@example.org"],
        # Run from the receipt rule: a second ObjectCreated notification on the whole bucket would overlap the
        # parser's, which S3 refuses (and synth now does too).
        key_prefixes={"info@example.com": ""},
    )
    return stack, assertions.Template.from_stack(stack)


def test_both_functions_send_failed_invocations_to_one_encrypted_queue_kept_14_days() -> None:
    _, template = _template()
    queues = template.find_resources("AWS::SQS::Queue")
    assert len(queues) == 1, "one failure queue per stack"
    ((queue_id, queue),) = queues.items()
    # SQS's maximum retention: "1,209,600 seconds (14 days)" (MessageRetentionPeriod, SQS API reference).
    assert queue["Properties"]["MessageRetentionPeriod"] == 1209600
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    configs = template.find_resources("AWS::Lambda::EventInvokeConfig")
    assert len(configs) == 2
    for config in configs.values():
        assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": [queue_id, "Arn"]
        }
    assert sorted(c["Properties"]["MaximumRetryAttempts"] for c in configs.values()) == [2, 2]


def test_transient_errors_are_retried_and_what_still_fails_is_recorded_with_the_s3_event() -> None:
    """Lambda's asynchronous error handling: "Retry attempts - The number of times Lambda retries when the function
    returns an error, between 0 and 2" and "Maximum age of event - ... up to 6 hours"
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html); without a setting, "by default
    Lambda attempts to run it two more times" and retries throttled events "for up to 6 hours by default"
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). An on-failure destination
    receives the invocation record, which "contains details about the request and response in JSON format"
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html): its request payload is the
    S3 event (or the SES Lambda action's event), so the message's bucket and key (or message id) are in it."""
    stack, template = _template()
    configs = {
        stack.resolve(config["Properties"]["FunctionName"])["Ref"]: config["Properties"]
        for config in template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    }
    parser = next(key for key in configs if key.startswith("Parser"))
    forwarder = next(key for key in configs if key.startswith("Forwarder"))
    assert configs[parser]["MaximumRetryAttempts"] == 2
    assert configs[parser]["MaximumEventAgeInSeconds"] == 6 * 3600
    assert configs[forwarder]["MaximumRetryAttempts"] == 2
    # Absent: Lambda's default, the same six hours.
    assert configs[forwarder].get("MaximumEventAgeInSeconds", 6 * 3600) == 6 * 3600
    for config in configs.values():
        destination = config["DestinationConfig"]
        assert set(destination) == {"OnFailure"}, "failures are recorded; successes need no record"
        assert destination["OnFailure"]["Destination"]["Fn::GetAtt"][0].startswith("SesmailInboundFailuresQueue")
        assert config["Qualifier"] == "$LATEST"


def test_an_alarm_on_the_queue_and_on_each_functions_errors() -> None:
    stack, template = _template()
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    metrics = sorted(a["Properties"]["MetricName"] for a in alarms.values())
    assert metrics == ["ApproximateNumberOfMessagesVisible", "Errors", "Errors"]
    for alarm in alarms.values():
        assert alarm["Properties"]["Threshold"] == 1
        assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert len(InboundFailures.of(stack).alarms) == 3
