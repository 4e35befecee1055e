"""The address book in the synthesized templates: rules, the forwarder's routing table, limits at 500 addresses, and
the short form's template (today's, plus postmaster@ and abuse@)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from sesmail import limits
from sesmail.inbound import MailForwarder
from sesmail.receiving.names import MAX_RECIPIENTS_PER_RULE, MAX_RULES_PER_RULE_SET
from sesmail.receiving.rule_set import ReceiptRule
from stacks.mail_stack import MailStack
from stacks.settings import load_environments
from tests.conftest import ROOT, cdk_json_context
from tests.test_snapshots import mask_asset_hashes

BEFORE = Path(__file__).parent / "data" / "example-template-before-address-book.json"


def _template(app: cdk.App, environment: str) -> dict[str, Any]:
    stack = app.node.find_child(f"sesmail-{environment}")
    return dict(Template.from_stack(stack).to_json())  # type: ignore[arg-type]


def _rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["Rule"]["Name"]: r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SES::ReceiptRule"
    }


def test_short_form_keeps_todays_template_and_adds_postmaster_and_abuse(project_app: cdk.App) -> None:
    """``mailboxes`` + ``inbound.forwardTo`` mean what they meant: every resource of the template before the address
    book (frozen in tests/data) is there unchanged, with the same logical ids, except where postmaster@ and abuse@
    are added (RFC 5321 4.5.1, RFC 2142): one rule after the mailbox rules, its grants, and two send-as addresses."""
    before = json.loads(BEFORE.read_text())["Resources"]
    after = mask_asset_hashes(_template(project_app, "example"))["Resources"]
    # Issue 22 added delivery feedback and the alarm recipient to the short form (not the book's doing): its function,
    # the identity's e-mailed feedback off, the forwarder's cap and concurrency, the failure queue's SNS statement.
    feedback = {k for k in after if k.startswith("DeliveryFeedback")} | {"AlarmsEmail00FF1726A"}
    # Issue 21 (not the book's doing either): the default configuration set released from the retained identity on
    # delete (a custom resource and its provider), the activation's record policy named after its rule set, the alarm
    # key's grant scoped.
    release = {k for k in after if k.startswith(("SesmailDefaultConfigurationSetProvider", "MailDomainDefaultConfig"))}
    renamed = {"ReceiptRuleSetActivationRecordPolicy68B47E20CB432706"}
    assert set(after) - set(before) - feedback - release - renamed == {"ReceiptRuleSetRuleaddresses16E9E78CD"}
    assert set(before) - set(after) == {"ReceiptRuleSetActivationRecordPolicyB32F758E"}
    changed = {key for key in before if key in after and before[key] != after[key]}
    changed -= {"MailDomain015C2F1B", "MailForwarder3C850010", "SesmailInboundFailuresQueuePolicy854FC198"}
    changed -= {"AlarmsKey3C2381B3", "SesmailRuleSetActivationProviderRoleDefaultPolicyFA575CE7"}
    assert changed == {
        "MailBucketNotifications9CE45289",  # the parser also reads address-book/
        "MailForwarderRoleDefaultPolicy56CC7531",  # may send as postmaster@ and abuse@; .sesmail/ cap and claims
        "ReceiptRuleSetActivationC29C5317",  # activates the set once the new rule exists
        "ReceiptRuleSetS3RolesesmailexampleMailBucket7CD5CF25",  # SES may store for the new rule
        "ReceiptRuleSetS3RolesesmailexampleMailBucketPolicy41DD6FD3",  # ... under address-book/
    }
    statements = after["MailForwarderRoleDefaultPolicy56CC7531"]["Properties"]["PolicyDocument"]["Statement"]
    (send,) = [s for s in statements if "ses:SendRawEmail" in s["Action"]]
    assert send["Condition"] == {
        "StringEquals": {
            "ses:FromAddress": [
                "info@example.org",
                "support@example.org",
                "register@example.org",
                "postmaster@example.org",
                "abuse@example.org",
            ]
        }
    }
    rule = after["ReceiptRuleSetRuleaddresses16E9E78CD"]["Properties"]
    assert rule["After"] == "mailbox-register"
    assert rule["Rule"]["Recipients"] == ["postmaster@example.org", "abuse@example.org"]
    # postmaster@ must be accepted (RFC 5321 4.5.1), also from a server without TLS: RFC 3207 section 4, "A
    # publicly-referenced SMTP server MUST NOT require use of the STARTTLS extension in order to deliver mail
    # locally"; SES "bounces emails that are not received over TLS" under Require (API reference, ReceiptRule).
    assert rule["Rule"]["TlsPolicy"] == "Optional"
    assert rule["Rule"]["Actions"][0]["S3Action"]["ObjectKeyPrefix"] == "address-book/"
    assert "LambdaAction" in rule["Rule"]["Actions"][1]


def test_beside_workmail_nothing_changes(project_app: cdk.App) -> None:
    """Beside WorkMail, WorkMail's own rule decides every recipient: no postmaster@/abuse@ rule is added."""
    assert set(_rules(_template(project_app, "example-workmail"))) == {
        "mailbox-info",
        "mailbox-support",
        "mailbox-register",
    }


def test_example_company(project_app: cdk.App) -> None:
    template = _template(project_app, "example-company")
    rules = _rules(template)
    assert set(rules) == {"addresses-1", "addresses-1-company-store-example"}
    store = rules["addresses-1"]["Properties"]["Rule"]
    # otherRecipients store: the domain as recipient, "match all email addresses ... in the domain" (one copy each).
    assert store["Recipients"] == ["company.example"]
    assert store["Actions"][0]["S3Action"]["ObjectKeyPrefix"] == "address-book/"
    reject = rules["addresses-1-company-store-example"]["Properties"]["Rule"]
    assert reject["Recipients"] == [
        "orders@company-store.example",
        "returns@company-store.example",
        "postmaster@company-store.example",
        "abuse@company-store.example",
    ]
    assert reject["Actions"][0]["S3Action"]["ObjectKeyPrefix"] == "company-store.example/address-book/"
    policies = [r for k, r in template["Resources"].items() if k.startswith("MailForwarderRoleDefaultPolicy")]
    (send,) = [s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"] if "ses:SendRawEmail" in s["Action"]]
    assert send["Condition"] == {"StringLike": {"ses:FromAddress": ["*@company.example", "*@company-store.example"]}}


def test_the_routing_table_ships_in_the_forwarders_code(project_app: cdk.App) -> None:
    stack = project_app.node.find_child("sesmail-example-company")
    (forwarder,) = [c for c in stack.node.find_all() if isinstance(c, MailForwarder)]
    settings = next(s for s in load_environments(cdk_json_context()["environments"]) if s.name == "example-company")
    assert settings.address_book is not None
    staged = [
        Path(c.source_path)
        for c in forwarder.node.find_all()
        if isinstance(c, cdk.AssetStaging) and (Path(c.source_path) / "routes.json").is_file()
    ]
    assert len(staged) == 1
    assert json.loads((staged[0] / "routes.json").read_text()) == settings.address_book.routes()
    assert (staged[0] / "index.py").read_text() == (ROOT / "lambda" / "mail_forwarder" / "index.py").read_text()


def _book(addresses: int) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {"localPart": f"user{i:03d}", "aliases": [f"u{i:03d}"], "to": [f"user{i:03d}@corp.example"]}
        for i in range(addresses)
    ]
    entries.append({"localPart": "sales", "to": [e["localPart"] for e in entries[:20]]})
    return {
        "bench": {
            "account": "123456789012",
            "region": "us-east-1",
            "domain": "example.com",
            "addresses": entries,
            "inbound": {"parse": True},
        }
    }


def _stack(addresses: int) -> MailStack:
    app = cdk.App(context={**cdk_json_context(), "environments": _book(addresses)})
    (settings,) = load_environments(app.node.try_get_context("environments"))
    return MailStack(app, settings.stack_name, settings=settings)


@pytest.fixture(scope="module")
def stacks() -> dict[int, MailStack]:
    return {n: _stack(n) for n in (3, 500)}


@pytest.fixture(scope="module")
def measures(stacks: dict[int, MailStack]) -> dict[int, list[limits.Measure]]:
    """``limits.measure_stack`` of each stack, once: the tests only read the stacks, so their figures do not change."""
    return {n: limits.measure_stack(stack) for n, stack in stacks.items()}


def test_500_addresses_fit_every_limit(stacks: dict[int, MailStack], measures: dict[int, list[limits.Measure]]) -> None:
    """SES quotas (SES Developer Guide, "Service quotas in Amazon SES"): 200 rules per rule set, 100 recipients per
    rule; Lambda: "Function environment variables | 4 KB"; IAM: "Role policy size can't exceed 10,240 characters";
    CloudFormation: 500 resources per template. 500 entries with an alias each (1,002 recipients) fit them all."""
    stack = stacks[500]
    rules = [c for c in stack.node.find_all() if isinstance(c, ReceiptRule)]
    recipients = [len(r.resource.rule.recipients or ()) for r in rules]  # type: ignore[union-attr]
    assert len(rules) <= MAX_RULES_PER_RULE_SET and max(recipients) <= MAX_RECIPIENTS_PER_RULE
    assert sum(recipients) == 1001 + 2
    assert [m.what for m in measures[500] if m.over] == []
    resources = sum(1 for c in stack.node.find_all() if isinstance(c, cdk.CfnResource))
    assert resources < limits.CFN_RESOURCES


def test_the_forwarders_environment_and_policy_do_not_grow_with_the_book(
    measures: dict[int, list[limits.Measure]],
) -> None:
    def figures(stack_measures: list[limits.Measure]) -> dict[str, int]:
        return {
            m.what: m.figure
            for m in stack_measures
            if "MailForwarder" in m.path and ("environment" in m.what or "inline" in m.what)
        }

    small, large = figures(measures[3]), figures(measures[500])
    assert small and small == large


def test_delivery_feedbacks_environment_and_policy_do_not_grow_with_the_book(
    measures: dict[int, list[limits.Measure]],
) -> None:
    """The book switches delivery feedback on; its routing table is a file of its code and its send grant is
    ``*@<domain>``, so 500 addresses measure as 3 do (Lambda's 4 KB of environment, IAM's 10,240 characters)."""

    def figures(stack_measures: list[limits.Measure]) -> dict[str, int]:
        return {
            m.what: m.figure
            for m in stack_measures
            if "DeliveryFeedback" in m.path and ("environment" in m.what or "inline" in m.what)
        }

    small, large = figures(measures[3]), figures(measures[500])
    assert small and small == large


def test_the_forwarder_may_claim_each_destination_once(project_app: cdk.App) -> None:
    """With routes, the forwarder claims each (message id, destination) under ``.sesmail/forward-once/``
    (``fwd_across``): ``PutObject`` with ``If-None-Match``, and ``GetObject`` to read who holds a claim ("How to
    prevent object overwrites with conditional writes", S3 User Guide). One pattern, whatever the book's size."""
    template = _template(project_app, "example-company")
    policies = [r for k, r in template["Resources"].items() if k.startswith("MailForwarderRoleDefaultPolicy")]
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    claims = [s for s in statements if "/.sesmail/forward-once/*" in json.dumps(s.get("Resource"))]
    assert len(claims) == 1 and sorted(claims[0]["Action"]) == ["s3:GetObject", "s3:PutObject"]
