"""100 people in one environment within every AWS limit: the test app at 1, 20 and 100 people, each synthesized
once, checked by cdk-nag (inside synth), sesmail.limits (policies at synth, resources and template size of every
template, nested ones too), cfn-lint and ``sesmail lint``. The tests only read the three assemblies (and measure their
stacks), so they share them, and one cfn-lint run covers the three.

CloudFormation: "Resources | The maximum number of resources that you can declare in your CloudFormation template. |
500 resources" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html). IAM: "User
policy size can't exceed 2,048 characters. Role policy size can't exceed 10,240 characters."
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest

from sesmail import limits
from sesmail.policy.cli import main as sesmail_main
from tests.inbound.people_app import build

COUNTS = (1, 20, 100)


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Any, Any]]:
    """Each count's app synthesized once for the module: the tests only read the assemblies and measure the stacks."""
    found = {}
    for n in COUNTS:
        app, _stack, credentials = build(n, tmp_path_factory.mktemp(f"people{n}"))
        found[n] = (app.synth(), credentials)
    return found


@pytest.fixture(params=COUNTS, ids=lambda n: f"{n}-people")
def assembly(request: pytest.FixtureRequest, assemblies: dict[int, tuple[Any, Any]]) -> tuple[int, Any, Any]:
    n = request.param
    return n, *assemblies[n]


@pytest.fixture(scope="module")
def cfn_lint(assemblies: dict[int, tuple[Any, Any]]) -> subprocess.CompletedProcess[str]:
    """cfn-lint run once over the templates of every count (one start of cfn-lint instead of one per count), one
    finding a line (``--format parseable``: ``<template path>:<line>:<column>:...``), so each count's test picks its
    own templates' findings."""
    templates = [p for cloud_assembly, _ in assemblies.values() for p in _templates(cloud_assembly)]
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint
    return subprocess.run(
        [cfn_lint, "--format", "parseable", *map(str, templates)], capture_output=True, text=True, timeout=600
    )


def _templates(cloud_assembly: Any) -> list[Path]:
    return sorted(Path(cloud_assembly.directory).glob("*.template.json"))


def test_every_template_within_cloudformation_limits(assembly: tuple[int, Any, Any]) -> None:
    n, cloud_assembly, _ = assembly
    assert limits.check_assembly(cloud_assembly) == []
    (nested,) = Path(cloud_assembly.directory).glob("*.nested.template.json")
    resources = json.loads(nested.read_text())["Resources"]
    assert len(resources) == 9 + 3 * n, "3 resources a person, 9 shared"
    parent = json.loads((Path(cloud_assembly.directory) / "sesmail-people.template.json").read_text())["Resources"]
    assert sum(r["Type"] == "AWS::CloudFormation::Stack" for r in parent.values()) == 1


def test_policy_per_person_constant_and_handler_policy_independent_of_people(
    assembly: tuple[int, Any, Any], assemblies: dict[int, tuple[Any, Any]]
) -> None:
    n, _, credentials = assembly
    measures = limits.measure_stack(credentials.nested_stack)
    assert not [m for m in measures if m.over]
    users = [m for m in measures if m.what == "IAM user's inline policies"]
    assert len(users) == n
    # jane's policy is as large among 100 people as alone: it holds her own grants only.
    (jane,) = [m.figure for m in users if m.path.endswith("/Personjane/User")]
    (alone,) = [
        m.figure
        for m in limits.measure_stack(assemblies[1][1].nested_stack)  # jane alone: the 1-person app
        if m.what == "IAM user's inline policies" and m.path.endswith("/Personjane/User")
    ]
    assert jane == alone
    handler = [m for m in measures if m.what == "IAM role's inline policies" and m.path.endswith("/Role")]
    (role,) = handler
    assert role.figure < 1_000, "the handler's policy names a path and a tag, not each person"


def test_cfn_lint_and_sesmail_lint_clean(
    assembly: tuple[int, Any, Any],
    cfn_lint: subprocess.CompletedProcess[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, cloud_assembly, _ = assembly
    findings = cfn_lint.stdout.splitlines()
    mine = {str(path) for path in _templates(cloud_assembly)}
    assert mine
    assert [line for line in findings if line.split(":", 1)[0] in mine] == [], cfn_lint.stdout + cfn_lint.stderr
    # Any other exit than 0 comes from another count's findings (its own test fails), never from cfn-lint failing.
    assert cfn_lint.returncode == 0 or (findings and not cfn_lint.stderr), cfn_lint.stdout + cfn_lint.stderr
    assert sesmail_main(["lint", cloud_assembly.directory]) == 0, capsys.readouterr().out


def test_more_people_than_one_nested_stack_holds_is_refused_in_one_line() -> None:
    from sesmail.inbound.people import MAX_PEOPLE_PER_STACK

    app, _, _ = build(MAX_PEOPLE_PER_STACK + 1)
    with pytest.raises(Exception, match="give the others to a second PeopleSmtpCredentials") as raised:
        app.synth(validate_on_synthesis=True)
    assert "CloudFormation allows 500" in str(raised.value)
    assert isinstance(app, cdk.App)


def test_check_assembly_counts_the_resources_of_nested_templates(tmp_path: Path) -> None:
    """A nested stack is a stack: the same 500 resources (cloudformation-limits.html, cited above)."""
    too_many = {"Resources": {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(501)}}
    (tmp_path / "parentPeopleStackABCD1234.nested.template.json").write_text(json.dumps(too_many))

    (line,) = limits.check_assembly(SimpleNamespace(directory=str(tmp_path), stacks=[]))
    assert line.startswith("parentPeopleStackABCD1234.nested: template has 501 resources; CloudFormation allows 500")
