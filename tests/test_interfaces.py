"""sesmail constructs are aws-cdk-lib's interfaces: ``MailDomain`` an ``ses.IEmailIdentity``, ``MailConfigurationSet``
an ``ses.IConfigurationSet``, each usable where aws-cdk-lib takes one, and ``from_*`` for what lives outside the app.

The annotated assignments are checked by mypy (tests/test_style.py): the interfaces are Protocols."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_ses as ses
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from sesmail import MailAlarms, MailBucket, MailDomain
from sesmail.inbound import InboundParser, MailForwarder, SmtpCredentials
from sesmail.receiving import ReceiptRuleSet, StopAction
from sesmail.sending import DelegateSender, MailConfigurationSet, SendConditions

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    stack = cdk.Stack(cdk.App(), "Interfaces", env=ENV)
    configuration_set: ses.IConfigurationSet = MailConfigurationSet(stack, "Set", configuration_set_name="mail")
    # Before, this died inside jsii ("Cannot read properties of undefined"): aws-cdk-lib reads the interface.
    domain = MailDomain(stack, "Domain", domain_name="example.com", configuration_set=configuration_set)
    other = ses.EmailIdentity(
        stack, "Plain", identity=ses.Identity.domain("example.org"), configuration_set=configuration_set
    )
    identity: ses.IEmailIdentity = domain
    role = iam.Role(stack, "Sender", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    identity.grant_send_email(role)
    template = Template.from_stack(stack)
    return {"stack": stack, "domain": domain, "other": other, "set": configuration_set, "template": template}


def _logical_id(stack: cdk.Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def test_configuration_set_is_taken_by_aws_cdk_libs_email_identity(built: dict[str, Any]) -> None:
    stack, template = built["stack"], built["template"]
    set_id = _logical_id(stack, built["set"].configuration_set)
    identities = template.find_resources("AWS::SES::EmailIdentity")
    assert len(identities) == 2
    for identity in identities.values():
        assert identity["Properties"]["ConfigurationSetAttributes"] == {"ConfigurationSetName": {"Ref": set_id}}


def test_mail_domain_answers_the_identity_interface(built: dict[str, Any]) -> None:
    domain: MailDomain = built["domain"]
    stack = built["stack"]
    assert stack.resolve(domain.email_identity_name) == {"Ref": _logical_id(stack, domain.identity)}
    assert stack.resolve(domain.email_identity_arn) == stack.resolve(domain.identity_arn)
    assert domain.env.account == "123456789012" and domain.env.region == "eu-west-1"
    assert domain.stack is stack


def test_interface_grant_send_email_is_aws_cdk_libs_grant_on_the_identity(built: dict[str, Any]) -> None:
    stack, template = built["stack"], built["template"]
    # The sender's policy (the identity's default-set release handler has its own role and policy).
    (policy,) = [
        p for lid, p in template.find_resources("AWS::IAM::Policy").items() if "DefaultConfigurationSet" not in lid
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]
    identity_id = _logical_id(stack, built["domain"].identity)
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":ses:eu-west-1:123456789012:identity/", {"Ref": identity_id}],
        ]
    }


def test_from_methods_reference_what_lives_outside_the_app() -> None:
    stack = cdk.Stack(cdk.App(), "Imported", env=ENV)
    identity = MailDomain.from_domain_name(stack, "Existing", "example.net")
    configuration_set = MailConfigurationSet.from_configuration_set_name(stack, "ExistingSet", "corp-mail")
    assert identity.email_identity_name == "example.net"
    assert configuration_set.configuration_set_name == "corp-mail"
    with pytest.raises(ValueError, match=r"domain_name: 'exa mple\.net'"):
        MailDomain.from_domain_name(stack, "Bad", "exa mple.net")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda s: SendConditions(from_addresses="info@example.com"), "from_addresses: 'info@example.com' is a string"),  # type: ignore[arg-type]
        (lambda s: SendConditions(recipients="*@example.com"), r"recipients: '\*@example\.com' is a string"),  # type: ignore[arg-type]
        (
            lambda s: MailForwarder(
                s, "F", bucket=_bucket(s), identity_arn=_ARN, mailboxes="info@example.com", forward_to=["a@b.example"]
            ),
            "mailboxes: 'info@example.com' is a string",
        ),
        (
            lambda s: MailForwarder(
                s, "F", bucket=_bucket(s), identity_arn=_ARN, mailboxes=["info@example.com"], forward_to="a@b.example"
            ),
            "forward_to: 'a@b.example' is a string",
        ),
        (
            lambda s: SmtpCredentials(s, "U", identity_arn=_ARN, from_addresses="info@example.com"),
            "from_addresses: 'info@example.com' is a string",
        ),
        (
            lambda s: ReceiptRuleSet(s, "Set", rule_set_name="x").add_rule(
                "r", recipients="info@example.com", actions=[StopAction()]
            ),
            "recipients: 'info@example.com' is a string",
        ),
        (
            lambda s: InboundParser(s, "P", bucket=_bucket(s), mail_prefixes="info/"),
            "mail_prefixes: 'info/' is a string",
        ),
        (lambda s: MailAlarms(s, "A", emails="ops@example.com"), "emails: 'ops@example.com' is a string"),
        (lambda s: SendConditions(from_addresses=["info@example.com", 7]), r"from_addresses\[1\]: 7 is not a string"),  # type: ignore[arg-type]
    ],
)
def test_a_bare_string_where_a_list_is_expected_is_refused_as_such(build: Any, message: str) -> None:
    """Python iterates a string letter by letter: without the check, ``"info@example.com"`` became 16 one-letter
    'addresses' and the error named ``'i'``."""
    stack = cdk.Stack(cdk.App(), "Strings", env=ENV)
    with pytest.raises(ValueError, match=message) as error:
        build(stack)
    assert "pass a list of strings" in str(error.value) or "is not a string" in str(error.value)


_ARN = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"


def _bucket(stack: cdk.Stack) -> Any:
    import aws_cdk.aws_s3 as s3

    return s3.Bucket.from_bucket_name(stack, "Bucket", "mail-bucket")


def _send_resources(template: Template, kind: str) -> Any:
    for resource in template.find_resources(kind).values():
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if "ses:FromAddress" in json.dumps(statement.get("Condition")):
                return statement["Resource"]
    raise AssertionError(f"no send statement in {kind}")


def test_senders_given_the_domain_find_its_configuration_set_themselves() -> None:
    """Service Authorization Reference, Amazon SES v2
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html):
    SendEmail's resource types are ``identity`` and ``configuration-set`` (and ``template``), so a grant without the
    identity's default set is denied every send; a forgotten configuration_set_arn used to cause exactly that."""
    stack = cdk.Stack(cdk.App(), "Given", env=ENV)
    configuration_set = MailConfigurationSet(stack, "Set", configuration_set_name="mail")
    domain = MailDomain(stack, "Domain", domain_name="example.com", configuration_set=configuration_set)
    bucket = _bucket(stack)
    MailForwarder(
        stack, "Fwd", bucket=bucket, identity=domain, mailboxes=["info@example.com"], forward_to=["s@corp.example"],
        key_prefixes={"info@example.com": "info/"},
    )  # fmt: skip
    SmtpCredentials(stack, "Smtp", identity=[domain], from_addresses=["info@example.com"])
    DelegateSender(
        stack, "Agency", identity=domain, principal="444455556666", policy_name="agency",
        conditions=SendConditions(from_addresses=("info@example.com",)),
    )  # fmt: skip
    template = Template.from_stack(stack)
    expected = [stack.resolve(domain.identity_arn), stack.resolve(configuration_set.configuration_set_arn)]
    assert _send_resources(template, "AWS::IAM::Policy") == expected
    assert _send_resources(template, "AWS::IAM::ManagedPolicy") == expected
    (policy,) = template.find_resources("Custom::SesIdentityPolicy").values()
    assert policy["Properties"]["Identity"] == "example.com"
    assert ":identity/example.com" in json.dumps(policy["Properties"]["Policy"])


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({}, "identity: give the identity (a MailDomain or ses.IEmailIdentity) or identity_arn, one of them"),
        ({"identity": "example.com"}, "identity: 'example.com' is not an SES identity ARN"),
        ({"identity_arn": _ARN, "identity": _ARN}, "identity: give the identity"),
    ],
)
def test_a_sender_needs_exactly_one_way_to_its_identity(props: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Which", env=ENV)
    with pytest.raises(ValueError) as raised:
        SmtpCredentials(stack, "Smtp", from_addresses=["info@example.com"], **props)
    assert str(raised.value).startswith(message)


def test_identity_policy_takes_the_domain_or_a_name_with_its_arn() -> None:
    from sesmail import IdentityPolicy

    stack = cdk.Stack(cdk.App(), "Policies", env=ENV)
    domain = MailDomain(stack, "Domain", domain_name="example.com")
    statement = iam.PolicyStatement(
        principals=[iam.AccountPrincipal("444455556666")], actions=["ses:SendEmail"], resources=[domain.identity_arn]
    )
    IdentityPolicy(
        stack, "ByConstruct", identity=domain, policy_name="a", document=iam.PolicyDocument(statements=[statement])
    )
    template = Template.from_stack(stack)
    (policy,) = template.find_resources("Custom::SesIdentityPolicy").values()
    assert policy["Properties"]["Identity"] == "example.com"
    with pytest.raises(ValueError, match=r"^identity_arn: missing for the identity 'example.org' given by name"):
        IdentityPolicy(
            stack,
            "ByName",
            identity="example.org",
            policy_name="b",
            document=iam.PolicyDocument(statements=[statement]),
        )


def test_aws_cdk_libs_receipt_actions_are_refused_with_what_to_pass() -> None:
    import aws_cdk.aws_s3 as s3
    import aws_cdk.aws_ses_actions as ses_actions

    stack = cdk.Stack(cdk.App(), "Actions", env=ENV)
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", "mail-bucket")
    rule_set = ReceiptRuleSet(stack, "Set", rule_set_name="inbound")
    with pytest.raises(ValueError) as raised:
        rule_set.add_rule("r", actions=[ses_actions.S3(bucket=bucket)])  # type: ignore[list-item]
    assert str(raised.value).startswith(
        "actions[0]: S3 is not a sesmail receipt action; use sesmail.receiving.S3Action"
    )
    rule = rule_set.add_rule("ok", actions=[StopAction()])
    with pytest.raises(
        ValueError, match=r"^action: Stop is not a sesmail receipt action; use sesmail.receiving.StopAction"
    ):
        rule.add_action(ses_actions.Stop())  # type: ignore[arg-type]


def test_the_rule_set_offers_aws_cdk_libs_reference_to_itself() -> None:
    stack = cdk.Stack(cdk.App(), "Ref", env=ENV)
    rule_set = ReceiptRuleSet(stack, "Set", rule_set_name="inbound")
    reference: ses.IReceiptRuleSet = rule_set.receipt_rule_set
    assert reference.receipt_rule_set_name == "inbound" == rule_set.receipt_rule_set_name
    assert rule_set.receipt_rule_set.node.path == reference.node.path == "Ref/Set/Reference"


def test_cdk_nag_2_is_warned_about_once_per_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """cdk-nag 3 "reads acknowledged rules from construct metadata" written by CDK's Validations (its NagPack
    isAcknowledged); cdk-nag 2 is an Aspect reading NagSuppressions, so sesmail's acknowledgements do not reach it."""
    import importlib.metadata

    from sesmail import _provider

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.37.55")
    monkeypatch.setattr(_provider, "_NAG_2_WARNED", set())
    stack = cdk.Stack(cdk.App(), "Nag2", env=ENV)
    mail = MailBucket(stack, "Mail")
    InboundParser(stack, "Parser", bucket=mail.bucket)
    SmtpCredentials(stack, "Smtp", identity_arn=_ARN, from_addresses=["info@example.com"])
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("cdk-nag 2.37.55 is installed"))
    assert len(warnings) == 1


def test_grant_send_takes_the_identity_construct() -> None:
    from sesmail.sending import grant_send

    stack = cdk.Stack(cdk.App(), "Grant", env=ENV)
    configuration_set = MailConfigurationSet(stack, "Set", configuration_set_name="mail")
    domain = MailDomain(stack, "Domain", domain_name="example.com", configuration_set=configuration_set)
    role = iam.Role(stack, "Sender", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant_send(role, identity=domain, conditions=SendConditions(from_addresses=("info@example.com",)))
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (policy,) = [p for lid, p in policies.items() if lid.startswith("SenderDefaultPolicy")]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert stack.resolve(domain.identity_arn) in statement["Resource"]
    assert ":configuration-set/" in json.dumps(statement["Resource"])
    with pytest.raises(ValueError, match=r"^identity: give the identity"):
        grant_send(role, conditions=SendConditions(from_addresses=("info@example.com",)))
