"""MailForwarder construct: send permission limited to the mailboxes, environment, validation."""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
import pytest
from aws_cdk import assertions

from sesmail.inbound import MailForwarder

IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"


def _stack() -> tuple[cdk.Stack, s3.Bucket]:
    stack = cdk.Stack(cdk.App(), "T", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    return stack, s3.Bucket(stack, "Mail")


def test_send_permission_and_environment() -> None:
    stack, bucket = _stack()
    MailForwarder(
        stack,
        "Fwd",
        bucket=bucket,
        identity_arn=IDENTITY,
        mailboxes=["info@example.com"],
        forward_to=["s@corp.example"],
    )
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": assertions.Match.array_with(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                            "Resource": IDENTITY,
                            "Condition": {"StringEquals": {"ses:FromAddress": ["info@example.com"]}},
                        }
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": {"FORWARD_TO": "s@corp.example", "MAILBOXES": "info@example.com"}}},
    )


@pytest.mark.parametrize(("prop", "value"), [("forward_to", []), ("mailboxes", ["nope"])])
def test_invalid_addresses(prop: str, value: list[str]) -> None:
    stack, bucket = _stack()
    props = {"mailboxes": ["info@example.com"], "forward_to": ["s@corp.example"], prop: value}
    with pytest.raises(ValueError, match=prop):
        MailForwarder(stack, "Fwd", bucket=bucket, identity_arn=IDENTITY, **props)  # type: ignore[arg-type]
