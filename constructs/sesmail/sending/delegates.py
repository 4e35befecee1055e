"""``DelegateSender``: an SES identity policy letting another account, IAM user or role send as chosen addresses."""

from __future__ import annotations

import weakref
from collections import Counter

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses
from constructs import Construct

from ..identities import identity_name_and_arn
from ..identity_policy import IdentityPolicy
from ..validation import _ACCOUNT, check_account_or_iam_arn, is_token
from .conditions import SendConditions
from .grants import SEND_ACTIONS, templated_actions

# Delegate policies per identity, per stack (policies other constructs attach are not counted).
_POLICIES_PER_IDENTITY: weakref.WeakKeyDictionary[cdk.Stack, Counter[str]] = weakref.WeakKeyDictionary()

#: SES's limit on identity policies attached to one identity.
MAX_POLICIES_PER_IDENTITY = 20


class DelegateSender(Construct):
    """An identity policy (through ``sesmail.IdentityPolicy``) that lets ``principal`` send as some addresses.

    Sending authorization (SES developer guide): the delegate sends with ``SourceArn``/``FromEmailAddressIdentityArn``
    set to this identity, and SES checks this policy. Conditions are the same as for ``grant_send``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity: str | ses.IEmailIdentity,
        identity_arn: str | None = None,
        principal: str,
        conditions: SendConditions,
        policy_name: str,
        templated: bool = False,
    ) -> None:
        """
        :param identity: the identity the policy is attached to: a ``MailDomain`` or any ``ses.IEmailIdentity`` of the
            app, or, for one outside it, the domain or address (then give ``identity_arn``).
        :param identity_arn: default ``None``, taken from ``identity``. The ARN of an identity given by name.
        :param principal: a 12-digit account id (its root principal: the account's own IAM decides who) or the ARN
            of one IAM user or role.
        :param conditions: the restrictions; ``from_addresses`` is required.
        :param policy_name: the policy's name on the identity.
        :param templated: default ``False``, only ``SendEmail``/``SendRawEmail``. ``True`` adds SES v1's
            ``SendTemplatedEmail``/``SendBulkTemplatedEmail`` (not under ``api_version="2"``, where v2's ``SendEmail``
            sends templates). Never ``SendBulkEmail``: SES evaluates no ``ses:FromAddress`` for it, so this policy's
            condition could not allow it. The template is the delegate's own (in its account), so the delegate's
            IAM grant, not this policy, names it.
        """
        identity, identity_arn = identity_name_and_arn(scope, identity, identity_arn)
        super().__init__(scope, construct_id)
        check_account_or_iam_arn("principal", principal)
        if not conditions.from_addresses:
            raise ValueError("conditions.from_addresses: () is empty; name the addresses the delegate may send as")
        if conditions.configuration_set is not None:
            raise ValueError(
                f"conditions.configuration_set: {conditions.configuration_set!r} cannot be enforced by an identity "
                "policy; give it to the delegate's own grant instead"
            )
        counts = _POLICIES_PER_IDENTITY.setdefault(cdk.Stack.of(self), Counter())
        if counts[identity] >= MAX_POLICIES_PER_IDENTITY:
            raise ValueError(
                f"policy_name: {policy_name!r} would be policy {counts[identity] + 1} on {identity!r}; "
                f"SES allows {MAX_POLICIES_PER_IDENTITY} per identity"
            )
        counts[identity] += 1
        if is_token(principal) or _ACCOUNT.match(principal):
            aws_principal: iam.IPrincipal = iam.AccountPrincipal(principal)
        else:
            aws_principal = iam.ArnPrincipal(principal)
        statement = iam.PolicyStatement(
            sid="DelegateSend",
            principals=[aws_principal],
            actions=[*SEND_ACTIONS, *(templated_actions(conditions) if templated else ())],
            resources=[identity_arn],
            conditions=conditions.to_iam(),
        )
        self.policy = IdentityPolicy(
            self,
            "Resource",
            identity=identity,
            identity_arn=identity_arn,
            policy_name=policy_name,
            document=iam.PolicyDocument(statements=[statement]),
        )
