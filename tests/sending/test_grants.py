"""Send grants: exact IAM JSON for every condition key and operator, and the validation errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from sesmail.sending import SendConditions, grant_send

IDENTITY = "arn:aws:ses:eu-west-1:111111111111:identity/example.com"
CONFIG_SET = "arn:aws:ses:eu-west-1:111111111111:configuration-set/example"
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 7, 1, 9, 30, tzinfo=timezone(timedelta(hours=9)))


def test_every_condition_key_and_operator() -> None:
    conditions = SendConditions(
        from_addresses=("register@example.com", "support@example.com"),
        recipients=("*@example.org",),
        from_display_name="Example Sign-up",
        feedback_address="bounces@example.com",
        api_version="2",
        not_before=START,
        not_after=END,
    )
    assert conditions.to_iam() == {
        "StringEquals": {
            "ses:FromAddress": ["register@example.com", "support@example.com"],
            "ses:FromDisplayName": "Example Sign-up",
            "ses:FeedbackAddress": "bounces@example.com",
            "ses:ApiVersion": "2",
        },
        "ForAllValues:StringLike": {"ses:Recipients": ["*@example.org"]},
        "Null": {"ses:Recipients": "false"},
        "DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
        "DateLessThan": {"aws:CurrentTime": "2026-07-01T00:30:00Z"},
    }


def test_defaults_add_no_condition() -> None:
    assert SendConditions().to_iam() == {}
    assert SendConditions(from_addresses=("a@example.com",)).to_iam() == {
        "StringEquals": {"ses:FromAddress": ["a@example.com"]}
    }


@pytest.fixture(scope="module")
def policy_statements() -> list[dict]:
    stack = cdk.Stack(cdk.App(), "Grants")
    plain = iam.Role(stack, "Plain", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    templated = iam.Role(stack, "Templated", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant_send(plain, identity_arn=IDENTITY, conditions=SendConditions(from_addresses=("register@example.com",)))
    grant_send(
        templated,
        identity_arn=IDENTITY,
        conditions=SendConditions(from_addresses=("register@example.com",), configuration_set=CONFIG_SET),
        templated=True,
    )
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    return [
        statement
        for logical_id in sorted(policies)
        for statement in policies[logical_id]["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_grant_statements_exact(policy_statements: list[dict]) -> None:
    plain, templated = policy_statements
    assert plain == {
        "Action": ["ses:SendEmail", "ses:SendRawEmail"],
        "Condition": {"StringEquals": {"ses:FromAddress": ["register@example.com"]}},
        "Effect": "Allow",
        "Resource": IDENTITY,
    }
    assert templated == {
        "Action": [
            "ses:SendEmail",
            "ses:SendRawEmail",
            "ses:SendTemplatedEmail",
            "ses:SendBulkTemplatedEmail",
            "ses:SendBulkEmail",
        ],
        "Condition": {"StringEquals": {"ses:FromAddress": ["register@example.com"]}},
        "Effect": "Allow",
        "Resource": [IDENTITY, CONFIG_SET],
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"from_addresses": ("register",)}, "from_addresses: 'register' is not an e-mail address"),
        ({"from_addresses": ("*@example.com",)}, r"from_addresses: '\*@example.com' contains a wildcard"),
        ({"recipients": ("nobody",)}, "recipients: 'nobody' is not an e-mail address"),
        ({"feedback_address": "x"}, "feedback_address: 'x' is not an e-mail address"),
        ({"from_display_name": " "}, "from_display_name: ' ' is empty"),
        ({"api_version": "3"}, "api_version: '3' is not one of 1, 2"),
        ({"not_before": datetime(2026, 1, 1)}, "not_before: '2026-01-01T00:00:00' has no time zone"),
        ({"not_before": END, "not_after": START}, "not_before: .* is not earlier than not_after"),
    ],
)
def test_bad_conditions(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SendConditions(**kwargs)


def test_grant_without_from_addresses_is_refused() -> None:
    stack = cdk.Stack(cdk.App(), "Refused")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    with pytest.raises(ValueError, match=r"conditions.from_addresses: \(\) is empty"):
        grant_send(role, identity_arn=IDENTITY, conditions=SendConditions())
