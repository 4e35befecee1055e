"""The receipt-rule-set activation handler against moto (SES v1) and botocore's Stubber.

moto keeps the account's rule sets and which one is active, so most cases assert the state SES ends up in together with
what the Provider framework reports to CloudFormation (physical id and data, or the exception that becomes the FAILED
reason). Stubber covers what moto cannot produce: throttling, access errors, and "no SES call at all".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.conftest import cfn_event, load_handler, no_sleep

index = load_handler("rule_set_activation")

OURS = "sesmail-example"
WORKMAIL = "INBOUND_MAIL"
HINT = "takeOverActiveRuleSet: true (environments.prod)"


def _props(name: str = OURS, take_over: bool = False, **extra: str) -> dict[str, Any]:
    return {"RuleSetName": name, "TakeOverActiveRuleSet": "true" if take_over else "false", **extra}


@pytest.fixture()
def ses() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("ses", region_name="us-east-1")
        for name in (OURS, "sesmail-renamed", WORKMAIL, "someone-else"):
            client.create_receipt_rule_set(RuleSetName=name)
        yield client


def active(ses: Any) -> str | None:
    return ses.describe_active_receipt_rule_set().get("Metadata", {}).get("Name")


def run(ses: Any, event: dict) -> dict:
    return index.on_event(event, ses=ses, sleep=no_sleep)


# --- create -----------------------------------------------------------------------------------------------------


def test_create_with_none_active_activates_ours_and_records_no_previous(ses: Any) -> None:
    result = run(ses, cfn_event("Create", _props()))
    assert active(ses) == OURS
    assert result == {
        "PhysicalResourceId": f"{OURS}|previous=",
        "Data": {"RuleSetName": OURS, "PreviousRuleSetName": ""},
    }


def test_create_when_ours_is_already_active_succeeds_unchanged(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=OURS)
    result = run(ses, cfn_event("Create", _props()))
    assert active(ses) == OURS
    assert result["PhysicalResourceId"] == f"{OURS}|previous="


def test_create_with_another_active_and_no_takeover_fails_and_changes_nothing(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    with pytest.raises(index.ActivationError) as failure:
        run(ses, cfn_event("Create", _props(TakeOverHint=HINT)))
    assert str(failure.value) == (
        "receipt rule set 'INBOUND_MAIL' is active in this account and region and was not activated by sesmail; "
        "set takeOverActiveRuleSet: true (environments.prod) to replace it (it is restored when this stack is deleted)"
    )
    assert active(ses) == WORKMAIL


def test_refusal_without_a_hint_names_the_construct_prop(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    with pytest.raises(index.ActivationError, match=r"'INBOUND_MAIL' .* set take_over_active_rule_set=True to"):
        run(ses, cfn_event("Create", _props()))


def test_create_with_takeover_activates_ours_and_records_the_previous(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    result = run(ses, cfn_event("Create", _props(take_over=True)))
    assert active(ses) == OURS
    assert result == {
        "PhysicalResourceId": f"{OURS}|previous={WORKMAIL}",
        "Data": {"RuleSetName": OURS, "PreviousRuleSetName": WORKMAIL},
    }


def test_create_of_a_missing_rule_set_fails_with_ses_text(ses: Any) -> None:
    with pytest.raises(index.ActivationError, match=r"'nope': RuleSetDoesNotExist: Rule set does not exist: nope"):
        run(ses, cfn_event("Create", _props("nope")))
    assert active(ses) is None


# --- delete -----------------------------------------------------------------------------------------------------


def test_delete_restores_the_previous_set(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    created = run(ses, cfn_event("Create", _props(take_over=True)))
    result = run(ses, cfn_event("Delete", _props(take_over=True), created["PhysicalResourceId"]))
    assert active(ses) == WORKMAIL
    assert result == {"PhysicalResourceId": f"{OURS}|previous={WORKMAIL}"}


def test_delete_without_a_previous_set_deactivates_receiving(ses: Any) -> None:
    created = run(ses, cfn_event("Create", _props()))
    run(ses, cfn_event("Delete", _props(), created["PhysicalResourceId"]))
    assert active(ses) is None


def test_delete_leaves_a_set_someone_else_activated_since(ses: Any, caplog: pytest.LogCaptureFixture) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    created = run(ses, cfn_event("Create", _props(take_over=True)))
    ses.set_active_receipt_rule_set(RuleSetName="someone-else")
    with caplog.at_level(logging.WARNING):
        run(ses, cfn_event("Delete", _props(), created["PhysicalResourceId"]))
    assert active(ses) == "someone-else"
    assert f"{OURS} is no longer active (active: someone-else)" in caplog.text


def test_delete_when_the_previous_set_is_gone_deactivates_and_says_so(
    ses: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    created = run(ses, cfn_event("Create", _props(take_over=True)))
    ses.delete_receipt_rule_set(RuleSetName=WORKMAIL)
    with caplog.at_level(logging.WARNING):
        run(ses, cfn_event("Delete", _props(), created["PhysicalResourceId"]))
    assert active(ses) is None
    assert "previous receipt rule set INBOUND_MAIL no longer exists; deactivating receiving instead" in caplog.text


def test_delete_with_nothing_active_succeeds(ses: Any) -> None:
    result = run(ses, cfn_event("Delete", _props(), f"{OURS}|previous={WORKMAIL}"))
    assert active(ses) is None
    assert result == {"PhysicalResourceId": f"{OURS}|previous={WORKMAIL}"}


def test_deleting_twice_succeeds_and_keeps_the_restored_set(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    created = run(ses, cfn_event("Create", _props(take_over=True)))
    delete = cfn_event("Delete", _props(), created["PhysicalResourceId"])
    run(ses, delete)
    run(ses, delete)
    assert active(ses) == WORKMAIL


def test_delete_of_a_failed_create_makes_no_ses_call() -> None:
    client = boto3.client("ses", region_name="us-east-1")
    # No responses queued: any SES call would raise.
    with Stubber(client) as stub:
        index.on_event(cfn_event("Delete", _props(), "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"), client)
        stub.assert_no_pending_responses()


# --- update -----------------------------------------------------------------------------------------------------


def test_rename_activates_the_new_set_keeps_the_original_previous_and_old_delete_is_harmless(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    created = run(ses, cfn_event("Create", _props(take_over=True)))
    updated = run(ses, cfn_event("Update", _props("sesmail-renamed"), created["PhysicalResourceId"], old=_props()))
    assert active(ses) == "sesmail-renamed"
    assert updated == {
        "PhysicalResourceId": f"sesmail-renamed|previous={WORKMAIL}",
        "Data": {"RuleSetName": "sesmail-renamed", "PreviousRuleSetName": WORKMAIL},
    }
    # CloudFormation deletes the old physical id after the update: the new set stays active.
    run(ses, cfn_event("Delete", _props(), created["PhysicalResourceId"]))
    assert active(ses) == "sesmail-renamed"
    # Deleting the stack restores what was active before sesmail, not the renamed-away set.
    run(ses, cfn_event("Delete", _props("sesmail-renamed"), updated["PhysicalResourceId"]))
    assert active(ses) == WORKMAIL


def test_update_rollback_reactivates_the_old_set_and_the_failed_ids_delete_leaves_it(ses: Any) -> None:
    created = run(ses, cfn_event("Create", _props()))
    updated = run(ses, cfn_event("Update", _props("sesmail-renamed"), created["PhysicalResourceId"], old=_props()))
    rolled_back = run(ses, cfn_event("Update", _props(), updated["PhysicalResourceId"], old=_props("sesmail-renamed")))
    assert rolled_back["PhysicalResourceId"] == f"{OURS}|previous="
    assert active(ses) == OURS
    run(ses, cfn_event("Delete", _props("sesmail-renamed"), updated["PhysicalResourceId"]))
    assert active(ses) == OURS


def test_update_with_the_same_name_keeps_the_physical_id(ses: Any) -> None:
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    created = run(ses, cfn_event("Create", _props(take_over=True)))
    updated = run(
        ses, cfn_event("Update", _props(take_over=False), created["PhysicalResourceId"], old=_props(take_over=True))
    )
    assert updated == created
    assert active(ses) == OURS


def test_update_with_the_same_name_reactivates_after_someone_deactivated(ses: Any) -> None:
    created = run(ses, cfn_event("Create", _props()))
    ses.set_active_receipt_rule_set()
    updated = run(ses, cfn_event("Update", _props(), created["PhysicalResourceId"], old=_props()))
    assert active(ses) == OURS
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"]


def test_rename_refuses_a_foreign_set_without_takeover(ses: Any) -> None:
    created = run(ses, cfn_event("Create", _props()))
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    with pytest.raises(index.ActivationError, match="'INBOUND_MAIL' is active"):
        run(ses, cfn_event("Update", _props("sesmail-renamed"), created["PhysicalResourceId"], old=_props()))
    assert active(ses) == WORKMAIL


def test_rename_with_takeover_of_a_foreign_set_records_it_as_previous(ses: Any) -> None:
    created = run(ses, cfn_event("Create", _props()))
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    updated = run(
        ses, cfn_event("Update", _props("sesmail-renamed", take_over=True), created["PhysicalResourceId"], old=_props())
    )
    assert updated["PhysicalResourceId"] == f"sesmail-renamed|previous={WORKMAIL}"
    run(ses, cfn_event("Delete", _props(), created["PhysicalResourceId"]))
    assert active(ses) == "sesmail-renamed"


def test_same_name_takeover_keeps_the_id_so_no_old_delete_can_restore_over_ours(
    ses: Any, caplog: pytest.LogCaptureFixture
) -> None:
    created = run(ses, cfn_event("Create", _props()))
    ses.set_active_receipt_rule_set(RuleSetName=WORKMAIL)
    with caplog.at_level(logging.WARNING):
        updated = run(ses, cfn_event("Update", _props(take_over=True), created["PhysicalResourceId"], old=_props()))
    assert active(ses) == OURS
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert "took over from INBOUND_MAIL under the same physical id" in caplog.text


# --- SES errors and throttling (Stubber) ------------------------------------------------------------------------


def _throttled(stub: Stubber, operation: str, times: int) -> None:
    for _ in range(times):
        stub.add_client_error(operation, "Throttling", "Rate exceeded", http_status_code=400)


def test_throttling_is_retried_with_backoff() -> None:
    client = boto3.client("ses", region_name="us-east-1")
    slept: list[float] = []
    with Stubber(client) as stub:
        _throttled(stub, "describe_active_receipt_rule_set", 2)
        stub.add_response("describe_active_receipt_rule_set", {})
        _throttled(stub, "set_active_receipt_rule_set", 1)
        stub.add_response("set_active_receipt_rule_set", {}, {"RuleSetName": OURS})
        result = index.on_event(cfn_event("Create", _props()), client, slept.append)
        stub.assert_no_pending_responses()
    assert slept == [1.0, 2.0, 1.0]
    assert result["PhysicalResourceId"] == f"{OURS}|previous="


def test_throttling_that_never_ends_fails_with_ses_text() -> None:
    client = boto3.client("ses", region_name="us-east-1")
    slept: list[float] = []
    with Stubber(client) as stub:
        _throttled(stub, "describe_active_receipt_rule_set", index.MAX_ATTEMPTS)
        with pytest.raises(index.ActivationError, match=f"'{OURS}': Throttling: Rate exceeded"):
            index.on_event(cfn_event("Create", _props()), client, slept.append)
    assert len(slept) == index.MAX_ATTEMPTS - 1


def test_access_denied_fails_with_ses_text() -> None:
    client = boto3.client("ses", region_name="us-east-1")
    message = "User is not authorized to perform: ses:SetActiveReceiptRuleSet"
    with Stubber(client) as stub:
        stub.add_response("describe_active_receipt_rule_set", {})
        stub.add_client_error("set_active_receipt_rule_set", "AccessDenied", message, http_status_code=403)
        with pytest.raises(index.ActivationError, match=f"could not activate .*: AccessDenied: {message}$"):
            index.on_event(cfn_event("Create", _props()), client, no_sleep)


def test_restore_failing_for_another_reason_fails_the_delete() -> None:
    client = boto3.client("ses", region_name="us-east-1")
    metadata = {"Metadata": {"Name": OURS}, "Rules": []}
    with Stubber(client) as stub:
        stub.add_response("describe_active_receipt_rule_set", metadata)
        stub.add_client_error("set_active_receipt_rule_set", "AccessDenied", "denied", http_status_code=403)
        with pytest.raises(
            index.ActivationError, match=f"could not deactivate receipt rule set '{OURS}': AccessDenied:"
        ):
            index.on_event(cfn_event("Delete", _props(), f"{OURS}|previous={WORKMAIL}"), client, no_sleep)
        stub.assert_no_pending_responses()


def test_deactivation_calls_set_active_without_a_name() -> None:
    client = boto3.client("ses", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("describe_active_receipt_rule_set", {"Metadata": {"Name": OURS}, "Rules": []})
        stub.add_response("set_active_receipt_rule_set", {}, {})
        index.on_event(cfn_event("Delete", _props(), f"{OURS}|previous="), client, no_sleep)
        stub.assert_no_pending_responses()


# --- the Lambda entry point and the physical id ----------------------------------------------------------------


def test_handler_entry_point_uses_a_real_ses_client(ses: Any) -> None:
    result = index.handler(cfn_event("Create", _props()), None)
    assert result["PhysicalResourceId"] == f"{OURS}|previous="
    assert active(ses) == OURS


@pytest.mark.parametrize(
    ("resource_id", "parsed"),
    [
        (f"{OURS}|previous=", (OURS, "")),
        (f"{OURS}|previous={WORKMAIL}", (OURS, WORKMAIL)),
        ("AWSCDK::CustomResourceProviderFramework::CREATE_FAILED", None),
        ("|previous=x", None),
    ],
)
def test_parse_physical_id(resource_id: str, parsed: tuple[str, str] | None) -> None:
    assert index.parse_physical_id(resource_id) == parsed


def test_unknown_request_type_fails(ses: Any) -> None:
    with pytest.raises(index.ActivationError, match="unknown request type 'Bogus'"):
        run(ses, cfn_event("Bogus", _props()))
