"""The cutover from WorkMail's rule set to the environment's own: refused at synth until the address book covers the
inventory, a set active at every moment (moto for SES, the real activation handler), and the rollback to
``INBOUND_MAIL``."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import assertions
from moto import mock_aws

from sesmail.workmail_exit.inventory import Address, Inventory
from stacks.settings import SettingsError, parse_environment
from tests.conftest import build_app, cfn_event, load_handler, no_sleep

from .org import ORG

index = load_handler("rule_set_activation")
OTHER_ORG = "m-fedcba9876543210fedcba9876543210"


def inventory_json(org: str = ORG) -> dict[str, Any]:
    """What ``sesmail workmail inventory --json`` prints for an organization of jane, bob, sales (a group of both),
    info (a resource), jane's alias j.doe, and an address of WorkMail's test domain."""
    inv = Inventory(org, "us-east-1", state="Active", default_domain="example.com")
    inv.domains = [("example.com", True), ("corp.awsapps.com", False)]
    inv.addresses = [
        Address("jane@example.com", "user", "u-1", "jane"),
        Address("bob@example.com", "user", "u-2", "bob"),
        Address("sales@example.com", "group", "g-1", "sales", members=["jane@example.com", "bob@example.com"]),
        Address("info@example.com", "resource", "r-1", "info"),
        Address("j.doe@example.com", "alias", "u-1", target="jane@example.com"),
        Address("jane@corp.awsapps.com", "alias", "u-1", target="jane@example.com"),
    ]
    return inv.to_json()


def write_inventory(directory: Path, org: str = ORG) -> str:
    path = directory / f"workmail-inventory-{org}.json"
    path.write_text(json.dumps(inventory_json(org), indent=2))
    return str(path)


BOOK = [
    {"localPart": "jane", "aliases": ["j.doe"], "to": ["jane@staff.example"]},
    {"localPart": "bob", "to": ["bob@staff.example"]},
    {"localPart": "sales", "to": ["jane", "bob"]},
    {"localPart": "info", "to": ["jane"]},
]


def environment(inventory: str, region: str = "us-east-1", **workmail: Any) -> dict[str, Any]:
    return {
        "account": "111122223333",
        "region": region,
        "domain": "example.com",
        "addresses": copy.deepcopy(BOOK),
        "workmail": {"organizationId": ORG, "inventory": inventory, **workmail},
    }


# -- synth: the refusal -------------------------------------------------------------------------------------------


def test_cutover_refused_naming_the_addresses_the_book_lacks(tmp_path: Path) -> None:
    """SES rejects a recipient no rule of the active set matches ("If the recipient ... does not match any rule,
    Amazon SES rejects the message", https://docs.aws.amazon.com/ses/latest/dg/receiving-email-receipt-rules-console-walkthrough.html),
    so the cutover must wait until every address of the inventory has an entry: one line naming each missing one
    (users, groups, resources and aliases alike); the test domain's address is not asked for (it cannot move)."""
    raw = environment(write_inventory(tmp_path), cutover=True)
    raw["addresses"] = [e for e in raw["addresses"] if e["localPart"] in ("jane", "bob")]
    raw["addresses"][0].pop("aliases")
    with pytest.raises(SettingsError) as refused:
        parse_environment("prod", raw)
    message = str(refused.value)
    assert "\n" not in message
    assert message == (
        "environments.prod.workmail.cutover: true would reject 3 address(es) WorkMail accepts that the address book "
        "does not name: sales@example.com, info@example.com, j.doe@example.com (add each as an entry or alias, or "
        "to workmail.dropped with a reason)"
    )


def test_cutover_accepted_when_every_address_is_covered_or_dropped(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path)
    assert parse_environment("prod", environment(inventory, cutover=True)).workmail.cutover  # type: ignore[union-attr]
    raw = environment(inventory, cutover=True, dropped=[{"address": "info@example.com", "reason": "room is gone"}])
    raw["addresses"] = [e for e in raw["addresses"] if e["localPart"] != "info"]
    settings = parse_environment("prod", raw)
    assert settings.workmail is not None and settings.workmail.dropped == (("info@example.com", "room is gone"),)


@pytest.mark.parametrize(
    ("workmail", "message"),
    [
        (
            {"dropped": [{"address": "nobody@example.com", "reason": "x"}]},
            r"^environments.prod.workmail.dropped\[0\].address: 'nobody@example.com' is not an address of the "
            r"inventory \(nothing to drop\)$",
        ),
        (
            {"dropped": [{"address": "jane@example.com", "reason": "x"}]},
            r"^environments.prod.workmail.dropped\[0\].address: 'jane@example.com' is in the address book too",
        ),
        ({"dropped": [{"address": "info@example.com"}]}, r"^environments.prod.workmail.dropped\[0\].reason: missing"),
        (
            {"dropped": [{"address": "info@example.com", "reason": " "}]},
            r"^environments.prod.workmail.dropped\[0\].reason: '' must say why info@example.com receives nothing",
        ),
        (
            {"organizationDeleted": True},
            r"^environments.prod.workmail.organizationDeleted: true needs cutover: true",
        ),
    ],
)
def test_bad_cutover_settings_one_line(tmp_path: Path, workmail: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_environment("prod", environment(write_inventory(tmp_path), **workmail))


def test_cutover_needs_an_inventory_of_this_organization(tmp_path: Path) -> None:
    raw = environment(write_inventory(tmp_path), cutover=True)
    del raw["workmail"]["inventory"]
    with pytest.raises(SettingsError, match=r"^environments.prod.workmail.cutover: true needs workmail.inventory"):
        parse_environment("prod", raw)
    with pytest.raises(SettingsError, match=r"^environments.prod.workmail.inventory: cannot read '.*missing.json'"):
        parse_environment("prod", environment(str(tmp_path / "missing.json"), cutover=True))
    other = write_inventory(tmp_path, OTHER_ORG)
    with pytest.raises(SettingsError, match=rf"is organization {OTHER_ORG}'s inventory, not {ORG}'s$"):
        parse_environment("prod", environment(other, cutover=True))
    (tmp_path / "book.json").write_text(json.dumps({"domains": [], "people": []}))
    with pytest.raises(SettingsError, match=r"not the output of `sesmail workmail inventory --json`"):
        parse_environment("prod", environment(str(tmp_path / "book.json"), cutover=True))


def test_organization_deleted_only_once_every_user_sends_as_themselves(tmp_path: Path) -> None:
    """WorkMail's sending policy goes with ``organizationDeleted``: refused while a user (jane, bob) has no person
    with the address, so nobody loses the way to send as themselves."""
    raw = environment(write_inventory(tmp_path), cutover=True, organizationDeleted=True)
    raw["people"] = [{"name": "jane", "address": "jane", "sendAs": ["info"]}]
    with pytest.raises(SettingsError) as refused:
        parse_environment("prod", raw)
    assert str(refused.value) == (
        "environments.prod.workmail.organizationDeleted: true leaves 1 WorkMail user(s) with no way to send as "
        "themselves: bob@example.com (give each a person in people, with the address or sendAs, first)"
    )
    raw["people"].append({"name": "bob", "address": "bob"})
    assert parse_environment("prod", raw).workmail.organization_deleted  # type: ignore[union-attr]


def test_a_whole_domain_moved_to_another_provider_is_covered(tmp_path: Path) -> None:
    """A domain whose mail another provider receives by MX (send-only in sesmail) needs no entries."""
    raw = environment(write_inventory(tmp_path), cutover=True)
    raw = {
        "account": raw["account"],
        "region": raw["region"],
        "workmail": raw["workmail"],
        "domains": [
            {"domain": "example.org", "addresses": [{"localPart": "ops", "to": []}]},
            {"domain": "example.com", "sendOnly": True, "mailboxProvider": {"mx": ["aspmx.l.google.com"]}},
        ],
    }
    settings = parse_environment("prod", raw)
    assert settings.mail_domains[1].mailbox_provider is not None


# -- synth: the templates -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One app, three environments (one per WorkMail region): preparing, cut over, organization deleted."""
    inventory = write_inventory(tmp_path_factory.mktemp("inventory"))
    people = [{"name": "jane", "address": "jane"}, {"name": "bob", "address": "bob"}]
    environments = {
        "prep": environment(inventory, "us-east-1"),
        "cut": environment(inventory, "us-west-2", cutover=True),
        "gone": {**environment(inventory, "eu-west-1", cutover=True, organizationDeleted=True), "people": people},
    }
    app = build_app(environments=environments)
    out: dict[str, dict[str, Any]] = {}
    for name in environments:
        stack = app.node.find_child(f"sesmail-{name}")
        template = dict(assertions.Template.from_stack(stack).to_json())  # type: ignore[arg-type]
        template["warnings"] = [str(m.data) for m in stack.node.metadata if m.type == "aws:cdk:warning"]
        out[name] = template
    return out


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def test_workmail_references_the_identity_by_default(templates: dict[str, dict[str, Any]]) -> None:
    """WorkMail's RegisterMailDomain "Registers a new domain in WorkMail and SES"
    (https://docs.aws.amazon.com/workmail/latest/APIReference/API_RegisterMailDomain.html): the identity exists, so
    beside WorkMail the stack references it (existingIdentity) and creates none, which a later delete could remove."""
    for template in templates.values():
        assert not _of_type(template, "AWS::SES::EmailIdentity")
        assert not any("identityExists" in w for w in template["warnings"])


def test_preparing_keeps_workmail_receiving(templates: dict[str, dict[str, Any]]) -> None:
    """With an inventory but no cutover, WorkMail's set stays active and untouched: no set, no activation, no
    address-book rule (the book is checked, deployed only at cutover)."""
    prep = templates["prep"]
    assert not _of_type(prep, "AWS::SES::ReceiptRuleSet")
    assert not _of_type(prep, "Custom::SesReceiptRuleSetActivation")
    assert not _of_type(prep, "AWS::SES::ReceiptRule")
    assert _of_type(prep, "Custom::SesIdentityPolicy")  # WorkMail still sends


def test_cutover_activates_a_complete_set_in_place_of_workmails(templates: dict[str, dict[str, Any]]) -> None:
    """The activation takes over (WorkMail's set is recorded and restored on delete) and waits for every rule, so
    SetActiveReceiptRuleSet switches from INBOUND_MAIL to a set that already holds every address; WorkMail's sending
    policy stays."""
    cut = templates["cut"]
    (set_id,) = _of_type(cut, "AWS::SES::ReceiptRuleSet")
    ((activation_id, activation),) = _of_type(cut, "Custom::SesReceiptRuleSetActivation").items()
    assert activation["Properties"]["TakeOverActiveRuleSet"] == "true"
    assert activation["Properties"]["TakeOverOnly"] == "INBOUND_MAIL"
    assert "RestoreOnDelete" not in activation["Properties"]
    rules = _of_type(cut, "AWS::SES::ReceiptRule")
    assert rules and set(rules) | {set_id} <= set(activation["DependsOn"])
    recipients = {r for rule in rules.values() for r in rule["Properties"]["Rule"]["Recipients"]}
    assert {"jane@example.com", "j.doe@example.com", "sales@example.com", "info@example.com"} <= recipients
    assert all(rule["Properties"]["RuleSetName"] == "sesmail-cut" for rule in rules.values())
    assert _of_type(cut, "Custom::SesIdentityPolicy")
    assert activation_id


def test_organization_deleted_never_restores_and_says_so(templates: dict[str, dict[str, Any]]) -> None:
    gone = templates["gone"]
    ((_, activation),) = _of_type(gone, "Custom::SesReceiptRuleSetActivation").items()
    assert activation["Properties"]["RestoreOnDelete"] == "false"
    assert not _of_type(gone, "Custom::SesIdentityPolicy")
    assert any("deleting this stack later deactivates receiving in eu-west-1" in w for w in gone["warnings"])


# -- the handler: cutover, rollback, and a Delete after WorkMail's set is gone -------------------------------------

WORKMAIL_SET, OURS = "INBOUND_MAIL", "sesmail-prod"


class Watched:
    """moto's SES with the active set read after every call the handler makes: the cutover's timeline."""

    def __init__(self) -> None:
        self.ses = boto3.client("ses", region_name="us-east-1")
        self.ssm = boto3.client("ssm", region_name="us-east-1")
        self.reader = boto3.client("ses", region_name="us-east-1")
        self.timeline: list[str | None] = [self.active()]
        self.ses.meta.events.register("after-call.ses.*", self._after)

    def active(self) -> str | None:
        return self.reader.describe_active_receipt_rule_set().get("Metadata", {}).get("Name")

    def _after(self, **_: Any) -> None:
        self.timeline.append(self.active())

    def event(self, request: str, **props: str) -> dict[str, Any]:
        base = {"RuleSetName": OURS, "TakeOverActiveRuleSet": "true", "TakeOverOnly": WORKMAIL_SET}
        return cfn_event(request, {**base, **props}, OURS)

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        return index.on_event(event, self.ses, self.ssm, sleep=no_sleep)


@pytest.fixture()
def workmail_account(tmp_env: None) -> Any:
    """WorkMail's INBOUND_MAIL active (with its rule), sesmail's set created by CloudFormation, not active yet."""
    with mock_aws():
        ses = boto3.client("ses", region_name="us-east-1")
        ses.create_receipt_rule_set(RuleSetName=WORKMAIL_SET)
        organization = f"arn:aws:workmail:us-east-1:123456789012:organization/{ORG}"
        ses.create_receipt_rule(
            RuleSetName=WORKMAIL_SET,
            Rule={"Name": "m-1", "Enabled": True, "Actions": [{"WorkmailAction": {"OrganizationArn": organization}}]},
        )
        ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL_SET)
        ses.create_receipt_rule_set(RuleSetName=OURS)
        ses.create_receipt_rule(
            RuleSetName=OURS,
            Rule={"Name": "addresses-1", "Enabled": True, "Recipients": ["jane@example.com"],
                  "Actions": [{"StopAction": {"Scope": "RuleSet"}}]},
        )  # fmt: skip
        yield Watched()


def test_cutover_and_rollback_keep_a_set_active_throughout(workmail_account: Watched) -> None:
    """SetActiveReceiptRuleSet "Sets the specified receipt rule set as the active receipt rule set" and "You can only
    have one active receipt rule set at a time" (https://docs.aws.amazon.com/ses/latest/APIReference/API_SetActiveReceiptRuleSet.html):
    one call replaces INBOUND_MAIL by sesmail's set. The rollback (``cutover: false`` deployed: the activation is
    deleted) restores INBOUND_MAIL in one call too. After every SES call of both, a set is active."""
    account = workmail_account
    created = account.run(account.event("Create"))
    assert created["Data"] == {"RuleSetName": OURS, "PreviousRuleSetName": WORKMAIL_SET}
    assert account.active() == OURS
    account.run(account.event("Delete"))
    assert account.active() == WORKMAIL_SET
    assert None not in account.timeline, account.timeline
    assert account.timeline[0] == WORKMAIL_SET and OURS in account.timeline
    # Nothing of WorkMail's set was touched: its rule is still there to deliver.
    rules = account.reader.describe_receipt_rule_set(RuleSetName=WORKMAIL_SET)["Rules"]
    assert [r["Name"] for r in rules] == ["m-1"]


def test_delete_after_the_organization_is_deleted_restores_nothing(
    workmail_account: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    """``RestoreOnDelete: false`` (``organizationDeleted``): deleting the stack later never brings back a set
    whose WorkMail organization is gone; receiving is deactivated (SetActiveReceiptRuleSet without RuleSetName:
    "To disable your email-receiving through Amazon SES completely, you can call this API without a RuleSetName"),
    the Delete succeeds, and the log says that SES now rejects mail in the region."""
    account = workmail_account
    account.run(account.event("Create"))
    account.run(account.event("Update", RestoreOnDelete="false"))
    with caplog.at_level(logging.WARNING):
        account.run(account.event("Delete", RestoreOnDelete="false"))
    assert account.active() is None
    assert "not restored" in caplog.text and "SES rejects all mail" in caplog.text


def test_delete_when_workmails_set_no_longer_exists(
    workmail_account: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    """WorkMail's set deleted since the cutover (by hand, or with its organization): SetActiveReceiptRuleSet
    answers RuleSetDoesNotExist ("Indicates that the provided receipt rule set does not exist", the API's errors).
    The Delete does not fail; it deactivates receiving and says so in the log."""
    account = workmail_account
    account.run(account.event("Create"))
    account.reader.delete_receipt_rule_set(RuleSetName=WORKMAIL_SET)
    with caplog.at_level(logging.WARNING):
        result = account.run(account.event("Delete"))
    assert result == {"PhysicalResourceId": OURS}
    assert account.active() is None
    assert "no longer exists" in caplog.text and "SES rejects all mail" in caplog.text
    assert account.ssm.get_parameters_by_path(Path="/sesmail", Recursive=True)["Parameters"] == []


def test_the_cutover_keys_are_in_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """schema/environments.schema.json knows every key the cutover reads (tests/test_settings_schema.py's rule)."""
    from tests.test_settings_schema import VALIDATOR, _keys_read, _schema_at

    raw = environment(
        write_inventory(tmp_path),
        cutover=True,
        organizationDeleted=True,
        dropped=[{"address": "info@example.com", "reason": "room is gone"}],
    )
    raw["addresses"] = [e for e in raw["addresses"] if e["localPart"] != "info"]
    raw["people"] = [{"name": "jane", "address": "jane"}, {"name": "bob", "address": "bob"}]
    raw["domains"] = [
        {"domain": "example.com", "addresses": raw.pop("addresses")},
        {"domain": "shop.example.com", "sendOnly": True,
         "mailboxProvider": {"name": "G", "mx": ["aspmx.l.google.com"], "spfInclude": "_spf.google.com",
                             "dkimSelectors": ["google"]}},
    ]  # fmt: skip
    del raw["domain"]
    read = _keys_read("prod", raw, monkeypatch)
    missing = sorted(f"{path}.{key}" for path, key in read if key not in _schema_at(path).get("properties", {}))
    assert missing == []
    VALIDATOR.validate({"prod": raw})


@pytest.mark.parametrize(
    ("provider", "send_only", "message"),
    [
        ({"mx": ["aspmx.l.google.com"]}, False, r"mailboxProvider: needs sendOnly: true"),
        ({"mx": []}, True, r"mailboxProvider.mx: \[\] must name the provider's MX host\(s\)"),
        (
            {"mx": ["aspmx.l.google.com"], "spfInclude": "not a name"},
            True,
            r"mailboxProvider.spfInclude: 'not a name' is not a DNS",
        ),
    ],
)
def test_bad_mailbox_provider_one_line(provider: dict[str, Any], send_only: bool, message: str) -> None:
    raw = {
        "account": "111122223333",
        "region": "us-east-1",
        "domains": [
            {"domain": "example.org"},
            {"domain": "example.com", "sendOnly": send_only, "mailboxProvider": provider},
        ],
    }
    with pytest.raises(SettingsError, match=rf"^environments.prod.domains\[1\].{message}"):
        parse_environment("prod", raw)


def test_cutover_refuses_to_replace_any_set_but_workmails(workmail_account: Watched) -> None:
    """Another set active at the cutover (another team's, activated since the doctor ran): the activation refuses,
    naming it, and changes nothing; WorkMail's set is not what would be recorded for the rollback."""
    account = workmail_account
    account.reader.create_receipt_rule_set(RuleSetName="other-team")
    account.reader.set_active_receipt_rule_set(RuleSetName="other-team")
    with pytest.raises(index.ActivationError, match=r"^receipt rule set 'other-team' is active .* not 'INBOUND_MAIL'"):
        account.run(account.event("Create"))
    assert account.active() == "other-team"
    assert account.ssm.get_parameters_by_path(Path="/sesmail", Recursive=True)["Parameters"] == []
