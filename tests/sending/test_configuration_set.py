"""MailConfigurationSet: TLS, reputation, suppression, the five events, and SES-only access scoped to this set."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from sesmail.sending.configuration_set import MailConfigurationSet

ENV = cdk.Environment(account="111111111111", region="eu-west-1")
SET_ARN = {
    "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ses:eu-west-1:111111111111:configuration-set/example"]]
}


@pytest.fixture(scope="module")
def template() -> Template:
    stack = cdk.Stack(cdk.App(), "Set", env=ENV)
    MailConfigurationSet(stack, "Set", configuration_set_name="example", suppression_reasons="BOUNCES_ONLY")
    return Template.from_stack(stack)


def test_configuration_set_properties(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SES::ConfigurationSet",
        {
            "Name": "example",
            "DeliveryOptions": {"TlsPolicy": "REQUIRE"},
            "ReputationOptions": {"ReputationMetricsEnabled": True},
            "SuppressionOptions": {"SuppressedReasons": ["BOUNCE"]},
        },
    )


def test_event_destination_events(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "EventDestination": Match.object_like(
                {"MatchingEventTypes": ["bounce", "complaint", "delivery", "reject", "deliveryDelay"]}
            )
        },
    )


def test_topic_encrypted_and_key_scoped(template: Template) -> None:
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": "111111111111", "aws:SourceArn": SET_ARN}
                            },
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Resource": "*",
                        }
                    ]
                )
            },
        },
    )


def test_topic_policy_lets_only_ses_publish_for_this_set(template: Template) -> None:
    policy = next(iter(template.find_resources("AWS::SNS::TopicPolicy").values()))
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["Principal"] == {"Service": "ses.amazonaws.com"}
    assert set(allows[0]["Condition"]["StringEquals"]) == {"AWS:SourceAccount", "AWS:SourceArn"}


def test_bad_suppression_reason() -> None:
    stack = cdk.Stack(cdk.App(), "Bad", env=ENV)
    with pytest.raises(ValueError, match="suppression_reasons: 'BOUNCE' is not one of BOUNCES_AND_COMPLAINTS"):
        MailConfigurationSet(stack, "Set", configuration_set_name="x", suppression_reasons="BOUNCE")


@pytest.mark.parametrize("policy", ["REQUIRE", "OPTIONAL"])
def test_tls_policy_is_a_choice(policy: str) -> None:
    """DeliveryOptions (SES API): "If the value is Require, messages are only delivered if a TLS connection can be
    established. If the value is Optional, messages can be delivered in plain text if a TLS connection can't be
    established." The identity's default set applies it to every send, forwards and replies included."""
    stack = cdk.Stack(cdk.App(), "Tls", env=ENV)
    MailConfigurationSet(stack, "Set", configuration_set_name="x", tls_policy=policy)
    Template.from_stack(stack).has_resource_properties(
        "AWS::SES::ConfigurationSet", {"DeliveryOptions": {"TlsPolicy": policy}}
    )


def test_bad_tls_policy() -> None:
    stack = cdk.Stack(cdk.App(), "Bad", env=ENV)
    with pytest.raises(ValueError, match="tls_policy: 'NEVER' is not one of REQUIRE, OPTIONAL"):
        MailConfigurationSet(stack, "Set", configuration_set_name="x", tls_policy="NEVER")
