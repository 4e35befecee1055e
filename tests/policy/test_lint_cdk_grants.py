"""No false alarms on what aws-cdk-lib itself writes: its grants, key policies and trust policies lint clean."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from sesmail.policy.lint import lint_paths


def test_cdk_grants_have_no_findings(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Grants", env=cdk.Environment(account="123456789012", region="us-east-1"))
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    user = iam.User(stack, "User")
    key = kms.Key(stack, "Key")
    bucket = s3.Bucket(stack, "Bucket", encryption_key=key, enforce_ssl=True)
    bucket.grant_read_write(role)
    bucket.grant_delete(role)
    bucket.grant_read(user)
    key.grant_encrypt_decrypt(role)
    sns.Topic(stack, "Topic", master_key=key).grant_publish(role)
    queue = sqs.Queue(stack, "Queue")
    queue.grant_send_messages(role)
    queue.grant_consume_messages(role)
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )
    function.grant_invoke(role)
    secretsmanager.Secret(stack, "Secret").grant_read(role)
    logs.LogGroup(stack, "Logs").grant_write(role)

    findings = lint_paths([app.synth().directory])
    assert [f.format() for f in findings] == []
