"""The example sign-up sender is deployed only when an environment asks for it (issue 21, item 10).

The sender's Lambda sends the verification template from register@ to any address, with any URL, for whoever may
invoke it: its role may send as register@ through the identity (``ses:FromAddress``), and nothing limits the
recipients or the template data. A mailbox called register is not a request for such a function."""

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
    "mailboxes": ["info", "register"],
}


def _functions(env: dict[str, Any]) -> list[str]:
    app = build_app({"t": env}, with_nag=False)
    template = assertions.Template.from_stack(app.node.find_child("sesmail-t"))  # type: ignore[arg-type]
    return [lid for lid in template.find_resources("AWS::Lambda::Function") if lid.startswith("ExampleSender")]


def test_register_alone_deploys_no_sender() -> None:
    assert _functions(BASE) == []


def test_example_sender_true_deploys_it() -> None:
    assert len(_functions({**BASE, "sending": {"exampleSender": True}})) == 1


def test_example_sender_needs_the_register_mailbox() -> None:
    raw = {**BASE, "mailboxes": ["info"], "sending": {"exampleSender": True}}
    with pytest.raises(SettingsError, match=r"^environments\.prod\.sending\.exampleSender: true needs 'register'"):
        parse_environment("prod", raw)


def test_example_sender_must_be_a_boolean() -> None:
    with pytest.raises(SettingsError, match=r"sending\.exampleSender"):
        parse_environment("prod", {**BASE, "sending": {"exampleSender": "yes"}})
