"""cdk.json settings: each bad value stops synth with one line naming environment, key and value."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stacks.settings import DEFAULT_MAILBOXES, SettingsError, load_environments, parse_environment
from tests.conftest import ROOT, cdk_json_context

GOOD: dict[str, Any] = {
    "account": "111122223333",
    "region": "eu-west-1",
    "domain": "Example.COM",
    "hostedZoneId": "Z0123456789ABCDEFGHIJ",
    "hostedZoneName": "example.com",
    "workmail": {"organizationId": "m-0123456789abcdef0123456789abcdef"},
}


def with_(path: str, value: Any) -> dict[str, Any]:
    """GOOD with one key (``a.b`` for nested) set, or removed when value is ``...``."""
    raw = copy.deepcopy(GOOD)
    *parents, key = path.split(".")
    target = raw
    for parent in parents:
        target = target.setdefault(parent, {})
    if value is ...:
        target.pop(key, None)
    else:
        target[key] = value
    return raw


def test_good_settings_are_typed_and_defaulted() -> None:
    env = parse_environment("prod", GOOD)
    assert env.domain == "example.com"
    assert env.mailboxes == DEFAULT_MAILBOXES
    assert env.addresses() == ("info@example.com", "support@example.com", "register@example.com")
    assert env.hosted_zone is not None and env.hosted_zone.zone_name == "example.com"
    assert env.workmail is not None and env.workmail.legacy_account_principal is None
    assert env.stack_name == "sesmail-prod"
    with pytest.raises(AttributeError):
        env.domain = "other.com"  # type: ignore[misc]


def test_shipped_example_environments_are_valid() -> None:
    example, workmail, two, company = load_environments(cdk_json_context()["environments"])
    # example: the WorkMail-free flow a new user can deploy (no WorkMail organization can be created any more).
    assert (example.name, example.account, example.region, example.domain) == (
        "example",
        "123456789012",
        "eu-west-1",
        "example.org",
    )
    assert example.workmail is None and not example.take_over_active_rule_set
    assert example.inbound is not None
    assert example.inbound.parse and example.inbound.smtp_credentials
    assert example.inbound.forward_to == ("staff@corp.example",)
    # example-workmail: an existing organization, its own rule set kept active.
    assert (workmail.name, workmail.region, workmail.take_over_active_rule_set) == (
        "example-workmail",
        "us-east-1",
        False,
    )
    assert workmail.workmail is not None and workmail.workmail.rule_set_name == "INBOUND_MAIL"
    assert workmail.receiving is not None and workmail.receiving.rule_set_name == "INBOUND_MAIL"
    # example-two-domains: one receiving domain and one send-only domain.
    assert [(d.domain, d.send_only) for d in two.mail_domains] == [("example.net", False), ("news.example.net", True)]
    # example-company: two receiving domains with address books, five people (docs/addresses.md).
    assert [d.domain for d in company.receiving_domains] == ["company.example", "company-store.example"]
    assert [p.name for p in company.people] == ["alice", "bob", "carol", "dave", "erin"]
    # stacks/across.py refuses two receiving environments in one account and region.
    assert {(e.account, e.region) for e in (example, workmail, two, company)} == {
        ("123456789012", "eu-west-1"),
        ("123456789012", "us-east-1"),
        ("123456789012", "us-west-2"),
        ("123456789012", "eu-central-1"),
    }


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("account", ..., "environments.prod.account: missing (required)"),
        ("region", ..., "environments.prod.region: missing (required)"),
        ("domain", ..., "environments.prod.domain: missing (required)"),
        ("account", "12345", "environments.prod.account: '12345' is not a 12-digit AWS account id"),
        ("account", 111122223333, "environments.prod.account: 111122223333 is not a string"),
        ("domain", "exa mple.com", "environments.prod.domain: 'exa mple.com' is not a valid DNS domain name"),
        ("domain", "localhost", "environments.prod.domain: 'localhost' is not a valid DNS domain name"),
        ("domain", "-bad.example.com", "environments.prod.domain: '-bad.example.com' is not a valid DNS domain name"),
        ("region", "ap-east-1", "environments.prod.region: SES email receiving is not offered in 'ap-east-1'"),
        ("mailboxes", ["info", "sup port"], "environments.prod.mailboxes[1]: 'sup port' is not a valid e-mail local"),
        ("mailboxes", ["info", "Info"], "environments.prod.mailboxes[1]: 'Info' is listed twice"),
        ("mailboxes", [], "environments.prod.mailboxes: [] must name at least one mailbox"),
        ("mailboxes", "info", "environments.prod.mailboxes: 'info' is not a list"),
        ("mailboxes", ["a" * 65], "environments.prod.mailboxes[0]: 'aaaa"),
        ("workmail.organizationId", "m-123", "environments.prod.workmail.organizationId: 'm-123' is not a WorkMail"),
        (
            "workmail.organizationId",
            "m-0123456789ABCDEF0123456789ABCDEF",
            "environments.prod.workmail.organizationId: 'm-0123456789ABCDEF0123456789ABCDEF' is not a WorkMail",
        ),
        ("workmail.organizationId", ..., "environments.prod.workmail.organizationId: missing (required)"),
        (
            "workmail.legacyAccountPrincipal",
            "arn:aws:s3:::bucket",
            "environments.prod.workmail.legacyAccountPrincipal: 'arn:aws:s3:::bucket' is neither",
        ),
        ("workmail.organisationId", "x", "environments.prod.workmail.organisationId: unknown setting"),
        ("mailBoxes", ["info"], "environments.prod.mailBoxes: unknown setting"),
        ("hostedZoneId", ..., "environments.prod.hostedZoneId: missing (hostedZoneId and hostedZoneName go together)"),
        ("hostedZoneId", "abc", "environments.prod.hostedZoneId: 'abc' is not a Route 53 hosted zone id"),
        ("hostedZoneName", "other.com", "environments.prod.hostedZoneName: 'other.com' is not 'example.com' or a pa"),
        ("dmarcPolicy", "strict", "environments.prod.dmarcPolicy: 'strict' is not one of none, quarantine, reject"),
        ("dmarcReportAddress", "dmarc", "environments.prod.dmarcReportAddress: 'dmarc' is not an e-mail address"),
        ("mailFromSubdomain", "a b", "environments.prod.mailFromSubdomain: 'a b' is not a valid e-mail local part"),
    ],
)
def test_bad_setting_names_environment_key_and_value(path: str, value: Any, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_environment("prod", with_(path, value))
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_workmail_in_region_without_workmail_is_rejected() -> None:
    with pytest.raises(SettingsError, match=r"^environments.prod.workmail: WorkMail is not offered in 'us-east-2'"):
        parse_environment("prod", with_("region", "us-east-2"))


def test_region_without_receiving_names_supported_regions() -> None:
    with pytest.raises(SettingsError, match=r"\(supported: .*us-east-1"):
        parse_environment("prod", with_("region", "sa-east-1"))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "environments: missing from cdk.json context"),
        ({}, "environments: {} must be an object with at least one environment"),
        ({"Prod": GOOD}, "environments.Prod: environment name 'Prod' must be lowercase"),
        ({"prod": "x"}, "environments.prod: expected an object, got 'x'"),
    ],
)
def test_bad_environments_object(raw: Any, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_environments(raw)
    assert str(error.value).startswith(message)


def test_app_prints_one_line_and_exits_nonzero_on_bad_setting(tmp_path: Path) -> None:
    """app.py as `cdk synth` runs it (context through CDK_CONTEXT_JSON): one line, exit 1, no traceback, no output."""
    bad = {"example": {**cdk_json_context()["environments"]["example"], "account": "12345"}}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"environments": bad}), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip() and "!!" not in line]
    assert lines == ["sesmail: bad setting: environments.example.account: '12345' is not a 12-digit AWS account id"]
    assert not list(tmp_path.glob("*.template.json"))
