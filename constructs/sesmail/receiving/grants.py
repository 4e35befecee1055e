"""The resource policies SES needs before it accepts a receipt rule, each scoped to that one rule.

Every grant to ``ses.amazonaws.com`` carries ``aws:SourceAccount`` (this account) and ``aws:SourceArn`` (the rule's
ARN, built from names), so no other account's and no other rule's mail can use the resource. The rule depends on each
policy: SES checks write access when the rule is created. Where CDK cannot change an imported resource's policy, the
rule carries a synth warning that names the statement its owner must add.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sns as sns
from constructs import Construct, IDependable

SES_PRINCIPAL = "ses.amazonaws.com"
_WARNING_ID = "sesmail:receiving:policyNotAdded"


@dataclass(frozen=True)
class RuleContext:
    """What an action needs from the receipt rule it belongs to."""

    #: the rule's construct: policies it needs become its dependencies, and warnings are attached to it.
    rule: Construct
    rule_set_name: str
    rule_name: str
    #: ``arn:...:receipt-rule-set/<set>:receipt-rule/<rule>``
    rule_arn: str
    #: Sids handed out so far: a rule with two actions on one resource still gets unique Sids in its policy.
    _sids: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def account(self) -> str:
        return cdk.Stack.of(self.rule).account

    def depend_on(self, dependable: IDependable) -> None:
        """Create the rule only after ``dependable`` (a policy SES checks at rule creation)."""
        self.rule.node.add_dependency(dependable)

    def source_conditions(self) -> dict[str, dict[str, str]]:
        """``aws:SourceAccount`` and ``aws:SourceArn``: only this rule of this account."""
        return {
            "StringEquals": {"aws:SourceAccount": self.account},
            "ArnEquals": {"aws:SourceArn": self.rule_arn},
        }

    def statement(
        self, sid: str, actions: list[str], resources: list[str], **extra: dict[str, object]
    ) -> iam.PolicyStatement:
        """An Allow for SES, scoped to this rule; ``extra`` adds condition operators (merged per operator)."""
        conditions: dict[str, dict[str, object]] = {op: dict(keys) for op, keys in self.source_conditions().items()}
        for operator, keys in extra.items():
            conditions.setdefault(operator, {}).update(keys)
        return iam.PolicyStatement(
            sid=self._unique_sid(f"{sid}{_sid_suffix(self.rule_set_name, self.rule_name)}"),
            principals=[iam.ServicePrincipal(SES_PRINCIPAL)],
            actions=actions,
            resources=resources,
            conditions=conditions,
        )

    def _unique_sid(self, sid: str) -> str:
        count = self._sids.get(sid, 0) + 1
        self._sids[sid] = count
        return sid if count == 1 else f"{sid}{count}"

    def warn_manual_policy(self, resource: str, statement: iam.PolicyStatement) -> None:
        """The owner of an imported ``resource`` must add ``statement``; SES rejects the rule until then."""
        document = json.dumps(cdk.Stack.of(self.rule).resolve(statement.to_statement_json()), sort_keys=True)
        cdk.Annotations.of(self.rule).add_warning_v2(
            _WARNING_ID,
            f"receipt rule {self.rule_name!r}: cannot add SES's permission to the imported {resource}; "
            f"its owner must add this statement before the rule is created: {document}",
        )


def _sid_suffix(rule_set_name: str, rule_name: str) -> str:
    # Sids allow only letters and digits; the names already identify the rule uniquely within the account.
    return "".join(
        part.capitalize() for part in f"{rule_set_name}-{rule_name}".replace(".", "-").replace("_", "-").split("-")
    )


def grant_bucket_write(context: RuleContext, bucket: s3.IBucket, object_key_prefix: str) -> None:
    """``s3:PutObject`` under the prefix, and, for an SSE-KMS bucket, the key use that S3 makes on SES's behalf."""
    statement = context.statement("AllowSesPut", ["s3:PutObject"], [bucket.arn_for_objects(f"{object_key_prefix}*")])
    result = bucket.add_to_resource_policy(statement)
    _add(context, f"bucket {bucket.bucket_name}", result, statement, bucket.policy)
    if bucket.encryption_key is not None:
        grant_bucket_key(context, bucket.encryption_key)


def grant_bucket_key(context: RuleContext, key: kms.IKey) -> None:
    """SSE-KMS: S3 asks KMS for a data key as SES when SES puts an object, so the key policy must allow SES."""
    region = cdk.Stack.of(context.rule).region
    statement = context.statement(
        "AllowSesSseKms",
        ["kms:GenerateDataKey*"],
        ["*"],
        # No aws:s3:arn encryption-context condition: naming the bucket in its own key's policy is a dependency
        # cycle. The rule's SourceArn and kms:ViaService already limit the grant to S3 puts by this rule.
        StringEquals={"kms:ViaService": f"s3.{region}.amazonaws.com"},
    )
    _add(context, f"key {key.key_arn}", key.add_to_resource_policy(statement), statement, key)


def grant_message_encryption(context: RuleContext, key: kms.IKey) -> None:
    """The S3 action's own encryption (SES's S3 encryption client), with the encryption context SES sends."""
    statement = context.statement(
        "AllowSesEncrypt",
        ["kms:Encrypt", "kms:GenerateDataKey*"],
        ["*"],
        StringEquals={
            "kms:EncryptionContext:aws:ses:source-account": context.account,
            "kms:EncryptionContext:aws:ses:rule-name": context.rule_name,
        },
        Null={"kms:EncryptionContext:aws:ses:message-id": "false"},
    )
    _add(context, f"key {key.key_arn}", key.add_to_resource_policy(statement), statement, key)


def grant_invoke(context: RuleContext, function: lambda_.IFunction) -> None:
    """``lambda:InvokeFunction`` for this rule only."""
    permission_id = f"AllowSesInvoke-{context.rule_set_name}-{context.rule_name}"
    if function.node.try_find_child(permission_id) is None:
        function.add_permission(
            permission_id,
            principal=iam.ServicePrincipal(SES_PRINCIPAL),
            action="lambda:InvokeFunction",
            source_account=context.account,
            source_arn=context.rule_arn,
        )
    permission = function.node.try_find_child(permission_id)
    if permission is not None:
        context.depend_on(permission)
        return
    # CDK adds no permission to a function of another account (or one imported without same_environment).
    statement = context.statement("AllowSesInvoke", ["lambda:InvokeFunction"], [function.function_arn])
    context.warn_manual_policy(f"function {function.function_arn}", statement)


def grant_publish(context: RuleContext, topic: sns.ITopic) -> None:
    """``sns:Publish`` for this rule, and the topic's KMS key when it has one.

    SES needs a topic policy only for another account's topic or an encrypted one; adding it to a topic of this
    stack is harmless and keeps the grant explicit and scoped.
    """
    statement = context.statement("AllowSesPublish", ["sns:Publish"], [topic.topic_arn])
    result = topic.add_to_resource_policy(statement)
    if result.statement_added:
        # The topic's policy is its child "Policy", created by the first statement.
        context.depend_on(topic.node.find_child("Policy"))
    elif _other_account(context, topic.env.account):
        context.warn_manual_policy(f"topic {topic.topic_arn}", statement)
    if topic.master_key is not None:
        key_statement = context.statement("AllowSesTopicKey", ["kms:GenerateDataKey*", "kms:Decrypt"], ["*"])
        _add(
            context,
            f"key {topic.master_key.key_arn}",
            topic.master_key.add_to_resource_policy(key_statement),
            key_statement,
            topic.master_key,
        )


def _other_account(context: RuleContext, account: str) -> bool:
    return cdk.Token.is_unresolved(account) or account != context.account


def _add(
    context: RuleContext,
    resource: str,
    result: iam.AddToResourcePolicyResult,
    statement: iam.PolicyStatement,
    policy_holder: IDependable | None,
) -> None:
    # result.policy_dependable is the policy *document* for buckets and keys, which jsii cannot depend on.
    if result.statement_added:
        if policy_holder is not None:
            context.depend_on(policy_holder)
    else:
        context.warn_manual_policy(resource, statement)
