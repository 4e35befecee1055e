"""Least-privilege plumbing shared by the inbound Lambdas: own roles and log groups, exact object grants, cdk-nag.

aws-cdk-lib's defaults (the ``AWSLambdaBasicExecutionRole`` managed policy, ``bucket.grant_read``'s ``s3:GetObject*``
and ``s3:List*``, ``key.grant_encrypt_decrypt``'s ``kms:ReEncrypt*``) grant more than the handlers call, so these
helpers build the role and each statement explicitly, and acknowledge a cdk-nag wildcard only where the wildcard is
the point of the grant (object keys that are SES message ids, known only when mail arrives).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_s3_notifications as s3n
from constructs import Construct

from ..nag_ids import nag_resource

#: Id of aws-cdk-lib's singleton behind ``bucket.add_event_notification`` (fixed in aws-cdk-lib).
NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"

_CONFIGURATION_SET_ARN = re.compile(r"^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:configuration-set/[A-Za-z0-9_-]{1,64}$")


def grant_objects(
    role: iam.Role, bucket: s3.IBucket, *, actions: Sequence[str], key_patterns: Sequence[str], reason: str
) -> None:
    """Allow exactly ``actions`` on the objects matching ``key_patterns``, acknowledging each pattern's wildcard.

    :param reason: why the keys cannot be listed in advance; recorded with each acknowledgement.
    """
    resources = [bucket.arn_for_objects(pattern) for pattern in key_patterns]
    role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=resources))
    for resource in resources:
        flat = nag_resource(role, resource, cdk.Stack.of(bucket))
        if "*" in flat:
            cdk.Validations.of(role).acknowledge(
                cdk.Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{flat}]", reason=reason)
            )


def acknowledge_notifications_handler(scope: Construct) -> None:
    """Acknowledge cdk-nag's IAM4 on aws-cdk-lib's bucket-notifications singleton; call after adding a notification.

    That handler's role is created by aws-cdk-lib with ``AWSLambdaBasicExecutionRole`` and cannot be replaced; its own
    statement is ``s3:PutBucketNotification`` for the custom resource that writes the bucket's configuration.
    """
    handler = cdk.Stack.of(scope).node.try_find_child(NOTIFICATIONS_HANDLER_ID)
    if handler is None:
        # An imported bucket in another stack, or none added: nothing of ours to acknowledge.
        return
    function = handler.node.try_find_child("Resource")
    if isinstance(function, cdk.CfnResource):
        # aws-cdk-lib's function depends on nothing but its role, which its Role: Fn::GetAtt already orders; cfn-lint
        # would report W3005 for it, so the check is switched off for this one resource, in the template.
        function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
    cdk.Validations.of(handler).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            reason=(
                "aws-cdk-lib's BucketNotificationsHandler singleton creates its own role with the managed "
                "AWSLambdaBasicExecutionRole (log writing only) and offers no way to replace it; it runs only "
                "during deployment to put the bucket's notification configuration."
            ),
        )
    )


def check_configuration_set_arn(prop: str, value: str | None) -> None:
    """``None``, a token, or ``arn:<partition>:ses:<region>:<account>:configuration-set/<name>``."""
    if value is None or (isinstance(value, str) and cdk.Token.is_unresolved(value)):
        return
    if not isinstance(value, str) or not _CONFIGURATION_SET_ARN.match(value):
        raise ValueError(f"{prop}: {value!r} is not an SES configuration set ARN")


def common_path(prefixes: Sequence[str]) -> str:
    """The longest leading run of whole ``/``-ended path segments that every prefix starts with (``""`` if none).

    One object pattern for many mailbox prefixes keeps a role's policy the same size however many mailboxes there
    are (IAM allows 10,240 characters of inline policy per role).
    """
    common = prefixes[0]
    for other in prefixes[1:]:
        while not other.startswith(common):
            common = common[:-1]
    return common[: common.rfind("/") + 1]


# ObjectCreated prefixes each bucket notifies sesmail's functions of, with the construct that asked (per bucket).
_NOTIFIED: weakref.WeakKeyDictionary[s3.IBucket, list[tuple[str, str]]] = weakref.WeakKeyDictionary()


def notify_object_created(scope: Construct, bucket: s3.IBucket, function: lambda_.IFunction, prefix: str) -> None:
    """Notify ``function`` of objects created under ``prefix`` in ``bucket``, refusing an overlap with another
    sesmail notification on that bucket.

    S3 refuses the whole notification configuration of a bucket whose filters for one event type overlap:
    "Overlapping prefixes and suffixes are not supported" (FilterRule, S3 API reference,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_FilterRule.html); the deploy would fail at the bucket's
    notification custom resource, so synth refuses it and names the construct holding the other prefix.
    """
    taken = _NOTIFIED.setdefault(bucket, [])
    here = scope.node.path  # read once: each read is a call into the jsii runtime, and ``taken`` grows per prefix
    for other_prefix, other_path in taken:
        if other_path != here and (prefix.startswith(other_prefix) or other_prefix.startswith(prefix)):
            raise ValueError(
                f"prefix: {prefix!r} overlaps {other_prefix!r}, which {other_path} is already notified of on this "
                "bucket; S3 refuses overlapping ObjectCreated filters (give them disjoint prefixes)"
            )
    taken.append((prefix, here))
    # S3 rejects an empty key filter: without a prefix the notification covers the whole bucket.
    filters = [s3.NotificationKeyFilter(prefix=prefix)] if prefix else []
    target = bucket
    if cdk.Stack.of(bucket) is not cdk.Stack.of(scope):
        # A bucket of another stack: its notification is written from this stack (aws-cdk-lib's handler then merges
        # it into the bucket's configuration instead of owning it), so the bucket's stack never refers to this
        # function and the two stacks depend one way only.
        target = s3.Bucket.from_bucket_attributes(
            scope, f"Bucket{len(taken)}", bucket_name=bucket.bucket_name, bucket_arn=bucket.bucket_arn
        )
    target.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(function), *filters)


def grant_send_as(role: iam.IRole, resources: Sequence[str], mailboxes: Sequence[str], send_as: Sequence[str]) -> None:
    """``ses:SendEmail``/``ses:SendRawEmail`` on ``resources`` (identities and their configuration sets) as exactly
    ``mailboxes`` and the plain addresses of ``send_as`` (``StringEquals``: ``ses:FromAddress`` is single-valued, and
    ``ForAllValues`` would also pass a request without one), and as its ``*@<domain>`` patterns (``StringLike``: one
    line per domain however large its address book; a routing table decides which address each send is from).
    SES v2 SendEmail with raw content is authorized as ``ses:SendRawEmail``; ``ses:SendEmail`` covers the simple form.
    """
    exact = list(dict.fromkeys([*mailboxes, *(a for a in send_as if "*" not in a)]))
    patterns = [a for a in send_as if "*" in a]
    for operator, addresses in (("StringEquals", exact), ("StringLike", patterns)):
        if addresses:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["ses:SendEmail", "ses:SendRawEmail"],
                    resources=list(resources),
                    conditions={operator: {"ses:FromAddress": addresses}},
                )
            )
