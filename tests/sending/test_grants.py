"""Send grants: exact IAM JSON for every condition key and operator, and the validation errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from sesmail.policy.lint import lint_paths
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


TEMPLATE = "arn:aws:ses:eu-west-1:111111111111:template/signup"


@pytest.fixture(scope="module")
def policy_statements() -> list[dict]:
    stack = cdk.Stack(cdk.App(), "Grants")
    plain = iam.Role(stack, "Plain", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    templated = iam.Role(stack, "Templated", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    v2 = iam.Role(stack, "V2", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant_send(plain, identity_arn=IDENTITY, conditions=SendConditions(from_addresses=("register@example.com",)))
    grant_send(
        templated,
        identity_arn=IDENTITY,
        conditions=SendConditions(from_addresses=("register@example.com",), configuration_set=CONFIG_SET),
        templated=True,
        templates=[TEMPLATE],
    )
    grant_send(
        v2,
        identity_arn=IDENTITY,
        conditions=SendConditions(from_addresses=("register@example.com",), api_version="2"),
        templates=[TEMPLATE],
    )
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    return [
        statement
        for logical_id in sorted(policies)
        for statement in policies[logical_id]["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_grant_statements_exact(policy_statements: list[dict]) -> None:
    """Service Authorization Reference (SES v2): ``SendEmail`` acts on ``identity``, ``configuration-set`` and
    ``template``; ``SendTemplatedEmail``/``SendBulkTemplatedEmail`` (v1) on the same three; ``SendRawEmail`` on
    ``identity`` and ``configuration-set`` only. So a templated grant names its template for the templated actions and
    leaves it out of the raw one."""
    plain, raw, templated, v2_raw, v2 = policy_statements
    from_register = {"StringEquals": {"ses:FromAddress": ["register@example.com"]}}
    assert plain == {
        "Action": ["ses:SendEmail", "ses:SendRawEmail"],
        "Condition": from_register,
        "Effect": "Allow",
        "Resource": IDENTITY,
    }
    assert raw == {
        "Action": "ses:SendRawEmail",
        "Condition": from_register,
        "Effect": "Allow",
        "Resource": [IDENTITY, CONFIG_SET],
    }
    assert templated == {
        "Action": ["ses:SendEmail", "ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail"],
        "Condition": from_register,
        "Effect": "Allow",
        "Resource": [IDENTITY, CONFIG_SET, TEMPLATE],
    }
    # Pinned to SES v2: v1's templated actions could never match ses:ApiVersion = 2, so they are not granted.
    v2_condition = {"StringEquals": {"ses:FromAddress": ["register@example.com"], "ses:ApiVersion": "2"}}
    assert v2_raw["Action"] == "ses:SendRawEmail"
    assert v2 == {
        "Action": "ses:SendEmail",
        "Condition": v2_condition,
        "Effect": "Allow",
        "Resource": [IDENTITY, TEMPLATE],
    }


def test_no_grant_names_an_action_its_conditions_cannot_allow(tmp_path: Path) -> None:
    """``sesmail lint`` (SES001: a condition key the action does not support; SES004: a resource type the action does
    not act on) finds nothing in templated grants: SendBulkEmail, which has no ses:FromAddress, is never granted."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Grants", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    for api_version in (None, "1", "2"):
        role = iam.Role(stack, f"Role{api_version}", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        conditions = SendConditions(
            from_addresses=("register@example.com",), configuration_set=CONFIG_SET, api_version=api_version
        )
        grant_send(role, identity_arn=IDENTITY, conditions=conditions, templates=[TEMPLATE])
    assert [f.format() for f in lint_paths([app.synth().directory])] == []
    assert "ses:SendBulkEmail" not in json.dumps(Template.from_stack(stack).to_json())


def test_bulk_and_templated_without_templates_are_refused() -> None:
    stack = cdk.Stack(cdk.App(), "Refused")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    conditions = SendConditions(from_addresses=("register@example.com",))
    with pytest.raises(ValueError, match=r"^bulk: True cannot be granted: SES evaluates no ses:FromAddress"):
        grant_send(role, identity_arn=IDENTITY, conditions=conditions, bulk=True)
    with pytest.raises(ValueError, match=r"^templates: \[\] is empty; SES authorizes a templated send on the template"):
        grant_send(role, identity_arn=IDENTITY, conditions=conditions, templated=True)
    with pytest.raises(ValueError, match=r"^templates: 'signup' is not an SES template ARN"):
        grant_send(role, identity_arn=IDENTITY, conditions=conditions, templates=["signup"])


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
