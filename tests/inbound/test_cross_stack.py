"""The parser and forwarder in another stack than the mail bucket: no dependency cycle, cdk-nag clean.

A bucket notification written in the bucket's stack would make that stack refer to the function (and the
function's stack already refers to the bucket): CloudFormation cannot order two stacks that refer to each other.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from sesmail import MailBucket, MailDomain
from sesmail.inbound import InboundParser, MailForwarder

ENV = cdk.Environment(account="111122223333", region="eu-west-1")


@pytest.fixture(scope="module")
def templates() -> dict[str, Any]:
    app = cdk.App()
    storage = cdk.Stack(app, "Storage", env=ENV)
    mail = MailBucket(storage, "Mail")
    processing = cdk.Stack(app, "Processing", env=ENV)
    InboundParser(processing, "Parser", bucket=mail.bucket, mail_prefixes=["info/"])
    domain = MailDomain(processing, "Domain", domain_name="example.com")
    MailForwarder(
        processing, "Fwd", bucket=mail.bucket, identity=domain, mailboxes=["info@example.com"],
        forward_to=["staff@corp.example"], key_prefixes={"info@example.com": "info/"},
    )  # fmt: skip
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))  # unacknowledged findings fail synth
    assembly = app.synth()
    return {name: assembly.get_stack_by_name(name).template for name in ("Storage", "Processing")}


def test_the_bucket_stack_refers_to_nothing_of_the_function_stack(templates: dict[str, Any]) -> None:
    storage = json.dumps(templates["Storage"])
    assert "Processing" not in storage and "Fn::ImportValue" not in storage


def test_the_notification_is_written_from_the_function_stack_and_merged(templates: dict[str, Any]) -> None:
    notifications = [
        r for r in templates["Processing"]["Resources"].values() if r["Type"] == "Custom::S3BucketNotifications"
    ]
    assert len(notifications) == 1
    properties = notifications[0]["Properties"]
    # aws-cdk-lib's handler merges into the existing configuration of a bucket it does not own.
    assert properties["Managed"] is False
    (config,) = properties["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert config["Filter"] == {"Key": {"FilterRules": [{"Name": "prefix", "Value": "info/"}]}}
