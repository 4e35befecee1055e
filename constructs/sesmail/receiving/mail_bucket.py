"""The bucket received mail is stored in: encrypted, private, versioned, logged, and never deleted with the stack."""

from __future__ import annotations

import json
import typing

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_s3 as s3
from constructs import Construct

from .. import limits

_ACCESS_LOGS_PREFIX = "mail-bucket/"


class MailBucket(Construct):
    """An S3 bucket for received mail and its rotating KMS key, both retained on stack delete and replacement.

    Public access is blocked, requests without TLS are denied, objects are encrypted with the key (SSE-KMS, bucket
    key on), versioning keeps overwritten or deleted messages, and server access logs go to a second bucket. Nothing
    expires unless a lifecycle prop says so: an update or delete of the stack never removes received mail.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        expire_after_days: int | None = None,
        noncurrent_versions_expire_after_days: int | None = None,
        infrequent_access_after_days: int | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        access_logs_retention_days: int = 365,
        transitional_ses_grants: bool = False,
        expire_after: cdk.Duration | None = None,
        noncurrent_versions_expire_after: cdk.Duration | None = None,
        infrequent_access_after: cdk.Duration | None = None,
    ) -> None:
        """
        :param expire_after_days: default ``None``, messages are kept until someone deletes them. A number deletes
            each message that many days after it arrived (it stays as a noncurrent version; see below).
        :param noncurrent_versions_expire_after_days: default ``None``, overwritten or deleted messages stay
            recoverable indefinitely. A number removes them for good that many days after they became noncurrent.
        :param infrequent_access_after_days: default ``None``, messages stay in S3 Standard. A number (at least 30)
            moves them to Standard-IA that many days after arrival.
        :param transitional_ses_grants: default ``False``: SES writes only through the S3 action's role, and the
            bucket and key policies name no ``ses.amazonaws.com``. ``True`` also keeps the grants releases before the
            role used (a bucket-policy ``s3:PutObject`` per rule and a key-policy ``kms:GenerateDataKey*`` through
            S3, both scoped to the rule), for one deploy: the update that moves existing rules to the role cannot
            then remove SES's old access before the rules use the role. Deploy once with it, then without.
        :param access_logs_bucket: default ``None``, a retained log bucket is created (SSE-S3: S3 log delivery
            cannot write with a KMS key). Pass a bucket to collect logs centrally.
        :param access_logs_retention_days: default 365, how long the created log bucket keeps logs.
        :param expire_after: ``expire_after_days`` as a ``Duration`` of whole days (give one or the other).
        :param noncurrent_versions_expire_after: ``noncurrent_versions_expire_after_days`` as a ``Duration``.
        :param infrequent_access_after: ``infrequent_access_after_days`` as a ``Duration``.
        """
        expire_after_days = _days("expire_after", expire_after, "expire_after_days", expire_after_days)
        noncurrent_versions_expire_after_days = _days(
            "noncurrent_versions_expire_after",
            noncurrent_versions_expire_after,
            "noncurrent_versions_expire_after_days",
            noncurrent_versions_expire_after_days,
        )
        infrequent_access_after_days = _days(
            "infrequent_access_after",
            infrequent_access_after,
            "infrequent_access_after_days",
            infrequent_access_after_days,
        )
        super().__init__(scope, construct_id)
        #: whether the pre-role SES grants are kept for a migration deploy (see ``transitional_ses_grants``).
        self.transitional_ses_grants = transitional_ses_grants
        for prop, value, minimum in (
            ("expire_after_days", expire_after_days, 1),
            ("noncurrent_versions_expire_after_days", noncurrent_versions_expire_after_days, 1),
            ("infrequent_access_after_days", infrequent_access_after_days, 30),
            ("access_logs_retention_days", access_logs_retention_days, 1),
        ):
            if value is None or cdk.Token.is_unresolved(value):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{prop}: {value!r} must be a whole number of days, at least {minimum}")
        if (
            isinstance(expire_after_days, int)
            and isinstance(infrequent_access_after_days, int)
            and not cdk.Token.is_unresolved(expire_after_days)
            and not cdk.Token.is_unresolved(infrequent_access_after_days)
            and infrequent_access_after_days >= expire_after_days
        ):
            raise ValueError(
                f"infrequent_access_after_days: {infrequent_access_after_days!r} must be less than "
                f"expire_after_days ({expire_after_days!r})"
            )

        limits.watch(self)  # the bucket and key policies, and the stack's other policies, are measured at synth
        self.key = kms.Key(
            self,
            "Key",
            description="sesmail: encrypts received mail at rest",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        if access_logs_bucket is None:
            access_logs_bucket = s3.Bucket(
                self,
                "AccessLogs",
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(access_logs_retention_days))],
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            cdk.Validations.of(access_logs_bucket).acknowledge(
                cdk.Acknowledgment(
                    id="AwsSolutions-S1",
                    reason="This is the access-log bucket of the mail bucket; logging it into itself would loop.",
                )
            )
        self.access_logs_bucket = access_logs_bucket

        transitions = (
            [
                s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=cdk.Duration.days(infrequent_access_after_days),
                )
            ]
            if infrequent_access_after_days is not None
            else None
        )
        lifecycle = [
            s3.LifecycleRule(id="AbortIncompleteUploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(7))
        ]
        if expire_after_days is not None or noncurrent_versions_expire_after_days is not None or transitions:
            lifecycle.append(
                s3.LifecycleRule(
                    id="MailRetention",
                    expiration=cdk.Duration.days(expire_after_days) if expire_after_days is not None else None,
                    noncurrent_version_expiration=(
                        cdk.Duration.days(noncurrent_versions_expire_after_days)
                        if noncurrent_versions_expire_after_days is not None
                        else None
                    ),
                    transitions=transitions,
                )
            )
        self.bucket = s3.Bucket(
            self,
            "Resource",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=lifecycle,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self._log_to(access_logs_bucket, _ACCESS_LOGS_PREFIX)

    def _log_to(self, logs: s3.IBucket, prefix: str) -> None:
        """Server access logs into ``logs`` through a bucket policy for S3's logging service, never an ACL.

        aws-cdk-lib's ``server_access_logs_bucket`` grants log delivery with the ``LogDeliveryWrite`` ACL unless the
        app sets ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy``, and an ACL cannot be set on a bucket whose
        ownership is ``BucketOwnerEnforced``. Writing the policy here makes the construct work under any flags.
        """
        cfn = typing.cast(s3.CfnBucket, self.bucket.node.default_child)
        cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=logs.bucket_name, log_file_prefix=prefix
        )
        # "Grant permissions to the logging service principal by using a bucket policy", scoped to this source
        # bucket and account: https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
        statement = iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[logs.arn_for_objects(f"{prefix}*")],
            conditions={
                "ArnLike": {"aws:SourceArn": self.bucket.bucket_arn},
                "StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account},
            },
        )
        if not logs.add_to_resource_policy(statement).statement_added:
            document = json.dumps(cdk.Stack.of(self).resolve(statement.to_statement_json()), sort_keys=True)
            cdk.Annotations.of(self).add_warning_v2(
                "sesmail:mailBucket:accessLogsPolicyNotAdded",
                f"access_logs_bucket {logs.bucket_name}: its owner must add this statement to its bucket policy "
                f"before S3 can deliver the mail bucket's access logs: {document}",
            )


def _days(prop: str, duration: cdk.Duration | None, days_prop: str, days: int | None) -> int | None:
    """A lifecycle period given as a ``Duration`` (``prop``) or a number of days (``days_prop``), in days."""
    if duration is None:
        return days
    if days is not None:
        raise ValueError(f"{prop}: give {prop} or {days_prop}, not both")
    if not isinstance(duration, cdk.Duration):
        raise ValueError(f"{prop}: {duration!r} is not a Duration (use cdk.Duration.days(n), or {days_prop}=n)")
    try:
        return int(duration.to_days())
    except Exception:
        raise ValueError(f"{prop}: {duration.to_human_string()} is not a whole number of days") from None
