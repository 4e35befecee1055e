"""What SES needs before it accepts a receipt rule, scoped to this account and to this stack's rule set.

Every grant to ``ses.amazonaws.com`` carries ``aws:SourceAccount`` (this account) and ``aws:SourceArn`` (the rule's
ARN, or the pattern of its rule set's rules, built from names), so no other account's and no other rule set's mail can
use the resource. The rule depends on each policy: SES checks access when the rule is created. Where CDK cannot change
an imported resource's policy, the rule carries a synth warning that names the statement its owner must add.

The S3 action writes through an IAM role (:class:`S3WriteRole`, one per rule set and bucket), the mechanism the SES
developer guide documents for a bucket encrypted with a customer managed key; the Lambda action gets one permission
per function and rule set. Neither policy grows with the number of mailboxes (see :mod:`sesmail.limits`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sns as sns
import jsii
from constructs import Construct, IDependable

from .. import limits
from ..nag_ids import nag_resource
from .mail_bucket import MailBucket
from .names import receipt_rule_arn

SES_PRINCIPAL = "ses.amazonaws.com"
_WARNING_ID = "sesmail:receiving:policyNotAdded"
#: Up to this many object-key prefixes of one bucket are listed in the S3 role's policy; more become ``<bucket>/*``.
#: 20 listed prefixes take under 3,000 of the role's 10,240 policy characters (IAM quotas), whatever the bucket name.
MAX_LISTED_PREFIXES = 20
#: Rules named one by one in the S3 role's trust policy; past this the set's rule pattern keeps it under IAM's
#: 2,048-character trust-policy quota (about 130 characters per rule ARN).
MAX_LISTED_RULES = 10


@jsii.implements(cdk.IStableAnyProducer)
class _Produce:
    """A value computed when the template is resolved, after every rule of the set exists."""

    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self) -> Any:
        return self._produce()


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

    @property
    def rule_set_rules_arn(self) -> str:
        """``arn:...:receipt-rule-set/<set>:receipt-rule/*``: every rule of this rule set (and of no other set)."""
        return receipt_rule_arn(cdk.Stack.of(self.rule), self.rule_set_name, "*")

    @property
    def role_scope(self) -> Construct:
        """Where the rule set's shared grants live: the rule's parent (the :class:`ReceiptRuleSet`)."""
        scope = self.rule.node.scope
        assert isinstance(scope, Construct)
        return scope

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
        self,
        sid: str,
        actions: list[str],
        resources: list[str],
        *,
        source_arn_like: str | None = None,
        **extra: dict[str, object],
    ) -> iam.PolicyStatement:
        """An Allow for SES, scoped to this rule (or, with ``source_arn_like``, to the rules matching that pattern);
        ``extra`` adds condition operators (merged per operator)."""
        source = self.source_conditions()
        if source_arn_like is not None:
            source = {"StringEquals": source["StringEquals"], "ArnLike": {"aws:SourceArn": source_arn_like}}
        conditions: dict[str, dict[str, object]] = {op: dict(keys) for op, keys in source.items()}
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

    def warn_manual_policy(self, resource: str, statement: iam.PolicyStatement, why: str = "") -> None:
        """The owner of an imported ``resource`` must add ``statement``; SES rejects the rule until then."""
        document = json.dumps(cdk.Stack.of(self.rule).resolve(statement.to_statement_json()), sort_keys=True)
        cdk.Annotations.of(self.rule).add_warning_v2(
            _WARNING_ID,
            f"receipt rule {self.rule_name!r}: cannot add SES's permission to the imported {resource}; "
            f"its owner must add this statement before the rule is created{why}: {document}",
        )


def _sid_suffix(rule_set_name: str, rule_name: str) -> str:
    # Sids allow only letters and digits; the names already identify the rule uniquely within the account.
    return "".join(
        part.capitalize() for part in f"{rule_set_name}-{rule_name}".replace(".", "-").replace("_", "-").split("-")
    )


class S3WriteRole(Construct):
    """The IAM role SES assumes for every S3 action of one rule set that stores into one bucket.

    SES documents this for the S3 action (``IamRoleArn``): "If an IAM role ARN is provided, the role (and only the
    role) is used to access all the given resources (Amazon S3 bucket, AWS KMS customer managed key and Amazon SNS
    topic)". So the bucket needs no statement for ``ses.amazonaws.com`` and its KMS key no grant to SES: the role's
    own policy allows ``s3:PutObject`` under the actions' prefixes, ``kms:GenerateDataKey``/``kms:Encrypt`` on the
    bucket's key (through S3 only) and on a message-encryption key, and ``sns:Publish`` on the actions' topics.

    Trust (SES developer guide, "Trust policy for S3 action IAM role"): ``ses.amazonaws.com`` may assume the role
    only with ``aws:SourceAccount`` = this account and ``aws:SourceArn`` matching
    ``arn:...:receipt-rule-set/<set>:receipt-rule/*``. That pattern covers the rules of this one set, which this
    stack names and owns, and nothing else; listing each rule's ARN instead would outgrow IAM's 2,048-character
    trust-policy quota at about 20 rules, and every rule of the set that stores into this bucket uses the role.
    """

    def __init__(self, scope: Construct, construct_id: str, *, rule_set_name: str, bucket: s3.IBucket) -> None:
        """
        :param rule_set_name: the set whose rules may use the role (its name is in the trust policy's pattern).
        :param bucket: the bucket the role writes to.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.rule_set_name = rule_set_name
        self.bucket = bucket
        self._prefixes: list[str] = []
        self._keys: list[tuple[kms.IKey, bool]] = []
        self._topics: list[sns.ITopic] = []
        # SES developer guide, "Giving permissions to Amazon SES for email receiving", section "Trust policy for S3
        # action IAM role": https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html
        # (ArnLike instead of the page's StringEquals on one rule: one role serves every rule of the set.)
        self._rule_arns: list[str] = []
        # The rules that use the role, each by its ARN, as the page shows; past MAX_LISTED_RULES the set's pattern.
        # Exact ARNs matter most beside WorkMail, whose shared set holds rules that are not sesmail's.
        trust = iam.ServicePrincipal(SES_PRINCIPAL).with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": cdk.Lazy.any(_Produce(self._source_arns))},
            }
        )
        self.role = iam.Role(
            self,
            "Resource",
            assumed_by=trust,
            description=f"sesmail: SES stores mail of rule set {rule_set_name} into its bucket",
        )
        # The role's permissions, rebuilt as the set's S3 actions add prefixes, keys and topics.
        # SES developer guide, "Setting up IAM role permissions for Deliver to S3 bucket action":
        # https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html
        self.policy = iam.CfnPolicy(
            self,
            "Policy",
            policy_name="SesS3Action",
            roles=[self.role.role_name],
            policy_document=self._document(),
        )
        limits.watch(self)

    @classmethod
    def of(cls, context: RuleContext, bucket: s3.IBucket) -> S3WriteRole:
        """The rule set's role for ``bucket``, created on first use (a child of the rule set)."""
        scope = context.role_scope
        for child in scope.node.children:
            if (
                isinstance(child, S3WriteRole)
                and child.rule_set_name == context.rule_set_name
                and child.bucket is bucket
            ):
                return child
        # Named after the bucket's path, so adding a rule for another bucket never renames (replaces) this role.
        stack_path = cdk.Stack.of(scope).node.path
        parts = [p for p in bucket.node.path.removeprefix(stack_path + "/").split("/") if p != "Resource"]
        name = "".join(c for c in "".join(parts) if c.isalnum())[:200]
        return cls(scope, f"S3Role-{context.rule_set_name}-{name}", rule_set_name=context.rule_set_name, bucket=bucket)

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    def add_rule(self, rule_arn: str) -> None:
        """Let SES assume the role for the rule ``rule_arn``."""
        if rule_arn not in self._rule_arns:
            self._rule_arns.append(rule_arn)

    def _source_arns(self) -> str | list[str]:
        if 0 < len(self._rule_arns) <= MAX_LISTED_RULES:
            return self._rule_arns[0] if len(self._rule_arns) == 1 else list(self._rule_arns)
        return receipt_rule_arn(cdk.Stack.of(self), self.rule_set_name, "*")

    @property
    def object_resources(self) -> list[str]:
        """The object ARNs the role may put: each prefix's objects, or the bucket's past :data:`MAX_LISTED_PREFIXES`."""
        if self._whole_bucket:
            return [self.bucket.arn_for_objects("*")]
        return [self.bucket.arn_for_objects(f"{prefix}*") for prefix in self._prefixes]

    @property
    def _whole_bucket(self) -> bool:
        return "" in self._prefixes or len(self._prefixes) > MAX_LISTED_PREFIXES

    def add_prefix(self, prefix: str) -> None:
        """Let the role put objects under ``prefix``."""
        if prefix not in self._prefixes:
            unchanged = self._whole_bucket  # already the bucket's objects: another prefix changes no statement
            self._prefixes.append(prefix)
            if not unchanged:
                self._render()

    def add_key(self, key: kms.IKey, *, through_s3: bool) -> None:
        """Let the role use ``key``: as the bucket's SSE-KMS key (through S3 only) or to encrypt messages itself."""
        if not any(existing is key and via == through_s3 for existing, via in self._keys):
            self._keys.append((key, through_s3))
            self._render()

    def add_topic(self, topic: sns.ITopic) -> None:
        """Let the role publish the S3 action's notification to ``topic`` (and use its KMS key)."""
        if not any(existing is topic for existing in self._topics):
            self._topics.append(topic)
            if topic.master_key is not None:
                self.add_key(topic.master_key, through_s3=False)
            self._render()

    def _render(self) -> None:
        # The document is rebuilt from what the set's S3 actions added so far (listed prefixes may collapse).
        self.policy.policy_document = self._document()

    def _document(self) -> dict[str, Any]:
        statements: list[iam.PolicyStatement] = [
            iam.PolicyStatement(sid="S3Access", actions=["s3:PutObject"], resources=self.object_resources)
        ]
        region = self.bucket.env.region
        for index, (key, through_s3) in enumerate(self._keys):
            # CloudFormation, AWS::SES::ReceiptRule S3Action IamRoleArn: the role "should have access to ...
            # s3:PutObject, kms:Encrypt and kms:GenerateDataKey for the given Amazon S3 bucket" and
            # "kms:GenerateDataKey for the given AWS KMS customer managed key". A key of this account whose policy
            # keeps KMS's default statement ("Allows access to the AWS account and enables IAM policies",
            # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html) honours this IAM grant,
            # so the key policy names neither SES nor the role.
            statements.append(
                iam.PolicyStatement(
                    sid=f"KMSAccess{index or ''}",
                    actions=["kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}
                    if through_s3
                    else None,
                )
            )
        if self._topics:
            statements.append(
                iam.PolicyStatement(
                    sid="SNSAccess", actions=["sns:Publish"], resources=[topic.topic_arn for topic in self._topics]
                )
            )
        return iam.PolicyDocument(statements=statements).to_json()

    def acknowledge_wildcards(self) -> None:
        """cdk-nag IAM5 on the object ARNs: SES names each object by its message id, known only when mail arrives."""
        for resource in self.object_resources:
            flat = nag_resource(self, resource)
            cdk.Validations.of(self).acknowledge(
                cdk.Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{flat}]",
                    reason=(
                        "SES stores each message under the S3 action's prefix with its message id as the key, known "
                        "only when mail arrives; the role can be assumed only by SES for this stack's rule set."
                    ),
                )
            )


def _same_account(scope: Construct, account: str) -> bool:
    return not cdk.Token.is_unresolved(account) and account == cdk.Stack.of(scope).account


def grant_bucket_write(
    context: RuleContext,
    bucket: s3.IBucket,
    object_key_prefix: str,
    *,
    kms_key: kms.IKey | None = None,
    topic: sns.ITopic | None = None,
) -> str:
    """Let the rule's S3 action write through the rule set's :class:`S3WriteRole` for ``bucket``; its ARN."""
    writer = S3WriteRole.of(context, bucket)
    writer.add_rule(context.rule_arn)
    writer.add_prefix(object_key_prefix)
    writer.acknowledge_wildcards()
    if bucket.encryption_key is not None:
        writer.add_key(bucket.encryption_key, through_s3=True)
    if kms_key is not None:
        writer.add_key(kms_key, through_s3=False)
        _warn_imported_key(context, writer, kms_key)
    if topic is not None:
        writer.add_topic(topic)
        if not _same_account(context.rule, topic.env.account):
            context.warn_manual_policy(
                f"topic {topic.topic_arn}",
                iam.PolicyStatement(
                    principals=[iam.ArnPrincipal(writer.role_arn)], actions=["sns:Publish"], resources=[topic.topic_arn]
                ),
                " (only if the topic is in another account)",
            )
    # The role is ordered by the rule's GetAtt of its ARN; its policy must exist too before SES checks access.
    context.depend_on(writer.policy)
    _transitional_grants(context, bucket, object_key_prefix)
    if not isinstance(bucket, s3.Bucket):
        # SES developer guide: "for cross-account usage, you'll need an additional bucket policy that allows the IAM
        # role to 'PutObject' in the bucket" (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html).
        context.warn_manual_policy(
            f"bucket {bucket.bucket_name}",
            iam.PolicyStatement(
                principals=[iam.ArnPrincipal(writer.role_arn)],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{object_key_prefix}*")],
            ),
            f" (only if the bucket is in another account; the principal is the role {writer.node.path}; if the bucket "
            "is encrypted with a KMS key, that key's policy must also allow the role kms:GenerateDataKey and "
            "kms:Encrypt)",
        )
    elif bucket.encryption_key is not None:
        _warn_imported_key(context, writer, bucket.encryption_key)
    return writer.role_arn


def _transitional_grants(context: RuleContext, bucket: s3.IBucket, object_key_prefix: str) -> None:
    """The grants SES used before the role, kept for one migration deploy when the MailBucket asks for them.

    During the update that adds ``IamRoleArn`` to existing rules, CloudFormation may update the bucket and key
    policies before the rules (nothing orders them), and until a rule uses the role SES writes with these grants.
    SES developer guide, "Give SES permission to write to an S3 bucket" and "... to use your AWS KMS key"
    (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html).
    """
    owner = bucket.node.scope
    if not (isinstance(owner, MailBucket) and owner.transitional_ses_grants and owner.bucket is bucket):
        return
    # The rule's name in any set of this account: the move from the takeover design beside WorkMail changes the
    # rules' set (sesmail-<env> to INBOUND_MAIL), and the old set's rules store mail until the update's cleanup.
    stack = cdk.Stack.of(context.rule)
    any_set = stack.format_arn(
        service="ses",
        resource="receipt-rule-set",
        resource_name=f"*:receipt-rule/{context.rule_name}",
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )
    put = context.statement(
        "AllowSesPut", ["s3:PutObject"], [bucket.arn_for_objects(f"{object_key_prefix}*")], source_arn_like=any_set
    )
    bucket.add_to_resource_policy(put)
    use_key = context.statement(
        "AllowSesSseKms",
        ["kms:GenerateDataKey*"],
        ["*"],
        source_arn_like=any_set,
        StringEquals={"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
    )
    owner.key.add_to_resource_policy(use_key)


def _warn_imported_key(context: RuleContext, writer: S3WriteRole, key: kms.IKey) -> None:
    if isinstance(key, kms.Key) and _same_account(context.rule, key.env.account):
        return  # this account's key with KMS's default policy: the role's IAM grant is enough.
    context.warn_manual_policy(
        f"key {key.key_arn}",
        iam.PolicyStatement(
            principals=[iam.ArnPrincipal(writer.role_arn)],
            actions=["kms:Encrypt", "kms:GenerateDataKey"],
            resources=["*"],
        ),
        " (unless its key policy lets IAM policies of this account allow it)",
    )


def grant_invoke(context: RuleContext, function: lambda_.IFunction) -> None:
    """``lambda:InvokeFunction`` for the rules of this rule set: one permission per function and set.

    Lambda AddPermission, ``SourceArn``: "Note that Lambda configures the comparison using the StringLike operator"
    (https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html), so the set's rule pattern matches each of
    its rules; the function policy no longer grows by one statement per mailbox (20 KB, Lambda quotas).
    """
    permission_id = f"AllowSesInvoke-{context.rule_set_name}"
    if function.node.try_find_child(permission_id) is None:
        # SES developer guide, "Give SES permission to invoke a AWS Lambda function":
        # https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html
        function.add_permission(
            permission_id,
            principal=iam.ServicePrincipal(SES_PRINCIPAL),
            action="lambda:InvokeFunction",
            source_account=context.account,
            source_arn=context.rule_set_rules_arn,
        )
        permission = function.node.try_find_child(permission_id)
        if permission is not None:
            limits.watch(permission)
    permission = function.node.try_find_child(permission_id)
    if permission is not None:
        context.depend_on(permission)
        return
    # CDK adds no permission to a function of another account (or one imported without same_environment).
    statement = iam.PolicyStatement(
        principals=[iam.ServicePrincipal(SES_PRINCIPAL)],
        actions=["lambda:InvokeFunction"],
        resources=[function.function_arn],
        conditions={
            "StringEquals": {"aws:SourceAccount": context.account},
            "ArnLike": {"aws:SourceArn": context.rule_set_rules_arn},
        },
    )
    context.warn_manual_policy(f"function {function.function_arn}", statement)


def grant_publish(context: RuleContext, topic: sns.ITopic) -> None:
    """``sns:Publish`` for this rule, and the topic's KMS key when it has one.

    SES needs a topic policy only for another account's topic or an encrypted one; adding it to a topic of this
    stack is harmless and keeps the grant explicit and scoped.
    """
    # SES developer guide, "Give SES permission to publish to an Amazon SNS topic that belongs to a different AWS
    # account": https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html
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
