"""The shipped ``example`` environment (WorkMail-free: parse, forward, SMTP credentials) through the whole app:
synth passes cdk-nag (AwsSolutions), each mailbox rule stores then forwards, and the SMTP user may only send raw mail
as the mailboxes."""

from __future__ import annotations

import json
import typing
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from tests.conftest import cdk_json_context

#: The ``example`` environment as shipped in cdk.json (kept here so this test runs before and after it lands).
EXAMPLE: dict[str, Any] = {
    "account": "123456789012",
    "region": "eu-west-1",
    "domain": "example.org",
    "mailboxes": ["info", "support", "register"],
    "inbound": {"parse": True, "forwardTo": ["staff@corp.example"], "smtpCredentials": True},
    "receiving": {"mailBucket": {"noncurrentVersionsExpireAfterDays": 365}},
    "alarms": {"email": ["ops@corp.example"]},
    "sending": {"exampleSender": True},
}
ADDRESSES = ["info@example.org", "support@example.org", "register@example.org"]
IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/example.org"


def _logical_id(stack: cdk.Stack, construct_id: str) -> str:
    """The logical id of the CloudFormation resource behind construct ``construct_id``'s primary child."""
    resource = stack.node.find_child(construct_id).node.default_child
    assert resource is not None
    return stack.get_logical_id(typing.cast(cdk.CfnElement, resource.node.default_child))


@pytest.fixture(scope="module")
def stack(project_app: cdk.App) -> cdk.Stack:
    """The session's ``example`` stack (synthesized once, with cdk-nag: an unacknowledged finding fails the session's
    synth); ``test_matches_cdk_json_when_shipped`` keeps it built from ``EXAMPLE``."""
    found = project_app.node.find_child("sesmail-example")
    assert isinstance(found, cdk.Stack)
    return found


@pytest.fixture(scope="module")
def template(example_template: assertions.Template) -> assertions.Template:
    return example_template


def test_synth_passes_cdk_nag(stack: cdk.Stack) -> None:
    assert stack.stack_name == "sesmail-example"


def test_matches_cdk_json_when_shipped() -> None:
    shipped = cdk_json_context()["environments"].get("example")
    if shipped is None:
        pytest.skip("cdk.json has no example environment")
    assert shipped == EXAMPLE


def test_mailbox_rules_store_then_forward(stack: cdk.Stack, template: assertions.Template) -> None:
    forwarder_arn = {"Fn::GetAtt": [_logical_id(stack, "MailForwarder"), "Arn"]}
    rules = {
        r["Properties"]["Rule"]["Name"]: r["Properties"]["Rule"]["Actions"]
        for r in template.find_resources("AWS::SES::ReceiptRule").values()
    }
    # addresses-1 holds postmaster@ and abuse@ (received by default), stored under address-book/.
    assert sorted(rules) == ["addresses-1", "mailbox-info", "mailbox-register", "mailbox-support"]
    for name, actions in rules.items():
        mailbox = name.removeprefix("mailbox-") if name != "addresses-1" else "address-book"
        assert [next(iter(action)) for action in actions][-2:] == ["S3Action", "LambdaAction"], name
        assert actions[-2]["S3Action"]["ObjectKeyPrefix"] == f"{mailbox}/"
        assert actions[-1]["LambdaAction"] == {"FunctionArn": forwarder_arn, "InvocationType": "Event"}


def test_smtp_user_may_only_send_raw_mail_as_the_mailboxes(stack: cdk.Stack, template: assertions.Template) -> None:
    user_ref = {"Ref": _logical_id(stack, "SmtpCredentials")}
    (user_resource,) = template.find_resources("AWS::IAM::User").values()
    # No inline, managed or group permissions on the user itself.
    assert not user_resource.get("Properties")
    # One customer managed policy, attached to the user only (IAM: 6,144 characters, against 2,048 inline).
    assert not [
        p for p in template.find_resources("AWS::IAM::Policy").values() if user_ref in p["Properties"].get("Users", [])
    ]
    policies = [
        p["Properties"]
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
        if user_ref in p["Properties"].get("Users", [])
    ]
    assert [p.get("Roles") or p.get("Groups") for p in policies] == [None]
    (statement,) = policies[0]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "ses:SendRawEmail"
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": ADDRESSES}}
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    assert IDENTITY in resources
    # Besides the identity, at most the identity's default configuration set (SES authorizes sends on it too).
    assert all(r == IDENTITY or ":configuration-set/" in json.dumps(r) for r in resources)
    template.resource_count_is("AWS::IAM::AccessKey", 0)


def test_no_inbound_role_uses_managed_policies(template: assertions.Template) -> None:
    for logical_id, role in template.find_resources("AWS::IAM::Role").items():
        if logical_id.startswith(("InboundParser", "MailForwarder", "SmtpCredentials")):
            assert "ManagedPolicyArns" not in role["Properties"], logical_id
