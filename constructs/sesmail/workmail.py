"""Let Amazon WorkMail send as a mail domain: the SES identity policy the seed's author had to guess.

WorkMail sends through SES. When the domain was verified in SES before WorkMail used it, WorkMail's sends fail with
``403 AccessDenied ... not authorized to perform ses:SendRawEmail`` until the identity has a policy allowing it.
AWS ends support for WorkMail on 2027-03-31; nothing else in this library depends on this module.
"""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
from constructs import Construct

from . import regions
from .identity_policy import IdentityPolicy
from .mail_domain import MailDomain
from .validation import check_account_or_iam_arn, check_workmail_organization_id, is_token

#: The only actions WorkMail needs on the identity to send mail as the domain.
WORKMAIL_SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")


class WorkMailPrincipal:
    """Which principal the identity policy trusts to send on WorkMail's behalf."""

    def __init__(self, account_or_arn: str | None) -> None:
        #: ``None`` for the service principal, else the account id or IAM ARN of the legacy form.
        self.account_or_arn = account_or_arn

    @staticmethod
    def service() -> WorkMailPrincipal:
        """The WorkMail service principal ``workmail.<region>.amazonaws.com``, limited by ``aws:SourceAccount`` and
        ``aws:SourceArn`` to this account's organization. The default, and what WorkMail uses since 2022."""
        return WorkMailPrincipal(None)

    @staticmethod
    def legacy_account(account_or_arn: str) -> WorkMailPrincipal:
        """The account-root principal of older setups, for an organization that still gets the 403.

        :param account_or_arn: the account id, or any IAM ARN in it, such as the
            ``arn:aws:iam::111122223333:user/amazon-workmail-us-east-1`` quoted in the 403 message; it becomes
            ``arn:<partition>:iam::111122223333:root`` at deploy time (the value may be a token).
        """
        check_account_or_iam_arn("legacy_account", account_or_arn)
        return WorkMailPrincipal(account_or_arn)


class WorkMailSendingAuthorization(Construct):
    """The SES identity policy that lets one WorkMail organization send as a mail domain.

    Grants only ``ses:SendEmail`` and ``ses:SendRawEmail`` on the domain identity. With the default service
    principal, the grant holds only for requests made for this account's organization (``aws:SourceAccount`` and
    ``aws:SourceArn``), so another organization cannot use WorkMail as a confused deputy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        mail_domain: MailDomain,
        organization_id: str,
        principal: WorkMailPrincipal | None = None,
        policy_name: str = "sesmail-workmail-send",
    ) -> None:
        """
        :param mail_domain: the domain WorkMail sends as.
        :param organization_id: the WorkMail organization id (``m-`` and 32 hex digits), in the stack's account and
            region.
        :param principal: default :meth:`WorkMailPrincipal.service`; :meth:`WorkMailPrincipal.legacy_account` for
            setups that still get the 403 with an account principal.
        :param policy_name: default ``sesmail-workmail-send``, the policy's name on the identity.
        """
        super().__init__(scope, construct_id)
        check_workmail_organization_id("organization_id", organization_id)
        stack = cdk.Stack.of(self)
        if not is_token(stack.region) and stack.region not in regions.WORKMAIL_REGIONS:
            supported = ", ".join(sorted(regions.WORKMAIL_REGIONS))
            raise ValueError(f"region: WorkMail is not offered in {stack.region!r} (supported: {supported})")
        principal = principal or WorkMailPrincipal.service()

        #: ``arn:<partition>:workmail:<region>:<account>:organization/<id>``
        self.organization_arn = stack.format_arn(
            service="workmail",
            resource="organization",
            resource_name=organization_id,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        statement = iam.PolicyStatement(
            sid="AllowWorkMailToSendAsDomain",
            actions=list(WORKMAIL_SEND_ACTIONS),
            resources=[mail_domain.identity_arn],
        )
        if principal.account_or_arn is None:
            statement.add_principals(iam.ServicePrincipal(f"workmail.{stack.region}.amazonaws.com"))
            statement.add_condition("StringEquals", {"aws:SourceAccount": stack.account})
            statement.add_condition("ArnEquals", {"aws:SourceArn": self.organization_arn})
        else:
            statement.add_principals(iam.ArnPrincipal(principal.account_or_arn))

        self.policy = IdentityPolicy(
            self,
            "Resource",
            identity=mail_domain.domain_name,
            identity_arn=mail_domain.identity_arn,
            policy_name=policy_name,
            document=iam.PolicyDocument(statements=[statement]),
            normalize_aws_principals=principal.account_or_arn is not None,
        )
        # SES accepts a policy only on an existing identity.
        self.policy.node.add_dependency(mail_domain.identity)
