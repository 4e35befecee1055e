"""100 people in one environment within every AWS limit: the test app at 1, 20 and 100 people, each synthesized
once, checked by cdk-nag (inside synth), sesmail.limits (policies at synth, resources and template size of every
template, nested ones too), cfn-lint and ``sesmail lint``.

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


@pytest.fixture(scope="module", params=COUNTS, ids=lambda n: f"{n}-people")
def assembly(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Any, Any]:
    n = request.param
    app, _stack, credentials = build(n, tmp_path_factory.mktemp(f"people{n}"))
    return n, app.synth(), credentials


def test_every_template_within_cloudformation_limits(assembly: tuple[int, Any, Any]) -> None:
    n, cloud_assembly, _ = assembly
    assert limits.check_assembly(cloud_assembly) == []
    (nested,) = Path(cloud_assembly.directory).glob("*.nested.template.json")
    resources = json.loads(nested.read_text())["Resources"]
    assert len(resources) == 9 + 3 * n, "3 resources a person, 9 shared"
    parent = json.loads((Path(cloud_assembly.directory) / "sesmail-people.template.json").read_text())["Resources"]
    assert sum(r["Type"] == "AWS::CloudFormation::Stack" for r in parent.values()) == 1


def test_policy_per_person_constant_and_handler_policy_independent_of_people(assembly: tuple[int, Any, Any]) -> None:
    n, _, credentials = assembly
    measures = limits.measure_stack(credentials.nested_stack)
    assert not [m for m in measures if m.over]
    users = [m for m in measures if m.what == "IAM user's inline policies"]
    assert len(users) == n
    # jane's policy is as large among 100 people as alone: it holds her own grants only.
    (jane,) = [m.figure for m in users if m.path.endswith("/Personjane/User")]
    (alone,) = [
        m.figure
        for m in limits.measure_stack(build(1)[2].nested_stack)
        if m.what == "IAM user's inline policies" and m.path.endswith("/Personjane/User")
    ]
    assert jane == alone
    handler = [m for m in measures if m.what == "IAM role's inline policies" and m.path.endswith("/Role")]
    (role,) = handler
    assert role.figure < 1_000, "the handler's policy names a path and a tag, not each person"


def test_cfn_lint_and_sesmail_lint_clean(assembly: tuple[int, Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    _, cloud_assembly, _ = assembly
    templates = sorted(Path(cloud_assembly.directory).glob("*.template.json"))
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint
    result = subprocess.run([cfn_lint, *map(str, templates)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
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
