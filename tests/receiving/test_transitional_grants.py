"""``receiving.mailBucket.transitionalSesGrants``: one migration deploy that keeps SES's pre-role grants beside the
S3 action's role, so moving existing rules to the role leaves no moment where SES may not write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import assertions

from tests.conftest import build_app

ENV = {"account": "123456789012", "region": "eu-west-1", "domain": "example.org", "mailboxes": ["info", "support"]}


def _template(**mail_bucket: Any) -> dict[str, Any]:
    receiving = {"receiving": {"mailBucket": mail_bucket}} if mail_bucket else {}
    app = build_app({"prod": {**ENV, **receiving}}, with_nag=False)
    stack = app.node.find_child("sesmail-prod")
    return dict(assertions.Template.from_stack(stack).to_json())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    return {"plain": _template(), "transitional": _template(transitionalSesGrants=True)}


def _ses_statements(template: dict[str, Any], kind: str, policy_key: str) -> list[dict[str, Any]]:
    """SES's statements in the mail bucket's policy or its key's (not the event topic's key, which SES uses too)."""
    statements = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == kind and logical_id.startswith("MailBucket"):
            statements += resource["Properties"][policy_key]["Statement"]
    return [s for s in statements if s.get("Principal") == {"Service": "ses.amazonaws.com"}]


def test_without_the_setting_no_policy_names_ses(templates: dict[str, dict[str, Any]]) -> None:
    plain = templates["plain"]
    assert _ses_statements(plain, "AWS::S3::BucketPolicy", "PolicyDocument") == []
    assert _ses_statements(plain, "AWS::KMS::Key", "KeyPolicy") == []


def test_the_setting_keeps_the_pre_role_grants_scoped_to_each_rule(templates: dict[str, dict[str, Any]]) -> None:
    """The grants SES's developer guide gives for writing without a role ("Give SES permission to write to an S3
    bucket", "Give SES permission to use your AWS KMS key",
    https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html), each scoped to one rule."""
    transitional = templates["transitional"]
    puts = _ses_statements(transitional, "AWS::S3::BucketPolicy", "PolicyDocument")
    keys = _ses_statements(transitional, "AWS::KMS::Key", "KeyPolicy")
    # The rule in any set of the account: moving off the takeover design beside WorkMail changes the rules' set, and
    # the old set's rules keep storing until the update's cleanup.
    rule_arn = "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/*:receipt-rule/{}"
    # addresses-1 (postmaster@, abuse@) is new and needs none, but gets the same grant as every rule storing there.
    expected = [rule_arn.format(b) for b in ("mailbox-info", "mailbox-support", "addresses-1")]
    assert [s["Condition"]["ArnLike"]["aws:SourceArn"] for s in puts] == expected
    assert [s["Condition"]["ArnLike"]["aws:SourceArn"] for s in keys] == expected
    assert [s["Action"] for s in puts] == ["s3:PutObject"] * 3
    assert all(s["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"} for s in puts)
    assert [s["Condition"]["StringEquals"]["kms:ViaService"] for s in keys] == ["s3.eu-west-1.amazonaws.com"] * 3
    # The rules still write through the role: the setting only adds, for the deploy that switches them.
    rules = [r for r in transitional["Resources"].values() if r["Type"] == "AWS::SES::ReceiptRule"]
    assert all("IamRoleArn" in json.dumps(r["Properties"]["Rule"]["Actions"][0]) for r in rules)
