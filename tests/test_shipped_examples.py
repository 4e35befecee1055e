"""Issue 23: the shipped examples synthesize without a warning, so the first synth a newcomer runs is silent unless
something needs them. Uses the session's one synthesis of the project app (no synth of its own): the warnings are
read from that assembly, which no test changes (``synth_warnings``, not ``Annotations.from_stack``, which would
synthesize the whole app again for each environment)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from tests.conftest import cdk_json_context, synth_warnings


@pytest.mark.parametrize("environment", sorted(cdk_json_context()["environments"]))
def test_a_shipped_example_synthesizes_without_warnings(project_app: cdk.App, environment: str) -> None:
    stack = project_app.node.find_child(f"sesmail-{environment}")
    assert synth_warnings(stack) == []  # type: ignore[arg-type]
