"""Issue 23: the shipped examples synthesize without a warning, so the first synth a newcomer runs is silent unless
something needs them. Uses the session's one synthesis of the project app (no synth of its own)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from tests.conftest import cdk_json_context


@pytest.mark.parametrize("environment", sorted(cdk_json_context()["environments"]))
def test_a_shipped_example_synthesizes_without_warnings(project_app: cdk.App, environment: str) -> None:
    stack = project_app.node.find_child(f"sesmail-{environment}")
    warnings = assertions.Annotations.from_stack(stack).find_warning(  # type: ignore[arg-type]
        "*", assertions.Match.any_value()
    )
    assert [w.entry.data for w in warnings] == []
