"""The receipt-rule-set activation handler through the lifecycle conformance suite.

SES facts the contract's expectations rest on: "You can only have one active receipt rule set at a time" and
``SetActiveReceiptRuleSet`` "To disable your email-receiving through Amazon SES completely, you can call this API
without a RuleSetName" (https://docs.aws.amazon.com/ses/latest/APIReference/API_SetActiveReceiptRuleSet.html).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_handler, no_sleep
from tests.lifecycle.harness import (
    ACCOUNT,
    REGION,
    SEQUENCES,
    STACK_ID,
    Contract,
    Policies,
    Props,
    Sequence,
    client,
    conform,
    role_policies_from_template,
    shared,
)
from tests.lifecycle.synth import cached, logical_id, template_of

index = load_handler("rule_set_activation")

OURS, RENAMED, WORKMAIL, OTHER = "sesmail-prod", "sesmail-prod-v2", "INBOUND_MAIL", "other-team"
OTHER_STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/other-team/99999999-0000-0000-0000-000000000000"


@cached
def _policies(rule_set_name: str) -> Policies:
    """The handler role's policies in a stack that activates ``rule_set_name`` (as the construct synthesizes them)."""
    from sesmail import ReceiptRuleSetActivation
    from sesmail.receiving.activation import RuleSetActivationProvider

    def build(stack: Any) -> str:
        ReceiptRuleSetActivation(stack, "Activation", rule_set_name=rule_set_name, take_over_active_rule_set=True)
        return logical_id(RuleSetActivationProvider.of(stack).role)

    template, role = template_of(build)
    return role_policies_from_template(template, role, {})


class Activation(Contract):
    """Our set activated into an account where ``initially`` is active (``None``: receiving off)."""

    resource_type = "Custom::SesReceiptRuleSetActivation"
    # moto's SSM backend is slow to reset (it loads AWS's public parameters): the runs wipe our prefix instead.
    backends = ("ses",)

    def __init__(self, initially: str | None) -> None:
        self.initially = initially
        self.removed_by_hand = False

    def setup(self) -> None:
        self.ses = client("ses")
        self.ssm = client("ssm")
        if names := [p["Name"] for p in self.ssm.get_parameters_by_path(Path="/sesmail", Recursive=True)["Parameters"]]:
            self.ssm.delete_parameters(Names=names)
        for name in (OURS, RENAMED, WORKMAIL, OTHER):
            self.ses.create_receipt_rule_set(RuleSetName=name)
        if self.initially:
            self.ses.set_active_receipt_rule_set(RuleSetName=self.initially)
        # Another sesmail stack's record, for a set that is not active: never ours to touch.
        self.ssm.put_parameter(
            Name=index.RECORD_PREFIX + OTHER,
            Type="String",
            Value=json.dumps({"stackId": OTHER_STACK, "logicalResourceId": "Activation", "previous": ""}),
        )

    def props(self, version: int) -> Props:
        take_over = "true" if self.initially else "false"
        return [
            {"RuleSetName": OURS, "TakeOverActiveRuleSet": take_over},
            {"RuleSetName": OURS, "TakeOverActiveRuleSet": take_over, "TakeOverHint": "takeOverActiveRuleSet (prod)"},
            {"RuleSetName": RENAMED, "TakeOverActiveRuleSet": take_over},
        ][version]

    def role_policies(self, version: int) -> Policies:
        return _policies(self.props(version)["RuleSetName"])

    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        # The handler's own clients, made once per matrix after the harness hooked boto3 (client creation is slow).
        return index.on_event(event, *shared("handler:rule_set_activation", index._clients), sleep=no_sleep)

    # The observations read moto's models, the state DescribeActiveReceiptRuleSet and GetParametersByPath answer
    # from: they are not calls of the handler's (nothing to fault or authorize) and each costs microseconds instead
    # of a request (the matrices make thousands). The handler's calls and the contract's own changes use the API.

    def active(self) -> str | None:
        """What DescribeActiveReceiptRuleSet answers as Metadata.Name (``None``: no set is active)."""
        from moto.backends import get_backend

        found = get_backend("ses")[ACCOUNT][REGION].describe_active_receipt_rule_set()
        return found.name if found is not None else None

    def records(self) -> dict[str, dict[str, str]]:
        """What GetParametersByPath(Path=<records' prefix>, Recursive=True) answers, by rule-set name."""
        from moto.backends import get_backend

        backend = get_backend("ssm")[ACCOUNT][REGION]
        found, _ = backend.get_parameters_by_path(index.RECORD_PREFIX.rstrip("/"), recursive=True)
        return {p.name.removeprefix(index.RECORD_PREFIX): json.loads(p.value) for p in found}

    def ours(self) -> dict[str, dict[str, str]]:
        return {name: r for name, r in self.records().items() if r["stackId"] == STACK_ID}

    def check_declared(self, props: Props | None, physical_id: str | None) -> None:
        if props is None:
            assert self.ours() == {}, f"records left behind: {self.ours()}"
            if not self.removed_by_hand:
                assert self.active() == self.initially, f"active {self.active()!r}, expected {self.initially!r} back"
            return
        name = props["RuleSetName"]
        assert self.active() == name
        expected = {name: {"stackId": STACK_ID, "logicalResourceId": "Resource", "previous": self.initially or ""}}
        assert self.ours() == expected
        assert physical_id == OURS, "the physical id is the set's name at create, kept by every update"

    def others(self) -> Any:
        return {n: r for n, r in self.records().items() if r["stackId"] != STACK_ID}

    def remove_by_hand(self, props: Props, physical_id: str) -> None:
        self.removed_by_hand = True
        self.ses.set_active_receipt_rule_set(RuleSetName=OTHER)


@pytest.mark.parametrize("sequence", SEQUENCES, ids=lambda s: s.name)
@pytest.mark.parametrize("initially", [None, WORKMAIL], ids=["receiving-off", "taking-over"])
def test_activation_conforms(sequence: Sequence, initially: str | None) -> None:
    conform(lambda: Activation(initially), sequence)
