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
