"""MailBucket: encrypted, private, versioned, logged, retained; lifecycle only when asked; props validated."""

from __future__ import annotations

import json
import typing
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from sesmail.receiving import MailBucket
from tests.conftest import cdk_json_context

ACCOUNT = "123456789012"
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
ABORT_UPLOADS = {"Id": "AbortIncompleteUploads", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}


def new_stack() -> cdk.Stack:
    """A stack with the project's feature flags (cdk.json), as in the app."""
    flags = {key: value for key, value in cdk_json_context().items() if key != "environments"}
    return cdk.Stack(cdk.App(context=flags), "Test", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))


class Built:
    """One MailBucket in its own stack, synthesized once."""

    def __init__(self, **props: Any) -> None:
        self.stack = new_stack()
        self.given_logs: s3.IBucket | None = props.pop("given_logs", lambda _stack: None)(self.stack)
        self.mail = MailBucket(self.stack, "MailBucket", access_logs_bucket=self.given_logs, **props)
        self.template = Template.from_stack(self.stack)
        self.resources: dict[str, Any] = self.template.to_json()["Resources"]

    def id_of(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)

    @property
    def bucket(self) -> dict[str, Any]:
        resource: dict[str, Any] = self.resources[self.id_of(self.mail.bucket)]
        return resource

    def policy_statements(self, bucket: s3.IBucket) -> list[dict[str, Any]]:
        policies = self.template.find_resources(
            "AWS::S3::BucketPolicy", {"Properties": {"Bucket": {"Ref": self.id_of(bucket)}}}
        )
        assert len(policies) == 1, policies
        statements: list[dict[str, Any]] = next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]
        return statements


@pytest.fixture(scope="module")
def default() -> Built:
    return Built()


@pytest.fixture(scope="module")
def lifecycle() -> Built:
    return Built(expire_after_days=400, noncurrent_versions_expire_after_days=30, infrequent_access_after_days=90)


def test_only_the_mail_bucket_its_log_bucket_and_one_key(default: Built) -> None:
    default.template.resource_count_is("AWS::S3::Bucket", 2)
    default.template.resource_count_is("AWS::KMS::Key", 1)
    assert default.mail.access_logs_bucket.node.scope is default.mail


def test_sse_kms_with_the_rotating_key_and_bucket_key(default: Built) -> None:
    key_id = default.id_of(default.mail.key)
    assert default.bucket["Properties"]["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                },
            }
        ]
    }
    assert default.resources[key_id]["Properties"]["EnableKeyRotation"] is True


def test_versioned_private_and_owner_enforced(default: Built) -> None:
    properties = default.bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def _tls_only(bucket_id: str) -> dict[str, Any]:
    arn = {"Fn::GetAtt": [bucket_id, "Arn"]}
    return {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [arn, {"Fn::Join": ["", [arn, "/*"]]}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_requests_without_tls_are_denied_on_both_buckets(default: Built) -> None:
    for bucket in (default.mail.bucket, default.mail.access_logs_bucket):
        assert _tls_only(default.id_of(bucket)) in default.policy_statements(bucket)


def test_access_logs_go_to_the_log_bucket_under_a_prefix(default: Built) -> None:
    logs_id = default.id_of(default.mail.access_logs_bucket)
    assert default.bucket["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": logs_id},
        "LogFilePrefix": "mail-bucket/",
    }
    logs = default.resources[logs_id]["Properties"]
    # S3 log delivery cannot write with a KMS key: the log bucket is SSE-S3.
    assert logs["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert logs["LifecycleConfiguration"] == {"Rules": [{"ExpirationInDays": 365, "Status": "Enabled"}]}
    delivery = [s for s in default.policy_statements(default.mail.access_logs_bucket) if s["Effect"] == "Allow"]
    assert delivery == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [logs_id, "Arn"]}, "/mail-bucket/*"]]},
            "Condition": {
                "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [default.id_of(default.mail.bucket), "Arn"]}},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        }
    ]


def test_both_buckets_and_the_key_are_retained_on_delete_and_replacement(default: Built) -> None:
    for construct in (default.mail.bucket, default.mail.access_logs_bucket, default.mail.key):
        resource = default.resources[default.id_of(construct)]
        assert {key: resource.get(key) for key in RETAIN} == RETAIN, construct.node.path


def test_nothing_expires_by_default(default: Built) -> None:
    assert default.bucket["Properties"]["LifecycleConfiguration"] == {"Rules": [{**ABORT_UPLOADS, "Status": "Enabled"}]}


def test_lifecycle_props_are_rendered_exactly(lifecycle: Built) -> None:
    assert lifecycle.bucket["Properties"]["LifecycleConfiguration"] == {
        "Rules": [
            {**ABORT_UPLOADS, "Status": "Enabled"},
            {
                "Id": "MailRetention",
                "Status": "Enabled",
                "ExpirationInDays": 400,
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 90}],
            },
        ]
    }


@pytest.mark.parametrize(
    ("props", "rule"),
    [
        ({"expire_after_days": 1}, {"ExpirationInDays": 1}),
        ({"noncurrent_versions_expire_after_days": 1}, {"NoncurrentVersionExpiration": {"NoncurrentDays": 1}}),
        (
            {"infrequent_access_after_days": 30},
            {"Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]},
        ),
    ],
)
def test_each_lifecycle_prop_alone_adds_only_its_own_setting(props: dict[str, int], rule: dict[str, Any]) -> None:
    built = Built(**props)
    assert built.bucket["Properties"]["LifecycleConfiguration"]["Rules"] == [
        {**ABORT_UPLOADS, "Status": "Enabled"},
        {"Id": "MailRetention", "Status": "Enabled", **rule},
    ]


def test_access_logs_retention_days_sets_the_log_bucket_expiry() -> None:
    built = Built(access_logs_retention_days=90)
    logs = built.resources[built.id_of(built.mail.access_logs_bucket)]["Properties"]
    assert logs["LifecycleConfiguration"] == {"Rules": [{"ExpirationInDays": 90, "Status": "Enabled"}]}


def test_given_imported_log_bucket_is_used_and_none_created() -> None:
    built = Built(given_logs=lambda stack: s3.Bucket.from_bucket_name(stack, "Central", "central-access-logs"))
    built.template.resource_count_is("AWS::S3::Bucket", 1)
    assert built.mail.access_logs_bucket is built.given_logs
    assert built.mail.node.try_find_child("AccessLogs") is None
    assert built.bucket["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": "central-access-logs",
        "LogFilePrefix": "mail-bucket/",
    }


def test_given_log_bucket_of_the_stack_is_used_and_none_created() -> None:
    def central(stack: cdk.Stack) -> s3.IBucket:
        return s3.Bucket(stack, "Central", enforce_ssl=True)

    built = Built(given_logs=central)
    built.template.resource_count_is("AWS::S3::Bucket", 2)
    assert built.mail.node.try_find_child("AccessLogs") is None
    assert built.given_logs is not None
    logs_id = built.id_of(built.given_logs)
    assert built.bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    # Log delivery is allowed into the given bucket, for the mail bucket's prefix.
    built.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logs_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "logging.s3.amazonaws.com"}})]
                )
            },
        },
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"expire_after_days": 0}, "expire_after_days: 0 must be a whole number of days, at least 1"),
        ({"expire_after_days": -1}, "expire_after_days: -1 must be a whole number of days, at least 1"),
        ({"expire_after_days": 1.5}, "expire_after_days: 1.5 must be a whole number of days, at least 1"),
        ({"expire_after_days": "30"}, "expire_after_days: '30' must be a whole number of days, at least 1"),
        ({"expire_after_days": True}, "expire_after_days: True must be a whole number of days, at least 1"),
        (
            {"noncurrent_versions_expire_after_days": 0},
            "noncurrent_versions_expire_after_days: 0 must be a whole number of days, at least 1",
        ),
        (
            {"noncurrent_versions_expire_after_days": False},
            "noncurrent_versions_expire_after_days: False must be a whole number of days, at least 1",
        ),
        (
            {"infrequent_access_after_days": 29},
            "infrequent_access_after_days: 29 must be a whole number of days, at least 30",
        ),
        (
            {"infrequent_access_after_days": 60, "expire_after_days": 60},
            "infrequent_access_after_days: 60 must be less than expire_after_days (60)",
        ),
        (
            {"infrequent_access_after_days": 61, "expire_after_days": 60},
            "infrequent_access_after_days: 61 must be less than expire_after_days (60)",
        ),
        (
            {"access_logs_retention_days": 0},
            "access_logs_retention_days: 0 must be a whole number of days, at least 1",
        ),
        (
            {"access_logs_retention_days": 7.5},
            "access_logs_retention_days: 7.5 must be a whole number of days, at least 1",
        ),
    ],
)
def test_bad_props_are_rejected_naming_prop_and_value(props: dict[str, Any], message: str) -> None:
    stack = new_stack()
    with pytest.raises(ValueError) as error:
        MailBucket(stack, "MailBucket", **props)
    assert str(error.value) == message
    # Validation runs before any child is created.
    assert stack.node.try_find_child("MailBucket") is None or not stack.node.find_child("MailBucket").node.children


def test_unresolved_days_are_accepted() -> None:
    stack = new_stack()
    days = cdk.CfnParameter(stack, "Days", type="Number").value_as_number
    MailBucket(stack, "MailBucket", expire_after_days=days)  # type: ignore[arg-type]
    Template.from_stack(stack).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"ExpirationInDays": {"Ref": "Days"}})])
            }
        },
    )


def test_a_bare_app_without_feature_flags_gets_the_same_bucket_policy_and_no_acl(default: Built) -> None:
    """No ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`` needed: log delivery is granted by bucket policy.

    Amazon S3 User Guide, "Enabling Amazon S3 server access logging"
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html): "If the destination
    bucket uses the Bucket owner enforced setting for Object Ownership, ACLs are disabled and no longer affect
    permissions. You must update the bucket policy on the destination bucket to grant access to the logging service
    principal." An ACL-based grant (``LogDeliveryWrite``) is therefore refused on the owner-enforced log bucket.
    """
    stack = cdk.Stack(cdk.App(), "Bare", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    mail = MailBucket(stack, "MailBucket")
    resources = Template.from_stack(stack).to_json()["Resources"]
    logs = resources[stack.get_logical_id(typing.cast(cdk.CfnElement, mail.access_logs_bucket.node.default_child))][
        "Properties"
    ]
    assert "AccessControl" not in logs
    assert logs["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    policies = [r for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy"]
    bare = sorted(json.dumps(p["Properties"]["PolicyDocument"]["Statement"], sort_keys=True) for p in policies)
    flagged = sorted(
        json.dumps(default.policy_statements(bucket), sort_keys=True)
        for bucket in (default.mail.bucket, default.mail.access_logs_bucket)
    )
    assert bare == flagged


def test_an_imported_log_bucket_gets_a_warning_with_the_statement_its_owner_must_add() -> None:
    built = Built(given_logs=lambda stack: s3.Bucket.from_bucket_name(stack, "Central", "central-access-logs"))
    warnings = Annotations.from_stack(built.stack).find_warning("*", Match.string_like_regexp("its owner must add"))
    assert len(warnings) == 1
    text = str(warnings[0].entry.data)
    assert "central-access-logs" in text and '"logging.s3.amazonaws.com"' in text
    assert "arn:aws:s3:::central-access-logs/mail-bucket/*" in text


def test_lifecycle_periods_may_be_durations_of_whole_days() -> None:
    by_days = Built(expire_after_days=400, noncurrent_versions_expire_after_days=30, infrequent_access_after_days=90)
    by_duration = Built(
        expire_after=cdk.Duration.days(400),
        noncurrent_versions_expire_after=cdk.Duration.days(30),
        infrequent_access_after=cdk.Duration.days(90),
    )
    assert (
        by_duration.bucket["Properties"]["LifecycleConfiguration"]
        == by_days.bucket["Properties"]["LifecycleConfiguration"]
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"expire_after": cdk.Duration.hours(36)}, "expire_after: 1 day 12 hours is not a whole number of days"),
        (
            {"expire_after": cdk.Duration.days(5), "expire_after_days": 5},
            "expire_after: give expire_after or expire_after_days, not both",
        ),
        ({"infrequent_access_after": 90}, "infrequent_access_after: 90 is not a Duration"),
        ({"infrequent_access_after": cdk.Duration.days(10)}, "infrequent_access_after_days: 10 must be a whole number"),
    ],
)
def test_bad_durations_are_refused_naming_the_prop(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        MailBucket(new_stack(), "MailBucket", **props)
    assert str(raised.value).startswith(message)
