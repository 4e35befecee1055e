"""The shipped ``example`` environment wires delivery feedback, the forwarder's limits and its alarm recipient
(issue 22), and an environment without an alarm recipient is warned about in one line at synth."""

from __future__ import annotations

import copy
from typing import Any

import aws_cdk as cdk
from aws_cdk import assertions
from aws_cdk.assertions import Annotations, Match

from tests.conftest import build_app, cdk_json_context


def resources(template: assertions.Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def test_feedback_function_subscribes_to_the_event_topic(example_template: assertions.Template) -> None:
    """SNS invokes Lambda asynchronously, so Lambda's retries and on-failure destination apply; the subscription's
    RedrivePolicy sends what SNS cannot deliver to the failure queue ("Amazon SNS dead-letter queues", SNS Developer
    Guide). The function permission is scoped to the event topic and the account."""
    events = next(k for k in resources(example_template, "AWS::SNS::Topic") if k.startswith("ConfigurationSetEvents"))
    queue = next(k for k in resources(example_template, "AWS::SQS::Queue") if k.startswith("SesmailInboundFailures"))
    function = next(k for k in resources(example_template, "AWS::Lambda::Function") if k.startswith("DeliveryFeedback"))
    example_template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "lambda",
            "TopicArn": {"Ref": events},
            "Endpoint": {"Fn::GetAtt": [function, "Arn"]},
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [queue, "Arn"]}},
        },
    )
    example_template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Principal": "sns.amazonaws.com", "SourceArn": {"Ref": events}, "SourceAccount": "123456789012"},
    )
    example_template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": function},
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}},
        },
    )
    example_template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"AlarmName": "sesmail-example.DeliveryFeedback-ErrorsAlarm"}
    )


def test_emailed_feedback_is_off_once_events_are_consumed(example_template: assertions.Template) -> None:
    """PutEmailIdentityFeedbackAttributes: "If you haven't set up another mechanism for receiving bounce or
    complaint notifications (for example, by setting up an event destination), you receive an email notification
    when these events occur (even if this setting is disabled)" (SES API v2 reference). The identity's default
    configuration set publishes them to the topic DeliveryFeedback reads, so the e-mailed copies are switched off."""
    example_template.has_resource_properties(
        "AWS::SES::EmailIdentity", {"FeedbackAttributes": {"EmailForwardingEnabled": False}}
    )


def test_forwarder_has_reserved_concurrency_and_an_hourly_cap(example_template: assertions.Template) -> None:
    """``ReservedConcurrentExecutions``: "The number of concurrent executions that are reserved for this function"
    (Lambda API reference, Concurrency); the cap reaches the handler as FORWARD_CAP_PER_HOUR."""
    example_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Description": "sesmail: forward inbound mail to staff",
            "ReservedConcurrentExecutions": 2,
            "Environment": {"Variables": Match.object_like({"FORWARD_CAP_PER_HOUR": "100"})},
        },
    )


def test_the_shipped_environment_names_an_alarm_recipient(example_template: assertions.Template) -> None:
    example_template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@corp.example"}
    )


def test_no_alarm_recipient_is_one_warning() -> None:
    """A receiving environment without ``alarms.email``: one synth warning naming the key (not a refusal: the topic
    may be subscribed outside cdk.json; the doctor fails until a subscription is confirmed)."""
    environments = copy.deepcopy(cdk_json_context()["environments"])
    environment = environments["example"]
    del environment["alarms"]
    app = build_app({"example": environment}, with_nag=False)
    stack = app.node.find_child("sesmail-example")
    assert isinstance(stack, cdk.Stack)
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("environments.example.alarms.email: no alarm recipient")
    )
    assert len(warnings) == 1
