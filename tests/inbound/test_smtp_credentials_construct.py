"""SmtpCredentials construct: the user's exact policy, the custom resource's properties, no secret in the template."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from sesmail.inbound import SmtpCredentials

IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"


@pytest.fixture(scope="module")
def template() -> assertions.Template:
    app = cdk.App()
    stack = cdk.Stack(app, "T", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    SmtpCredentials(stack, "Smtp", identity_arn=IDENTITY, from_addresses=["info@example.com", "support@example.com"])
    return assertions.Template.from_stack(stack)


def test_user_policy_exact_json(template: assertions.Template) -> None:
    users = template.find_resources("AWS::IAM::User")
    (user_id,) = users
    policies = [
        p["Properties"]
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"].get("Users") == [{"Ref": user_id}]
    ]
    assert len(policies) == 1
    assert policies[0]["PolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ses:SendRawEmail",
                "Resource": IDENTITY,
                "Condition": {"StringEquals": {"ses:FromAddress": ["info@example.com", "support@example.com"]}},
            }
        ],
    }


def test_custom_resource_and_outputs(template: assertions.Template) -> None:
    template.has_resource_properties(
        "Custom::SesSmtpCredentials",
        {"Region": "eu-west-1", "RotationToken": "1", "UserName": assertions.Match.any_value()},
    )
    outputs = template.to_json()["Outputs"]
    assert any(o["Value"] == "email-smtp.eu-west-1.amazonaws.com" for o in outputs.values())
    template.has_resource_properties("AWS::SecretsManager::Secret", {"KmsKeyId": assertions.Match.any_value()})
    # The key comes from the custom resource, never from an AWS::IAM::AccessKey whose secret CloudFormation would hold,
    # and no output reads any attribute of the custom resource.
    template.resource_count_is("AWS::IAM::AccessKey", 0)
    assert "Fn::GetAtt" not in json.dumps(outputs) or all(
        "AccessKey" not in json.dumps(o["Value"]) for o in outputs.values()
    )


@pytest.mark.parametrize("addresses", [[], ["not-an-address"]])
def test_invalid_addresses_rejected(addresses: list[str]) -> None:
    stack = cdk.Stack(cdk.App(), "T")
    with pytest.raises(ValueError, match="from_addresses"):
        SmtpCredentials(stack, "Smtp", identity_arn=IDENTITY, from_addresses=addresses)
