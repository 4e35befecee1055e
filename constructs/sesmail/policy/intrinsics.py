"""Resolve CloudFormation intrinsics offline, as far as a synthesized template allows.

Supported: ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``,
``Fn::If`` (with ``Fn::Equals``/``Not``/``And``/``Or``/``Condition``), ``Fn::ToJsonString`` and the pseudo parameters
``AWS::AccountId``, ``AWS::Region``, ``AWS::Partition``, ``AWS::URLSuffix``, ``AWS::StackName``, ``AWS::NoValue``.

Convention for resources of the template (so that ARNs match across resources, and the logical id stays visible):
a resource's *name* is its explicit name property when that resolves (``BucketName``, ``TopicName``, ``RoleName``...),
otherwise its logical id. ``Ref`` and ``Fn::GetAtt`` then give what CloudFormation would give for that name, e.g.

========================  =======================================  ==============================================
type                      ``Ref``                                  ``Fn::GetAtt ... Arn``
========================  =======================================  ==============================================
AWS::S3::Bucket           ``<name>``                               ``arn:<p>:s3:::<name>``
AWS::KMS::Key             ``<LogicalId>`` (the key id)             ``arn:<p>:kms:<r>:<a>:key/<LogicalId>``
AWS::SNS::Topic           ``arn:<p>:sns:<r>:<a>:<name>``           (``TopicArn``) the same
AWS::SQS::Queue           ``https://sqs.<r>.<suffix>/<a>/<name>``  ``arn:<p>:sqs:<r>:<a>:<name>``
AWS::Lambda::Function     ``<name>``                               ``arn:<p>:lambda:<r>:<a>:function:<name>``
AWS::IAM::Role / User     ``<name>``                               ``arn:<p>:iam::<a>:role<Path><name>`` (``user``)
AWS::Logs::LogGroup       ``<name>``                               ``arn:<p>:logs:<r>:<a>:log-group:<name>:*``
========================  =======================================  ==============================================

(``<p>``, ``<r>``, ``<a>``: the stack's partition, region, account.) Anything that cannot be known offline (a
parameter, an import, an attribute of a custom resource...) becomes the string ``${Unresolved:<json of the
intrinsic>}``, embedded as it is inside joined strings, so a rule can tell a known value from an unknown one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

UNRESOLVED_PREFIX = "${Unresolved:"

#: Marks a value that resolves to ``AWS::NoValue``: removed from the enclosing list or object.
NO_VALUE: Any = object()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class StackContext:
    """Where a template deploys: its account, region and partition (each may be an unresolved marker)."""

    account: str
    region: str
    partition: str = "aws"
    #: The stack name, for ``AWS::StackName`` (unresolved when unknown).
    stack_name: str = "${Unresolved:" + '{"Ref":"AWS::StackName"}' + "}"

    @property
    def url_suffix(self) -> str:
        """``AWS::URLSuffix`` of the partition."""
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"


def unresolved(value: Any) -> str:
    """The marker string for an intrinsic that cannot be resolved offline."""
    return UNRESOLVED_PREFIX + json.dumps(value, sort_keys=True, separators=(",", ":")) + "}"


def is_unresolved(value: Any) -> bool:
    """Whether ``value`` (any JSON value) contains an unresolved marker anywhere."""
    if isinstance(value, str):
        return UNRESOLVED_PREFIX in value
    if isinstance(value, Mapping):
        return any(is_unresolved(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unresolved(v) for v in value)
    return False


def partition_of_region(region: str) -> str:
    """The partition a region belongs to (``aws`` for an unknown or unresolved region)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


class Resolver:
    """Resolves the intrinsics of one template against its :class:`StackContext`."""

    def __init__(self, template: Mapping[str, Any], context: StackContext) -> None:
        self.template = template
        self.context = context
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        #: Every marker emitted, so that a JSON string built by ``Fn::Join`` can still be parsed (see
        #: :meth:`resolve_json_string`).
        self.markers: set[str] = set()

    # -- public -------------------------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic resolved or replaced by an unresolved marker (``AWS::NoValue`` removed)."""
        result = self._resolve(value)
        return None if result is NO_VALUE else result

    def resolve_json_string(self, value: Any) -> Any:
        """Resolve ``value`` to a string and parse it as JSON (e.g. a policy built with ``Fn::Join``).

        Unresolved pieces inside JSON string literals survive as markers; raises ``ValueError`` when the text is not
        JSON (for instance an unresolved piece in place of a number).
        """
        if isinstance(value, Mapping) and not _is_intrinsic(value):
            return self.resolve(value)
        text = self.resolve(value)
        if not isinstance(text, str):
            raise ValueError(f"expected a JSON string, got {type(text).__name__}")
        # Markers contain quotes; swap them for quote-free tokens while parsing, then put them back.
        tokens: dict[str, str] = {}
        for index, marker in enumerate(sorted(self.markers, key=len, reverse=True)):
            if marker in text:
                token = f"@@sesmail-unresolved-{index}@@"
                tokens[token] = marker
                text = text.replace(marker, token)
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg} at character {error.pos})") from None
        return _replace_tokens(parsed, tokens) if tokens else parsed

    def name(self, logical_id: str) -> str:
        """The resource's physical name: its explicit name property if it resolves, else its logical id."""
        resource = self.resources.get(logical_id) or {}
        name_property = _NAME_PROPERTIES.get(resource.get("Type", ""))
        if name_property:
            props = resource.get("Properties") or {}
            if isinstance(name_property, tuple):
                outer, inner = name_property
                props = props.get(outer) or {}
                name_property = inner
            if name_property in props:
                value = self.resolve(props[name_property])
                if isinstance(value, str) and value and not is_unresolved(value):
                    return value
        return logical_id

    def ref(self, name: str) -> Any:
        """What ``{"Ref": name}`` gives: a pseudo parameter, a resource's reference value, or a marker."""
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        resource = self.resources.get(name)
        if resource is None:
            return self._marker({"Ref": name})
        kind = resource.get("Type", "")
        if kind in _REF_IS_ARN:
            return self.get_att(name, _REF_IS_ARN[kind])
        if kind == "AWS::IAM::ManagedPolicy":
            ctx = self.context
            return f"arn:{ctx.partition}:iam::{ctx.account}:policy{self._iam_path(name)}{self.name(name)}"
        if kind == "AWS::SQS::Queue":
            ctx = self.context
            return f"https://sqs.{ctx.region}.{ctx.url_suffix}/{ctx.account}/{self.name(name)}"
        if kind == "AWS::KMS::Key":
            return name
        if kind in _NAME_PROPERTIES:
            return self.name(name)
        return self._marker({"Ref": name})

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """What ``{"Fn::GetAtt": [logical_id, attribute]}`` gives, or a marker."""
        resource = self.resources.get(logical_id)
        kind = resource.get("Type", "") if resource else ""
        ctx = self.context
        name = self.name(logical_id)
        p, r, a = ctx.partition, ctx.region, ctx.account
        build: dict[tuple[str, str], Callable[[], str]] = {
            ("AWS::S3::Bucket", "Arn"): lambda: f"arn:{p}:s3:::{name}",
            ("AWS::S3::Bucket", "DomainName"): lambda: f"{name}.s3.{ctx.url_suffix}",
            ("AWS::S3::Bucket", "RegionalDomainName"): lambda: f"{name}.s3.{r}.{ctx.url_suffix}",
            ("AWS::KMS::Key", "Arn"): lambda: f"arn:{p}:kms:{r}:{a}:key/{logical_id}",
            ("AWS::KMS::Key", "KeyId"): lambda: logical_id,
            ("AWS::SNS::Topic", "TopicArn"): lambda: f"arn:{p}:sns:{r}:{a}:{name}",
            ("AWS::SNS::Topic", "TopicName"): lambda: name,
            ("AWS::SQS::Queue", "Arn"): lambda: f"arn:{p}:sqs:{r}:{a}:{name}",
            ("AWS::SQS::Queue", "QueueName"): lambda: name,
            ("AWS::Lambda::Function", "Arn"): lambda: f"arn:{p}:lambda:{r}:{a}:function:{name}",
            ("AWS::IAM::Role", "Arn"): lambda: f"arn:{p}:iam::{a}:role{self._iam_path(logical_id)}{name}",
            ("AWS::IAM::User", "Arn"): lambda: f"arn:{p}:iam::{a}:user{self._iam_path(logical_id)}{name}",
            ("AWS::IAM::Group", "Arn"): lambda: f"arn:{p}:iam::{a}:group{self._iam_path(logical_id)}{name}",
            ("AWS::Logs::LogGroup", "Arn"): lambda: f"arn:{p}:logs:{r}:{a}:log-group:{name}:*",
            ("AWS::SecretsManager::Secret", "Id"): lambda: f"arn:{p}:secretsmanager:{r}:{a}:secret:{name}",
            ("AWS::DynamoDB::Table", "Arn"): lambda: f"arn:{p}:dynamodb:{r}:{a}:table/{name}",
            ("AWS::StepFunctions::StateMachine", "Arn"): lambda: f"arn:{p}:states:{r}:{a}:stateMachine:{name}",
        }
        builder = build.get((kind, attribute))
        return builder() if builder else self._marker({"Fn::GetAtt": [logical_id, attribute]})

    # -- internals ----------------------------------------------------------------------------------------------------

    def _marker(self, intrinsic: Any) -> str:
        marker = unresolved(intrinsic)
        self.markers.add(marker)
        return marker

    def _pseudo(self, name: str) -> Any:
        ctx = self.context
        return {
            "AWS::AccountId": ctx.account,
            "AWS::Region": ctx.region,
            "AWS::Partition": ctx.partition,
            "AWS::URLSuffix": ctx.url_suffix,
            "AWS::StackName": ctx.stack_name,
            "AWS::NoValue": NO_VALUE,
        }.get(name)

    def _iam_path(self, logical_id: str) -> str:
        path = self.resolve(((self.resources.get(logical_id) or {}).get("Properties") or {}).get("Path", "/"))
        return path if isinstance(path, str) and path.startswith("/") and path.endswith("/") else "/"

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if _is_intrinsic(value):
            (function, argument), *_ = value.items()
            handler = _HANDLERS.get(function)
            if handler is None:
                return self._marker(dict(value))
            try:
                return handler(self, argument)
            except (TypeError, ValueError, IndexError, KeyError):
                return self._marker(dict(value))
        resolved = {key: self._resolve(v) for key, v in value.items()}
        return {key: v for key, v in resolved.items() if v is not NO_VALUE}

    def _string(self, value: Any) -> str:
        resolved = self._resolve(value)
        if isinstance(resolved, str):
            return resolved
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, int | float):
            return str(resolved)
        return self._marker(value)

    def _fn_ref(self, argument: Any) -> Any:
        return self.ref(argument) if isinstance(argument, str) else self._marker({"Ref": argument})

    def _fn_get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        logical_id, attribute = argument
        attribute = self._resolve(attribute)
        if not isinstance(logical_id, str) or not isinstance(attribute, str):
            raise ValueError("bad Fn::GetAtt")
        return self.get_att(logical_id, attribute)

    def _fn_join(self, argument: Any) -> Any:
        delimiter, items = argument
        items = self._resolve(items)
        if isinstance(items, str):  # an unresolved list
            return self._marker({"Fn::Join": argument})
        return str(delimiter).join(self._string(item) for item in items)

    def _fn_sub(self, argument: Any) -> Any:
        if isinstance(argument, list):
            text, variables = argument
            variables = {key: self._string(v) for key, v in (variables or {}).items()}
        else:
            text, variables = argument, {}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return variables[name]
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self._string({"Fn::GetAtt": [logical_id, attribute]})
            return self._string({"Ref": name})

        return _SUB_VARIABLE.sub(substitute, text)

    def _fn_select(self, argument: Any) -> Any:
        index, items = argument
        index = int(self._resolve(index))
        items = self._resolve(items)
        if not isinstance(items, list):
            return self._marker({"Fn::Select": argument})
        return items[index]

    def _fn_split(self, argument: Any) -> Any:
        delimiter, text = argument
        text = self._resolve(text)
        if not isinstance(text, str) or is_unresolved(text):
            return self._marker({"Fn::Split": argument})
        return text.split(delimiter)

    def _fn_find_in_map(self, argument: Any) -> Any:
        name, first, second = (self._resolve(part) for part in argument[:3])
        return self.template["Mappings"][name][first][second]

    def _fn_if(self, argument: Any) -> Any:
        condition, when_true, when_false = argument
        return self._resolve(when_true if self._condition(condition) else when_false)

    def _fn_to_json_string(self, argument: Any) -> Any:
        value = self._resolve(argument)
        if is_unresolved(value):
            return self._marker({"Fn::ToJsonString": argument})
        return json.dumps(value, separators=(",", ":"))

    def _condition(self, value: Any) -> bool:
        if isinstance(value, str):
            return self._condition(self.template["Conditions"][value])
        if isinstance(value, bool):
            return value
        (function, argument), *_ = value.items()
        if function == "Condition":
            return self._condition(argument)
        if function == "Fn::Equals":
            left, right = (self._resolve(v) for v in argument)
            if is_unresolved(left) or is_unresolved(right):
                raise ValueError("unresolved condition")
            return bool(left == right)
        if function == "Fn::Not":
            return not self._condition(argument[0])
        if function == "Fn::And":
            return all(self._condition(v) for v in argument)
        if function == "Fn::Or":
            return any(self._condition(v) for v in argument)
        raise ValueError(f"unknown condition function {function}")


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and (next(iter(value)) in _HANDLERS or next(iter(value)) in _UNSUPPORTED)


def _replace_tokens(value: Any, tokens: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for token, marker in tokens.items():
            value = value.replace(token, marker)
        return value
    if isinstance(value, list):
        return [_replace_tokens(v, tokens) for v in value]
    if isinstance(value, dict):
        return {_replace_tokens(k, tokens): _replace_tokens(v, tokens) for k, v in value.items()}
    return value


_HANDLERS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._fn_ref,
    "Fn::GetAtt": Resolver._fn_get_att,
    "Fn::Join": Resolver._fn_join,
    "Fn::Sub": Resolver._fn_sub,
    "Fn::Select": Resolver._fn_select,
    "Fn::Split": Resolver._fn_split,
    "Fn::FindInMap": Resolver._fn_find_in_map,
    "Fn::If": Resolver._fn_if,
    "Fn::ToJsonString": Resolver._fn_to_json_string,
}
# Known functions whose value is only known at deploy time: they become markers.
_UNSUPPORTED = frozenset({"Fn::ImportValue", "Fn::GetAZs", "Fn::Base64", "Fn::Cidr", "Fn::Length", "Fn::Transform"})

# Resource type -> the property holding its explicit name (a pair for a property nested in another).
_NAME_PROPERTIES: dict[str, str | tuple[str, str]] = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::SES::ReceiptRuleSet": "RuleSetName",
    "AWS::SES::ReceiptRule": ("Rule", "Name"),
    "AWS::SES::ConfigurationSet": "Name",
    "AWS::SES::EmailIdentity": "EmailIdentity",
    "AWS::SES::Template": ("Template", "TemplateName"),
    "AWS::SES::ReceiptFilter": ("Filter", "Name"),
}
# Types whose Ref is already an ARN -> the attribute that gives the same ARN.
_REF_IS_ARN = {
    "AWS::SNS::Topic": "TopicArn",
    "AWS::SecretsManager::Secret": "Id",
    "AWS::StepFunctions::StateMachine": "Arn",
}
