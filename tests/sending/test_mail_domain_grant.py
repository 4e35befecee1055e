"""MailDomain.grant_send: addresses of the domain only, and the default configuration set joins the resources."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses
from aws_cdk.assertions import Template

from sesmail import MailDomain, SendConditions

ENV = cdk.Environment(account="111111111111", region="eu-west-1")


@pytest.fixture(scope="module")
def synthesized() -> tuple[Template, MailDomain, iam.Role]:
    stack = cdk.Stack(cdk.App(), "Domain", env=ENV)
    config_set = ses.ConfigurationSet(stack, "ConfigSet", configuration_set_name="example")
    domain = MailDomain(stack, "Mail", domain_name="example.com", configuration_set=config_set)
    role = iam.Role(stack, "Sender", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    domain.grant_send(role, conditions=SendConditions(from_addresses=("register@example.com",)))
    return Template.from_stack(stack), domain, role


def test_grant_covers_identity_and_default_configuration_set(
    synthesized: tuple[Template, MailDomain, iam.Role],
) -> None:
    template, _, _ = synthesized
    # The role's policy (the stack also holds the default-configuration-set release's provider policies).
    (statements,) = [
        policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if any("ses:SendRawEmail" in str(s["Action"]) for s in policy["Properties"]["PolicyDocument"]["Statement"])
    ]
    assert [statement["Resource"] for statement in statements] == [
        [
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ses:eu-west-1:111111111111:identity/example.com"]]},
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":ses:eu-west-1:111111111111:configuration-set/",
                        {"Ref": "ConfigSet2E7BAD7D"},
                    ],
                ]
            },
        ]
    ]
    assert statements[0]["Condition"] == {"StringEquals": {"ses:FromAddress": ["register@example.com"]}}


def test_foreign_address_is_refused(synthesized: tuple[Template, MailDomain, iam.Role]) -> None:
    _, domain, role = synthesized
    with pytest.raises(ValueError, match=r"conditions\.from_addresses: 'register@example\.org' is not an address of"):
        domain.grant_send(role, conditions=SendConditions(from_addresses=("register@example.org",)))
