"""The identity-policy custom resource handler against moto (SES v2) and botocore's Stubber.

Each case asserts the SES calls made and what the Provider framework reports to CloudFormation: the returned physical
id on success, or an exception whose text carries SES's error (the framework turns it into the FAILED reason).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.conftest import cfn_event, load_handler, no_sleep

index = load_handler("identity_policy")

IDENTITY = "example.com"
OWNER = "sesmail-stackWorkMailSending"


def _policy(principal: dict[str, Any], owner: str = OWNER) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": owner,
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                    "Resource": f"arn:aws:ses:us-east-1:123456789012:identity/{IDENTITY}",
                }
            ],
        }
    )


SERVICE = _policy({"Service": "workmail.us-east-1.amazonaws.com"})
LEGACY = _policy({"AWS": "arn:aws:iam::111122223333:user/amazon-workmail-us-east-1"})


def _props(identity: str = IDENTITY, name: str = "sesmail-workmail-send", policy: str = SERVICE, **extra: str) -> dict:
    return {"Identity": identity, "PolicyName": name, "Policy": policy, "Partition": "aws", **extra}


@pytest.fixture()
def ses() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("sesv2", region_name="us-east-1")
        client.create_email_identity(EmailIdentity=IDENTITY)
        client.create_email_identity(EmailIdentity="example.org")
        yield client


def policies(ses: Any, identity: str = IDENTITY) -> dict[str, dict]:
    raw = ses.get_email_identity_policies(EmailIdentity=identity)["Policies"]
    return {name: json.loads(text) for name, text in raw.items()}


# --- moto: the state SES ends up in ------------------------------------------------------------------------------


def test_create_puts_policy_and_returns_physical_id(ses: Any) -> None:
    result = index.on_event(cfn_event("Create", _props()), ses=ses, sleep=no_sleep)
    assert result == {"PhysicalResourceId": "example.com|sesmail-workmail-send"}
    stored = policies(ses)["sesmail-workmail-send"]
    assert stored["Statement"][0]["Principal"] == {"Service": "workmail.us-east-1.amazonaws.com"}
    assert stored["Id"] == OWNER


def test_create_normalises_legacy_principal_to_account_root(ses: Any) -> None:
    index.on_event(cfn_event("Create", _props(policy=LEGACY, NormalizeAwsPrincipals="true")), ses=ses, sleep=no_sleep)
    stored = policies(ses)["sesmail-workmail-send"]
    assert stored["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}


def test_without_normalise_flag_principal_is_put_as_written(ses: Any) -> None:
    index.on_event(cfn_event("Create", _props(policy=LEGACY, NormalizeAwsPrincipals="false")), ses=ses, sleep=no_sleep)
    stored = policies(ses)["sesmail-workmail-send"]
    assert stored["Statement"][0]["Principal"]["AWS"].endswith(":user/amazon-workmail-us-east-1")


def test_retried_create_succeeds_and_leaves_one_policy(ses: Any) -> None:
    event = cfn_event("Create", _props())
    first = index.on_event(event, ses=ses, sleep=no_sleep)
    second = index.on_event(event, ses=ses, sleep=no_sleep)
    assert first == second
    assert list(policies(ses)) == ["sesmail-workmail-send"]


def test_create_refuses_to_overwrite_a_policy_it_did_not_create(ses: Any) -> None:
    theirs = _policy({"AWS": "arn:aws:iam::999988887777:root"}, owner="someone-else")
    ses.create_email_identity_policy(EmailIdentity=IDENTITY, PolicyName="sesmail-workmail-send", Policy=theirs)
    with pytest.raises(index.PolicyError, match="did not create; refusing to overwrite"):
        index.on_event(cfn_event("Create", _props()), ses=ses, sleep=no_sleep)
    assert policies(ses)["sesmail-workmail-send"]["Id"] == "someone-else"


def test_update_of_document_changes_policy_in_place(ses: Any) -> None:
    physical = index.on_event(cfn_event("Create", _props()), ses=ses, sleep=no_sleep)["PhysicalResourceId"]
    new = _props(policy=LEGACY, NormalizeAwsPrincipals="true")
    result = index.on_event(cfn_event("Update", new, physical, old=_props()), ses=ses, sleep=no_sleep)
    assert result["PhysicalResourceId"] == physical
    assert policies(ses)["sesmail-workmail-send"]["Statement"][0]["Principal"] == {
        "AWS": "arn:aws:iam::111122223333:root"
    }


def test_update_rename_puts_new_then_cloudformation_delete_removes_old(ses: Any) -> None:
    old = _props()
    physical = index.on_event(cfn_event("Create", old), ses=ses, sleep=no_sleep)["PhysicalResourceId"]
    renamed = _props(name="workmail-v2")
    result = index.on_event(cfn_event("Update", renamed, physical, old=old), ses=ses, sleep=no_sleep)
    assert result["PhysicalResourceId"] == "example.com|workmail-v2"
    assert sorted(policies(ses)) == ["sesmail-workmail-send", "workmail-v2"]
    # CloudFormation's clean-up phase deletes the old physical id, with the old properties.
    index.on_event(cfn_event("Delete", old, physical), ses=ses, sleep=no_sleep)
    assert sorted(policies(ses)) == ["workmail-v2"]


def test_update_change_identity_moves_policy(ses: Any) -> None:
    old = _props()
    physical = index.on_event(cfn_event("Create", old), ses=ses, sleep=no_sleep)["PhysicalResourceId"]
    moved = _props(identity="example.org")
    result = index.on_event(cfn_event("Update", moved, physical, old=old), ses=ses, sleep=no_sleep)
    assert result["PhysicalResourceId"] == "example.org|sesmail-workmail-send"
    index.on_event(cfn_event("Delete", old, physical), ses=ses, sleep=no_sleep)
    assert policies(ses) == {}
    assert list(policies(ses, "example.org")) == ["sesmail-workmail-send"]


def test_delete_removes_policy_and_leaves_others(ses: Any) -> None:
    other = _policy({"AWS": "arn:aws:iam::999988887777:root"}, owner="someone-else")
    ses.create_email_identity_policy(EmailIdentity=IDENTITY, PolicyName="delegate", Policy=other)
    physical = index.on_event(cfn_event("Create", _props()), ses=ses, sleep=no_sleep)["PhysicalResourceId"]
    index.on_event(cfn_event("Delete", _props(), physical), ses=ses, sleep=no_sleep)
    assert list(policies(ses)) == ["delegate"]


def test_delete_of_absent_policy_succeeds_twice(ses: Any) -> None:
    event = cfn_event("Delete", _props(), "example.com|sesmail-workmail-send")
    assert index.on_event(event, ses=ses, sleep=no_sleep) == {"PhysicalResourceId": "example.com|sesmail-workmail-send"}
    assert index.on_event(event, ses=ses, sleep=no_sleep) == {"PhysicalResourceId": "example.com|sesmail-workmail-send"}


def test_delete_leaves_a_same_named_policy_someone_else_now_owns(ses: Any) -> None:
    theirs = _policy({"AWS": "arn:aws:iam::999988887777:root"}, owner="someone-else")
    ses.create_email_identity_policy(EmailIdentity=IDENTITY, PolicyName="sesmail-workmail-send", Policy=theirs)
    index.on_event(cfn_event("Delete", _props(), "example.com|sesmail-workmail-send"), ses=ses, sleep=no_sleep)
    assert policies(ses)["sesmail-workmail-send"]["Id"] == "someone-else"


def test_delete_after_failed_create_touches_nothing(ses: Any) -> None:
    # The framework's physical id for a create that failed before returning one is not ours.
    result = index.on_event(cfn_event("Delete", _props(), "some-request-id"), ses=ses, sleep=no_sleep)
    assert result == {"PhysicalResourceId": "some-request-id"}


def test_delete_when_identity_is_gone_succeeds(ses: Any) -> None:
    index.on_event(cfn_event("Create", _props()), ses=ses, sleep=no_sleep)
    ses.delete_email_identity(EmailIdentity=IDENTITY)
    index.on_event(cfn_event("Delete", _props(), "example.com|sesmail-workmail-send"), ses=ses, sleep=no_sleep)


# --- Stubber: exact calls, throttling and errors -------------------------------------------------------------------


@pytest.fixture()
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sesv2", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_create_calls_get_then_create_with_rendered_policy(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("get_email_identity_policies", {"Policies": {}}, {"EmailIdentity": IDENTITY})
    expected_policy = index.render_policy(_props())
    stubber.add_response(
        "create_email_identity_policy",
        {},
        {"EmailIdentity": IDENTITY, "PolicyName": "sesmail-workmail-send", "Policy": expected_policy},
    )
    result = index.on_event(cfn_event("Create", _props()), ses=client, sleep=no_sleep)
    assert result["PhysicalResourceId"] == "example.com|sesmail-workmail-send"


def test_throttling_is_retried_with_backoff(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    waits: list[float] = []
    stubber.add_client_error("get_email_identity_policies", "TooManyRequestsException", "Too many requests", 429)
    stubber.add_client_error("get_email_identity_policies", "TooManyRequestsException", "Too many requests", 429)
    stubber.add_response("get_email_identity_policies", {"Policies": {}}, {"EmailIdentity": IDENTITY})
    stubber.add_response("create_email_identity_policy", {}, None)
    index.on_event(cfn_event("Create", _props()), ses=client, sleep=waits.append)
    assert len(waits) == 2 and waits[1] > waits[0]


def test_persistent_throttling_fails_with_ses_error_text(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(index.MAX_ATTEMPTS):
        stubber.add_client_error("get_email_identity_policies", "TooManyRequestsException", "Rate exceeded", 429)
    with pytest.raises(index.PolicyError, match="TooManyRequestsException: Rate exceeded"):
        index.on_event(cfn_event("Create", _props()), ses=client, sleep=no_sleep)


def test_access_denied_is_reported_with_ses_error_text(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("get_email_identity_policies", {"Policies": {}}, {"EmailIdentity": IDENTITY})
    message = "User is not authorized to perform ses:CreateEmailIdentityPolicy on resource identity/example.com"
    stubber.add_client_error("create_email_identity_policy", "AccessDeniedException", message, 403)
    with pytest.raises(index.PolicyError) as failure:
        index.on_event(cfn_event("Create", _props()), ses=client, sleep=no_sleep)
    assert str(failure.value) == (
        f"SES rejected policy 'sesmail-workmail-send' on example.com: AccessDeniedException: {message}; "
        "the handler's role lacks this permission (was it changed outside the stack?); fix it and deploy again"
    )


def test_delete_access_denied_is_reported(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "get_email_identity_policies", {"Policies": {"sesmail-workmail-send": SERVICE}}, {"EmailIdentity": IDENTITY}
    )
    stubber.add_client_error("delete_email_identity_policy", "AccessDeniedException", "denied", 403)
    with pytest.raises(index.PolicyError, match=r"could not delete policy 'sesmail-workmail-send'.*denied"):
        index.on_event(cfn_event("Delete", _props(), "example.com|sesmail-workmail-send"), ses=client, sleep=no_sleep)


def test_unknown_identity_on_create_is_reported(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("get_email_identity_policies", "NotFoundException", "Email identity not found", 404)
    with pytest.raises(index.PolicyError, match="NotFoundException: Email identity not found"):
        index.on_event(cfn_event("Create", _props()), ses=client, sleep=no_sleep)
