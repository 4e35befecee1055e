"""A first deploy that SES refuses because IAM has not propagated yet: one line saying to run it again (issue 21, 6).

IAM: "IAM uses a distributed computing model called eventual consistency. Any change that you make in IAM ... takes
time to become visible from all possible endpoints" (IAM User Guide, Troubleshoot IAM). SES tests its access when a
receipt rule is created: CreateReceiptRule fails with InvalidS3Configuration, "Amazon SES could not publish to the
bucket, possibly due to permissions issues", InvalidLambdaFunction or InvalidSnsTopic (SES API reference); moto, as
far as it models this, refuses a rule whose S3 action role IAM does not (yet) know with "Could not assume the provided
IAM role" and a rule whose bucket it cannot write with "Could not write to bucket". ``tools/deploy.py`` (behind
``make deploy``) recognizes these answers in a failed deploy's output and adds one line.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import ROOT

SCRIPT = ROOT / "tools" / "deploy.py"
_spec = importlib.util.spec_from_file_location("sesmail_tools_deploy", SCRIPT)
assert _spec is not None and _spec.loader is not None
deploy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(deploy)


def _rule_error(action: dict[str, Any]) -> str:
    with mock_aws():
        ses = boto3.client("ses", region_name="eu-west-1")
        ses.create_receipt_rule_set(RuleSetName="sesmail-prod")
        with pytest.raises(ses.exceptions.ClientError) as refused:
            ses.create_receipt_rule(
                RuleSetName="sesmail-prod",
                Rule={"Name": "mailbox-info", "Enabled": True, "Recipients": ["info@example.com"], "Actions": [action]},
            )
    return str(refused.value)


def test_a_role_iam_does_not_know_yet_is_recognized() -> None:
    role = "arn:aws:iam::123456789012:role/sesmail-prod-MailBucketSesWriter"
    error = _rule_error({"S3Action": {"BucketName": "mail", "IamRoleArn": role}})
    assert "Could not assume the provided IAM role" in error or "Could not write to bucket" in error
    line = deploy.hint(f"CREATE_FAILED | AWS::SES::ReceiptRule | {error}", "prod")
    assert line is not None and "run `make deploy ENV=prod` again" in line and "eventual consistency" in line


def test_a_bucket_ses_cannot_write_yet_is_recognized() -> None:
    error = _rule_error({"S3Action": {"BucketName": "not-yet-writable"}})
    assert deploy.hint(error, "prod") is not None


@pytest.mark.parametrize("code", ["InvalidS3Configuration", "InvalidLambdaFunction", "InvalidSnsTopic"])
def test_each_documented_refusal_is_recognized(code: str) -> None:
    assert deploy.hint(f"Resource handler returned message: ... (Error Code: {code})", "prod") is not None


def test_other_failures_get_no_hint() -> None:
    assert deploy.hint("AlreadyExists: example.com already exists", "prod") is None


def _fake_cdk(tmp_path: Path, output: str, status: int) -> dict[str, str]:
    fake = tmp_path / "cdk"
    fake.write_text(f"#!/bin/sh\ncat <<'OUT'\n{output}\nOUT\nexit {status}\n")
    fake.chmod(0o755)
    return {**os.environ, "SESMAIL_CDK": str(fake)}


def test_a_failed_deploy_keeps_its_status_and_adds_one_line(tmp_path: Path) -> None:
    env = _fake_cdk(tmp_path, "MailDomainRule | CREATE_FAILED | Could not assume the provided IAM role", 1)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "deploy", "prod"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "CREATE_FAILED" in result.stdout, "the CLI's own output passes through"
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("make deploy: SES refused a receipt rule (Could not assume the provided IAM role)")


def test_a_successful_deploy_says_nothing_more(tmp_path: Path) -> None:
    env = _fake_cdk(tmp_path, "sesmail-prod: deploy complete", 0)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "deploy", "prod"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr == ""
