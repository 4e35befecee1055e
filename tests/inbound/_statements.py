"""Statements several inbound construct tests expect in a role's policy."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

from sesmail.inbound import InboundFailures


def failure_queue_statement(stack: cdk.Stack) -> dict[str, Any]:
    """Lambda sends the on-failure record with the function's role: aws-cdk-lib's SqsDestination grants this."""
    queue = InboundFailures.of(stack).queue
    return {
        "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [stack.get_logical_id(queue.node.default_child), "Arn"]},  # type: ignore[arg-type]
    }
