"""``inbound.verdicts``: the forwarder's verdict policy from cdk.json, one-line errors, and the value in the stack."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import assertions

from sesmail.inbound.forwarder import DEFAULT_VERDICT_POLICY
from stacks.settings import SettingsError, parse_environment
from tests.conftest import build_app

BASE: dict[str, Any] = {
    "account": "123456789012",
    "region": "eu-west-1",
    "domain": "example.org",
    "mailboxes": ["info", "support"],
    "inbound": {"forwardTo": ["staff@corp.example"]},
}


def _with_verdicts(verdicts: Any) -> dict[str, Any]:
    return {**BASE, "inbound": {**BASE["inbound"], "verdicts": verdicts}}


@pytest.mark.parametrize(
    ("verdicts", "message"),
    [
        ({"virus": "forward"}, r"^environments\.e\.inbound\.verdicts\.virus: 'forward' is not one of notice, skip$"),
        ({"spam": "drop"}, r"^environments\.e\.inbound\.verdicts\.spam: 'drop' is not one of forward, tag, notice,"),
        ({"phishing": "skip"}, r"^environments\.e\.inbound\.verdicts\.phishing: unknown setting"),
        ({"spam": True}, r"^environments\.e\.inbound\.verdicts\.spam: True is not a string$"),
        (["spam"], r"^environments\.e\.inbound\.verdicts: \['spam'\] is not an object$"),
    ],
)
def test_bad_verdict_settings_are_one_line(verdicts: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_environment("e", _with_verdicts(verdicts))


def test_defaults_hold_virus_spam_and_dmarc() -> None:
    inbound = parse_environment("e", BASE).inbound
    assert inbound is not None and dict(inbound.verdicts) == DEFAULT_VERDICT_POLICY
    assert dict(inbound.verdicts)["virus"] == "notice"


def test_the_chosen_policy_reaches_the_forwarder() -> None:
    app = build_app({"e": _with_verdicts({"spam": "tag", "dmarc": "skip"})}, with_nag=False)
    template = assertions.Template.from_stack(app.node.find_child("sesmail-e"))  # type: ignore[arg-type]
    functions = template.find_resources("AWS::Lambda::Function")
    (variables,) = [
        f["Properties"]["Environment"]["Variables"]
        for f in functions.values()
        if "VERDICT_POLICY" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert json.loads(variables["VERDICT_POLICY"]) == {**DEFAULT_VERDICT_POLICY, "spam": "tag", "dmarc": "skip"}
