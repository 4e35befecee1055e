"""Activating a receipt rule set, which CloudFormation cannot do: a custom resource (``lambda/rule_set_activation``).

SES evaluates one receipt rule set per account and region. The custom resource makes the stack's set the active one,
records which set was active before, and restores that set (or deactivates receiving) when the resource is deleted.
It refuses to replace an active set it did not activate, such as WorkMail's ``INBOUND_MAIL``, unless told to take
over. The handler's module docstring describes every case of create, update and delete.
"""

from __future__ import annotations

import hashlib
import typing

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_ses as ses
from constructs import Construct

from .._provider import framework_provider, handler_function, stack_singleton
from ..validation import is_token
from .names import check_rule_set_name

#: The SES actions the handler's role needs, and nothing else. Neither supports resource-level permissions (the
#: service authorization reference lists no resource type for them), so they are granted on ``*``.
ACTIVATION_ACTIONS = ("ses:DescribeActiveReceiptRuleSet", "ses:SetActiveReceiptRuleSet")

_PROVIDER_ID = "SesmailRuleSetActivationProvider"

#: Where the handler records each activation (``<prefix><rule set>``): which stack's resource activated the set, and the
#: set to restore on delete. Must match ``RECORD_PREFIX`` in ``lambda/rule_set_activation/index.py``.
RECORD_PREFIX = "/sesmail/receipt-rule-set-activation/"


def _nag_arn(stack: cdk.Stack) -> str:
    """The ``arn:…:ssm:<region>:<account>`` start of an ARN as cdk-nag spells it in a finding's id."""
    region = "<AWS::Region>" if cdk.Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if cdk.Token.is_unresolved(stack.account) else stack.account
    partition = "<AWS::Partition>" if cdk.Token.is_unresolved(stack.partition) else stack.partition
    return f"arn:{partition}:ssm:{region}:{account}"


class RuleSetActivationProvider(Construct):
    """The one Lambda-backed provider per stack that activates receipt rule sets and restores the previous one."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.function, self.role = handler_function(
            self,
            "Handler",
            handler="rule_set_activation",
            role_description="Activates sesmail's SES receipt rule set and restores the previous one",
            # Covers SES's one-call-per-second throttling retried with backoff on each of up to three calls.
            timeout=cdk.Duration.minutes(2),
            description="sesmail: SES receipt rule set activation custom resource",
        )
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=list(ACTIVATION_ACTIONS), resources=["*"]))
        stack = cdk.Stack.of(self)
        records = stack.format_arn(service="ssm", resource="parameter", resource_name=RECORD_PREFIX.strip("/") + "/*")
        # Reading any record names the sesmail stack whose set is active; writing is limited further by each
        # activation (grant_record), to its own set's record.
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[records]))
        # A record left by a stack that no longer exists is stale; DescribeStacks on the recorded stack id tells.
        stacks = stack.format_arn(service="cloudformation", resource="stack", resource_name="*")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[stacks])
        )
        cdk.Validations.of(self.role).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "ses:DescribeActiveReceiptRuleSet and ses:SetActiveReceiptRuleSet act on the account's one active "
                    "receipt rule set and support no resource-level permissions, so IAM accepts only '*' for them."
                ),
            )
        )
        cdk.Validations.of(self.role).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{_nag_arn(stack)}:parameter{RECORD_PREFIX}*]",
                reason=(
                    "Only ssm:GetParameter, on sesmail's activation records: the handler reads the record of whichever "
                    "set is active to name the sesmail stack that activated it."
                ),
            )
        )
        nag_stacks = _nag_arn(stack).replace(":ssm:", ":cloudformation:")
        cdk.Validations.of(self.role).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_stacks}:stack/*]",
                reason=(
                    "Only cloudformation:DescribeStacks, a read: the stack named in a record of the set to activate "
                    "is any stack of the account and region; a deleted one leaves a stale record that is replaced."
                ),
            )
        )
        self.provider = framework_provider(
            self,
            handler=self.function,
            description="Invokes sesmail's receipt-rule-set activation handler for CloudFormation",
            label="the activation handler",
        )

    @classmethod
    def of(cls, scope: Construct) -> RuleSetActivationProvider:
        """The stack's provider, created on first use."""
        return stack_singleton(cls, scope, _PROVIDER_ID)


class ReceiptRuleSetActivation(Construct):
    """Makes a receipt rule set the active one in the stack's account and region; undoes that on delete.

    On create the set that was active before (if any) is recorded, in the SSM parameter
    ``/sesmail/receipt-rule-set-activation/<rule set>`` (with the stack that activated it); on delete it is restored,
    or receiving is deactivated if there was none, and the record is deleted. If another set is active and was not
    activated by this resource, the deploy fails with a message naming that set (and the sesmail stack that activated
    it, if one did), unless ``take_over_active_rule_set`` is ``True``. If someone activates another set
    after the deploy, deleting this resource leaves that set alone.

    Make this construct depend on the rule set's rules (``node.add_dependency``) so that only a complete set is
    activated, and, on delete, the set is deactivated before CloudFormation deletes its rules.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_set_name: str | None = None,
        rule_set: ses.IReceiptRuleSet | None = None,
        take_over_active_rule_set: bool = False,
        take_over_hint: str | None = None,
        restore_on_delete: bool = True,
        take_over_only: str | None = None,
    ) -> None:
        """
        :param rule_set_name: the name of the set to activate. Give this or ``rule_set``, not both.
        :param rule_set: the set to activate, as an ``aws_ses`` rule set; the activation then references it, so the
            set exists before activation and is deleted only after deactivation. Give this or ``rule_set_name``.
        :param take_over_active_rule_set: default ``False``, the deploy fails if another set is active (WorkMail, for
            one, runs its own ``INBOUND_MAIL`` set). ``True`` replaces it; it is restored when this resource is deleted.
        :param take_over_hint: default ``None``, the failure message tells the user to set
            ``take_over_active_rule_set=True``. Give the words that fit your configuration instead, such as
            ``"takeOverActiveRuleSet: true (environments.prod)"``.
        :param restore_on_delete: default ``True``, deleting this resource restores the set that was active before
            (or deactivates receiving if there was none). ``False``: the previous set is never restored (for one,
            WorkMail's ``INBOUND_MAIL`` once its organization is deleted); deleting this resource then deactivates
            receiving, and the handler logs a warning saying so.
        :param take_over_only: default ``None``, a takeover replaces whichever set is active. A set's name: only that
            set may be taken over (a WorkMail cutover replaces ``INBOUND_MAIL`` and nothing else); another active
            set fails the deploy, naming it, before anything changes.
        """
        super().__init__(scope, construct_id)
        if (rule_set_name is None) == (rule_set is None):
            raise ValueError(
                f"rule_set_name: give either rule_set_name or rule_set, not {rule_set_name!r} and {rule_set!r}"
            )
        name = rule_set_name if rule_set is None else rule_set.receipt_rule_set_name
        if not is_token(name):
            check_rule_set_name("rule_set_name", typing.cast(str, name))
        if not isinstance(take_over_active_rule_set, bool):
            raise ValueError(f"take_over_active_rule_set: {take_over_active_rule_set!r} is not a bool")
        if take_over_hint is not None and not is_token(take_over_hint) and not take_over_hint.strip():
            raise ValueError(f"take_over_hint: {take_over_hint!r} is empty")
        if not isinstance(restore_on_delete, bool):
            raise ValueError(f"restore_on_delete: {restore_on_delete!r} is not a bool")

        self.rule_set_name: str = typing.cast(str, name)
        record_name = self.rule_set_name if not is_token(name) else _literal_name(rule_set)
        provider = RuleSetActivationProvider.of(self)
        properties: dict[str, str] = {
            "RuleSetName": self.rule_set_name,
            "TakeOverActiveRuleSet": "true" if take_over_active_rule_set else "false",
        }
        if take_over_hint is not None:
            properties["TakeOverHint"] = take_over_hint
        if not restore_on_delete:
            properties["RestoreOnDelete"] = "false"
        if take_over_only is not None:
            if not is_token(take_over_only):
                check_rule_set_name("take_over_only", take_over_only)
            properties["TakeOverOnly"] = take_over_only
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=provider.provider.service_token,
            resource_type="Custom::SesReceiptRuleSetActivation",
            properties=properties,
        )
        # The handler writes and deletes only this set's record. The policy's logical id carries the set's name: a
        # rename adds a new policy before the activation is updated and removes the old one only in the cleanup
        # phase, after it, so the update (which deletes the old name's record) and its rollback (which writes the old
        # name's record again and deletes the new one) are allowed on both records, in whichever order
        # CloudFormation restores the policies. A name known only at deploy time may change with no change here:
        # then the policy covers every activation record.
        stack = cdk.Stack.of(self)
        suffix = hashlib.sha256(record_name.encode()).hexdigest()[:8].upper() if record_name else ""
        record = stack.format_arn(
            service="ssm", resource="parameter", resource_name=RECORD_PREFIX.strip("/") + "/" + (record_name or "*")
        )
        policy = iam.Policy(
            self,
            f"RecordPolicy{suffix}",
            statements=[iam.PolicyStatement(actions=["ssm:PutParameter", "ssm:DeleteParameter"], resources=[record])],
        )
        if not record_name:
            cdk.Validations.of(policy).acknowledge(
                cdk.Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{_nag_arn(stack)}:parameter{RECORD_PREFIX}*]",
                    reason=(
                        "The rule set's name is known only at deploy time and may change without a change to this "
                        "policy; the handler writes and deletes only records it owns (it checks the recorded stack)."
                    ),
                )
            )
        provider.role.attach_inline_policy(policy)
        # The role must be able to act before the first activation, and until the last restore.
        self.resource.node.add_dependency(provider.role)
        self.resource.node.add_dependency(policy)
        # With ``rule_set``, RuleSetName is a Ref to it, and "if the properties of resource A use a !Ref to resource
        # B ... Resource B is created before resource A. Resource A is deleted before resource B" (CloudFormation,
        # DependsOn attribute): a DependsOn on it as well would be cfn-lint W3005, which a user's app cannot remove.

    @property
    def record_policy(self) -> iam.Policy:
        """The policy that lets the handler write and delete this set's activation record."""
        return typing.cast(iam.Policy, next(c for c in self.node.children if isinstance(c, iam.Policy)))

    @property
    def previous_rule_set_name(self) -> str:
        """The set that was active before this resource activated its own (empty if none); restored on delete."""
        return self.resource.get_att_string("PreviousRuleSetName")


def _literal_name(rule_set: ses.IReceiptRuleSet | None) -> str | None:
    """The name written in the template for a rule set of the app (``receipt_rule_set_name``), else ``None``."""
    child = rule_set.node.default_child if rule_set is not None else None
    name = child.rule_set_name if isinstance(child, ses.CfnReceiptRuleSet) else None
    return name if isinstance(name, str) and not is_token(name) else None
