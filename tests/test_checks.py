"""cdk-nag (AwsSolutions) and cfn-lint over every environment's template; stable logical ids of stateful resources."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from tests.conftest import ROOT, cdk_json_context

#: Logical ids of resources whose replacement would lose state (DKIM keys, stored mail). Changing one is a breaking
#: change that must be called out, never a side effect of a refactor.
STATEFUL_LOGICAL_IDS = {
    "AWS::SES::EmailIdentity": ["MailDomain015C2F1B"],
    "AWS::S3::Bucket": ["MailBucket7A1944CB", "MailBucketAccessLogsD40CBDAE"],
}
#: Keys that encrypt stored state; other keys of the stack (delivery events) are not in this contract.
STATEFUL_KEY_LOGICAL_IDS = ["MailBucketKey93255E91"]


def test_cdk_nag_passes_on_every_environment(project_app: cdk.App) -> None:
    # project_app is synthesized with AwsSolutionsChecks attached: any unacknowledged finding fails synth.
    assembly = project_app.synth()
    stacks = {artifact.stack_name for artifact in assembly.stacks}
    assert stacks == {f"sesmail-{name}" for name in cdk_json_context()["environments"]}


def test_cdk_nag_is_active_and_fails_synth_on_a_finding() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Bad")
    s3.Bucket(stack, "Open")  # no TLS-only policy, no access logs: AwsSolutions-S1 and -S10
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match=r"(?s)ValidationFailed: .*AwsSolutions-S1'.*AwsSolutions-S10'"):
        app.synth()


#: The shipped examples synthesized as `cdk synth` runs app.py (with aws-cdk-lib's built-in CloudFormation validation,
#: which the other tests turn off, see tests/conftest.py), then a canary app in the same process that it must flag.
_VALIDATED_SYNTH = """
import json, sys
import aws_cdk as cdk
from stacks import build_app
outdir = sys.argv[1]
build_app(cdk.App(outdir=outdir + "/shipped", context=json.loads(sys.argv[2]))).synth()
canary = cdk.App(outdir=outdir + "/canary")
cdk.CfnResource(cdk.Stack(canary, "Canary"), "Bucket", type="AWS::S3::Bucket", properties={"BucketName": "Not Valid"})
canary.synth()
"""


@pytest.fixture(scope="module")
def validated_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("validated")
    env = {k: v for k, v in os.environ.items() if k not in ("CDK_VALIDATION", "CDK_OUTDIR", "CDK_CONTEXT_JSON")}
    context = json.dumps(cdk_json_context())
    result = subprocess.run(
        [sys.executable, "-c", _VALIDATED_SYNTH, str(out), context],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def _violations(report: Path) -> list[str]:
    plugins = json.loads(report.read_text())["pluginReports"]
    return [f"{p['pluginName']}: {v['ruleName']} {v['description']}" for p in plugins for v in p["violations"]]


def test_builtin_cloudformation_validation_reports_nothing(validated_out: Path) -> None:
    """aws-cdk-lib's AppProps.builtinCloudFormationValidation: "CDK ships with a CloudFormation template validation
    plugin that is enabled by default" (its findings are warnings unless @aws-cdk/core:validateAgainstDefaultRules is
    set). The shipped examples give it nothing to report; the canary's bucket name proves it ran in that process."""
    assert _violations(validated_out / "shipped" / "validation-report.json") == []
    canary = _violations(validated_out / "canary" / "validation-report.json")
    assert any("BucketName: 'Not Valid'" in line for line in canary), canary


def test_cfn_lint_reports_nothing(validated_out: Path) -> None:
    manifest = json.loads((validated_out / "shipped" / "manifest.json").read_text())
    templates = [
        validated_out / "shipped" / artifact["properties"]["templateFile"]
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "aws:cloudformation:stack"
    ]
    assert len(templates) == len(cdk_json_context()["environments"])
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint, "cfn-lint is installed with the dev extra"
    result = subprocess.run([cfn_lint, *map(str, templates)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(("resource_type", "logical_ids"), sorted(STATEFUL_LOGICAL_IDS.items()))
def test_stateful_logical_ids_are_stable(
    example_template: Template, resource_type: str, logical_ids: list[str]
) -> None:
    assert sorted(example_template.find_resources(resource_type)) == sorted(logical_ids)


def test_stateful_resources_survive_stack_delete_and_replacement(example_template: Template) -> None:
    """CloudFormation DeletionPolicy (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html):
    "RetainExceptOnCreate behaves like Retain for stack operations, except for the stack operation that initially
    created the resource. If the stack operation that created the resource is rolled back, CloudFormation deletes
    the resource." The domain identity uses it (a failed first deploy must not leave an identity whose name makes the
    retry fail with AlreadyExists); buckets, keys and the queue hold data from their first minute, so Retain."""
    resources = example_template.to_json()["Resources"]
    stateful = [logical_id for logical_ids in STATEFUL_LOGICAL_IDS.values() for logical_id in logical_ids]
    identities = set(STATEFUL_LOGICAL_IDS["AWS::SES::EmailIdentity"])
    for logical_id in [*STATEFUL_KEY_LOGICAL_IDS, *stateful]:
        expected = "RetainExceptOnCreate" if logical_id in identities else "Retain"
        assert resources[logical_id]["DeletionPolicy"] == expected, logical_id
        assert resources[logical_id]["UpdateReplacePolicy"] == "Retain", logical_id
