"""InboundParser construct: function settings, S3 notification filter, prefix-scoped bucket permissions."""

from __future__ import annotations

import json

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
import pytest
from aws_cdk import assertions

from sesmail.inbound import InboundParser


@pytest.fixture(scope="module")
def template() -> assertions.Template:
    stack = cdk.Stack(cdk.App(), "T", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    bucket = s3.Bucket(stack, "Mail", enforce_ssl=True)
    InboundParser(stack, "Parser", bucket=bucket, prefix="inbound/")
    return assertions.Template.from_stack(stack)


def test_function_no_retries_and_limits(template: assertions.Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Runtime": "python3.14", "MemorySize": 2048, "Environment": {"Variables": {"MAX_MESSAGE_BYTES": "52428800"}}},
    )
    template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 0})


def test_notification_filtered_by_prefix(template: assertions.Template) -> None:
    config = json.dumps(template.find_resources("Custom::S3BucketNotifications"))
    assert '"Prefix"' in config or '"prefix"' in config
    assert "inbound/" in config and "s3:ObjectCreated:*" in config


def test_bucket_access_limited_to_prefix(template: assertions.Template) -> None:
    text = json.dumps(template.find_resources("AWS::IAM::Policy"))
    assert "/inbound/*" in text and '"/*"' not in text


@pytest.mark.parametrize(("prop", "value"), [("memory_size", 64), ("max_message_bytes", 0)])
def test_invalid_props(prop: str, value: int) -> None:
    stack = cdk.Stack(cdk.App(), "T")
    with pytest.raises(ValueError, match=prop):
        InboundParser(stack, "P", bucket=s3.Bucket(stack, "B"), **{prop: value})  # type: ignore[arg-type]
