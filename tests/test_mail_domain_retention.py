"""The domain identity outlives the stack and its replacement, and an identity that already exists can be adopted.

Two documented paths adopt a domain whose SES identity exists already (the seed's case: verified before WorkMail
used it), where a plain deploy fails with AlreadyExists:

(a) CloudFormation's import of the existing identity (``cdk deploy --import-existing-resources``, or ``cdk import``),
    which needs the identity's name, its primary identifier, as a static property and a Retain deletion policy;
(b) ``existing_identity=True``, under which no identity is created and everything refers to it by ARN.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import pytest
from aws_cdk import assertions

from sesmail import MailDomain, SendConditions

ACCOUNT = "123456789012"
REGION = "eu-west-1"
IDENTITY_ARN = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.com"


def _template(**props: Any) -> dict[str, Any]:
    stack = cdk.Stack(cdk.App(), "T", env=cdk.Environment(account=ACCOUNT, region=REGION))
    domain = MailDomain(stack, "MailDomain", domain_name="example.com", **props)
    role = iam.Role(stack, "Sender", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    domain.grant_send(role, conditions=SendConditions(from_addresses=("info@example.com",)))
    return dict(assertions.Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def created() -> dict[str, Any]:
    return _template()


@pytest.fixture(scope="module")
def adopted() -> dict[str, Any]:
    return _template(existing_identity=True)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == kind}


def test_identity_is_retained_on_stack_delete_and_on_replacement(created: dict[str, Any]) -> None:
    """ "DeletionPolicy: Retain" keeps a resource when it is removed from the stack or the stack is deleted, and
    "UpdateReplacePolicy: Retain" keeps the old physical resource when an update replaces it (CloudFormation
    DeletionPolicy and UpdateReplacePolicy attributes,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatereplacepolicy.html)."""
    ((_, identity),) = _of_type(created, "AWS::SES::EmailIdentity").items()
    # "RetainExceptOnCreate behaves like Retain for stack operations, except for the stack operation that initially
    # created the resource": a failed first deploy removes it, so the retry meets no AlreadyExists.
    assert identity["DeletionPolicy"] == "RetainExceptOnCreate"
    assert identity["UpdateReplacePolicy"] == "Retain"


def test_identity_carries_what_cloudformation_import_needs(created: dict[str, Any]) -> None:
    """CloudFormation imports a resource automatically when "The resource must have a static custom name defined in
    your template", "a DeletionPolicy of Retain or RetainExceptOnCreate", and "The primary ID for the resource type
    must be in the template"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/import-resources-automatically.html); for
    AWS::SES::EmailIdentity that identifier is the ``EmailIdentity`` property, the domain (resource type support:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-supported-resources.html;
    ``cdk import``: https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-import.html). The other properties are what
    sesmail would set on a new identity; they are applied by the next update after the import."""
    ((_, identity),) = _of_type(created, "AWS::SES::EmailIdentity").items()
    props = identity["Properties"]
    assert props["EmailIdentity"] == "example.com", "a literal, not a token: the import's identifier"
    assert identity["DeletionPolicy"] == "RetainExceptOnCreate"
    assert props["DkimSigningAttributes"] == {"NextSigningKeyLength": "RSA_2048_BIT"}
    assert props["MailFromAttributes"] == {
        "MailFromDomain": "mail.example.com",
        "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
    }
    assert "DependsOn" not in identity, "imported alone, it may depend on nothing else in the stack"


def test_existing_identity_creates_none_and_grants_still_name_its_arn(adopted: dict[str, Any]) -> None:
    assert not _of_type(adopted, "AWS::SES::EmailIdentity")
    (policy,) = _of_type(adopted, "AWS::IAM::Policy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    resource = statement["Resource"]
    resources = resource if isinstance(resource, list) else [resource]
    flat = [
        "".join("aws" if part == {"Ref": "AWS::Partition"} else part for part in r["Fn::Join"][1])
        if isinstance(r, dict)
        else r
        for r in resources
    ]
    assert IDENTITY_ARN in flat


def test_existing_identity_publishes_no_dkim_or_mail_from_records(
    created: dict[str, Any], adopted: dict[str, Any]
) -> None:
    """The DKIM tokens of an identity sesmail did not create are not known at synth; its MAIL FROM is its own."""

    def kinds(template: dict[str, Any]) -> set[str]:
        names = ("DkimToken1", "DkimToken2", "DkimToken3", "MailFromMx", "MailFromSpf", "InboundMx", "Dmarc")
        return {name for name in names for key in template.get("Outputs", {}) if f"DnsRecord{name}" in key}

    assert kinds(created) == {
        "DkimToken1",
        "DkimToken2",
        "DkimToken3",
        "MailFromMx",
        "MailFromSpf",
        "InboundMx",
        "Dmarc",
    }
    assert kinds(adopted) == {"InboundMx", "Dmarc"}


def test_existing_identity_setting_builds_an_environment_without_an_identity() -> None:
    """``existingIdentity: true`` in cdk.json: the stack creates no identity; the forwarder's send grant and the
    WorkMail sending authorization still name the identity's ARN."""
    from tests.conftest import build_app

    environment = {
        "account": ACCOUNT,
        "region": REGION,
        "domain": "example.com",
        "mailboxes": ["info"],
        "existingIdentity": True,
        "inbound": {"forwardTo": ["staff@corp.example"]},
    }
    app = build_app({"prod": environment}, with_nag=False)
    template = assertions.Template.from_stack(app.node.find_child("sesmail-prod"))  # type: ignore[arg-type]
    template.resource_count_is("AWS::SES::EmailIdentity", 0)
    found = _of_type(dict(template.to_json()), "AWS::IAM::Policy").values()
    policies = [policy["Properties"]["PolicyDocument"] for policy in found]
    assert "identity/example.com" in str(policies)


def test_existing_identity_setting_must_be_true_or_false() -> None:
    from stacks.settings import SettingsError, parse_environment

    with pytest.raises(SettingsError, match=r"^environments.prod.existingIdentity: 'yes' is not true or false$"):
        parse_environment(
            "prod", {"account": ACCOUNT, "region": REGION, "domain": "example.com", "existingIdentity": "yes"}
        )
