"""AWS's size and count quotas that a deploy would hit, checked at synth, each refused with one line.

:func:`watch` registers one validation per stack (``node.add_validation``: CDK runs it when the app synthesizes and
fails synth with its messages). It measures every policy the stack's template holds as AWS counts it: the
resolved JSON, minified. IAM says so outright ("IAM doesn't count white space when calculating the size of a policy
against these limits"); for S3, KMS, Lambda and SES the minified form is the smallest a policy can be sent as.
A value CloudFormation fills in at deploy (``{"Ref": ...}``, ``{"Fn::GetAtt": ...}``, inside ``Fn::Join``) counts at
an estimate of its deployed length (a generated name from the stack name and logical id, an ARN as that name after
its longest prefix, pseudo parameters as AWS writes them), so figures within a few percent of a limit are estimates.

Resources per stack and template size exist only after synthesis: :func:`check_assembly` checks a cloud assembly
(``app.synth()``'s result); the sesmail app calls it and exits 1 with its lines.

Sources (each test cites the sentence it relies on):

- S3, "Adding a bucket policy": "Bucket policies are limited to 20 KB in size."
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/add-bucket-policy.html
- KMS, "Quotas": "Key policy document size | 32 KB (32,768 bytes)".
  https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html
- Lambda, "Lambda quotas": "Function resource-based policy | 20 KB", "Function environment variables | 4 KB".
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
- IAM, "IAM and AWS STS quotas": "User policy size can't exceed 2,048 characters. Role policy size can't exceed
  10,240 characters.", "The size of each managed policy can't exceed 6,144 characters.", "Role trust policy length
  | 2048 characters". https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
- CloudFormation, "Understand CloudFormation quotas": "Resources | The maximum number of resources that you can
  declare in your CloudFormation template. | 500 resources", "Template body size in an Amazon S3 object | ... | 1 MB".
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
"""

from __future__ import annotations

import json
import weakref
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from constructs import IConstruct, IValidation

#: S3 bucket policy, bytes (20 KB).
S3_BUCKET_POLICY = 20 * 1024
#: KMS key policy, bytes.
KMS_KEY_POLICY = 32_768
#: Lambda function (resource-based) policy, bytes (20 KB).
LAMBDA_FUNCTION_POLICY = 20 * 1024
#: Lambda environment variables, bytes (4 KB), all variables together.
LAMBDA_ENVIRONMENT = 4 * 1024
#: IAM inline policies of one user, all together, characters without white space.
IAM_USER_INLINE = 2_048
#: IAM inline policies of one role, all together.
IAM_ROLE_INLINE = 10_240
#: IAM customer managed policy.
IAM_MANAGED_POLICY = 6_144
#: IAM role trust policy (default quota; adjustable).
IAM_ROLE_TRUST = 2_048
#: SES identity policy, bytes: "The size limit on the policy is 4 KB" (see sesmail.identity_policy).
SES_IDENTITY_POLICY = 4_096
#: SES identity policies per identity.
SES_POLICIES_PER_IDENTITY = 20
#: SES receipt rule: "Maximum number of actions per receipt rule | 10" (SES, "Service quotas in Amazon SES",
#: https://docs.aws.amazon.com/ses/latest/dg/quotas.html).
SES_ACTIONS_PER_RULE = 10
#: CloudFormation resources per template.
CFN_RESOURCES = 500
#: CloudFormation template body in an S3 object (cdk deploy uploads templates larger than 51,200 bytes to S3).
CFN_TEMPLATE_BYTES = 1024 * 1024

_WATCHED: weakref.WeakSet[cdk.Stack] = weakref.WeakSet()


def size(scope: IConstruct, value: Any) -> int:
    """Length of ``value`` resolved in ``scope``'s stack and serialized as minified JSON (tokens at template form)."""
    resolved = cdk.Stack.of(scope).resolve(value)
    if isinstance(resolved, str):
        return len(resolved)
    return len(json.dumps(resolved, separators=(",", ":"), ensure_ascii=False))


@dataclass(frozen=True)
class Measure:
    """One measured policy (or count) of a stack: what it is, its figure and its limit."""

    #: the construct path that owns it (the setting to look at is named in :attr:`hint`).
    path: str
    what: str
    figure: int
    limit: int
    unit: str
    hint: str = ""

    @property
    def over(self) -> bool:
        return self.figure > self.limit

    def line(self) -> str:
        """``<path>: <what> is <figure> <unit>; AWS allows <limit> (<hint>)``: one line."""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.path}: {self.what} is {self.figure:,} {self.unit}; AWS allows {self.limit:,}{hint}"


def _path(resource: cdk.CfnResource) -> str:
    """The construct a user wrote: ``Forwarder`` rather than ``Forwarder/Resource/Resource``.

    Read from the resource's path in Python (one jsii round trip) rather than by walking up its scopes (several each).
    """
    path = resource.node.path
    while path.endswith("/Resource"):
        path = path.removesuffix("/Resource")
    return path


#: The CloudFormation type of each generated L1 class (``iam.CfnRole`` -> ``AWS::IAM::Role``), read once per class.
_CLASS_TYPES: dict[type, str | None] = {}


def _resource_type(resource: cdk.CfnResource) -> str:
    """``resource.cfn_resource_type`` without a jsii round trip for a generated L1 (its class names the type)."""
    cls = type(resource)
    if cls not in _CLASS_TYPES:
        name = getattr(cls, "CFN_RESOURCE_TYPE_NAME", None)  # a class property: one jsii call per class
        _CLASS_TYPES[cls] = name if isinstance(name, str) else None
    return _CLASS_TYPES[cls] or resource.cfn_resource_type


def _cfn_resources(stack: cdk.Stack) -> list[cdk.CfnResource]:
    """The stack's own resources (not those of a nested stack below it), in construct-tree order.

    Two jsii calls for the tree and two for each stack nested in it, rather than one ``Stack.of`` per construct.
    """
    constructs = stack.node.find_all()
    # By jsii reference: each call returns new Python proxies for the objects aws-cdk-lib made.
    elsewhere: set[str] = set()
    for construct in constructs:
        if isinstance(construct, cdk.Stack) and construct is not stack and _ref(construct) not in elsewhere:
            elsewhere.update(_ref(c) for c in construct.node.find_all())
    return [c for c in constructs if isinstance(c, cdk.CfnResource) and _ref(c) not in elsewhere]


def _ref(construct: IConstruct) -> str:
    return str(construct.__jsii_ref__.ref)  # type: ignore[attr-defined]


def _prop(props: Mapping[str, Any], key: str) -> Any:
    """Property ``key`` (``PolicyDocument``) of props as a generated L1 holds them (``policyDocument``), or as a
    plain ``CfnResource`` does (the template's name). A generated L1 renders its props by naming each key so."""
    camel = key[0].lower() + key[1:]
    return props[camel] if camel in props else props.get(key)


#: Lengths that stand in for values CloudFormation fills in at deploy. Pseudo parameters as AWS writes them (the
#: longest region name); a name CloudFormation generates is ``<stack>-<logical id>-<13 random>``, at most 63
#: characters (S3's bucket-name maximum; IAM and Lambda allow 64); an ARN is its name after a prefix of at most 52
#: characters (``arn:aws:lambda:ap-southeast-1:123456789012:function:``; S3's ``arn:aws:s3:::`` is 13). Anything
#: else (imports, other attributes) counts as 120 characters.
_PSEUDO = {"AWS::AccountId": 12, "AWS::Partition": 3, "AWS::Region": 14, "AWS::URLSuffix": 13, "AWS::StackName": 128}
_NAME_MAX = 63
_ARN_PREFIX = 52
_OTHER = 120


@dataclass(frozen=True)
class _Lengths:
    #: the stack name's length; a nested stack's name is a token: CloudFormation makes it from the parent's name and
    #: more, up to 128 (:func:`_stack_name_length`).
    stack_name: int
    types: Mapping[str, str]

    def name(self, logical_id: str) -> int:
        return min(_NAME_MAX, self.stack_name + len(logical_id) + 15)

    def arn(self, logical_id: str) -> int:
        prefix = 13 if self.types.get(logical_id) == "AWS::S3::Bucket" else _ARN_PREFIX
        return prefix + self.name(logical_id)

    def deployed(self, value: Any) -> Any:
        """``value`` with each intrinsic replaced by a placeholder as long as its deployed value is likely to be."""
        if isinstance(value, list):
            return [self.deployed(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if str(arg) in _PSEUDO:
                    return "x" * _PSEUDO[str(arg)]
                return "x" * (self.name(str(arg)) if str(arg) in self.types else _OTHER)
            if key == "Fn::GetAtt" and isinstance(arg, list) and len(arg) == 2:
                if arg[1] == "Arn" and str(arg[0]) in self.types:
                    return "x" * self.arn(str(arg[0]))
                return "x" * _OTHER
            if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
                return str(arg[0]).join(str(self.deployed(part)) for part in arg[1])
            if key.startswith("Fn::"):
                return "x" * _OTHER
        return {key: self.deployed(item) for key, item in value.items()}


_GENERIC = _Lengths(stack_name=32, types={})


def _stack_name_length(stack_name: str) -> int:
    # aws-cdk-lib's own test: a string without "Token[" holds no token (no jsii call for a plain name).
    unresolved = "Token[" in stack_name and cdk.Token.is_unresolved(stack_name)
    return _PSEUDO["AWS::StackName"] if unresolved else len(stack_name)


def _json_size(value: Any, lengths: _Lengths = _GENERIC) -> int:
    value = lengths.deployed(value)
    if isinstance(value, str):
        return len(value)
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def _ref_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


#: Resources whose one policy document AWS caps: type -> (its property, what it is, limit, unit, AWS's figure).
_DOCUMENTS: dict[str, tuple[str, str, int, str, str]] = {
    "AWS::S3::BucketPolicy": (
        "PolicyDocument",
        "S3 bucket policy",
        S3_BUCKET_POLICY,
        "bytes",
        "S3 allows 20 KB per bucket policy",
    ),
    "AWS::KMS::Key": ("KeyPolicy", "KMS key policy", KMS_KEY_POLICY, "bytes", "KMS allows 32 KB per key policy"),
    "AWS::IAM::Role": (
        "AssumeRolePolicyDocument",
        "IAM role trust policy",
        IAM_ROLE_TRUST,
        "characters",
        "IAM's default role trust policy quota",
    ),
    "AWS::IAM::ManagedPolicy": (
        "PolicyDocument",
        "IAM managed policy",
        IAM_MANAGED_POLICY,
        "characters",
        "IAM allows 6,144 characters per managed policy",
    ),
}


def measure_stack(stack: cdk.Stack) -> list[Measure]:
    """Every policy and environment of ``stack`` that AWS caps, measured (see the module docstring for how)."""
    return [pending.measure() for pending in _measure(stack)]


@dataclass(frozen=True)
class _Pending:
    """A :class:`Measure` whose construct path is read (jsii round trips) only when asked for: a check that passes
    names nothing."""

    owner: cdk.CfnResource | None
    fallback: str
    what: str
    figure: int
    limit: int
    unit: str
    hint: str

    @property
    def over(self) -> bool:
        return self.figure > self.limit

    def measure(self) -> Measure:
        path = _path(self.owner) if self.owner is not None else self.fallback
        return Measure(path, self.what, self.figure, self.limit, self.unit, self.hint)


def _measure(stack: cdk.Stack) -> list[_Pending]:
    """The stack's measures. The stack is read in one ``resolve``: every resource's logical id and the properties of
    those measured (the resources and their classes are read without one jsii call per construct)."""
    resources = [(resource, _resource_type(resource)) for resource in _cfn_resources(stack)]
    measured = [(resource, kind) for resource, kind in resources if kind in _MEASURED]
    logical_ids, all_props = stack.resolve(
        [[r.logical_id for r, _ in resources], [r._cfn_properties for r, _ in measured]]
    )
    lengths = _Lengths(
        stack_name=_stack_name_length(stack.stack_name),
        types={logical_id: kind for logical_id, (_, kind) in zip(logical_ids, resources, strict=True)},
    )
    logical_id_of = {id(r): logical_id for logical_id, (r, _) in zip(logical_ids, resources, strict=True)}

    def size_of(value: Any) -> int:
        return _json_size(value, lengths)

    pending: list[_Pending] = []
    lambda_permissions: dict[str, list[tuple[cdk.CfnResource, dict[str, Any]]]] = defaultdict(list)
    inline_by_role: dict[str, list[int]] = defaultdict(list)
    inline_by_user: dict[str, list[int]] = defaultdict(list)
    owners: dict[str, cdk.CfnResource] = {}  # each role and function, by their refs
    user_owners: dict[str, cdk.CfnResource] = {}
    for (resource, kind), props in zip(measured, all_props, strict=True):
        props = props if isinstance(props, dict) else {}
        logical_id = logical_id_of[id(resource)]
        ref = _ref_key({"Ref": logical_id})
        if kind in _DOCUMENTS:
            key, what, limit, unit, hint = _DOCUMENTS[kind]
            pending.append(_Pending(resource, "", what, size_of(_prop(props, key)), limit, unit, hint))
        if kind == "AWS::Lambda::Permission":
            lambda_permissions[_ref_key(_prop(props, "FunctionName"))].append((resource, props))
        elif kind == "AWS::Lambda::Function":
            # Permissions name their function by Ref (name) or by Fn::GetAtt Arn.
            owners.setdefault(ref, resource)
            owners.setdefault(_ref_key({"Fn::GetAtt": [logical_id, "Arn"]}), resource)
            variables = _prop(_prop(props, "Environment") or {}, "Variables")
            if variables:
                pending.append(
                    _Pending(
                        resource,
                        "",
                        "Lambda environment",
                        size_of(variables),
                        LAMBDA_ENVIRONMENT,
                        "bytes",
                        "Lambda allows 4 KB of environment variables per function",
                    )
                )
        elif kind == "AWS::IAM::Role":
            owners[ref] = resource
            for policy in _prop(props, "Policies") or []:
                inline_by_role[ref].append(size_of(_prop(policy, "PolicyDocument")))
        elif kind == "AWS::IAM::User":
            user_owners[ref] = resource
            for policy in _prop(props, "Policies") or []:
                inline_by_user[ref].append(size_of(_prop(policy, "PolicyDocument")))
        elif kind == "AWS::IAM::Policy":
            document = size_of(_prop(props, "PolicyDocument"))
            for role in _prop(props, "Roles") or []:
                inline_by_role[_ref_key(role)].append(document)
            for user in _prop(props, "Users") or []:
                inline_by_user[_ref_key(user)].append(document)
        elif kind == "AWS::SES::ReceiptRule":
            actions = _prop(_prop(props, "Rule") or {}, "Actions") or []
            pending.append(
                _Pending(
                    resource,
                    "",
                    "receipt rule's actions",
                    len(actions),
                    SES_ACTIONS_PER_RULE,
                    "actions",
                    "SES allows 10 actions per receipt rule",
                )
            )
    for ref, sizes in inline_by_role.items():
        pending.append(
            _Pending(
                owners.get(ref),
                ref,
                "IAM role's inline policies",
                sum(sizes),
                IAM_ROLE_INLINE,
                "characters",
                "IAM allows 10,240 characters of inline policy per role",
            )
        )
    for ref, sizes in inline_by_user.items():
        pending.append(
            _Pending(
                user_owners.get(ref),
                ref,
                "IAM user's inline policies",
                sum(sizes),
                IAM_USER_INLINE,
                "characters",
                "IAM allows 2,048 characters of inline policy per user",
            )
        )
    for function, permissions in lambda_permissions.items():
        # Each statement's Sid is its permission's construct id (one jsii call each, Lambda permissions only).
        named = [(permission.node.path, props) for permission, props in permissions]
        pending.append(
            _Pending(
                owners.get(function),
                named[0][0].rsplit("/", 1)[0],
                f"Lambda function policy ({len(permissions)} permissions)",
                _function_policy_size(named, lengths),
                LAMBDA_FUNCTION_POLICY,
                "bytes",
                "Lambda allows 20 KB per function policy",
            )
        )
    return pending


_MEASURED = frozenset(
    {
        "AWS::S3::BucketPolicy",
        "AWS::KMS::Key",
        "AWS::Lambda::Permission",
        "AWS::Lambda::Function",
        "AWS::IAM::Role",
        "AWS::IAM::User",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::SES::ReceiptRule",
    }
)


def _function_policy_size(permissions: list[tuple[str, dict[str, Any]]], lengths: _Lengths) -> int:
    """The function policy Lambda builds from its permissions: one statement each, as AddPermission writes it."""
    statements = []
    for path, props in permissions:
        condition: dict[str, Any] = {}
        if _prop(props, "SourceAccount") is not None:
            condition["StringEquals"] = {"AWS:SourceAccount": _prop(props, "SourceAccount")}
        if _prop(props, "SourceArn") is not None:
            condition["ArnLike"] = {"AWS:SourceArn": _prop(props, "SourceArn")}
        statements.append(
            {
                "Sid": path.rsplit("/", 1)[-1],
                "Effect": "Allow",
                "Principal": {"Service": _prop(props, "Principal")},
                "Action": _prop(props, "Action"),
                "Resource": _prop(props, "FunctionName"),
                **({"Condition": condition} if condition else {}),
            }
        )
    return _json_size({"Version": "2012-10-17", "Id": "default", "Statement": statements}, lengths)


@jsii.implements(IValidation)
class _StackLimits:
    def __init__(self, stack: cdk.Stack) -> None:
        self._stack = stack

    def validate(self) -> list[str]:
        return [pending.measure().line() for pending in _measure(self._stack) if pending.over]


def watch(scope: IConstruct) -> None:
    """Check ``scope``'s stack against the limits above when the app synthesizes (once per stack)."""
    stack = cdk.Stack.of(scope)
    if stack in _WATCHED:
        return
    _WATCHED.add(stack)
    stack.node.add_validation(_StackLimits(stack))


def check_template(stack_name: str, template: Mapping[str, Any], body_bytes: int) -> list[str]:
    """One line per CloudFormation limit a synthesized template exceeds (resources, template size)."""
    errors = []
    count = len(template.get("Resources") or {})
    if count > CFN_RESOURCES:
        errors.append(
            f"{stack_name}: template has {count:,} resources; CloudFormation allows {CFN_RESOURCES} per stack "
            "(fewer mailboxes or rules per environment)"
        )
    if body_bytes > CFN_TEMPLATE_BYTES:
        errors.append(
            f"{stack_name}: template is {body_bytes:,} bytes; CloudFormation allows {CFN_TEMPLATE_BYTES:,} (1 MB)"
        )
    return errors


def check_assembly(assembly: Any) -> list[str]:
    """One line per CloudFormation limit exceeded by a stack of ``assembly`` (``app.synth()``'s cloud assembly)."""
    errors = []
    for stack in assembly.stacks:
        path = Path(assembly.directory) / stack.template_file
        body = path.read_bytes()
        errors.extend(check_template(stack.stack_name, json.loads(body), len(body)))
    # Nested stacks (sesmail.PeopleSmtpCredentials) are file assets of their parent, each its own stack with the
    # same quotas.
    for path in sorted(Path(assembly.directory).glob("*.nested.template.json")):
        body = path.read_bytes()
        errors.extend(check_template(path.name.removesuffix(".template.json"), json.loads(body), len(body)))
    return errors
