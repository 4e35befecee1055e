"""Beside an existing WorkMail organization: sesmail's rules go at the start of WorkMail's own active set, store only,
and nothing that would reject or divert a recipient WorkMail accepts is allowed; the old takeover design migrates
through the activation's Delete, which restores WorkMail's set.

The WorkMail environment's app is built and synthesized once for the module (``workmail_app``): its tests only read
its template and its warnings, and nothing changes its construct tree after the synthesis."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
import boto3
import pytest
from aws_cdk import assertions
from moto import mock_aws

from sesmail.receiving import ReceiptRuleSet, S3Action
from stacks.settings import SettingsError, parse_environment
from tests.conftest import build_app, cfn_event, load_handler, no_sleep, synth_warnings

ORG_ID = "m-0123456789abcdef0123456789abcdef"
WORKMAIL_ENV: dict[str, Any] = {
    "account": "111122223333",
    "region": "eu-west-1",
    "domain": "example.com",
    "mailboxes": ["info", "support"],
    "workmail": {"organizationId": ORG_ID},
}
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:triage"
TOPIC_ARN = "arn:aws:sns:eu-west-1:111122223333:mail-events"


def _template(raw: dict[str, Any]) -> dict[str, Any]:
    app = build_app(environments={"prod": raw})  # with cdk-nag: unacknowledged findings raise
    return dict(assertions.Template.from_stack(app.node.find_child("sesmail-prod")).to_json())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def workmail_app() -> cdk.App:
    """The WORKMAIL_ENV app with cdk-nag (unacknowledged findings raise), synthesized once for the module."""
    app = build_app(environments={"prod": WORKMAIL_ENV})
    app.synth()
    return app


@pytest.fixture(scope="module")
def template(workmail_app: cdk.App) -> dict[str, Any]:
    stack = workmail_app.node.find_child("sesmail-prod")
    return dict(assertions.Template.from_stack(stack).to_json())  # type: ignore[arg-type]


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_no_rule_set_and_no_activation_beside_workmail(template: dict[str, Any]) -> None:
    """The organization's set stays the active one: the stack creates no set and activates none, so deleting the
    stack deletes only its own rules (AWS::SES::ReceiptRule is "a receipt rule" of ``RuleSetName``; nothing else
    of the set is in the template)."""
    assert not _of_type(template, "AWS::SES::ReceiptRuleSet")
    assert not _of_type(template, "Custom::SesReceiptRuleSetActivation")
    assert "ses:SetActiveReceiptRuleSet" not in json.dumps(template)
    assert all("DeletionPolicy" not in r for r in _of_type(template, "AWS::SES::ReceiptRule"))


def test_rules_go_first_in_the_workmail_set_and_only_store(template: dict[str, Any]) -> None:
    """CloudFormation AWS::SES::ReceiptRule ``After``: "The name of an existing rule after which the new rule is
    placed. If this parameter is null, the new rule is inserted at the beginning of the rule list"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ses-receiptrule.html).
    The first rule has no After, so sesmail's rules come before WorkMail's own rule, which "Amazon WorkMail adds
    ... automatically during its setup procedure" (WorkmailAction, same reference) and which still delivers every
    recipient: a WorkMail action in sesmail's rules would deliver twice."""
    rules = [r["Properties"] for r in _of_type(template, "AWS::SES::ReceiptRule")]
    assert [(p["RuleSetName"], p.get("After"), p["Rule"]["Name"]) for p in rules] == [
        ("INBOUND_MAIL", None, "mailbox-info"),
        ("INBOUND_MAIL", "mailbox-info", "mailbox-support"),
    ]
    for props in rules:
        assert [list(action) for action in props["Rule"]["Actions"]] == [["S3Action"]]


def test_only_sesmails_own_rules_may_use_the_s3_role_in_the_shared_set(template: dict[str, Any]) -> None:
    """SES assumes the S3 action's role for a rule: the trust policy's aws:SourceArn names each of the stack's rules
    ("arn:aws:ses:region:111122223333:receipt-rule-set/rule_set_name:receipt-rule/receipt_rule_name", SES developer
    guide, "Trust policy for S3 action IAM role", https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html),
    never the set's pattern: WorkMail's own rule, and anyone else's, shares INBOUND_MAIL."""
    (role,) = [r for r in _of_type(template, "AWS::IAM::Role") if "ses.amazonaws.com" in json.dumps(r)]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    prefix = "arn:aws:ses:eu-west-1:111122223333:receipt-rule-set/INBOUND_MAIL:receipt-rule/"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": [prefix + "mailbox-info", prefix + "mailbox-support"]},
    }
    assert "receipt-rule-set/sesmail-prod" not in json.dumps(template)


def test_mailbox_rules_beside_workmail_accept_mail_without_tls(template: dict[str, Any]) -> None:
    """SES API reference, ReceiptRule TlsPolicy (https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html):
    "If this parameter is set to Require, Amazon SES bounces emails that are not received over TLS." A rule of
    sesmail's ahead of WorkMail's that required TLS would bounce mail WorkMail's own rule accepts."""
    policies = {
        r["Properties"]["Rule"]["Name"]: r["Properties"]["Rule"]["TlsPolicy"]
        for r in _of_type(template, "AWS::SES::ReceiptRule")
    }
    assert policies == {"mailbox-info": "Optional", "mailbox-support": "Optional"}


def test_extra_rules_beside_workmail_do_not_require_tls_and_cannot_be_told_to() -> None:
    observe = {"name": "observe", "actions": [{"type": "addHeader", "name": "X-Seen", "value": "1"}]}
    settings = parse_environment("prod", {**WORKMAIL_ENV, "receiving": {"rules": [observe]}})
    assert settings.receiving is not None and settings.receiving.rules[0].tls_required is False
    with pytest.raises(SettingsError) as error:
        parse_environment("prod", {**WORKMAIL_ENV, "receiving": {"rules": [{**observe, "tlsRequired": True}]}})
    assert str(error.value) == (
        "environments.prod.receiving.rules[0].tlsRequired: true in a workmail environment bounces mail not received "
        "over TLS, which WorkMail's own rule accepts; leave tlsRequired out"
    )


def test_workmail_rule_set_name_is_a_setting() -> None:
    raw = copy.deepcopy(WORKMAIL_ENV)
    raw["workmail"]["ruleSetName"] = "org-inbound"
    settings = parse_environment("prod", raw)
    assert settings.receiving is not None and settings.receiving.rule_set_name == "org-inbound"
    raw["workmail"]["ruleSetName"] = "bad name"
    with pytest.raises(SettingsError, match=r"^environments.prod.workmail.ruleSetName: 'bad name' is not a receipt"):
        parse_environment("prod", raw)


def _error(raw: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as error:
        parse_environment("prod", raw)
    assert "\n" not in str(error.value)
    return str(error.value)


def test_takeover_beside_workmail_is_refused() -> None:
    """Taking over replaces WorkMail's active set; SES then rejects every recipient no rule of the new set matches
    ("You can have only one active receipt rule set per AWS Region", SES developer guide, receipt rule sets)."""
    assert _error({**WORKMAIL_ENV, "takeOverActiveRuleSet": True}).startswith(
        "environments.prod.takeOverActiveRuleSet: true with workmail would replace WorkMail's rule set"
    )


def test_own_rule_set_name_beside_workmail_is_refused() -> None:
    assert _error({**WORKMAIL_ENV, "receiving": {"ruleSetName": "mine"}}).startswith(
        "environments.prod.receiving.ruleSetName: 'mine' with workmail would need its own active set"
    )


@pytest.mark.parametrize(
    ("action", "why"),
    [
        # "The Stop action terminates the evaluation of the receipt rule set"
        # (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-stop.html): WorkMail's rule never runs.
        ({"type": "stop"}, "stops the rule set"),
        (
            {"type": "bounce", "smtpReplyCode": "550", "message": "No", "sender": "postmaster@example.com"},
            "bounces recipients WorkMail accepts",
        ),
        ({"type": "workmail"}, "delivers to WorkMail a second time"),
        # "Use RequestResponse only to make a mail flow decision, such as whether to stop the receipt rule or the
        # receipt rule set" (LambdaAction, https://docs.aws.amazon.com/ses/latest/APIReference/API_LambdaAction.html).
        ({"type": "lambda", "functionArn": FUNCTION_ARN, "invocationType": "RequestResponse"}, "may stop the rule"),
    ],
)
@pytest.mark.parametrize("recipients", [[], ["ceo@example.com"]])
def test_rules_that_reject_or_divert_workmail_recipients_are_refused(
    action: dict[str, Any], why: str, recipients: list[str]
) -> None:
    rules = [
        {
            "name": "extra",
            "recipients": recipients,
            "actions": [{"type": "addHeader", "name": "X-A", "value": "1"}, action],
        }
    ]
    message = _error({**WORKMAIL_ENV, "receiving": {"rules": rules}})
    assert message.startswith(f"environments.prod.receiving.rules[0].actions[1].type: {action['type']!r} in a workmail")
    assert why in message


def test_rules_that_only_observe_are_allowed_beside_workmail() -> None:
    """An Event Lambda "is invoked asynchronously" (SES Lambda action,
    https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-lambda.html) and cannot decide mail flow."""
    rules = [
        {
            "name": "observe",
            "actions": [
                {"type": "addHeader", "name": "X-Seen", "value": "1"},
                {"type": "lambda", "functionArn": FUNCTION_ARN},
                {"type": "sns", "topicArn": TOPIC_ARN},
                {"type": "s3", "prefix": "all/"},
            ],
        }
    ]
    settings = parse_environment("prod", {**WORKMAIL_ENV, "receiving": {"rules": rules}})
    assert settings.receiving is not None and len(settings.receiving.rules[0].actions) == 4


def test_inbound_forwarding_beside_workmail_adds_only_an_event_lambda_to_sesmail_rules() -> None:
    """Forwarding copies: the forwarder is an Event Lambda action ("invoked asynchronously", SES Lambda action page)
    after the S3 action of sesmail's own mailbox rules, so WorkMail's rule still runs and delivers."""
    raw = {**WORKMAIL_ENV, "inbound": {"forwardTo": ["staff@corp.example"]}}
    template = _template(raw)
    for rule in _of_type(template, "AWS::SES::ReceiptRule"):
        actions = rule["Properties"]["Rule"]["Actions"]
        assert [list(a) for a in actions] == [["S3Action"], ["LambdaAction"]]
        assert actions[1]["LambdaAction"]["InvocationType"] == "Event"


def test_existing_set_construct_creates_rules_only() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    bucket = s3.Bucket(stack, "B")
    rule_set = ReceiptRuleSet.from_existing(stack, "Set", rule_set_name="INBOUND_MAIL")
    rule_set.add_rule("a", actions=[S3Action(bucket=bucket)], recipients=["a@example.com"])
    rule_set.add_rule("b", actions=[S3Action(bucket=bucket)], recipients=["b@example.com"])
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::SES::ReceiptRuleSet", 0)
    template.resource_count_is("AWS::SES::ReceiptRule", 2)
    assert rule_set.resource is None and rule_set.activation is None and rule_set.existing
    with pytest.raises(ValueError, match=r"^take_over_active_rule_set: True with existing=True"):
        ReceiptRuleSet(stack, "Bad", rule_set_name="INBOUND_MAIL", existing=True, take_over_active_rule_set=True)


activation = load_handler("rule_set_activation")


@pytest.fixture()
def ses_ssm() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        ses = boto3.client("ses", region_name="eu-west-1")
        for name in ("INBOUND_MAIL", "sesmail-prod"):
            ses.create_receipt_rule_set(RuleSetName=name)
        ses.set_active_receipt_rule_set(RuleSetName="INBOUND_MAIL")
        yield ses, boto3.client("ssm", region_name="eu-west-1")


def _active(ses: Any) -> str | None:
    return ses.describe_active_receipt_rule_set().get("Metadata", {}).get("Name")


def test_migration_from_the_takeover_design_restores_workmail_set_on_update(ses_ssm: tuple[Any, Any]) -> None:
    """The old design's stack took over INBOUND_MAIL with its activation. The update to this design removes the
    activation resource; CloudFormation deletes removed resources in the update's cleanup, after the new rules exist
    in INBOUND_MAIL, and the activation's Delete restores the set it recorded as previous: INBOUND_MAIL is active
    again, now with sesmail's rules in it, and no moment is left without an active set."""
    ses, ssm = ses_ssm
    props = {"RuleSetName": "sesmail-prod", "TakeOverActiveRuleSet": "true"}
    created = activation.on_event(cfn_event("Create", props), ses=ses, ssm=ssm, sleep=no_sleep)
    assert _active(ses) == "sesmail-prod" and created["Data"]["PreviousRuleSetName"] == "INBOUND_MAIL"
    # The update's new rules, placed at the start of WorkMail's set while the old set is still active.
    ses.create_receipt_rule(
        RuleSetName="INBOUND_MAIL", Rule={"Name": "mailbox-info", "Recipients": ["info@example.com"]}
    )
    activation.on_event(
        cfn_event("Delete", props, physical_id=created["PhysicalResourceId"]), ses=ses, ssm=ssm, sleep=no_sleep
    )
    assert _active(ses) == "INBOUND_MAIL"
    described = ses.describe_active_receipt_rule_set()
    assert [r["Name"] for r in described["Rules"]] == ["mailbox-info"]


def test_workmail_environment_is_warned_that_its_identity_exists(workmail_app: cdk.App) -> None:
    """WorkMail's RegisterMailDomain "Registers a new domain in WorkMail and SES"
    (https://docs.aws.amazon.com/workmail/latest/APIReference/API_RegisterMailDomain.html): an existing organization's
    domain has its SES identity already, and CreateEmailIdentity for it fails with AlreadyExistsException. Beside
    WorkMail ``existingIdentity`` is true by default (the identity is referenced, no warning); set to false by hand,
    synth says how to adopt it."""
    # The warnings as synthesized (synth_warnings), not Annotations.from_stack, which synthesizes each app again.
    for app, expected in (
        (workmail_app, 0),
        (build_app(environments={"prod": {**WORKMAIL_ENV, "existingIdentity": False}}), 1),
    ):
        stack = app.node.find_child("sesmail-prod")
        warnings = [text for text in synth_warnings(stack) if "already has its SES identity" in text]  # type: ignore[arg-type]
        assert len(warnings) == expected
        if expected:
            assert "--import-existing-resources" in warnings[0]


def test_the_identity_warning_can_be_acknowledged_from_the_configuration() -> None:
    """Issue 23: a warning about a choice made once is acknowledged in the environment, with its reason (CDK's
    ``Annotations.acknowledge_warning``), so a synth after the import prints nothing; an unknown id or an empty
    reason is refused in one line."""
    reason = "first deployed with --import-existing-resources"
    # The warning fires only where the identity is declared in the stack (existingIdentity false, the import path);
    # the alarm recipient keeps the environment's other warning out of the way.
    raw = {
        **WORKMAIL_ENV,
        "existingIdentity": False,
        "alarms": {"email": ["ops@corp.example"]},
        "acknowledgeWarnings": {"sesmail:workmail:identityExists": reason},
    }
    app = build_app(environments={"prod": raw}, with_nag=False)
    stack = app.node.find_child("sesmail-prod")
    warnings = assertions.Annotations.from_stack(stack).find_warning(  # type: ignore[arg-type]
        "*", assertions.Match.any_value()
    )
    assert warnings == []
    with pytest.raises(SettingsError, match=r"^environments.prod.acknowledgeWarnings.sesmail:oops: 'sesmail:oops' is"):
        parse_environment("prod", {**WORKMAIL_ENV, "acknowledgeWarnings": {"sesmail:oops": reason}})
    with pytest.raises(SettingsError, match=r"identityExists: ' ' is not a reason"):
        parse_environment("prod", {**WORKMAIL_ENV, "acknowledgeWarnings": {"sesmail:workmail:identityExists": " "}})
