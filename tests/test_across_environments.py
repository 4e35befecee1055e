"""Across environments: what SES holds once per account and region is refused at synth when two environments would
hold it, with one line naming both environments and the key."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from stacks import across
from stacks.settings import EnvironmentSettings, SettingsError, load_environments, parse_environment
from tests.conftest import ROOT

ACCOUNT = "111122223333"


def env(domain: str, region: str = "eu-west-1", account: str = ACCOUNT, **more: Any) -> dict[str, Any]:
    return {"account": account, "region": region, "domain": domain, **more}


def send_only(domain: str, region: str = "eu-west-1", account: str = ACCOUNT) -> dict[str, Any]:
    return {"account": account, "region": region, "domains": [{"domain": domain, "sendOnly": True}]}


def _error(environments: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as error:
        load_environments(environments)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_two_receiving_environments_in_one_account_and_region_are_refused() -> None:
    """SES: "You can have only one active receipt rule set per AWS Region" (SES developer guide, "Receipt rule
    sets", https://docs.aws.amazon.com/ses/latest/dg/receiving-email-receipt-rules-console-walkthrough.html), and
    SetActiveReceiptRuleSet "Sets the specified receipt rule set as the active receipt rule set"
    (https://docs.aws.amazon.com/ses/latest/APIReference/API_SetActiveReceiptRuleSet.html): a second receiving
    environment's deploy would take receiving from the first (or fail), and SES rejects the recipients that only
    the first environment's rules matched."""
    message = _error({"prod": env("example.com"), "jp": env("example.co.jp")})
    assert message.startswith(
        "environments.jp.domain: receives mail in account 111122223333 region eu-west-1 like environments.prod; "
    )
    assert "one active receipt rule set per account and region" in message


def test_receiving_environments_in_other_regions_or_accounts_and_send_only_ones_pass() -> None:
    environments = load_environments(
        {
            "prod": env("example.com"),
            "us": env("example.net", region="us-east-1"),
            "other": env("example.org", account="444455556666"),
            "news": send_only("news.example.com"),
        }
    )
    assert [e.receives for e in environments] == [True, True, True, False]


def test_same_domain_twice_in_one_account_and_region_is_refused() -> None:
    """An SES identity exists once per account and Region ("SES quotas are for each AWS Region that you use in your
    AWS account", https://docs.aws.amazon.com/ses/latest/dg/quotas.html; CreateEmailIdentity fails with
    AlreadyExistsException for an identity that exists): the second stack's identity could not be created."""
    message = _error({"prod": env("example.com"), "again": send_only("Example.com")})
    assert message == (
        "environments.again.domain: 'example.com' is also environments.prod's domain in account 111122223333 region "
        "eu-west-1; SES holds one per account and region"
    )


def test_same_domain_in_another_region_passes() -> None:
    load_environments({"prod": env("example.com"), "dr": send_only("example.com", region="us-east-1")})


def test_same_rule_set_name_twice_in_one_account_and_region_is_refused() -> None:
    """Receipt rule-set names are unique per account and Region: CreateReceiptRuleSet fails with AlreadyExists
    ("Indicates that a resource could not be created because of a naming conflict", SES API reference,
    https://docs.aws.amazon.com/ses/latest/APIReference/API_CreateReceiptRuleSet.html)."""
    shared: dict[str, Any] = {"receiving": {"ruleSetName": "company"}}
    message = _error({"a": env("example.com", **shared), "b": env("example.net", **shared)})
    assert message == (
        "environments.b.receiving.ruleSetName: 'company' is also environments.a's receipt rule set in account "
        "111122223333 region eu-west-1; SES holds one per account and region"
    )


def _settings(name: str, domain: str) -> EnvironmentSettings:
    return parse_environment(name, env(domain))


def test_same_template_name_twice_in_one_account_and_region_is_refused() -> None:
    """SES template names are unique per account and Region: CreateEmailTemplate fails with
    AlreadyExistsException (SES v2 API reference, https://docs.aws.amazon.com/ses/latest/APIReference-V2/
    API_CreateEmailTemplate.html). Environment names are unique keys of cdk.json, so the names derived from them
    can only meet through a hand-built list: the check is run on one."""
    a, b = _settings("a", "example.com"), _settings("b", "example.net")
    with pytest.raises(SettingsError, match=r"^environments.b.signup template: 'sesmail-a-signup' is also environm"):
        across._unique([a, b], "signup template", lambda e: ["sesmail-a-signup"], "template name")
    assert across.signup_template_names(a) == ["sesmail-a-signup"]


def test_configuration_set_name_is_checked_per_account_and_region() -> None:
    """Configuration-set names are unique per account and Region: CreateConfigurationSet fails with
    AlreadyExistsException (SES v2 API reference, https://docs.aws.amazon.com/ses/latest/APIReference-V2/
    API_CreateConfigurationSet.html)."""
    a, b = _settings("a", "example.com"), _settings("b", "example.net")
    with pytest.raises(SettingsError, match=r"^environments.b.configuration set: 'x' is also environments.a's"):
        across._unique([a, b], "configuration set", lambda e: ["x"], "configuration set")


def test_more_rule_sets_than_ses_allows_per_account_are_refused() -> None:
    """ "Maximum number of receipt rule sets per AWS account: 40", not adjustable, per Region (Service quotas in
    Amazon SES, email receiving quotas, https://docs.aws.amazon.com/ses/latest/dg/quotas.html). One receiving
    environment per account and region keeps sesmail far below it; the count is still checked (it runs before the
    one-receiver check, so it is shown here with 41 receiving environments)."""
    many = tuple(parse_environment(f"e{i}", env(f"d{i}.example.com")) for i in range(41))
    across.check_rule_set_quota(many[:40])
    with pytest.raises(SettingsError) as error:
        across.check_rule_set_quota(many)
    assert str(error.value) == (
        "environments.e40.receiving: 41 receipt rule sets in account 111122223333 region eu-west-1 (from "
        "environments.e0 on); SES allows 40 per account and region"
    )


def test_workmail_environment_creates_no_rule_set_of_its_own() -> None:
    workmail = parse_environment(
        "wm", env("example.com", workmail={"organizationId": "m-0123456789abcdef0123456789abcdef"})
    )
    assert across.own_rule_sets(workmail) == []
    assert across.own_rule_sets(_settings("a", "example.com")) == ["sesmail-a"]


def test_synth_shows_the_one_line_without_traceback(tmp_path: Any) -> None:
    context = {"environments": {"prod": env("example.com"), "jp": env("example.co.jp")}}
    script = (
        "import json, sys\n"
        "import aws_cdk as cdk\n"
        "from stacks import build_app, SettingsError\n"
        f"app = cdk.App(context=json.loads({__import__('json').dumps(__import__('json').dumps(context))}))\n"
        "try:\n    build_app(app)\nexcept SettingsError as e:\n    print(e, file=sys.stderr); sys.exit(1)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("environments.jp.domain: receives mail in account 111122223333")


ZONE = {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "hostedZoneName": "example.com"}


def test_route53_refuses_a_second_record_set_of_one_name_and_type() -> None:
    """The premise, checked against moto's Route 53 (the real API model): ChangeResourceRecordSets "CREATE: Creates a
    resource record set that has the specified values" (Route 53 API reference, Change,
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_Change.html); a second CREATE of the same name and
    type fails with InvalidChangeBatch "Tried to create resource record set ... but it already exists", which is
    what CloudFormation's AWS::Route53::RecordSet does and why its second stack's deploy fails."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    change = {
        "Action": "CREATE",
        "ResourceRecordSet": {
            "Name": "_dmarc.example.com",
            "Type": "TXT",
            "TTL": 1800,
            "ResourceRecords": [{"Value": '"v=DMARC1; p=none"'}],
        },
    }
    with mock_aws():
        route53 = boto3.client("route53", region_name="us-east-1")
        zone = route53.create_hosted_zone(Name="example.com", CallerReference="t")["HostedZone"]["Id"]
        route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [change]})
        with pytest.raises(ClientError, match="InvalidChangeBatch"):
            route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [change]})


def test_same_domain_in_two_regions_with_one_hosted_zone_is_refused_per_record() -> None:
    """The same domain sent from two regions (an identity per region) puts its DMARC and MAIL FROM records twice in
    the one zone (see the test above): refused, naming the setting that avoids it."""
    first = env("example.com", **ZONE)
    # Without the zone the second environment's records are stack outputs: nothing clashes.
    load_environments({"prod": first, "dr": send_only("example.com", region="us-east-1")})
    dr = {
        "account": ACCOUNT,
        "region": "us-east-1",
        "domains": [{"domain": "example.com", "sendOnly": True, **ZONE}],
    }
    message = _error({"prod": first, "dr": dr})
    assert message == (
        "environments.dr.domains[0].mailFromSubdomain: the MX record mail.example.com in hosted zone "
        "Z0123456789ABCDEFGHIJ is also created by environments.prod; Route 53 holds one record set per name and type: "
        "give one another mailFromSubdomain"
    )
    dr["domains"][0]["mailFromSubdomain"] = "mail-us"  # type: ignore[index]
    message = _error({"prod": first, "dr": dr})
    assert message.startswith(
        "environments.dr.domains[0].dmarcRecord: the TXT record _dmarc.example.com in hosted zone"
    )
    assert message.endswith("set dmarcRecord: false in one of them")
    dr["domains"][0]["dmarcRecord"] = False  # type: ignore[index]
    (_, second) = load_environments({"prod": first, "dr": dr})
    assert second.mail_domains[0].dmarc_record is False
