"""Joining another app's active receipt rule set without WorkMail: ``receiving.joinRuleSet`` (issue 21, item 5).

SES: "You can only have one active receipt rule set at a time" (SetActiveReceiptRuleSet), so an account that already
receives for another app or domain could only fail the deploy or be taken over (every rule of the other set switched
off). Joining puts sesmail's rules into that set and touches nothing else of it, as beside WorkMail. Placement rests on
CreateReceiptRule's ``After``: "The name of an existing rule after which the new rule is placed. If this parameter is
null, the new rule is inserted at the beginning of the rule list" (SES API reference). SES evaluates a set's rules in
order, and a rule with a stop or bounce action, or a synchronous Lambda that answers STOP_RULE_SET, ends evaluation,
and ``TlsPolicy`` Require "bounces emails that are not received over TLS": refused as beside WorkMail.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import assertions

from stacks.settings import SettingsError, parse_environment
from tests.conftest import build_app

BASE: dict[str, Any] = {
    "account": "111122223333",
    "region": "eu-west-1",
    "domain": "example.com",
    "mailboxes": ["info", "support"],
}


def _env(join: dict[str, Any], **receiving: Any) -> dict[str, Any]:
    return {**BASE, "receiving": {"joinRuleSet": join, **receiving}}


def _template(env: dict[str, Any]) -> dict[str, Any]:
    app = build_app({"t": env}, with_nag=False)
    return dict(assertions.Template.from_stack(app.node.find_child("sesmail-t")).to_json())  # type: ignore[arg-type]


def _rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SES::ReceiptRule"]


def test_first_joins_at_the_start_and_creates_or_activates_no_set() -> None:
    template = _template(_env({"name": "other-app"}))
    types = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::SES::ReceiptRuleSet" not in types and "Custom::SesReceiptRuleSetActivation" not in types
    rules = _rules(template)
    assert {r["RuleSetName"] for r in rules} == {"other-app"}
    # The mailbox rules, then the address book's rule for postmaster@ and abuse@ (RFC 5321, RFC 2142).
    assert [r.get("After") for r in rules] == [None, "mailbox-info", "mailbox-support"], "first, the next after it"
    assert all(r["Rule"]["TlsPolicy"] == "Optional" for r in rules)


def test_last_goes_after_the_named_rule() -> None:
    rules = _rules(_template(_env({"name": "other-app", "position": "last", "afterRule": "their-catch-all"})))
    assert [r.get("After") for r in rules] == ["their-catch-all", "mailbox-info", "mailbox-support"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_env({"name": "other-app", "position": "last"}), r"joinRuleSet\.afterRule: missing: position last needs"),
        (_env({"name": "other-app", "afterRule": "x"}), r"joinRuleSet\.afterRule: 'x' with position first"),
        (_env({"name": "other-app", "position": "middle"}), r"joinRuleSet\.position"),
        (_env({"name": "other-app"}, ruleSetName="mine"), r"receiving\.ruleSetName: with joinRuleSet"),
        (
            _env({"name": "other-app"}, rules=[{"name": "end", "actions": [{"type": "stop"}]}]),
            r"rules\[0\]\.actions\[0\]\.type: 'stop' beside another set's rules \(joinRuleSet\)",
        ),
        (
            _env({"name": "other-app"}, rules=[{"name": "t", "tlsRequired": True, "actions": [{"type": "stop"}]}]),
            r"rules\[0\]\.tlsRequired: true beside another set's rules",
        ),
        ({**_env({"name": "other-app"}), "takeOverActiveRuleSet": True}, r"takeOverActiveRuleSet: true with receiving"),
        (
            {**_env({"name": "other-app"}), "workmail": {"organizationId": "m-0123456789abcdef0123456789abcdef"}},
            r"receiving\.joinRuleSet: with workmail",
        ),
    ],
    ids=["last-without-rule", "first-with-rule", "bad-position", "with-rule-set-name", "stop", "tls", "takeover", "wm"],
)
def test_refused_in_one_line(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_environment("prod", raw)
