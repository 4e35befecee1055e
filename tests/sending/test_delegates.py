"""DelegateSender: the identity policy document, principal forms, SES's per-identity limit, bad input."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from sesmail.sending import DelegateSender, SendConditions

IDENTITY_ARN = "arn:aws:ses:eu-west-1:111111111111:identity/example.com"
ROLE_ARN = "arn:aws:iam::222222222222:role/partner-mailer"
CONDITIONS = SendConditions(from_addresses=("support@example.com",), recipients=("*@partner.example",))


def _delegate(stack: cdk.Stack, construct_id: str, principal: str, **kwargs: object) -> DelegateSender:
    return DelegateSender(
        stack,
        construct_id,
        identity="example.com",
        identity_arn=IDENTITY_ARN,
        principal=principal,
        conditions=kwargs.pop("conditions", CONDITIONS),  # type: ignore[arg-type]
        policy_name=construct_id,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def policies() -> dict[str, dict]:
    stack = cdk.Stack(cdk.App(), "Delegates", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    delegates = [_delegate(stack, "PartnerAccount", "333333333333"), _delegate(stack, "PartnerRole", ROLE_ARN)]
    Template.from_stack(stack).resource_count_is("Custom::SesIdentityPolicy", 2)
    return {d.policy.policy_name: stack.resolve(d.policy.document.to_json()) for d in delegates}


def test_role_policy_exact(policies: dict[str, dict]) -> None:
    policy = policies["PartnerRole"]
    assert policy["Statement"] == [
        {
            "Sid": "DelegateSend",
            "Effect": "Allow",
            "Principal": {"AWS": ROLE_ARN},
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": IDENTITY_ARN,
            "Condition": {
                "StringEquals": {"ses:FromAddress": ["support@example.com"]},
                "ForAllValues:StringLike": {"ses:Recipients": ["*@partner.example"]},
                "Null": {"ses:Recipients": "false"},
            },
        }
    ]


def test_account_principal_is_the_account_root(policies: dict[str, dict]) -> None:
    assert policies["PartnerAccount"]["Statement"][0]["Principal"] == {
        "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::333333333333:root"]]}
    }


@pytest.mark.parametrize(
    ("principal", "kwargs", "message"),
    [
        ("33333333333", {}, "principal: '33333333333' is neither a 12-digit account id nor an IAM ARN"),
        ("arn:aws:iam::role/x", {}, "principal: 'arn:aws:iam::role/x' is neither"),
        ("333333333333", {"conditions": SendConditions()}, r"conditions\.from_addresses: \(\) is empty"),
        (
            "333333333333",
            {"conditions": SendConditions(from_addresses=("a@example.com",), configuration_set="arn:x")},
            "conditions.configuration_set: 'arn:x' cannot be enforced by an identity policy",
        ),
    ],
)
def test_bad_input(principal: str, kwargs: dict, message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(ValueError, match=message):
        _delegate(stack, "Bad", principal, **kwargs)


def test_twenty_first_policy_on_an_identity_is_refused() -> None:
    stack = cdk.Stack(cdk.App(), "Many")
    for index in range(20):
        _delegate(stack, f"P{index}", "333333333333")
    with pytest.raises(ValueError, match=r"policy_name: 'P20' would be policy 21 on 'example\.com'; SES allows 20"):
        _delegate(stack, "P20", "333333333333")


@pytest.mark.parametrize(
    ("api_version", "actions"),
    [
        (None, ["ses:SendEmail", "ses:SendRawEmail", "ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail"]),
        ("2", ["ses:SendEmail", "ses:SendRawEmail"]),
    ],
)
def test_templated_delegate_gets_only_actions_its_conditions_can_allow(api_version: str | None, actions: list) -> None:
    """Never ses:SendBulkEmail (SES evaluates no ses:FromAddress for it); no v1 action when pinned to SES v2."""
    stack = cdk.Stack(cdk.App(), "Templated", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    conditions = SendConditions(from_addresses=("support@example.com",), api_version=api_version)
    delegate = _delegate(stack, "Partner", ROLE_ARN, conditions=conditions, templated=True)
    (statement,) = stack.resolve(delegate.policy.document.to_json())["Statement"]
    assert statement["Action"] == actions
