"""The receipt-rule-set activation handler, case by case, against moto (SES v1 and SSM) and botocore's Stubber.

The sequences CloudFormation sends (retries, rollbacks, faults at every call) are in ``tests/lifecycle``; these are the
single decisions: what is refused and how the refusal reads, which set is restored, earlier physical ids.
SES: "You can only have one active receipt rule set at a time"; ``SetActiveReceiptRuleSet`` without a name "disable[s]
your email-receiving through Amazon SES completely"
(https://docs.aws.amazon.com/ses/latest/APIReference/API_SetActiveReceiptRuleSet.html).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.conftest import TEST_STACK_ID, cfn_event, load_handler, no_sleep

index = load_handler("rule_set_activation")

OURS = "sesmail-example"
WORKMAIL = "INBOUND_MAIL"
HINT = "takeOverActiveRuleSet: true (environments.prod)"
OTHER_STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/sesmail-staging/00000000-0000-0000-0000-000000000000"


def _props(name: str = OURS, take_over: bool = False, **extra: str) -> dict[str, Any]:
    return {"RuleSetName": name, "TakeOverActiveRuleSet": "true" if take_over else "false", **extra}


@pytest.fixture(scope="module")
def clients() -> tuple[Any, Any]:
    """SES and SSM clients for the module's tests: making a client costs more than a test's requests. Sharing them is
    safe: a client holds no account state (moto's backends do, and each test's ``mock_aws`` starts them empty), no
    test stubs or changes these two, and they are made inside a mock so that they hold moto's fake credentials."""
    with mock_aws():
        return boto3.client("ses", region_name="us-east-1"), boto3.client("ssm", region_name="us-east-1")


@pytest.fixture()
def aws(clients: tuple[Any, Any]) -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        ses, ssm = clients
        for name in (OURS, "sesmail-renamed", WORKMAIL, "sesmail-staging"):
            ses.create_receipt_rule_set(RuleSetName=name)
        yield ses, ssm


def active(ses: Any) -> str | None:
    return ses.describe_active_receipt_rule_set().get("Metadata", {}).get("Name")


def record(ssm: Any, name: str) -> dict[str, str] | None:
    try:
        return json.loads(ssm.get_parameter(Name=index.RECORD_PREFIX + name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None


def run(aws: tuple[Any, Any], event: dict) -> dict:
    ses, ssm = aws
    return index.on_event(event, ses=ses, ssm=ssm, sleep=no_sleep)


def test_create_with_none_active_activates_ours_and_records_it(aws: tuple[Any, Any]) -> None:
    result = run(aws, cfn_event("Create", _props()))
    assert active(aws[0]) == OURS
    assert result == {"PhysicalResourceId": OURS, "Data": {"RuleSetName": OURS, "PreviousRuleSetName": ""}}
    assert record(aws[1], OURS) == {"stackId": TEST_STACK_ID, "logicalResourceId": "Resource", "previous": ""}


def test_create_with_another_active_and_no_takeover_fails_and_changes_nothing(aws: tuple[Any, Any]) -> None:
    aws[0].set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    with pytest.raises(index.ActivationError) as failure:
        run(aws, cfn_event("Create", _props(TakeOverHint=HINT)))
    assert str(failure.value) == (
        "receipt rule set 'INBOUND_MAIL' is active in this account and region and was not activated by sesmail; "
        "set takeOverActiveRuleSet: true (environments.prod) to replace it (it is restored when this stack is deleted)"
    )
    assert active(aws[0]) == WORKMAIL
    assert record(aws[1], OURS) is None


def test_refusal_names_the_sesmail_stack_that_activated_the_active_set(aws: tuple[Any, Any]) -> None:
    ses, ssm = aws
    other = cfn_event("Create", _props("sesmail-staging"))
    other["StackId"] = OTHER_STACK
    run(aws, other)
    with pytest.raises(index.ActivationError) as failure:
        run(aws, cfn_event("Create", _props(TakeOverHint=HINT)))
    assert f"activated by sesmail stack {OTHER_STACK} (Resource)" in str(failure.value)
    assert "two stacks cannot both receive here" in str(failure.value)
    assert active(ses) == "sesmail-staging"
    assert record(ssm, "sesmail-staging")["stackId"] == OTHER_STACK  # type: ignore[index]


def _stacks(status: str | None, stack_id: str = OTHER_STACK) -> tuple[Any, Stubber]:
    """CloudFormation's answer to DescribeStacks for ``stack_id`` (``None``: it knows no such stack). Stubber: moto's
    CloudFormation backend needs packages the suite does not install."""
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(cloudformation)
    if status is None:
        message = f"Stack with id {stack_id} does not exist"
        stubber.add_client_error("describe_stacks", "ValidationError", message, 400, {"StackName": stack_id})
    else:
        stack = {"StackName": "sesmail-staging", "StackId": stack_id, "CreationTime": "2026-12-01T00:00:00Z"}
        answer = {"Stacks": [{**stack, "StackStatus": status}]}
        stubber.add_response("describe_stacks", answer, {"StackName": stack_id})
    stubber.activate()
    return cloudformation, stubber


def test_a_set_recorded_by_another_stack_is_refused_and_its_record_kept(aws: tuple[Any, Any]) -> None:
    """Two stacks that use the same rule-set name: the second must not adopt the first's activation."""
    other = cfn_event("Create", _props())
    other["StackId"] = OTHER_STACK
    run(aws, other)
    cloudformation, stubber = _stacks("UPDATE_COMPLETE")
    with pytest.raises(index.ActivationError, match=r"already recorded as activated by .*sesmail-staging"):
        index.on_event(cfn_event("Create", _props()), *aws, sleep=no_sleep, cloudformation=cloudformation)
    stubber.assert_no_pending_responses()
    # ... and its Delete (of a create that never was ours) leaves the other stack's activation alone.
    run(aws, cfn_event("Delete", _props(), OURS))
    assert active(aws[0]) == OURS
    assert record(aws[1], OURS)["stackId"] == OTHER_STACK  # type: ignore[index]


@pytest.mark.parametrize("status", ["DELETE_COMPLETE", None], ids=["deleted", "unknown"])
def test_a_record_left_by_a_stack_that_no_longer_exists_is_replaced(aws: tuple[Any, Any], status: str | None) -> None:
    """Issue 21, item 4. A takeover Create that failed, and whose undo's answer was lost, leaves its record; the stack
    is then deleted and created again (a new stack id). DescribeStacks' StackName: "Deleted stacks: You must specify
    the unique stack ID" (CloudFormation API reference), which the record holds: a deleted stack answers with
    DELETE_COMPLETE, and the record is nobody's any more. The new stack's Create must succeed (it was refused as
    "already recorded as activated by" the dead stack) and restore what was active before, WorkMail's set, on delete."""
    ses, ssm = aws
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)  # the dead stack's undo did restore it
    left = {"stackId": OTHER_STACK, "logicalResourceId": "Resource", "previous": WORKMAIL}
    ssm.put_parameter(Name=index.RECORD_PREFIX + OURS, Type="String", Value=json.dumps(left))
    cloudformation, stubber = _stacks(status)
    result = index.on_event(
        cfn_event("Create", _props(take_over=True)), *aws, sleep=no_sleep, cloudformation=cloudformation
    )
    stubber.assert_no_pending_responses()
    assert result["Data"]["PreviousRuleSetName"] == WORKMAIL
    assert active(ses) == OURS
    assert record(ssm, OURS) == {"stackId": TEST_STACK_ID, "logicalResourceId": "Resource", "previous": WORKMAIL}
    run(aws, cfn_event("Delete", _props(take_over=True), OURS))
    assert active(ses) == WORKMAIL and record(ssm, OURS) is None


def test_a_stale_record_whose_set_is_still_active_keeps_its_previous_set(aws: tuple[Any, Any]) -> None:
    """The dead stack's undo did not even restore: its set (ours by name) is still active, and the set it replaced is
    what a delete must restore, not 'nothing'."""
    ses, ssm = aws
    ses.set_active_receipt_rule_set(RuleSetName=OURS)
    left = {"stackId": OTHER_STACK, "logicalResourceId": "Resource", "previous": WORKMAIL}
    ssm.put_parameter(Name=index.RECORD_PREFIX + OURS, Type="String", Value=json.dumps(left))
    cloudformation, _ = _stacks("DELETE_COMPLETE")
    index.on_event(cfn_event("Create", _props()), *aws, sleep=no_sleep, cloudformation=cloudformation)
    assert record(ssm, OURS)["previous"] == WORKMAIL  # type: ignore[index]


def test_refusal_without_a_hint_names_the_construct_prop(aws: tuple[Any, Any]) -> None:
    aws[0].set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    with pytest.raises(index.ActivationError, match=r"set take_over_active_rule_set=True to replace it"):
        run(aws, cfn_event("Create", _props()))


def test_takeover_then_delete_restores_the_taken_over_set(aws: tuple[Any, Any]) -> None:
    aws[0].set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    result = run(aws, cfn_event("Create", _props(take_over=True)))
    assert result["Data"] == {"RuleSetName": OURS, "PreviousRuleSetName": WORKMAIL}
    assert active(aws[0]) == OURS
    run(aws, cfn_event("Delete", _props(take_over=True), OURS))
    assert active(aws[0]) == WORKMAIL
    assert record(aws[1], OURS) is None


def test_create_of_a_missing_rule_set_fails_with_ses_text_and_leaves_no_record(aws: tuple[Any, Any]) -> None:
    with pytest.raises(index.ActivationError, match="RuleSetDoesNotExist") as failure:
        run(aws, cfn_event("Create", _props("never-created")))
    assert "nothing was changed" in str(failure.value)
    assert record(aws[1], "never-created") is None
    assert active(aws[0]) is None


def test_delete_leaves_a_set_someone_else_activated_since(
    aws: tuple[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    run(aws, cfn_event("Create", _props()))
    aws[0].set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    with caplog.at_level(logging.WARNING):
        run(aws, cfn_event("Delete", _props(), OURS))
    assert active(aws[0]) == WORKMAIL
    assert record(aws[1], OURS) is None
    assert "leaving the active set alone" in caplog.text


def test_delete_when_the_previous_set_is_gone_deactivates_and_says_so(
    aws: tuple[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    aws[0].set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    run(aws, cfn_event("Create", _props(take_over=True)))
    aws[0].delete_receipt_rule_set(RuleSetName=WORKMAIL)
    with caplog.at_level(logging.WARNING):
        run(aws, cfn_event("Delete", _props(take_over=True), OURS))
    assert active(aws[0]) is None
    assert "previous receipt rule set INBOUND_MAIL no longer exists" in caplog.text


def test_earlier_physical_id_keeps_its_previous_set_through_update_and_delete(aws: tuple[Any, Any]) -> None:
    """Stacks deployed before the record existed carry the set to restore in their physical id."""
    ses, ssm = aws
    legacy = f"{OURS}|previous={WORKMAIL}"
    ses.set_active_receipt_rule_set(RuleSetName=OURS)
    result = run(aws, cfn_event("Update", _props(take_over=True), legacy, _props()))
    assert result["PhysicalResourceId"] == legacy, "the id is kept, so CloudFormation sends no Delete for it"
    assert record(ssm, OURS)["previous"] == WORKMAIL  # type: ignore[index]
    run(aws, cfn_event("Delete", _props(take_over=True), legacy))
    assert active(ses) == WORKMAIL


def test_earlier_physical_id_without_a_record_still_restores_on_delete(aws: tuple[Any, Any]) -> None:
    aws[0].set_active_receipt_rule_set(RuleSetName=OURS)
    run(aws, cfn_event("Delete", _props(), f"{OURS}|previous={WORKMAIL}"))
    assert active(aws[0]) == WORKMAIL


def test_delete_of_a_failed_create_changes_nothing(aws: tuple[Any, Any]) -> None:
    aws[0].set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    run(aws, cfn_event("Delete", _props(), "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"))
    assert active(aws[0]) == WORKMAIL


def test_rename_moves_the_record_and_keeps_the_physical_id(aws: tuple[Any, Any]) -> None:
    aws[0].set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    run(aws, cfn_event("Create", _props(take_over=True)))
    result = run(aws, cfn_event("Update", _props("sesmail-renamed", True), OURS, _props(take_over=True)))
    assert result["PhysicalResourceId"] == OURS
    assert active(aws[0]) == "sesmail-renamed"
    assert record(aws[1], OURS) is None
    assert record(aws[1], "sesmail-renamed")["previous"] == WORKMAIL  # type: ignore[index]


def test_rename_refuses_a_foreign_set_without_takeover(aws: tuple[Any, Any]) -> None:
    run(aws, cfn_event("Create", _props()))
    aws[0].set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    with pytest.raises(index.ActivationError, match="'INBOUND_MAIL' is active"):
        run(aws, cfn_event("Update", _props("sesmail-renamed"), OURS, _props()))
    assert active(aws[0]) == WORKMAIL


def test_rollback_of_an_update_refused_for_a_set_activated_since_changes_nothing(aws: tuple[Any, Any]) -> None:
    """Issue 21, item 3. A failed Update is rolled back with another Update whose ResourceProperties are "The new
    resource property values" of the template rolled back to, and OldResourceProperties "The resource property values
    that were previously declared" (CloudFormation, crpg-ref-requesttypes-update); a rollback refused leaves the stack
    UPDATE_ROLLBACK_FAILED. Someone activated another set after the create; the rename is rightly refused
    and changed nothing, so its rollback must succeed without changing anything either."""
    ses, ssm = aws
    run(aws, cfn_event("Create", _props()))
    ses.set_active_receipt_rule_set(RuleSetName="sesmail-staging")
    with pytest.raises(index.ActivationError, match="'sesmail-staging' is active"):
        run(aws, cfn_event("Update", _props("sesmail-renamed"), OURS, _props()))
    result = run(aws, cfn_event("Update", _props(), OURS, _props("sesmail-renamed")))
    assert result["PhysicalResourceId"] == OURS
    assert active(ses) == "sesmail-staging", "the set someone activated stays active"
    assert record(ssm, OURS)["stackId"] == TEST_STACK_ID  # type: ignore[index]
    assert record(ssm, "sesmail-renamed") is None
    # ... and the stack's later delete leaves that set alone too.
    run(aws, cfn_event("Delete", _props(), OURS))
    assert active(ses) == "sesmail-staging" and record(ssm, OURS) is None


# --- AWS errors (Stubber) ---------------------------------------------------------------------------------------


def test_throttling_is_retried_with_backoff() -> None:
    ses = boto3.client("ses", region_name="us-east-1")
    ssm = boto3.client("ssm", region_name="us-east-1")
    slept: list[float] = []
    with Stubber(ses) as ses_stub, Stubber(ssm) as ssm_stub:
        ssm_stub.add_client_error("get_parameter", "ParameterNotFound", "", http_status_code=400)
        for _ in range(2):
            ses_stub.add_client_error("describe_active_receipt_rule_set", "Throttling", "Rate exceeded", 400)
        ses_stub.add_response("describe_active_receipt_rule_set", {})
        ssm_stub.add_response("put_parameter", {"Version": 1})
        ses_stub.add_response("set_active_receipt_rule_set", {}, {"RuleSetName": OURS})
        result = index.on_event(cfn_event("Create", _props()), ses, ssm, slept.append)
        ses_stub.assert_no_pending_responses()
        ssm_stub.assert_no_pending_responses()
    assert slept == [1.0, 2.0]
    assert result["PhysicalResourceId"] == OURS


def test_access_denied_names_the_error_and_what_to_do() -> None:
    ses = boto3.client("ses", region_name="us-east-1")
    ssm = boto3.client("ssm", region_name="us-east-1")
    message = "User is not authorized to perform: ses:SetActiveReceiptRuleSet"
    with Stubber(ses) as ses_stub, Stubber(ssm) as ssm_stub:
        ssm_stub.add_client_error("get_parameter", "ParameterNotFound", "", http_status_code=400)
        ses_stub.add_response("describe_active_receipt_rule_set", {})
        ssm_stub.add_response("put_parameter", {"Version": 1})
        ses_stub.add_client_error("set_active_receipt_rule_set", "AccessDenied", message, http_status_code=403)
        # The failed Create undoes its record (its activation never landed: nothing is active).
        ses_stub.add_response("describe_active_receipt_rule_set", {})
        ssm_stub.add_response(
            "get_parameter",
            {
                "Parameter": {
                    "Name": index.RECORD_PREFIX + OURS,
                    "Type": "String",
                    "Value": json.dumps({"stackId": TEST_STACK_ID, "logicalResourceId": "Resource", "previous": ""}),
                }
            },
        )
        ssm_stub.add_response("delete_parameter", {})
        with pytest.raises(index.ActivationError) as failure:
            index.on_event(cfn_event("Create", _props()), ses, ssm, no_sleep)
        ssm_stub.assert_no_pending_responses()
    assert f"AccessDenied: {message}" in str(failure.value)
    assert "the handler's role lacks this permission" in str(failure.value)


def test_handler_entry_point_uses_real_clients(aws: tuple[Any, Any]) -> None:
    result = index.handler(cfn_event("Create", _props()), None)
    assert result["PhysicalResourceId"] == OURS
    assert active(aws[0]) == OURS


@pytest.mark.parametrize(
    ("resource_id", "previous"),
    [
        (f"{OURS}|previous=", ""),
        (f"{OURS}|previous={WORKMAIL}", WORKMAIL),
        (OURS, None),
        ("AWSCDK::CustomResourceProviderFramework::CREATE_FAILED", None),
        ("|previous=x", None),
    ],
)
def test_legacy_previous(resource_id: str, previous: str | None) -> None:
    assert index.legacy_previous(resource_id) == previous


def test_unknown_request_type_fails(aws: tuple[Any, Any]) -> None:
    with pytest.raises(index.ActivationError, match="unknown request type 'Bogus'"):
        run(aws, cfn_event("Bogus", _props()))
