"""Fine-grained assertions on MailDomain, IdentityPolicy and WorkMailSendingAuthorization.

All stacks here live in one App synthesized once for the module.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_route53 as route53
import pytest
from aws_cdk.assertions import Template

from sesmail import IdentityPolicy, MailDomain, WorkMailPrincipal, WorkMailSendingAuthorization
from tests.conftest import cdk_json_context

ENV = cdk.Environment(account="123456789012", region="us-east-1")
ORG = "m-0123456789abcdef0123456789abcdef"


def _stack(app: cdk.App, name: str, env: cdk.Environment = ENV) -> cdk.Stack:
    return cdk.Stack(app, name, env=env)


def _app() -> cdk.App:
    """An app with the project's feature flags (partition literals, minimized policies), without its environments."""
    flags = {k: v for k, v in cdk_json_context().items() if k != "environments"}
    return cdk.App(context=flags)


@pytest.fixture(scope="module")
def templates() -> dict[str, Template]:
    app = _app()
    manual = _stack(app, "Manual")
    MailDomain(manual, "Domain", domain_name="example.com", dmarc_report_address="dmarc@example.com")

    zoned = _stack(app, "Zoned")
    zone = route53.PublicHostedZone.from_public_hosted_zone_attributes(
        zoned, "Zone", hosted_zone_id="Z0123456789ABCDEFGHIJ", zone_name="example.com"
    )
    MailDomain(zoned, "Domain", domain_name="mail.example.com", hosted_zone=zone, dmarc_policy="reject")

    service = _stack(app, "Service")
    domain = MailDomain(service, "Domain", domain_name="example.com")
    WorkMailSendingAuthorization(service, "WorkMail", mail_domain=domain, organization_id=ORG)

    legacy = _stack(app, "Legacy", cdk.Environment(account="123456789012", region="eu-west-1"))
    domain = MailDomain(legacy, "Domain", domain_name="example.com", receive_mail=True)
    WorkMailSendingAuthorization(
        legacy,
        "WorkMail",
        mail_domain=domain,
        organization_id=ORG,
        principal=WorkMailPrincipal.legacy_account("arn:aws:iam::111122223333:user/amazon-workmail-eu-west-1"),
    )

    agnostic = cdk.Stack(app, "Agnostic")  # region and account unknown until deploy
    domain = MailDomain(agnostic, "Domain", domain_name="example.com")
    WorkMailSendingAuthorization(agnostic, "WorkMail", mail_domain=domain, organization_id=ORG)

    two = _stack(app, "TwoPolicies")
    domain = MailDomain(two, "Domain", domain_name="example.com")
    for name in ("first", "second"):
        IdentityPolicy(
            two,
            name,
            identity=domain.domain_name,
            identity_arn=domain.identity_arn,
            policy_name=name,
            document=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        actions=["ses:SendRawEmail"],
                        resources=[domain.identity_arn],
                        principals=[iam.AccountPrincipal("444455556666")],
                    )
                ]
            ),
        )
    return {s.stack_name: Template.from_stack(s) for s in app.node.children if isinstance(s, cdk.Stack)}


def _outputs(template: Template) -> dict[str, Any]:
    return {key: out["Value"] for key, out in template.to_json()["Outputs"].items()}


def _policy(template: Template) -> dict[str, Any]:
    (resource,) = template.find_resources("Custom::SesIdentityPolicy").values()
    policy = resource["Properties"]["Policy"]
    return json.loads(policy) if isinstance(policy, str) else policy


# --- MailDomain ---------------------------------------------------------------------------------------------------


def test_identity_uses_easy_dkim_2048_and_custom_mail_from(templates: dict[str, Template]) -> None:
    templates["Manual"].has_resource_properties(
        "AWS::SES::EmailIdentity",
        {
            "EmailIdentity": "example.com",
            "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"},
            "MailFromAttributes": {"MailFromDomain": "mail.example.com", "BehaviorOnMxFailure": "USE_DEFAULT_VALUE"},
        },
    )


def test_without_zone_every_record_is_an_output_and_no_record_set(templates: dict[str, Template]) -> None:
    template = templates["Manual"]
    template.resource_count_is("AWS::Route53::RecordSet", 0)
    outputs = _outputs(template)
    plain = {k: v for k, v in outputs.items() if isinstance(v, str)}
    assert sorted(k[:-8] for k in outputs) == sorted(
        f"DomainDnsRecord{p}"
        for p in ("DkimToken1", "DkimToken2", "DkimToken3", "MailFromMx", "MailFromSpf", "InboundMx", "Dmarc")
    )
    assert sorted(plain.values()) == [
        '_dmarc.example.com. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.com"',
        "example.com. IN MX 10 inbound-smtp.us-east-1.amazonaws.com.",
        "mail.example.com. IN MX 10 feedback-smtp.us-east-1.amazonses.com.",
        'mail.example.com. IN TXT "v=spf1 include:amazonses.com ~all"',
    ]
    identity = next(iter(template.find_resources("AWS::SES::EmailIdentity")))
    dkim = next(v for k, v in outputs.items() if "DkimToken1" in k)
    assert dkim == {
        "Fn::Join": [
            "",
            [
                {"Fn::GetAtt": [identity, "DkimDNSTokenName1"]},
                ". IN CNAME ",
                {"Fn::GetAtt": [identity, "DkimDNSTokenValue1"]},
                ".",
            ],
        ]
    }


def test_with_zone_records_are_created_in_it(templates: dict[str, Template]) -> None:
    template = templates["Zoned"]
    template.resource_count_is("AWS::Route53::RecordSet", 7)
    assert "Outputs" not in template.to_json() or not template.to_json()["Outputs"]
    for name, kind, value in [
        ("mail.mail.example.com.", "MX", ["10 feedback-smtp.us-east-1.amazonses.com"]),
        ("mail.mail.example.com.", "TXT", ['"v=spf1 include:amazonses.com ~all"']),
        ("mail.example.com.", "MX", ["10 inbound-smtp.us-east-1.amazonaws.com"]),
        ("_dmarc.mail.example.com.", "TXT", ['"v=DMARC1; p=reject"']),
    ]:
        template.has_resource_properties(
            "AWS::Route53::RecordSet",
            {"Name": name, "Type": kind, "ResourceRecords": value, "HostedZoneId": "Z0123456789ABCDEFGHIJ"},
        )
    cnames = template.find_resources("AWS::Route53::RecordSet", {"Properties": {"Type": "CNAME"}})
    names = sorted(json.dumps(r["Properties"]["Name"]) for r in cnames.values())
    assert len(names) == 3 and all("DkimDNSTokenName" in n for n in names)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"domain_name": "not a domain"}, "domain_name: 'not a domain' is not a valid DNS domain name"),
        ({"domain_name": "example.com", "mail_from_subdomain": "a b"}, "mail_from_subdomain: 'a b'"),
        ({"domain_name": "example.com", "dmarc_policy": "block"}, "dmarc_policy: 'block' is not one of"),
        ({"domain_name": "example.com", "dmarc_report_address": "x@y"}, "dmarc_report_address: 'y'"),
    ],
)
def test_mail_domain_validation(props: dict[str, Any], message: str) -> None:
    stack = _stack(cdk.App(), "S")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        MailDomain(stack, "Domain", **props)


def test_receiving_region_is_checked_but_send_only_is_allowed_anywhere() -> None:
    app = cdk.App()
    tokyo = cdk.Environment(account="123456789012", region="ap-east-1")
    with pytest.raises(ValueError, match="region: SES email receiving is not offered in 'ap-east-1'"):
        MailDomain(_stack(app, "Receive", tokyo), "Domain", domain_name="example.com")
    MailDomain(_stack(app, "SendOnly", tokyo), "Domain", domain_name="example.com", receive_mail=False)


def test_zone_must_hold_the_domain() -> None:
    stack = _stack(cdk.App(), "S")
    zone = route53.PublicHostedZone.from_public_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id="Z1", zone_name="example.org"
    )
    with pytest.raises(ValueError, match=r"hosted_zone: zone 'example.org' cannot hold records for 'example.com'"):
        MailDomain(stack, "Domain", domain_name="example.com", hosted_zone=zone)


# --- WorkMail sending authorization ----------------------------------------------------------------------------------


def test_service_principal_policy_is_scoped_to_the_organization(templates: dict[str, Template]) -> None:
    template = templates["Service"]
    assert _policy(template) == {
        "Version": "2012-10-17",
        # The Id marks ownership: it must not change between versions, or updates would refuse to touch the policy.
        "Id": "sesmail-ServiceWorkMail36880E09",
        "Statement": [
            {
                "Sid": "AllowWorkMailToSendAsDomain",
                "Effect": "Allow",
                "Principal": {"Service": "workmail.us-east-1.amazonaws.com"},
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": "123456789012"},
                    "ArnEquals": {"aws:SourceArn": f"arn:aws:workmail:us-east-1:123456789012:organization/{ORG}"},
                },
            }
        ],
    }
    template.has_resource_properties(
        "Custom::SesIdentityPolicy",
        {"Identity": "example.com", "PolicyName": "sesmail-workmail-send", "NormalizeAwsPrincipals": "false"},
    )


def test_policy_waits_for_identity_and_handler_permissions(templates: dict[str, Template]) -> None:
    template = templates["Service"]
    (resource,) = template.find_resources("Custom::SesIdentityPolicy").values()
    depends = resource["DependsOn"]
    identity = next(iter(template.find_resources("AWS::SES::EmailIdentity")))
    role_policy = next(
        k for k in template.find_resources("AWS::IAM::Policy") if k.startswith("SesmailIdentityPolicyProviderRole")
    )
    assert identity in depends and role_policy in depends


def test_legacy_principal_is_passed_for_normalisation_without_source_conditions(
    templates: dict[str, Template],
) -> None:
    template = templates["Legacy"]
    (statement,) = _policy(template)["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:user/amazon-workmail-eu-west-1"}
    assert "Condition" not in statement
    assert statement["Resource"] == "arn:aws:ses:eu-west-1:123456789012:identity/example.com"
    template.has_resource_properties("Custom::SesIdentityPolicy", {"NormalizeAwsPrincipals": "true"})


def test_handler_role_may_only_manage_policies_on_the_identity(templates: dict[str, Template]) -> None:
    template = templates["Service"]
    ses_statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(a).startswith("ses:") for a in _as_list(statement["Action"]))
    ]
    assert ses_statements == [
        {
            "Action": [
                "ses:CreateEmailIdentityPolicy",
                "ses:DeleteEmailIdentityPolicy",
                "ses:GetEmailIdentityPolicies",
                "ses:UpdateEmailIdentityPolicy",
            ],
            "Effect": "Allow",
            "Resource": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        }
    ]
    # Nothing else in the stack grants any SES action.
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "Policies" not in role["Properties"]
        assert "ManagedPolicyArns" not in role["Properties"]


def test_environment_agnostic_stack_builds_arns_from_pseudo_parameters(templates: dict[str, Template]) -> None:
    policy = templates["Agnostic"].find_resources("Custom::SesIdentityPolicy")
    text = json.dumps(policy)
    assert "AWS::Region" in text and "AWS::AccountId" in text


def test_two_policies_share_one_provider_and_one_role(templates: dict[str, Template]) -> None:
    template = templates["TwoPolicies"]
    template.resource_count_is("Custom::SesIdentityPolicy", 2)
    template.resource_count_is("AWS::Lambda::Function", 2)  # the handler and the provider framework
    ids = {r["Properties"]["PolicyName"]: r for r in template.find_resources("Custom::SesIdentityPolicy").values()}
    assert set(ids) == {"first", "second"}
    owners = {json.loads(_join_text(r["Properties"]["Policy"]))["Id"] for r in ids.values()}
    assert len(owners) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"organization_id": "m-abc"}, "organization_id: 'm-abc' is not a WorkMail organization id"),
        ({"policy_name": "has space"}, "policy_name: 'has space' must be 1-64"),
    ],
)
def test_workmail_validation(kwargs: dict[str, Any], message: str) -> None:
    stack = _stack(cdk.App(), "S")
    domain = MailDomain(stack, "Domain", domain_name="example.com")
    with pytest.raises(ValueError, match=message):
        WorkMailSendingAuthorization(stack, "WorkMail", mail_domain=domain, **{"organization_id": ORG, **kwargs})


def test_legacy_principal_value_is_checked() -> None:
    with pytest.raises(ValueError, match="legacy_account: 'arn:aws:s3:::b' is neither"):
        WorkMailPrincipal.legacy_account("arn:aws:s3:::b")


def test_workmail_region_is_checked() -> None:
    stack = _stack(cdk.App(), "S", cdk.Environment(account="123456789012", region="us-east-2"))
    domain = MailDomain(stack, "Domain", domain_name="example.com")
    with pytest.raises(ValueError, match="region: WorkMail is not offered in 'us-east-2'"):
        WorkMailSendingAuthorization(stack, "WorkMail", mail_domain=domain, organization_id=ORG)


def test_oversized_policy_is_rejected_at_synth() -> None:
    stack = _stack(cdk.App(), "S")
    domain = MailDomain(stack, "Domain", domain_name="example.com")
    statements = [
        iam.PolicyStatement(
            sid=f"S{i}",
            actions=["ses:SendRawEmail"],
            resources=[domain.identity_arn],
            principals=[iam.AccountPrincipal(f"{i:012d}")],
            conditions={"StringEquals": {"ses:FromAddress": [f"user{j}@example.com" for j in range(10)]}},
        )
        for i in range(20)
    ]
    with pytest.raises(ValueError, match=r"document: identity policy 'big' is ~\d+ bytes; SES allows 4096"):
        IdentityPolicy(
            stack,
            "Big",
            identity="example.com",
            identity_arn=domain.identity_arn,
            policy_name="big",
            document=iam.PolicyDocument(statements=statements),
        )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _join_text(value: Any) -> str:
    """The policy text of a template value: a plain string, or a Fn::Join of plain strings and intrinsics."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "X" for p in parts)


def test_dmarc_record_false_publishes_no_dmarc_record_and_keeps_the_others() -> None:
    """For the same domain in a second region, whose DMARC record the first region's stack owns."""
    stack = _stack(_app(), "NoDmarc")
    zone = route53.PublicHostedZone.from_public_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id="Z0123456789ABCDEFGHIJ", zone_name="example.com"
    )
    domain = MailDomain(
        stack, "Domain", domain_name="example.com", hosted_zone=zone, mail_from_subdomain="mail-us", dmarc_record=False
    )
    assert [r.purpose for r in domain.dns_records] == [
        "DkimToken1", "DkimToken2", "DkimToken3", "MailFromMx", "MailFromSpf", "InboundMx"
    ]  # fmt: skip
    names = [
        r["Properties"]["Name"] for r in Template.from_stack(stack).find_resources("AWS::Route53::RecordSet").values()
    ]
    assert not any("_dmarc" in json.dumps(name) for name in names)
    assert "mail-us.example.com." in names


def test_the_same_record_twice_in_one_zone_is_refused_across_the_app() -> None:
    """Route 53 ChangeResourceRecordSets: a second CREATE of one name and type fails with InvalidChangeBatch
    (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html; checked in moto by
    tests/test_across_environments.py): the same domain sending from a second region must leave the first region's
    DMARC, MAIL FROM and inbound MX records alone."""
    app = _app()

    def domain(region: str, **props: Any) -> MailDomain:
        stack = _stack(app, f"In{region.replace('-', '')}", cdk.Environment(account="123456789012", region=region))
        zone = route53.PublicHostedZone.from_public_hosted_zone_attributes(
            stack, "Zone", hosted_zone_id="Z0123456789ABCDEFGHIJ", zone_name="example.com"
        )
        return MailDomain(stack, "Domain", domain_name="example.com", hosted_zone=zone, **props)

    domain("us-east-1")
    with pytest.raises(ValueError) as raised:
        domain("eu-west-1", receive_mail=False)
    assert str(raised.value) == (
        "hosted_zone: MX record mail.example.com in zone Z0123456789ABCDEFGHIJ is already created by "
        "Inuseast1/Domain/MailFromMx; Route 53 holds one record set per name and type (for the same domain in a second "
        "region, pass dmarc_record=False and another mail_from_subdomain)"
    )
    domain("eu-central-1", receive_mail=False, dmarc_record=False, mail_from_subdomain="mail-eu")
