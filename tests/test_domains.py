"""Several domains per environment: the short form unchanged, `domains` for more, send-only domains, one-line errors."""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from stacks.settings import SettingsError, parse_environment
from tests.conftest import build_app

SHORT: dict[str, Any] = {
    "account": "111122223333",
    "region": "eu-west-1",
    "domain": "example.com",
    "mailboxes": ["info", "support"],
    "hostedZoneId": "Z0123456789ABCDEFGHIJ",
    "hostedZoneName": "example.com",
    "mailFromSubdomain": "bounce",
    "dmarcPolicy": "quarantine",
    "dmarcReportAddress": "dmarc@example.com",
    "inbound": {"parse": True, "forwardTo": ["staff@corp.example"], "smtpCredentials": True},
}
_DOMAIN_KEYS = ("domain", "mailboxes", "hostedZoneId", "hostedZoneName", "mailFromSubdomain", "dmarcPolicy")


def as_domains(short: dict[str, Any], *more: dict[str, Any]) -> dict[str, Any]:
    """The same environment with its domain keys moved into a ``domains`` entry, then ``more`` entries."""
    raw = {k: v for k, v in short.items() if k not in (*_DOMAIN_KEYS, "dmarcReportAddress")}
    first = {k: short[k] for k in (*_DOMAIN_KEYS, "dmarcReportAddress") if k in short}
    raw["domains"] = [first, *more]
    return raw


TWO: dict[str, Any] = as_domains(
    SHORT,
    {"domain": "example.co.jp", "mailboxes": ["info", "sales"]},
    {"domain": "news.example.com", "sendOnly": True},
)


def _template(raw: dict[str, Any], name: str = "prod") -> dict[str, Any]:
    app = build_app(environments={name: raw}, with_nag=False)
    stack = app.node.find_child(f"sesmail-{name}")
    return dict(assertions.Template.from_stack(stack).to_json())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def two() -> dict[str, Any]:
    return _template(TWO)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def test_moving_the_short_form_to_one_domains_entry_changes_nothing() -> None:
    """The first ``domains`` entry keeps the short form's construct ids, rule names and S3 prefixes, so the update
    after moving an existing environment to ``domains`` is empty."""
    short, moved = _template(SHORT), _template(as_domains(SHORT))
    assert json.dumps(short, sort_keys=True) == json.dumps(moved, sort_keys=True)


def test_later_domains_get_suffixed_rules_and_prefixes_in_the_one_rule_set(two: dict[str, Any]) -> None:
    rules = {r["Properties"]["Rule"]["Name"]: r["Properties"] for r in _of_type(two, "AWS::SES::ReceiptRule").values()}
    # Then each receiving domain's address-book rule (postmaster@, abuse@), after every mailbox rule.
    assert list(rules) == [
        "mailbox-info",
        "mailbox-support",
        "mailbox-info-example-co-jp",
        "mailbox-sales-example-co-jp",
        "addresses-1",
        "addresses-1-example-co-jp",
    ]
    assert {p["RuleSetName"] for p in rules.values()} == {"sesmail-prod"}
    assert len(_of_type(two, "AWS::SES::ReceiptRuleSet")) == 1
    # One mail bucket (and its access-log bucket) for every domain.
    assert sorted(lid[:-8] for lid in _of_type(two, "AWS::S3::Bucket")) == ["MailBucket", "MailBucketAccessLogs"]
    assert len(_of_type(two, "AWS::SES::ConfigurationSet")) == 1
    prefixes = {name: p["Rule"]["Actions"][0]["S3Action"]["ObjectKeyPrefix"] for name, p in rules.items()}
    assert prefixes == {
        "mailbox-info": "info/",
        "mailbox-support": "support/",
        "mailbox-info-example-co-jp": "example.co.jp/info/",
        "mailbox-sales-example-co-jp": "example.co.jp/sales/",
        "addresses-1": "address-book/",
        "addresses-1-example-co-jp": "example.co.jp/address-book/",
    }
    assert rules["mailbox-sales-example-co-jp"]["Rule"]["Recipients"] == ["sales@example.co.jp"]
    # The chain continues across domains: each rule after the previous one.
    assert rules["mailbox-info-example-co-jp"]["After"] == "mailbox-support"


def test_every_domain_has_an_identity_and_only_receiving_ones_an_inbound_mx(two: dict[str, Any]) -> None:
    identities = sorted(r["Properties"]["EmailIdentity"] for r in _of_type(two, "AWS::SES::EmailIdentity").values())
    assert identities == ["example.co.jp", "example.com", "news.example.com"]
    outputs = json.dumps(two.get("Outputs", {}))
    # example.com is in a hosted zone (records, not outputs); the others are published as outputs.
    records = json.dumps(_of_type(two, "AWS::Route53::RecordSet"))
    assert "inbound-smtp.eu-west-1.amazonaws.com" in records
    assert "inbound-smtp.eu-west-1.amazonaws.com" in outputs  # example.co.jp receives
    mx_outputs = [o for o in two["Outputs"].values() if "inbound-smtp" in json.dumps(o)]
    assert all("news.example.com" not in json.dumps(o) for o in mx_outputs)
    assert any("_dmarc.news.example.com" in json.dumps(o) for o in two["Outputs"].values())
    assert any(lid.startswith("MailDomainnewsexamplecom") for lid in _of_type(two, "AWS::SES::EmailIdentity"))


def _send_statements(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        s
        for lid, r in {
            **_of_type(template, "AWS::IAM::Policy"),
            **_of_type(template, "AWS::IAM::ManagedPolicy"),
        }.items()
        if lid.startswith(kind)
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if "ses:FromAddress" in json.dumps(s.get("Condition"))
    ]


@pytest.mark.parametrize("kind", ["MailForwarder", "SmtpCredentials"])
def test_forwarder_and_smtp_user_send_as_every_receiving_mailbox_through_its_identity(
    two: dict[str, Any], kind: str
) -> None:
    (statement,) = _send_statements(two, kind)
    # The forwarder also sends postmaster@'s and abuse@'s mail on, as them; the shared SMTP user sends as mailboxes.
    roles = ["postmaster@example.com", "abuse@example.com", "postmaster@example.co.jp", "abuse@example.co.jp"]
    assert statement["Condition"]["StringEquals"]["ses:FromAddress"] == [
        "info@example.com",
        "support@example.com",
        "info@example.co.jp",
        "sales@example.co.jp",
        *(roles if kind == "MailForwarder" else []),
    ]
    resources = json.dumps(statement["Resource"])
    assert "identity/example.com" in resources and "identity/example.co.jp" in resources
    assert "news.example.com" not in resources  # send-only: nobody receives there, nothing to answer from


def test_send_only_environment_has_no_rules_and_no_bucket() -> None:
    raw = as_domains({k: v for k, v in SHORT.items() if k != "inbound"})
    raw["domains"][0]["sendOnly"] = True
    raw["domains"][0].pop("mailboxes")
    template = _template(raw)
    assert not _of_type(template, "AWS::SES::ReceiptRule")
    assert not _of_type(template, "AWS::SES::ReceiptRuleSet")
    assert not _of_type(template, "AWS::S3::Bucket")
    assert len(_of_type(template, "AWS::SES::EmailIdentity")) == 1
    assert "inbound-smtp" not in json.dumps(_of_type(template, "AWS::Route53::RecordSet"))


def test_delegate_may_name_full_addresses_of_later_domains() -> None:
    raw = copy.deepcopy(TWO)
    raw["sending"] = {
        "delegates": [{"policyName": "crm", "principal": "444455556666", "from": ["info", "sales@example.co.jp"]}]
    }
    settings = parse_environment("prod", raw)
    assert settings.sending is not None and settings.sending.delegates[0].from_mailboxes == (
        "info",
        "sales@example.co.jp",
    )
    app = build_app(environments={"prod": raw}, with_nag=False)
    stack = app.node.find_child("sesmail-prod")
    assert isinstance(stack, cdk.Stack)
    ids = [c.node.id for c in stack.node.children]
    assert "Delegate-crm" in ids and "Delegate-crm-example-co-jp" in ids


def _error(raw: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as error:
        parse_environment("prod", raw)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_domain_and_domains_together_is_one_line() -> None:
    raw = {**TWO, "domain": "example.com"}
    assert _error(raw) == "environments.prod.domain: not allowed with domains (give it in the domains entry)"


def test_duplicate_domain_is_refused() -> None:
    raw = as_domains(SHORT, {"domain": "Example.com"})
    assert _error(raw) == "environments.prod.domains[1].domain: 'example.com' is already domains[0]"


def test_duplicate_mailbox_within_a_domain_is_refused() -> None:
    raw = as_domains(SHORT, {"domain": "example.co.jp", "mailboxes": ["info", "INFO"]})
    assert _error(raw) == "environments.prod.domains[1].mailboxes[1]: 'INFO' is listed twice"


def test_same_mailbox_in_two_domains_is_two_rules() -> None:
    settings = parse_environment("prod", as_domains(SHORT, {"domain": "example.co.jp", "mailboxes": ["info"]}))
    assert settings.addresses()[-1] == "info@example.co.jp"


def test_rule_name_over_ses_64_characters_is_refused() -> None:
    """SES rule names "Contain 64 characters or fewer" (API reference, ReceiptRule: Name,
    https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html)."""
    long_domain = "a" * 40 + ".example.com"
    raw = as_domains(SHORT, {"domain": long_domain, "mailboxes": ["support"]})
    message = _error(raw)
    assert message.startswith("environments.prod.domains[1].mailboxes[0]: 'mailbox-support-aaaa")
    assert "is not a receipt rule name" in message


def test_total_rules_over_ses_200_per_set_is_refused() -> None:
    """ "Maximum number of rules per receipt rule set: 200" (not adjustable; Service quotas in Amazon SES,
    https://docs.aws.amazon.com/ses/latest/dg/quotas.html): the mailbox rules of every domain count, and each
    domain's address-book rule (postmaster@, abuse@)."""
    boxes = [f"m{i}" for i in range(99)]
    ok = as_domains({**SHORT, "mailboxes": boxes}, {"domain": "example.co.jp", "mailboxes": boxes})
    assert len(parse_environment("prod", ok).addresses()) == 198
    over = copy.deepcopy(ok)
    over["receiving"] = {"rules": [{"name": "extra", "actions": [{"type": "stop"}]}]}
    assert _error(over) == "environments.prod.receiving.rules: 201 rules; SES allows 200"


def test_recipients_per_rule_over_ses_100_is_refused() -> None:
    """ "Maximum number of recipients per receipt rule: 100" (Service quotas in Amazon SES,
    https://docs.aws.amazon.com/ses/latest/dg/quotas.html)."""
    recipients = [f"r{i}@example.co.jp" for i in range(101)]
    raw = copy.deepcopy(TWO)
    raw["receiving"] = {"rules": [{"name": "many", "recipients": recipients, "actions": [{"type": "stop"}]}]}
    assert _error(raw) == "environments.prod.receiving.rules[0].recipients: 101 recipients; SES allows 100 per rule"


def test_empty_domains_and_send_only_only_inbound_are_refused() -> None:
    raw = {k: v for k, v in TWO.items()}
    raw["domains"] = []
    assert _error(raw) == "environments.prod.domains: [] must name at least one domain"
    only_send = {**raw, "domains": [{"domain": "example.com", "sendOnly": True}]}
    assert _error(only_send).startswith("environments.prod.inbound: every domain is sendOnly")


def test_forwarder_and_smtp_user_refuse_an_empty_identity_list() -> None:
    import aws_cdk.aws_s3 as s3

    from sesmail.inbound import MailForwarder, SmtpCredentials

    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    bucket = s3.Bucket(stack, "B")
    with pytest.raises(ValueError, match=r"^identity_arn: \[\] must name at least one identity$"):
        MailForwarder(
            stack, "F", bucket=bucket, identity_arn=[], mailboxes=["a@example.com"], forward_to=["b@x.example"]
        )
    with pytest.raises(ValueError, match=r"^identity_arn: \[\] must name at least one identity$"):
        SmtpCredentials(stack, "C", identity_arn=[], from_addresses=["a@example.com"])


def test_mailboxes_whose_rule_names_meet_are_refused() -> None:
    raw = as_domains({**SHORT, "mailboxes": ["info-example-net"]}, {"domain": "example.net", "mailboxes": ["info"]})
    assert _error(raw) == (
        "environments.prod.domains[1].mailboxes[0]: 'info' gives rule 'mailbox-info-example-net', as "
        "environments.prod.domains[0].mailboxes[0] does"
    )
