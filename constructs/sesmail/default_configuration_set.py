"""Keeping a retained domain identity able to send after its stack (and default configuration set) is deleted.

SES: "If you delete a configuration set that's designated as the default configuration set for an identity, and then
attempt to send email through that identity, your call to Amazon SES fails with a 'bad request' error" (SES Developer
Guide, "Default configuration sets"). :class:`MailDomain` retains its identity on delete; the configuration set goes.
:class:`DefaultConfigurationSetRelease`, a custom resource (``lambda/default_configuration_set``) that depends on both,
is deleted before the set and, on delete, removes the set from the identity if it is still its default.
"""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
from constructs import Construct

from ._provider import framework_provider, handler_function, stack_singleton

#: What the handler's role may do, on the identities it releases only.
RELEASE_ACTIONS = ("ses:GetEmailIdentity", "ses:PutEmailIdentityConfigurationSetAttributes")

_PROVIDER_ID = "SesmailDefaultConfigurationSetProvider"


class DefaultConfigurationSetProvider(Construct):
    """The one Lambda-backed provider per stack that releases identities' default configuration sets on delete."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._identity_arns: list[str] = []
        self.function, self.role = handler_function(
            self,
            "Handler",
            handler="default_configuration_set",
            role_description="Removes sesmail's default configuration set from a retained identity on delete",
            timeout=cdk.Duration.minutes(1),
            description="sesmail: releases an identity's default configuration set on delete",
        )
        self.provider = framework_provider(
            self,
            handler=self.function,
            description="Invokes sesmail's default-configuration-set handler for CloudFormation",
            label="the default-configuration-set handler",
        )

    @classmethod
    def of(cls, scope: Construct) -> DefaultConfigurationSetProvider:
        """The stack's provider, created on first use."""
        return stack_singleton(cls, scope, _PROVIDER_ID)

    def allow_identity(self, identity_arn: str) -> None:
        """Let the handler read and release one more identity."""
        if identity_arn not in self._identity_arns:
            self._identity_arns.append(identity_arn)
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(RELEASE_ACTIONS), resources=[identity_arn])
            )


class DefaultConfigurationSetRelease(Construct):
    """On delete, removes ``configuration_set_name`` from ``identity``'s default if it still is (nothing else ever).

    Give it the identity and set as CloudFormation references (``Ref``): it is then created after both and deleted
    before both, so the identity never points at a deleted set.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity: str,
        identity_arn: str,
        configuration_set_name: str,
    ) -> None:
        """
        :param identity: the domain identity's name (its ``Ref``).
        :param identity_arn: its ARN; the handler's role is scoped to it.
        :param configuration_set_name: the identity's default configuration set (its ``Ref``).
        """
        super().__init__(scope, construct_id)
        provider = DefaultConfigurationSetProvider.of(self)
        provider.allow_identity(identity_arn)
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=provider.provider.service_token,
            resource_type="Custom::SesDefaultConfigurationSetRelease",
            properties={"Identity": identity, "ConfigurationSetName": configuration_set_name},
        )
        # The role must be able to act until the delete.
        self.resource.node.add_dependency(provider.role)
