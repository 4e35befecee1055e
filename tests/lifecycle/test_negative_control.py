"""The conformance suite fails handlers that break their contract: its negative controls.

The suite's speed comes from machinery of its own (one account snapshot per matrix restored before every run, shared
clients, IAM facts read from moto's models). These tests break the identity-policy handler on purpose, in the ways a
custom resource loses or leaks AWS state, and require :func:`conform` to fail each one, naming what went wrong; and
they break the snapshot's restore, which must not let a run start from the account the previous run left. A suite
that passed all of these would pass handlers that lose a domain's sending authorization or delete someone else's.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.lifecycle import harness
from tests.lifecycle.harness import SEQUENCES, AccountSnapshot, Sequence, conform
from tests.lifecycle.test_identity_policy import DOMAIN, IdentityPolicy, index

BY_NAME = {sequence.name: sequence for sequence in SEQUENCES}


def _fails(contract: type[IdentityPolicy], sequence: Sequence, pattern: str) -> str:
    with pytest.raises(AssertionError) as failed:
        conform(contract, sequence)
    assert re.search(pattern, str(failed.value)), str(failed.value)[:2000]
    return str(failed.value)


class DeletesNothing(IdentityPolicy):
    """Answers every Delete with success and leaves the policy on the identity (a stack's delete leaks it)."""

    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        if event["RequestType"] == "Delete":
            return {"PhysicalResourceId": event["PhysicalResourceId"]}
        return super().on_event(event)


class DeletesTheirsToo(IdentityPolicy):
    """Deletes every policy of the identity on Delete, also the one another owner put there."""

    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        answer = super().on_event(event)
        if event["RequestType"] == "Delete":
            self.ses.delete_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="theirs")
        return answer


class SwallowsErrors(IdentityPolicy):
    """Answers success when an AWS call failed: CloudFormation then believes in a policy that does not exist."""

    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            return super().on_event(event)
        except Exception:
            return {"PhysicalResourceId": f"{DOMAIN}|{event['ResourceProperties']['PolicyName']}"}


class ActsBeyondItsRole(IdentityPolicy):
    """Also removes its policy name from another identity, which the synthesized role does not allow."""

    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        answer = super().on_event(event)
        if event["RequestType"] == "Delete":
            ses = harness.shared("handler:identity_policy", index._client)
            ses.delete_email_identity_policy(EmailIdentity="other.example", PolicyName="sesmail-workmail")
        return answer


def test_a_delete_that_deletes_nothing_fails() -> None:
    _fails(DeletesNothing, BY_NAME["delete"], r"policies left behind: \['sesmail-workmail'\]")


def test_deleting_another_owners_policy_fails() -> None:
    _fails(DeletesTheirsToo, BY_NAME["delete"], r"something that belongs to someone else changed")


def test_an_error_answered_as_success_fails_under_a_fault() -> None:
    """Without a fault the handler is right; each fault that ends the create early must show the missing policy."""
    failures = _fails(SwallowsErrors, BY_NAME["create"], r"create fault=\(1, 'denied'\)")
    assert "fault=(0, 'none')" not in failures


def test_a_call_the_synthesized_role_does_not_allow_fails() -> None:
    """The suite plays IAM with exactly the synthesized role policies: a call outside them is denied, and a step that
    fails without a fault fails the suite."""
    _fails(ActsBeyondItsRole, BY_NAME["delete"], r"ses:DeleteEmailIdentityPolicy on \S*identity/other\.example")


@pytest.mark.parametrize("name", ["delete", "update-in-place", "update-replacing-then-rollback"])
def test_a_snapshot_that_restores_nothing_fails(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run must start from the account the sequence's prefix left (here: the policy created). The fault-free
    run ends with the stack's delete, so without a restore the next run would start from an identity without the
    policy, and a handler that recreates what is missing, like this one, would even pass every run: the suite must
    refuse to go on from there."""
    conform(IdentityPolicy, BY_NAME[name])  # the handler conforms with the real restore
    monkeypatch.setattr(AccountSnapshot, "restore", lambda self: None)
    _fails(IdentityPolicy, BY_NAME[name], r"AccountSnapshot.restore did not bring back the account the prefix left")
