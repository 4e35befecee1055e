"""SES identity (sending-authorization) policies, which CloudFormation has no resource for."""

from __future__ import annotations

import json
import re
import weakref
from collections import Counter

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_ses as ses
from constructs import Construct

from . import limits
from ._provider import framework_provider, handler_function, stack_singleton
from .identities import identity_name_and_arn
from .validation import is_token

_POLICY_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: SES's limit on the size of one identity policy (SES API, PutIdentityPolicy, Policy: "The policy cannot exceed
#: 4 KB." https://docs.aws.amazon.com/ses/latest/APIReference/API_PutIdentityPolicy.html).
MAX_POLICY_BYTES = 4096
#: SES's limit on identity policies of one identity (SES API, GetIdentityPolicies: "You can retrieve a maximum of 20
#: policies at a time", https://docs.aws.amazon.com/ses/latest/APIReference/API_GetIdentityPolicies.html).
MAX_POLICIES_PER_IDENTITY = 20
# Identity policies per identity in each stack: every IdentityPolicy counts (WorkMail's sending authorization too).
_PER_IDENTITY: weakref.WeakKeyDictionary[cdk.Stack, Counter[str]] = weakref.WeakKeyDictionary()
# The policy names taken on each identity in each stack, with the construct path that took them.
_NAMES: weakref.WeakKeyDictionary[cdk.Stack, dict[tuple[str, str], str]] = weakref.WeakKeyDictionary()

#: The SES v2 actions the custom resource's role needs, and nothing else.
POLICY_MANAGEMENT_ACTIONS = (
    "ses:CreateEmailIdentityPolicy",
    "ses:UpdateEmailIdentityPolicy",
    "ses:DeleteEmailIdentityPolicy",
    "ses:GetEmailIdentityPolicies",
)

_PROVIDER_ID = "SesmailIdentityPolicyProvider"


class IdentityPolicyProvider(Construct):
    """The one Lambda-backed provider per stack that puts and deletes SES identity policies.

    Its handler's role may call only the SES identity-policy actions, and only on identities that an
    :class:`IdentityPolicy` in the stack names (each adds its identity through :meth:`allow_identity`).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._identity_arns: list[str] = []
        self.function, self.role = handler_function(
            self,
            "Handler",
            handler="identity_policy",
            role_description="Puts and deletes sesmail's SES identity policies",
            timeout=cdk.Duration.minutes(2),
            description="sesmail: SES identity policy custom resource",
        )
        self.provider = framework_provider(
            self,
            handler=self.function,
            description="Invokes sesmail's identity-policy handler for CloudFormation",
            label="the identity-policy handler",
        )

    @classmethod
    def of(cls, scope: Construct) -> IdentityPolicyProvider:
        """The stack's provider, created on first use."""
        return stack_singleton(cls, scope, _PROVIDER_ID)

    def allow_identity(self, identity_arn: str) -> None:
        """Let the handler manage policies on one more identity."""
        if identity_arn not in self._identity_arns:
            self._identity_arns.append(identity_arn)
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(POLICY_MANAGEMENT_ACTIONS), resources=[identity_arn])
            )


class IdentityPolicy(Construct):
    """An SES identity policy: who may send as a domain or address identity, and under which conditions.

    The policy is put with the SES v2 API when the stack is created or updated and deleted with the stack. A policy
    of the same name that this construct did not create is never overwritten or deleted: the deploy fails instead.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity: str | ses.IEmailIdentity,
        identity_arn: str | None = None,
        policy_name: str,
        document: iam.PolicyDocument,
        normalize_aws_principals: bool = False,
    ) -> None:
        """
        :param identity: the identity the policy is attached to: a ``MailDomain`` or any ``ses.IEmailIdentity`` of the
            app, or, for one outside it, the domain (``example.com``) or address (then give ``identity_arn``).
        :param identity_arn: default ``None``, taken from ``identity``; the handler's role is scoped to it.
        :param policy_name: the policy's name on the identity (1-64 letters, digits, ``-`` and ``_``).
        :param document: the policy. Its ``Id`` is set by this construct: it marks the policy as this stack's.
        :param normalize_aws_principals: default ``False``, principals are put as written. ``True`` rewrites every
            ``Principal.AWS`` value (an account id or any IAM ARN) to that account's root principal at deploy time.
        """
        identity, identity_arn = identity_name_and_arn(scope, identity, identity_arn)
        super().__init__(scope, construct_id)
        if not is_token(policy_name) and not _POLICY_NAME.match(policy_name):
            raise ValueError(f"policy_name: {policy_name!r} must be 1-64 letters, digits, '-' or '_'")

        stack = cdk.Stack.of(self)
        self.policy_name = policy_name
        self.document = document
        # The Id marks the policy as ours, so the handler never touches a same-named policy someone else wrote.
        self.owner_id = f"sesmail-{cdk.Names.unique_id(self)}"
        policy = {**document.to_json(), "Id": self.owner_id}
        # Tokens count at the length of their CloudFormation form: close enough to catch SES's limit at synth.
        size = len(json.dumps(stack.resolve(policy), separators=(",", ":")))
        if size > MAX_POLICY_BYTES:
            raise ValueError(
                f"document: identity policy {policy_name!r} is ~{size} bytes; SES allows {MAX_POLICY_BYTES}"
            )
        names = _NAMES.setdefault(stack, {})
        if not is_token(identity) and not is_token(policy_name):
            # One name per policy on an identity (PutIdentityPolicy: "The name of the policy"): a second one of the
            # same name would overwrite the first, and each handler would then delete the other's.
            taken = names.setdefault((identity, policy_name), self.node.path)
            if taken != self.node.path:
                raise ValueError(
                    f"policy_name: {policy_name!r} is already the name of {taken}'s policy on {identity!r}"
                )
        counts = _PER_IDENTITY.setdefault(stack, Counter())
        counts[identity] += 1
        if counts[identity] > MAX_POLICIES_PER_IDENTITY:
            raise ValueError(
                f"policy_name: {policy_name!r} is identity policy {counts[identity]} on {identity!r} in this stack "
                f"(WorkMail's sending authorization and delegates count); SES allows {MAX_POLICIES_PER_IDENTITY}"
            )

        limits.watch(self)
        provider = IdentityPolicyProvider.of(self)
        provider.allow_identity(identity_arn)
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=provider.provider.service_token,
            resource_type="Custom::SesIdentityPolicy",
            properties={
                "Identity": identity,
                "PolicyName": policy_name,
                "Policy": stack.to_json_string(policy),
                "Partition": cdk.Aws.PARTITION,
                "NormalizeAwsPrincipals": "true" if normalize_aws_principals else "false",
            },
        )
        # The role must be able to act on the identity before the first put, and until the last delete.
        self.resource.node.add_dependency(provider.role)
