"""Delivery feedback in the synthesized templates when the address book forwards or people send: switched on, given the
book's routing table in its code (not its environment), and allowed to send as the book's domains in one line each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from sesmail.inbound import DeliveryFeedback
from stacks.mail_stack import delivery_feedback_wanted
from stacks.settings import load_environments, parse_environment
from tests.conftest import ROOT, cdk_json_context


def _stack(app: cdk.App, environment: str) -> cdk.Stack:
    stack = app.node.find_child(f"sesmail-{environment}")
    assert isinstance(stack, cdk.Stack)
    return stack


def _feedback(stack: cdk.Stack) -> DeliveryFeedback:
    (found,) = [c for c in stack.node.find_all() if isinstance(c, DeliveryFeedback)]
    return found


def _staged_routes(feedback: DeliveryFeedback) -> list[Path]:
    return [
        Path(c.source_path)
        for c in feedback.node.find_all()
        if isinstance(c, cdk.AssetStaging) and (Path(c.source_path) / "routes.json").is_file()
    ]


def _send_statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    template = Template.from_stack(stack).to_json()
    policies = [r for k, r in template["Resources"].items() if k.startswith("DeliveryFeedbackRoleDefaultPolicy")]
    (policy,) = policies
    return [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "ses:SendRawEmail" in s["Action"]]


def _function_environment(stack: cdk.Stack) -> dict[str, Any]:
    template = Template.from_stack(stack).to_json()
    (function,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Description") == "sesmail: notices about SES delivery failures"
    ]
    return dict(function["Properties"]["Environment"]["Variables"])


def test_the_book_switches_delivery_feedback_on(project_app: cdk.App) -> None:
    """example-company has no ``inbound.forwardTo`` and no shared SMTP user, but its book forwards and its people
    send: each failure of theirs must reach someone, so the function exists, and SES's e-mailed feedback is off on
    both receiving domains ("If you haven't set up another mechanism for receiving bounce or complaint notifications
    (for example, by setting up an event destination), you receive an email notification when these events occur
    (even if this setting is disabled)", PutEmailIdentityFeedbackAttributes, SES API v2 reference)."""
    stack = _stack(project_app, "example-company")
    _feedback(stack)
    identities = Template.from_stack(stack).find_resources("AWS::SES::EmailIdentity")
    assert len(identities) == 2
    for identity in identities.values():
        assert identity["Properties"]["FeedbackAttributes"] == {"EmailForwardingEnabled": False}


def test_the_routing_table_ships_in_the_functions_code_not_its_environment(project_app: cdk.App) -> None:
    """Lambda: "The total size of all environment variables doesn't exceed 4 KB" (Lambda quotas): the table is a file
    of the function's code, the forwarder's exact table, and the environment names no address."""
    stack = _stack(project_app, "example-company")
    settings = next(s for s in load_environments(cdk_json_context()["environments"]) if s.name == "example-company")
    assert settings.address_book is not None
    (staged,) = _staged_routes(_feedback(stack))
    assert json.loads((staged / "routes.json").read_text()) == settings.address_book.routes()
    assert (staged / "index.py").read_text() == (ROOT / "lambda" / "delivery_feedback" / "index.py").read_text()
    environment = _function_environment(stack)
    assert set(environment) == {"ALARM_TOPIC_ARN", "FEEDBACK_BUCKET"}


def test_the_role_sends_as_each_book_domain_in_one_line(project_app: cdk.App) -> None:
    """A notice is sent as the address of the failed message: any entry of a domain with ``addresses``. The
    condition is ``StringLike`` ``*@<domain>``, as for the forwarder, so the policy is one line per domain however
    many addresses and people the book has (IAM condition operators: "StringLike: Case-sensitive matching. The
    values can include multi-character match wildcards (*)")."""
    (send,) = _send_statements(_stack(project_app, "example-company"))
    assert send["Condition"] == {"StringLike": {"ses:FromAddress": ["*@company.example", "*@company-store.example"]}}


def test_the_short_form_keeps_its_function(project_app: cdk.App) -> None:
    """``example`` (mailboxes + forwardTo): no table, the environment and the exact mailbox list as before."""
    stack = _stack(project_app, "example")
    assert _staged_routes(_feedback(stack)) == []
    environment = _function_environment(stack)
    assert environment["MAILBOXES"] == "info@example.org,support@example.org,register@example.org"
    assert environment["FEEDBACK_TO"] == "staff@corp.example"
    (send,) = _send_statements(stack)
    assert send["Condition"] == {
        "StringEquals": {"ses:FromAddress": ["info@example.org", "support@example.org", "register@example.org"]}
    }


def _settings(**extra: Any) -> Any:
    raw: dict[str, Any] = {
        "account": "123456789012",
        "region": "eu-west-1",
        "domain": "example.com",
        "addresses": [{"localPart": "jane", "to": []}, {"localPart": "info", "to": []}],
        **extra,
    }
    return parse_environment("test", raw)


def test_people_alone_switch_it_on() -> None:
    """People reply through their own credentials even where the book forwards nothing (every entry stored only):
    their failures must reach someone too. A book that neither forwards nor has people sends nothing of staff's."""
    assert not delivery_feedback_wanted(_settings())
    assert delivery_feedback_wanted(_settings(people=[{"name": "jane", "address": "jane", "sendAs": ["info"]}]))
    assert delivery_feedback_wanted(_settings(postmasterTo=["ops@corp.example"]))
