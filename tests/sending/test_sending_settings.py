"""The ``sending`` settings: one-line errors for typos and bad values, and delegates wired into the stack."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import assertions

from stacks.settings import SettingsError, parse_environment
from tests.conftest import build_app

BASE: dict[str, Any] = {
    "account": "123456789012",
    "region": "us-east-1",
    "domain": "example.com",
    "mailboxes": ["info", "support", "register"],
}
DELEGATE = {"policyName": "partner", "principal": "arn:aws:iam::222222222222:role/mailer", "from": ["support"]}


@pytest.mark.parametrize(
    ("sending", "message"),
    [
        ({"suppressionReason": "BOUNCES_ONLY"}, "environments.e.sending.suppressionReason: unknown setting"),
        ({"suppressionReasons": "BOUNCE"}, "environments.e.sending.suppressionReasons: 'BOUNCE' is not one of"),
        ({"delegates": [{**DELEGATE, "from": ["sales"]}]}, r"delegates\[0\]\.from\[0\]: 'sales' is not one of"),
        ({"delegates": [{**DELEGATE, "principal": "2222"}]}, r"delegates\[0\]\.principal: '2222' is neither"),
        ({"delegates": [{**DELEGATE, "from": []}]}, r"delegates\[0\]\.from: \[\] must name at least one"),
        ({"tlsPolicy": "require"}, r"^environments\.e\.sending\.tlsPolicy: 'require' is not one of REQUIRE, OPTIONAL$"),
    ],
)
def test_bad_sending_settings(sending: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_environment("e", {**BASE, "sending": sending})


def test_delegate_becomes_an_identity_policy() -> None:
    environment = {**BASE, "sending": {"suppressionReasons": "BOUNCES_ONLY", "delegates": [DELEGATE]}}
    app = build_app({"e": environment}, with_nag=False)
    template = assertions.Template.from_stack(app.node.find_child("sesmail-e"))  # type: ignore[arg-type]
    template.has_resource_properties("Custom::SesIdentityPolicy", {"PolicyName": "partner"})
    template.has_resource_properties(
        "AWS::SES::ConfigurationSet", {"SuppressionOptions": {"SuppressedReasons": ["BOUNCE"]}}
    )


def test_tls_policy_setting_reaches_the_configuration_set() -> None:
    app = build_app({"e": {**BASE, "sending": {"tlsPolicy": "OPTIONAL"}}}, with_nag=False)
    template = assertions.Template.from_stack(app.node.find_child("sesmail-e"))  # type: ignore[arg-type]
    template.has_resource_properties("AWS::SES::ConfigurationSet", {"DeliveryOptions": {"TlsPolicy": "OPTIONAL"}})


def test_template_names_differ_per_environment() -> None:
    """SES template names are unique per account and region: two environments there must not share one (b sends
    only, as a second receiving environment in one account and region is refused)."""
    send_only = {"domain": "other.example.com", "sendOnly": True, "mailboxes": ["register"]}
    opt_in = {"sending": {"exampleSender": True}}  # the template belongs to the opt-in example sender
    b = {"account": BASE["account"], "region": BASE["region"], "domains": [send_only], **opt_in}
    app = build_app({"a": {**BASE, **opt_in}, "b": b}, with_nag=False)
    names = [
        template["Properties"]["Template"]["TemplateName"]
        for stack in ("sesmail-a", "sesmail-b")
        for template in assertions.Template.from_stack(app.node.find_child(stack))  # type: ignore[arg-type]
        .find_resources("AWS::SES::Template")
        .values()
    ]
    assert names == ["sesmail-a-signup", "sesmail-b-signup"]
