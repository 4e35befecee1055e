"""cdk-nag (AwsSolutions) and cfn-lint over every environment's template; stable logical ids of stateful resources."""

from __future__ import annotations

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


def test_cfn_lint_reports_nothing(project_app: cdk.App, tmp_path: Path) -> None:
    assembly = project_app.synth()
    templates = [Path(assembly.directory) / artifact.template_file for artifact in assembly.stacks]
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
