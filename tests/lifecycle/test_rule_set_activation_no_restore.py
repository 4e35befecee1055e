"""The cutover's activation (``TakeOverOnly: INBOUND_MAIL``) with ``RestoreOnDelete: "false"``
(``workmail.organizationDeleted``) through the lifecycle suite.

Every sequence and fault of the suite, taking over WorkMail's ``INBOUND_MAIL``: the same contract as
``test_rule_set_activation.py`` except that a completed Delete leaves no set active instead of restoring
``INBOUND_MAIL`` (SetActiveReceiptRuleSet: "To disable your email-receiving through Amazon SES completely, you can call
this API without a RuleSetName", https://docs.aws.amazon.com/ses/latest/APIReference/API_SetActiveReceiptRuleSet.html).
A failed Create still undoes itself back to ``INBOUND_MAIL``: nothing was cut over.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.lifecycle.harness import SEQUENCES, Props, Sequence, conform
from tests.lifecycle.test_rule_set_activation import WORKMAIL, Activation


class NoRestore(Activation):
    """Taking over ``INBOUND_MAIL``, never to restore it."""

    def __init__(self) -> None:
        super().__init__(WORKMAIL)
        self.deleted = False

    def props(self, version: int) -> Props:
        return {**super().props(version), "RestoreOnDelete": "false", "TakeOverOnly": WORKMAIL}

    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        result = super().on_event(event)
        if event["RequestType"] == "Delete":
            self.deleted = True  # the Delete completed: whatever it did, it restored nothing
        return result

    def check_declared(self, props: Props | None, physical_id: str | None) -> None:
        if props is None and self.deleted and not self.removed_by_hand:
            assert self.ours() == {}, f"records left behind: {self.ours()}"
            assert self.active() is None, f"active {self.active()!r}: RestoreOnDelete false restores nothing"
            return
        super().check_declared(props, physical_id)


@pytest.mark.parametrize("sequence", SEQUENCES, ids=lambda s: s.name)
def test_activation_without_restore_conforms(sequence: Sequence) -> None:
    conform(NoRestore, sequence)
