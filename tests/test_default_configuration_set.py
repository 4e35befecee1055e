"""The retained domain identity keeps sending after its stack, and its default configuration set, are deleted.

SES Developer Guide, "Default configuration sets": "If you delete a configuration set that's designated as the default
configuration set for an identity, and then attempt to send email through that identity, your call to Amazon SES fails
with a 'bad request' error." The identity is retained (RETAIN_ON_UPDATE_OR_DELETE), the set is not; so a custom
resource deleted before the set removes it from the identity: "You can use the
PutEmailIdentityConfigurationSetAttributes operation to add or remove a default configuration set from an existing
email identity", removing with no configuration set name (SES Developer Guide, "Edit an identity to use a default
configuration set using the SES API"). SES v2 calls through botocore's Stubber: moto has no
PutEmailIdentityConfigurationSetAttributes.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import assertions
from botocore.stub import Stubber

from sesmail import MailConfigurationSet, MailDomain
from tests.conftest import cfn_event, load_handler, no_sleep

index = load_handler("default_configuration_set")

DOMAIN, OURS = "example.com", "sesmail-prod"
PROPS = {"Identity": DOMAIN, "ConfigurationSetName": OURS}


def _ses() -> tuple[Any, Stubber]:
    client = boto3.client("sesv2", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
    return client, Stubber(client)


def _identity(configuration_set: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": True}
    if configuration_set:
        answer["ConfigurationSetName"] = configuration_set
    return answer


def test_delete_removes_our_set_from_the_identity() -> None:
    ses, stubber = _ses()
    stubber.add_response("get_email_identity", _identity(OURS), {"EmailIdentity": DOMAIN})
    # No ConfigurationSetName: the default set is removed.
    stubber.add_response("put_email_identity_configuration_set_attributes", {}, {"EmailIdentity": DOMAIN})
    with stubber:
        result = index.on_event(cfn_event("Delete", PROPS, f"{DOMAIN}|{OURS}"), ses, sleep=no_sleep)
    stubber.assert_no_pending_responses()
    assert result == {"PhysicalResourceId": f"{DOMAIN}|{OURS}"}


@pytest.mark.parametrize("current", ["someone-elses", None])
def test_delete_leaves_another_default_set_alone(current: str | None) -> None:
    ses, stubber = _ses()
    stubber.add_response("get_email_identity", _identity(current), {"EmailIdentity": DOMAIN})
    with stubber:
        index.on_event(cfn_event("Delete", PROPS, f"{DOMAIN}|{OURS}"), ses, sleep=no_sleep)
    stubber.assert_no_pending_responses()


def test_delete_of_a_missing_identity_does_nothing() -> None:
    ses, stubber = _ses()
    stubber.add_client_error("get_email_identity", "NotFoundException", "not found", 404, {"EmailIdentity": DOMAIN})
    with stubber:
        index.on_event(cfn_event("Delete", PROPS, f"{DOMAIN}|{OURS}"), ses, sleep=no_sleep)


def test_throttling_is_retried() -> None:
    ses, stubber = _ses()
    stubber.add_client_error("get_email_identity", "TooManyRequestsException", "slow down", 429)
    stubber.add_response("get_email_identity", _identity(OURS), {"EmailIdentity": DOMAIN})
    stubber.add_response("put_email_identity_configuration_set_attributes", {}, {"EmailIdentity": DOMAIN})
    with stubber:
        index.on_event(cfn_event("Delete", PROPS, f"{DOMAIN}|{OURS}"), ses, sleep=no_sleep)
    stubber.assert_no_pending_responses()


def test_a_refused_release_fails_the_delete_with_ses_text() -> None:
    ses, stubber = _ses()
    stubber.add_client_error("get_email_identity", "AccessDeniedException", "not authorized", 403)
    with stubber, pytest.raises(index.ReleaseError, match=r"AccessDeniedException: not authorized.*retry the delete"):
        index.on_event(cfn_event("Delete", PROPS, f"{DOMAIN}|{OURS}"), ses, sleep=no_sleep)


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_make_no_call(request_type: str) -> None:
    ses, stubber = _ses()
    with stubber:
        result = index.on_event(cfn_event(request_type, PROPS, f"{DOMAIN}|{OURS}"), ses, sleep=no_sleep)
    assert result == {"PhysicalResourceId": f"{DOMAIN}|{OURS}"}


def _template(**props: Any) -> dict[str, Any]:
    stack = cdk.Stack(cdk.App(), "T", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    configuration_set = MailConfigurationSet(stack, "Set", configuration_set_name=OURS)
    MailDomain(stack, "MailDomain", domain_name=DOMAIN, configuration_set=configuration_set, **props)
    return dict(assertions.Template.from_stack(stack).to_json())


def test_a_created_identity_with_a_default_set_gets_the_release_ordered_before_both() -> None:
    """The release references the identity and the set (Ref): CloudFormation deletes it before both ("Resource A is
    deleted before resource B", DependsOn attribute), so the set is released while it still exists."""
    template = _template()
    resources = template["Resources"]
    (release,) = [r for r in resources.values() if r["Type"] == "Custom::SesDefaultConfigurationSetRelease"]
    identity_id = next(lid for lid, r in resources.items() if r["Type"] == "AWS::SES::EmailIdentity")
    set_id = next(lid for lid, r in resources.items() if r["Type"] == "AWS::SES::ConfigurationSet")
    assert release["Properties"]["Identity"] == {"Ref": identity_id}
    assert release["Properties"]["ConfigurationSetName"] == {"Ref": set_id}
    roles = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and "DefaultConfigurationSet" in str(r["Properties"]["Roles"])
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if str(s["Action"]).count("ses:")
    ]
    (grant,) = roles
    assert grant["Action"] == ["ses:GetEmailIdentity", "ses:PutEmailIdentityConfigurationSetAttributes"]
    assert grant["Resource"]["Fn::Join"][1][-1].endswith(":identity/example.com")


def test_an_existing_identity_is_not_touched() -> None:
    template = _template(existing_identity=True)
    assert not [r for r in template["Resources"].values() if r["Type"] == "Custom::SesDefaultConfigurationSetRelease"]
