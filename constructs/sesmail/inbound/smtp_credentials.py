"""SES SMTP credentials that may send only as given addresses: IAM user, deploy-time access key, KMS secret."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_logs as logs
import aws_cdk.aws_secretsmanager as secretsmanager
import aws_cdk.custom_resources as cr
from constructs import Construct

from .._assets import handler_code
from ..validation import is_token


class SmtpCredentials(Construct):
    """An IAM user allowed only ``ses:SendRawEmail`` as ``from_addresses`` on ``identity_arn``, with SMTP credentials.

    The access key is created at deploy time by a custom resource, which derives the SMTP password (SES version 4) and
    stores ``{"username", "password", "endpoint", "port"}`` in :attr:`secret`. Neither appears in the template, the
    outputs or the logs. Change ``rotation_token`` to rotate the key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity_arn: str,
        from_addresses: Sequence[str],
        encryption_key: kms.IKey | None = None,
        rotation_token: str = "1",
    ) -> None:
        """
        :param identity_arn: ARN of the SES identity (domain) the user may send through.
        :param from_addresses: the only addresses the user may send as (``ses:FromAddress``); at least one.
        :param encryption_key: KMS key for the secret. Default: a new customer-managed key with rotation enabled.
        :param rotation_token: any string; changing it creates a new access key and deletes the old one.
            Default ``"1"``: the key is created once and kept.
        """
        addresses = list(from_addresses)
        if not addresses:
            raise ValueError(f"from_addresses must name at least one address, got {addresses!r}")
        for address in addresses:
            if not is_token(address) and address.count("@") != 1:
                raise ValueError(f"from_addresses: {address!r} is not an e-mail address")
        super().__init__(scope, construct_id)
        region = cdk.Stack.of(self).region
        self.user = iam.User(self, "Resource")
        self.user.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:SendRawEmail"],
                resources=[identity_arn],
                # FromAddress is single-valued: ForAllValues would also pass a request without one.
                conditions={"StringEquals": {"ses:FromAddress": addresses}},
            )
        )
        self.key = encryption_key or kms.Key(self, "Key", enable_key_rotation=True, description="SES SMTP credentials")
        self.secret = secretsmanager.Secret(
            self, "Secret", encryption_key=self.key, description="SES SMTP username and password"
        )
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        function = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=handler_code("smtp_credentials"),
            timeout=cdk.Duration.minutes(1),
            log_group=log_group,
            description="sesmail: SES SMTP credentials custom resource",
        )
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["iam:CreateAccessKey", "iam:DeleteAccessKey"], resources=[self.user.user_arn])
        )
        self.secret.grant_write(function)
        framework_logs = logs.LogGroup(
            self, "FrameworkLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        provider = cr.Provider(self, "Provider", on_event_handler=function, log_group=framework_logs)
        self.access_key = cdk.CustomResource(
            self,
            "AccessKey",
            service_token=provider.service_token,
            resource_type="Custom::SesSmtpCredentials",
            properties={
                "UserName": self.user.user_name,
                "SecretId": self.secret.secret_arn,
                "Region": region,
                "RotationToken": rotation_token,
            },
        )
        self.smtp_endpoint = f"email-smtp.{region}.amazonaws.com"
        cdk.CfnOutput(self, "SmtpEndpoint", value=self.smtp_endpoint, description="SES SMTP endpoint (port 587)")
        cdk.CfnOutput(self, "SecretArn", value=self.secret.secret_arn, description="Secret with SMTP username/password")
