"""A receipt rule set with ordered, explicitly named rules, activated by a custom resource; or rules added to a set
that exists already (:meth:`ReceiptRuleSet.from_existing`, such as WorkMail's active set)."""

from __future__ import annotations

import typing
from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_ses as ses
from constructs import Construct

from .. import regions
from ..validation import is_token, strings
from .actions import ReceiptAction
from .activation import ReceiptRuleSetActivation
from .grants import RuleContext
from .names import (
    MAX_RULES_PER_RULE_SET,
    check_recipients,
    check_rule_name,
    check_rule_set_name,
    receipt_rule_arn,
    rule_set_arn,
)


def _check_action(prop: str, action: object) -> None:
    """A sesmail action; aws-cdk-lib's ``aws_ses_actions`` (``ses.IReceiptRuleAction``) are refused with what to use."""
    if isinstance(action, ReceiptAction):
        return
    name = type(action).__name__
    hint = {"S3": "S3Action", "Lambda": "LambdaAction", "Sns": "SnsAction", "Bounce": "BounceAction",
            "AddHeader": "AddHeaderAction", "Stop": "StopAction"}.get(name)  # fmt: skip
    use = f"sesmail.receiving.{hint}" if hint else "one of sesmail.receiving's actions (S3Action, LambdaAction, ...)"
    raise ValueError(
        f"{prop}: {name} is not a sesmail receipt action; use {use} (it scopes SES's grants to the rule with "
        "aws:SourceArn, where aws-cdk-lib's aws_ses_actions scope them by account only)"
    )


class ReceiptRule(Construct):
    """One rule: which recipients it matches and the ordered actions SES takes for them.

    Created through :meth:`ReceiptRuleSet.add_rule`, which places it after the set's previous rule.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_set_name: str,
        rule_name: str,
        actions: Sequence[ReceiptAction],
        recipients: Sequence[str] = (),
        after: ReceiptRule | None = None,
        enabled: bool = True,
        scan_enabled: bool = True,
        tls_required: bool = True,
        after_rule_name: str | None = None,
    ) -> None:
        """
        :param rule_set_name: the set the rule belongs to.
        :param rule_name: the rule's name, unique in the set (part of its ARN, which SES's grants are scoped to).
        :param actions: what SES does, in order; at least one.
        :param recipients: default ``()``, every recipient of every verified domain. Addresses
            (``info@example.com``), domains (``example.com``) or ``.example.com`` for all its subdomains.
        :param after: default ``None``, the first rule of the set.
        :param enabled: default ``True``.
        :param scan_enabled: default ``True``, SES scans for spam and viruses and adds its verdict headers.
        :param tls_required: default ``True``, SES rejects messages not delivered over TLS.
        :param after_rule_name: default ``None``; without ``after``, the name of a rule outside the app (of an existing
            set) to place this one after.
        """
        super().__init__(scope, construct_id)
        check_rule_set_name("rule_set_name", rule_set_name)
        check_rule_name("rule_name", rule_name)
        recipients = strings("recipients", recipients)
        check_recipients("recipients", recipients)
        if not actions:
            raise ValueError(f"actions: rule {rule_name!r} has no actions")
        for i, action in enumerate(actions):
            _check_action(f"actions[{i}]", action)
        self.rule_name = rule_name
        self.rule_arn = receipt_rule_arn(cdk.Stack.of(self), rule_set_name, rule_name)
        self._context = RuleContext(rule=self, rule_set_name=rule_set_name, rule_name=rule_name, rule_arn=self.rule_arn)
        self._rule: dict[str, typing.Any] = {
            "name": rule_name,
            "enabled": enabled,
            "recipients": list(recipients) or None,
            "scan_enabled": scan_enabled,
            "tls_policy": "Require" if tls_required else "Optional",
        }
        self._actions = [action.bind(self._context) for action in actions]
        self.resource = ses.CfnReceiptRule(
            self,
            "Resource",
            rule_set_name=rule_set_name,
            after=after.rule_name if after is not None else after_rule_name,
            rule=ses.CfnReceiptRule.RuleProperty(**self._rule, actions=self._actions),
        )
        if after is not None:
            # SES places a rule after an existing one: the earlier rule must exist first.
            self.node.add_dependency(after)

    def add_action(self, action: ReceiptAction) -> None:
        """Append ``action`` after the rule's current actions (granting what SES needs for it)."""
        _check_action("action", action)
        self._actions.append(action.bind(self._context))
        self.resource.rule = ses.CfnReceiptRule.RuleProperty(**self._rule, actions=self._actions)


class ReceiptRuleSet(Construct):
    """A receipt rule set, its rules in order, and (by default) its activation.

    Only one rule set is active per account and region, and CloudFormation cannot activate one: a custom resource
    does, and restores the previously active set when the stack is deleted. It refuses to replace an active set
    it did not activate unless ``take_over_active_rule_set`` is set.

    :meth:`from_existing` adds rules to a set the stack does not own (no ``AWS::SES::ReceiptRuleSet``, no
    activation): the first rule has no ``After`` and so goes to the start of that set, ahead of its own rules
    (CreateReceiptRule: "If this parameter is null, the new rule is inserted at the beginning of the rule list"),
    each later one after the previous. Deleting the stack deletes only these rules.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule_set_name: str,
        activate: bool = True,
        take_over_active_rule_set: bool = False,
        take_over_hint: str | None = None,
        existing: bool = False,
        restore_on_delete: bool = True,
        take_over_only: str | None = None,
    ) -> None:
        """
        :param existing: default ``False``, the stack creates the set. ``True``: the set exists already (prefer
            :meth:`from_existing`); only rules are created, nothing is activated, ``activate`` is ignored.
        :param rule_set_name: the set's name (1-64 letters, digits, ``_``, ``-``), part of every rule's ARN.
        :param activate: default ``True``, the set becomes the account's active set in this region once its rules
            exist. ``False`` leaves activation to you (for example while migrating from another set).
        :param take_over_active_rule_set: default ``False``, deploying fails if another set (such as WorkMail's
            ``INBOUND_MAIL``) is active. ``True`` replaces it; it is restored when the stack is deleted.
        :param take_over_hint: default ``None``, the refusal tells the user to set ``take_over_active_rule_set``.
            Other words for how to allow it, for apps configured otherwise (the sesmail app names its cdk.json key).
        :param restore_on_delete: default ``True``, deleting the activation restores the set that was active before.
            ``False`` when that set must never come back (its WorkMail organization is deleted).
        :param take_over_only: default ``None``, a takeover replaces any active set; a name limits it to that set.
        """
        super().__init__(scope, construct_id)
        check_rule_set_name("rule_set_name", rule_set_name)
        if existing and take_over_active_rule_set:
            raise ValueError(
                "take_over_active_rule_set: True with existing=True; rules added to an existing set activate nothing"
            )
        stack = cdk.Stack.of(self)
        if not is_token(stack.region):
            regions.check_receiving_region(stack.region, "region")
        self.rule_set_name = rule_set_name
        self.rule_set_arn = rule_set_arn(stack, rule_set_name)
        self.existing = existing
        self.resource: ses.CfnReceiptRuleSet | None = None
        self.rules: list[ReceiptRule] = []
        # An existing set's rule the first rule of this stack goes after (from_existing), else the set's start.
        self._after_rule: str | None = None
        self.activation: ReceiptRuleSetActivation | None = None
        if existing:
            return
        self.resource = ses.CfnReceiptRuleSet(self, "Resource", rule_set_name=rule_set_name)
        if activate:
            self.activation = ReceiptRuleSetActivation(
                self,
                "Activation",
                rule_set_name=rule_set_name,
                take_over_active_rule_set=take_over_active_rule_set,
                take_over_hint=take_over_hint,
                restore_on_delete=restore_on_delete,
                take_over_only=take_over_only,
            )
            # Activate only a complete set; on delete, deactivate before SES can be asked to delete an active set.
            self.activation.node.add_dependency(self.resource)

    @property
    def receipt_rule_set_name(self) -> str:
        """The set's name (aws-cdk-lib's attribute name for it)."""
        return self.rule_set_name

    @property
    def receipt_rule_set(self) -> ses.IReceiptRuleSet:
        """aws-cdk-lib's reference to this set, for APIs that take an ``ses.IReceiptRuleSet``.

        Rules added through it are aws-cdk-lib's: they get none of sesmail's per-rule grants or ordering; prefer
        :meth:`add_rule`.
        """
        found = self.node.try_find_child("Reference")
        if found is None:
            found = ses.ReceiptRuleSet.from_receipt_rule_set_name(self, "Reference", self.rule_set_name)
        return found  # type: ignore[return-value]

    @classmethod
    def from_existing(
        cls, scope: Construct, construct_id: str, *, rule_set_name: str, after_rule: str | None = None
    ) -> ReceiptRuleSet:
        """Rules placed in ``rule_set_name``, a set this stack neither creates nor activates, at its start or after
        its rule ``after_rule``; nothing else of the set is touched.

        :param rule_set_name: the existing set (for an existing WorkMail organization, its active ``INBOUND_MAIL``).
        :param after_rule: default ``None``, the rules go first (CreateReceiptRule ``After``: "If this parameter is
            null, the new rule is inserted at the beginning of the rule list"). Give the set's last rule to go last.
        """
        if after_rule is not None:
            check_rule_name("after_rule", after_rule)
        rule_set = cls(scope, construct_id, rule_set_name=rule_set_name, existing=True)
        rule_set._after_rule = after_rule
        return rule_set

    def add_rule(
        self,
        rule_name: str,
        *,
        actions: Sequence[ReceiptAction],
        recipients: Sequence[str] = (),
        enabled: bool = True,
        scan_enabled: bool = True,
        tls_required: bool = True,
    ) -> ReceiptRule:
        """Append a rule after the set's last one. See :class:`ReceiptRule` for the props."""
        if len(self.rules) >= MAX_RULES_PER_RULE_SET:
            raise ValueError(f"rules: SES allows {MAX_RULES_PER_RULE_SET} rules per rule set")
        if any(rule.rule_name == rule_name for rule in self.rules):
            raise ValueError(f"rule_name: {rule_name!r} is already a rule of set {self.rule_set_name!r}")
        check_rule_name("rule_name", rule_name)
        rule = ReceiptRule(
            self,
            f"Rule-{rule_name}",
            rule_set_name=self.rule_set_name,
            rule_name=rule_name,
            actions=actions,
            recipients=recipients,
            after=self.rules[-1] if self.rules else None,
            after_rule_name=None if self.rules else self._after_rule,
            enabled=enabled,
            scan_enabled=scan_enabled,
            tls_required=tls_required,
        )
        if self.resource is not None:
            rule.node.add_dependency(self.resource)
        if self.activation is not None:
            self.activation.node.add_dependency(rule)
        self.rules.append(rule)
        return rule
