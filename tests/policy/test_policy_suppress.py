"""``sesmail.policy_suppress.suppress``: a reasoned suppression written by CDK code reaches the lint."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from sesmail.policy.lint import lint_paths
from sesmail.policy_suppress import suppress


def stack_with_star_send(outdir: Path) -> tuple[cdk.App, cdk.Stack, iam.Role]:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Mail", env=cdk.Environment(account="123456789012", region="us-east-1"))
    role = iam.Role(stack, "Sender", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["ses:SendRawEmail"], resources=["*"]))
    return app, stack, role


def test_a_suppression_in_code_reaches_the_lint_with_its_reason(tmp_path: Path) -> None:
    app, _, role = stack_with_star_send(tmp_path / "out")
    assert role.node.try_find_child("DefaultPolicy") is not None
    before = lint_paths([app.synth().directory])
    assert [(f.rule, f.suppressed) for f in before] == [("SES010", None)]

    app, _, role = stack_with_star_send(tmp_path / "out2")
    policy = role.node.find_child("DefaultPolicy")
    suppress(policy, "SES010", "sends as whichever identity the caller verified", statement="0")
    suppress(policy, "SES010", "sends as whichever identity the caller verified", statement="0")  # idempotent
    (finding,) = lint_paths([app.synth().directory])
    assert finding.suppressed == "sends as whichever identity the caller verified" and not finding.fails


@pytest.mark.parametrize(
    ("rule", "reason", "message"),
    [("SES999", "r", "rule: 'SES999' is not a sesmail lint rule"), ("SES010", " ", "reason: ' ' is empty")],
)
def test_bad_arguments_raise_value_error_naming_the_prop(tmp_path: Path, rule: str, reason: str, message: str) -> None:
    _, _, role = stack_with_star_send(tmp_path)
    with pytest.raises(ValueError, match=message):
        suppress(role, rule, reason)


def test_a_construct_without_a_cfn_resource_is_rejected(tmp_path: Path) -> None:
    _, stack, _ = stack_with_star_send(tmp_path)
    with pytest.raises(ValueError, match="construct: 'Mail' is not a CloudFormation resource"):
        suppress(stack, "SES010", "reason")
