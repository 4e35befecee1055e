"""SES SMTP credentials that may send only as given addresses: IAM user, deploy-time access key, KMS secret."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_secretsmanager as secretsmanager
from constructs import Construct

from .._provider import framework_provider, handler_function
from ..identities import IdentityLike, send_resources
from ..validation import is_token, strings
from ._permissions import check_configuration_set_arn


class SmtpCredentials(Construct):
    """An IAM user allowed only ``ses:SendRawEmail`` as ``from_addresses`` on ``identity_arn``, with SMTP credentials.

    The access key is created at deploy time by a custom resource, which derives the SMTP password (SES version 4) and
    stores ``{"username", "password", "endpoint", "port", "region", "iamUserName", "rotationToken"}`` in
    :attr:`secret`; the secret's current version is the record of which key is live (see the handler's docstring for
    retries and rollbacks: there is never a third key, nor a secret naming a deleted key). Neither key nor password
    appears in the template, the outputs or the logs. Change ``rotation_token`` to rotate the key.

    The custom resource's handler may only list, create and delete this user's access keys and read, put and restage
    this secret's value (with the key's ``kms:GenerateDataKey``/``kms:Decrypt``); it and the provider framework have
    their own roles and log groups, no managed policies. Secrets Manager's automatic rotation is not used: the
    password is derived from the access key, so rotating means a new key, which ``rotation_token`` does on deploy.

    One user shared by everybody who replies, whose rotation replaces the key at once. For credentials of each
    person's own, rotated in two steps, see :class:`sesmail.PeopleSmtpCredentials`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity_arn: str | Sequence[str] | None = None,
        from_addresses: Sequence[str],
        encryption_key: kms.IKey | None = None,
        rotation_token: str = "1",
        configuration_set_arn: str | None = None,
        identity: IdentityLike | Sequence[IdentityLike] | None = None,
    ) -> None:
        """
        :param identity: the SES identity the user sends through (a ``MailDomain`` or any
            ``ses.IEmailIdentity`` of the app), or a list of them when ``from_addresses`` belong to several domains. A
            ``MailDomain``'s default configuration set is added to the grant (SES authorizes the send on it too).
            Give this or ``identity_arn``.
        :param identity_arn: for an identity outside the app: ARN of the SES identity (domain) the user may send
            through, or a list of them when
            ``from_addresses`` belong to several domains (one statement; ``ses:FromAddress`` still limits it to
            ``from_addresses``, and SES sends an address only through its own domain's identity).
        :param from_addresses: the only addresses the user may send as (``ses:FromAddress``); at least one.
        :param encryption_key: KMS key for the secret. Default: a new customer-managed key with rotation enabled.
        :param rotation_token: any string; changing it creates a new access key and deletes the old one.
            Default ``"1"``: the key is created once and kept.
        :param configuration_set_arn: default ``None``, the user may send through the identity only. Give the ARN of
            the identity's default configuration set, if it has one: SES authorizes the send on that set too.
        """
        addresses = strings("from_addresses", from_addresses)
        if not addresses:
            raise ValueError(f"from_addresses must name at least one address, got {addresses!r}")
        for address in addresses:
            if not is_token(address) and address.count("@") != 1:
                raise ValueError(f"from_addresses: {address!r} is not an e-mail address")
        check_configuration_set_arn("configuration_set_arn", configuration_set_arn)
        send = send_resources(
            scope, identity=identity, identity_arn=identity_arn, configuration_set_arn=configuration_set_arn
        )
        super().__init__(scope, construct_id)
        region = cdk.Stack.of(self).region
        self.user = iam.User(self, "Resource")
        # A customer managed policy, not an inline one: ses:FromAddress lists every address, and IAM allows a user
        # 2,048 characters of inline policy but 6,144 per managed policy ("IAM and AWS STS quotas",
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): about 75 addresses become
        # about 250.
        self.send_policy = iam.ManagedPolicy(
            self,
            "SendPolicy",
            description="sesmail: the SMTP user may send only as the mailboxes",
            users=[self.user],
            statements=[
                iam.PolicyStatement(
                    actions=["ses:SendRawEmail"],
                    resources=send.all,
                    # FromAddress is single-valued: ForAllValues would also pass a request without one.
                    conditions={"StringEquals": {"ses:FromAddress": addresses}},
                )
            ],
        )
        self.key = encryption_key or kms.Key(self, "Key", enable_key_rotation=True, description="SES SMTP credentials")
        self.secret = secretsmanager.Secret(
            self, "Secret", encryption_key=self.key, description="SES SMTP username and password"
        )
        cdk.Validations.of(self.secret).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "The SMTP password is derived from the IAM user's access key, so rotation must replace the key; "
                    "a Secrets Manager rotation Lambda doing that is not built. The key is rotated on deploy by "
                    "changing rotation_token (smtpRotationToken), which creates a new key and deletes the old one."
                ),
            )
        )
        function, self.handler_role = handler_function(
            self,
            "Handler",
            handler="smtp_credentials",
            role_description="sesmail: creates the SMTP user's access key",
            timeout=cdk.Duration.minutes(1),
            description="sesmail: SES SMTP credentials custom resource",
        )
        self.handler_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"],
                resources=[self.user.user_arn],
            )
        )
        # The secret records which key is current (its AWSCURRENT version) and which was before (AWSPREVIOUS): the
        # handler reads both, writes a version per key, and moves AWSCURRENT back when a rotation is rolled back.
        self.handler_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                resources=[self.secret.secret_arn],
            )
        )
        self.key.grant(self.handler_role, "kms:GenerateDataKey", "kms:Decrypt")
        provider = framework_provider(
            self,
            handler=function,
            description="Invokes sesmail's SMTP credentials handler for CloudFormation",
            label="the SMTP credentials handler",
        )
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
        # The handler must be allowed to act before the first create, and until the last delete.
        self.access_key.node.add_dependency(self.handler_role)
        self.smtp_endpoint = f"email-smtp.{region}.amazonaws.com"
        cdk.CfnOutput(self, "SmtpEndpoint", value=self.smtp_endpoint, description="SES SMTP endpoint (port 587)")
        cdk.CfnOutput(self, "SecretArn", value=self.secret.secret_arn, description="Secret with SMTP username/password")
