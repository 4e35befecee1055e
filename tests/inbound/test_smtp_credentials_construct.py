"""SmtpCredentials construct: the user's exact policy, the handler's least-privilege roles, the custom resource's
properties, no secret in the template, cdk-nag (AwsSolutions)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import pytest
from aws_cdk import assertions
from cdk_nag import AwsSolutionsChecks

from sesmail.inbound import SmtpCredentials
from sesmail.receiving import MailBucket
from tests.conftest import cdk_json_context

IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"
CONFIGURATION_SET = "arn:aws:ses:eu-west-1:123456789012:configuration-set/sesmail-prod"
ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _app() -> cdk.App:
    """An app with the project's feature flags (cdk.json), as in the app."""
    return cdk.App(context={key: value for key, value in cdk_json_context().items() if key != "environments"})


@pytest.fixture(scope="module")
def built() -> tuple[cdk.Stack, SmtpCredentials, assertions.Template]:
    stack = cdk.Stack(_app(), "T", env=ENV)
    smtp = SmtpCredentials(
        stack, "Smtp", identity_arn=IDENTITY, from_addresses=["info@example.com", "support@example.com"]
    )
    return stack, smtp, assertions.Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(built: tuple[cdk.Stack, SmtpCredentials, assertions.Template]) -> assertions.Template:
    return built[2]


def _ref(stack: cdk.Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def _role_statements(stack: cdk.Stack, template: assertions.Template, role: iam.IRole) -> list[Any]:
    role_id = _ref(stack, role)
    (policy,) = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}).values()
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_user_policy_exact_json(template: assertions.Template) -> None:
    users = template.find_resources("AWS::IAM::User")
    (user_id,) = users
    # A customer managed policy: IAM allows a user 2,048 characters of inline policy, 6,144 per managed policy.
    assert not [p for p in template.find_resources("AWS::IAM::Policy").values() if p["Properties"].get("Users")]
    policies = [
        p["Properties"]
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
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


def test_handler_role_is_exactly_what_the_handler_calls(
    built: tuple[cdk.Stack, SmtpCredentials, assertions.Template],
) -> None:
    stack, smtp, template = built
    assert _role_statements(stack, template, smtp.handler_role) == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [_ref(stack, smtp.node.find_child("Logs")), "Arn"]},
        },
        {
            "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [_ref(stack, smtp.user), "Arn"]},
        },
        {
            "Action": [
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Effect": "Allow",
            "Resource": {"Ref": _ref(stack, smtp.secret)},
        },
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [_ref(stack, smtp.key), "Arn"]},
        },
    ]


def test_no_managed_policies_and_framework_invokes_only_the_handler(
    built: tuple[cdk.Stack, SmtpCredentials, assertions.Template],
) -> None:
    stack, smtp, template = built
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]
    framework = smtp.node.find_child("FrameworkRole")
    statements = _role_statements(stack, template, framework)  # type: ignore[arg-type]
    handler_arn = {"Fn::GetAtt": [_ref(stack, smtp.node.find_child("Handler")), "Arn"]}
    invoke = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert invoke == [
        {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": [handler_arn, {"Fn::Join": ["", [handler_arn, ":*"]]}],
        }
    ]
    template.resource_count_is("AWS::Logs::LogGroup", 2)
    template.all_resources_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})


def test_custom_resource_depends_on_the_handler_policy(
    built: tuple[cdk.Stack, SmtpCredentials, assertions.Template],
) -> None:
    stack, smtp, template = built
    depends_on = template.to_json()["Resources"][_ref(stack, smtp.access_key)]["DependsOn"]
    assert any(dep.startswith("SmtpRoleDefaultPolicy") for dep in depends_on)


def test_configuration_set_is_a_second_send_resource() -> None:
    stack = cdk.Stack(_app(), "T", env=ENV)
    smtp = SmtpCredentials(
        stack,
        "Smtp",
        identity_arn=IDENTITY,
        from_addresses=["info@example.com"],
        configuration_set_arn=CONFIGURATION_SET,
    )
    template = assertions.Template.from_stack(stack)
    (policy,) = template.find_resources(
        "AWS::IAM::ManagedPolicy", {"Properties": {"Users": [{"Ref": _ref(stack, smtp.user)}]}}
    ).values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "ses:SendRawEmail"
    assert sorted(statement["Resource"]) == sorted([IDENTITY, CONFIGURATION_SET])


def test_invalid_configuration_set_rejected() -> None:
    stack = cdk.Stack(cdk.App(), "T")
    with pytest.raises(ValueError, match="configuration_set_arn"):
        SmtpCredentials(
            stack, "Smtp", identity_arn=IDENTITY, from_addresses=["info@example.com"], configuration_set_arn="sesmail"
        )


def test_cdk_nag_passes_with_mail_bucket() -> None:
    app = _app()
    stack = cdk.Stack(app, "T", env=ENV)
    MailBucket(stack, "Mail")
    SmtpCredentials(stack, "Smtp", identity_arn=IDENTITY, from_addresses=["info@example.com"])
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # Any unacknowledged AwsSolutions finding makes synth raise; SMG4 is acknowledged (rotation is rotation_token).
    assert [artifact.stack_name for artifact in app.synth().stacks] == ["T"]
