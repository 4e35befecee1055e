"""Where a WorkMail organization's mailboxes are exported to: a retained, KMS-encrypted bucket and the role WorkMail's
export service assumes, as AWS's "Exporting mailbox content" page documents them.

https://docs.aws.amazon.com/workmail/latest/adminguide/mail-export.html: the prerequisites are "An Amazon S3 bucket
that does not allow public access", "A symmetric AWS KMS CMK" and "An IAM role with a policy that grants permission to
write to the Amazon S3 bucket and encrypt the sent files with the AWS KMS CMK"; "The following resources must all be
in the same AWS Region: Amazon WorkMail organization, AWS KMS CMK, Amazon S3 bucket". ``sesmail workmail export``
starts the jobs (see docs/leaving-workmail.md).
"""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_s3 as s3
from constructs import Construct

from .nag_ids import nag_resource
from .validation import check_workmail_organization_id, is_token
from .workmail_exit.outputs import DEFAULT_PREFIX, OUTPUT_BUCKET, OUTPUT_KEY, OUTPUT_PREFIX, OUTPUT_ROLE

#: The service principal that assumes the export role (the page's trust policy).
EXPORT_SERVICE_PRINCIPAL = "export.workmail.amazonaws.com"
#: The role's S3 actions, exactly the page's ``mailbox-export-policy.json``.
EXPORT_S3_ACTIONS = ("s3:AbortMultipartUpload", "s3:PutObject", "s3:GetBucketPolicyStatus")
#: The role's KMS actions, exactly the page's ``mailbox-export-policy.json``.
EXPORT_KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


class MailboxExportTarget(Construct):
    """The export bucket, its customer-managed key and the role ``export.workmail.amazonaws.com`` assumes.

    The bucket and key are retained when the stack is deleted (they hold the only copy of the mailboxes once the
    organization is gone); public access is blocked and plain-HTTP requests are denied. The role trusts WorkMail's
    export service only for this account's organization (``aws:SourceAccount`` and ``aws:SourceArn``) and may do
    exactly what the page's policy allows. With ``create_outputs`` the stack outputs the bucket, role ARN, key ARN
    and prefix; ``sesmail workmail export ENV`` reads them.
    """

    #: The default key prefix.
    DEFAULT_PREFIX = DEFAULT_PREFIX

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        organization_id: str,
        organization_region: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        server_access_logs_bucket: s3.IBucket | None = None,
        create_outputs: bool = True,
    ) -> None:
        """
        :param organization_id: the WorkMail organization whose mailboxes are exported (``m-`` and 32 hex digits);
            the role trusts the export service for this organization only.
        :param organization_region: the organization's region. Default: the stack's; AWS requires the organization,
            key and bucket in one region, so a concrete different region is refused.
        :param prefix: the key prefix the jobs write under; the key may encrypt only objects under it.
        :param server_access_logs_bucket: where S3 logs requests to the bucket. Default: no access logs (the bucket
            is written only by the export role; its jobs are listed by ListMailboxExportJobs).
        :param create_outputs: add the stack outputs ``sesmail workmail export`` reads (one target per stack).
        """
        check_workmail_organization_id("organization_id", organization_id)
        if not is_token(prefix) and (not prefix or not prefix.strip("/") or len(prefix) > 900):
            raise ValueError(f"prefix: {prefix!r} must be a non-empty key prefix (at most 900 characters)")
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        region = organization_region or stack.region
        if (
            organization_region is not None
            and not is_token(organization_region)
            and not is_token(stack.region)
            and organization_region != stack.region
        ):
            raise ValueError(
                f"organization_region: {organization_region!r} differs from the stack's region {stack.region!r}; "
                "AWS requires the organization, key and bucket in the same region"
            )
        self.prefix = prefix.strip("/")

        self.key = kms.Key(
            self,
            "Key",
            description=f"sesmail: encrypts the mailbox export of WorkMail organization {organization_id}",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            # No S3 Bucket Key: with one, the KMS encryption context is the bucket's ARN instead of the object's, and
            # the role's kms:EncryptionContext:aws:s3:arn condition (the object under the prefix) would never match.
            bucket_key_enabled=False,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=server_access_logs_bucket,
            server_access_logs_prefix="mailbox-export-bucket/" if server_access_logs_bucket else None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbortIncompleteUploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(7)
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        if server_access_logs_bucket is None:
            cdk.Validations.of(self.bucket).acknowledge(
                cdk.Acknowledgment(
                    id="AwsSolutions-S1",
                    reason="Only the export role writes here, once per mailbox; WorkMail's ListMailboxExportJobs and "
                    "DescribeMailboxExportJob record each job. Pass server_access_logs_bucket to log requests.",
                )
            )
        organization_arn = stack.format_arn(
            service="workmail",
            region=region,
            resource="organization",
            resource_name=organization_id,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        # The page's trust policy: StringEquals aws:SourceAccount, ArnLike aws:SourceArn (the organization).
        self.role = iam.Role(
            self,
            "Role",
            description=f"sesmail: WorkMail exports organization {organization_id}'s mailboxes to the bucket",
            assumed_by=iam.ServicePrincipal(
                EXPORT_SERVICE_PRINCIPAL,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": organization_arn},
                },
            ),
        )
        # The page's role policy: the three S3 actions on the bucket and its objects...
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(EXPORT_S3_ACTIONS),
                resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
            )
        )
        # ...and the key, only through S3 and only for objects under the prefix. WorkMail exists only in the aws
        # partition, so the service endpoint is written as the page writes it (s3.<region>.amazonaws.com).
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(EXPORT_KMS_ACTIONS),
                resources=[self.key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": self.bucket.arn_for_objects(f"{self.prefix}*")},
                },
            )
        )
        cdk.Validations.of(self.role).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_resource(self, self.bucket.arn_for_objects('*'))}]",
                reason="AWS's mail-export page grants s3:PutObject and s3:AbortMultipartUpload on bucket/*: WorkMail "
                "names the export objects; the KMS statement limits encryption to objects under the prefix.",
            )
        )
        if create_outputs:
            for output_id, value, description in (
                ("BucketName", self.bucket.bucket_name, OUTPUT_BUCKET),
                ("RoleArn", self.role.role_arn, OUTPUT_ROLE),
                ("KeyArn", self.key.key_arn, OUTPUT_KEY),
                ("Prefix", self.prefix, OUTPUT_PREFIX),
            ):
                cdk.CfnOutput(self, output_id, value=value, description=description)

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` download and decrypt the exported mailboxes."""
        return self.bucket.grant_read(grantee).combine(self.key.grant_decrypt(grantee))
