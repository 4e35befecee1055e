"""MailboxExportTarget: the bucket, key and role of AWS's "Exporting mailbox content" page, cdk-nag and cfn-lint clean.

https://docs.aws.amazon.com/workmail/latest/adminguide/mail-export.html (IAM policy examples and role creation): the
role policy allows ``s3:AbortMultipartUpload``, ``s3:PutObject``, ``s3:GetBucketPolicyStatus`` on the bucket and
``bucket/*``, and ``kms:Decrypt``, ``kms:GenerateDataKey`` on the key with ``StringEquals kms:ViaService
s3.<region>.amazonaws.com`` and ``StringLike kms:EncryptionContext:aws:s3:arn arn:aws:s3:::<bucket>/<prefix>*``; the
trust policy lets ``export.workmail.amazonaws.com`` ``sts:AssumeRole`` with ``StringEquals aws:SourceAccount`` and
``ArnLike aws:SourceArn arn:aws:workmail:<region>:<account>:organization/<id>``. Prerequisites: "An Amazon S3 bucket
that does not allow public access", "A symmetric AWS KMS CMK".
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import aws_cdk.cx_api as cx_api
import pytest
from aws_cdk.assertions import Template

from sesmail import MailboxExportTarget
from sesmail.workmail_exit.outputs import OUTPUT_BUCKET, OUTPUT_KEY, OUTPUT_PREFIX, OUTPUT_ROLE
from tests.conftest import ROOT, build_app, cdk_json_context

ORG = "m-0123456789abcdef0123456789abcdef"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def assembly() -> cx_api.CloudAssembly:
    """One environment beside WorkMail with ``workmail.mailboxExport``, synthesized once with cdk-nag attached
    (an unacknowledged finding fails synth)."""
    environment = dict(cdk_json_context()["environments"]["example-workmail"])
    environment["workmail"] = {"organizationId": ORG, "mailboxExport": True}
    return build_app({"corp": environment}).synth()


@pytest.fixture(scope="module")
def template(assembly: cx_api.CloudAssembly) -> dict[str, Any]:
    return json.loads(Path(assembly.get_stack_by_name("sesmail-corp").template_full_path).read_text())


def _one(template: dict[str, Any], kind: str, prefix: str = "MailboxExport") -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in template["Resources"].items() if v["Type"] == kind and k.startswith(prefix)]
    return found


def test_bucket_retained_encrypted_with_its_key_private_tls_only(template: dict[str, Any]) -> None:
    """Retained on stack delete (the only copy of the mailboxes once the organization is gone), SSE-KMS with the
    customer-managed key and no S3 Bucket Key (with one, the encryption context would be the bucket's ARN and the
    role's ``kms:EncryptionContext:aws:s3:arn`` condition on the object would never match), public access blocked,
    plain HTTP denied."""
    bucket_id, bucket = _one(template, "AWS::S3::Bucket")
    key_id, key = _one(template, "AWS::KMS::Key")
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {
        "BucketKeyEnabled": False,
        "ServerSideEncryptionByDefault": {
            "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
            "SSEAlgorithm": "aws:kms",
        },
    }
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    _, policy = _one(template, "AWS::S3::BucketPolicy")
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert bucket_id in json.dumps(deny["Resource"])


def test_role_trust_and_permissions_are_the_pages(template: dict[str, Any]) -> None:
    """The role's trust and inline policy are the page's, statement for statement."""
    bucket_id, _ = _one(template, "AWS::S3::Bucket")
    key_id, _ = _one(template, "AWS::KMS::Key")
    role_id, role = _one(template, "AWS::IAM::Role")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "export.workmail.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:workmail:us-east-1:{ACCOUNT}:organization/{ORG}"},
            },
        }
    ]
    (policy,) = [
        p
        for p in template["Resources"].values()
        if p["Type"] == "AWS::IAM::Policy" and p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    bucket_arn = {"Fn::GetAtt": [bucket_id, "Arn"]}
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["s3:AbortMultipartUpload", "s3:GetBucketPolicyStatus", "s3:PutObject"],
            "Effect": "Allow",
            "Resource": [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}],
        },
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
            "Condition": {
                "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
                "StringLike": {
                    "kms:EncryptionContext:aws:s3:arn": {"Fn::Join": ["", [bucket_arn, "/mailbox-export*"]]}
                },
            },
        },
    ]


def test_outputs_are_what_the_export_command_reads(template: dict[str, Any]) -> None:
    """``sesmail workmail export ENV`` finds the target by these output descriptions (DescribeStacks)."""
    outputs = {o["Description"]: o["Value"] for o in template["Outputs"].values() if "Description" in o}
    bucket_id, _ = _one(template, "AWS::S3::Bucket")
    role_id, _ = _one(template, "AWS::IAM::Role")
    key_id, _ = _one(template, "AWS::KMS::Key")
    assert outputs[OUTPUT_BUCKET] == {"Ref": bucket_id}
    assert outputs[OUTPUT_ROLE] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert outputs[OUTPUT_KEY] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert outputs[OUTPUT_PREFIX] == "mailbox-export"


def test_cfn_lint_and_sesmail_lint_are_clean(assembly: cx_api.CloudAssembly) -> None:
    path = assembly.get_stack_by_name("sesmail-corp").template_full_path
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint
    result = subprocess.run([cfn_lint, path], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stdout) == (0, "")
    from sesmail.policy.lint import lint

    report = lint([assembly.directory])
    assert not report.failed, [f.format() for f in report.findings if f.fails]


def test_default_is_no_target() -> None:
    """Without ``mailboxExport`` nothing is added (the shipped example-workmail template is unchanged)."""
    environment = dict(cdk_json_context()["environments"]["example-workmail"])
    stack = build_app({"corp": environment}, with_nag=False).node.find_child("sesmail-corp")
    assert not Template.from_stack(typing.cast(cdk.Stack, stack)).find_outputs("*", {"Description": OUTPUT_BUCKET})


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"organization_id": "m-1"}, "organization_id: 'm-1' is not a WorkMail organization id"),
        ({"organization_id": ORG, "organization_region": "eu-west-1"}, "organization_region: 'eu-west-1' differs"),
        ({"organization_id": ORG, "prefix": "/"}, "prefix: '/' must be a non-empty key prefix"),
    ],
)
def test_bad_props_are_refused(props: dict[str, Any], expected: str) -> None:
    """AWS: "The following resources must all be in the same AWS Region: Amazon WorkMail organization, AWS KMS CMK,
    Amazon S3 bucket"; a bad organization id or prefix is named with its value."""
    stack = cdk.Stack(cdk.App(), "T", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    with pytest.raises(ValueError, match=expected):
        MailboxExportTarget(stack, "Export", **props)


def test_grant_read_lets_a_person_download_and_decrypt() -> None:
    """AWS's page: "the decrypted data is visible to the user who downloads it, as long as the user has access to the
    AWS KMS CMK": reading the export needs the objects and kms:Decrypt on the key; grant_read gives both."""
    import aws_cdk.aws_iam as iam

    stack = cdk.Stack(cdk.App(), "T", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    target = MailboxExportTarget(stack, "Export", organization_id=ORG, create_outputs=False)
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    grant = target.grant_read(reader)
    assert isinstance(grant, iam.Grant) and grant.success
    policy = typing.cast(iam.CfnPolicy, reader.node.find_child("DefaultPolicy").node.default_child)
    statements = json.dumps(stack.resolve(policy.policy_document))
    assert "s3:GetObject*" in statements and "kms:Decrypt" in statements
    assert not Template.from_stack(stack).find_outputs("*")
