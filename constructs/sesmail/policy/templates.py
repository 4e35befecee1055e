"""Find the synthesized templates of a cloud assembly and every policy document in them.

What is extracted (``kind`` "identity" applies to IAM principals, "resource" protects a resource):

===============================  ========  =========================================================================
resource type                    kind      document / attached to / protected resource
===============================  ========  =========================================================================
AWS::IAM::Policy, ManagedPolicy  identity  ``PolicyDocument``; its ``Roles``/``Users``/``Groups`` (groups: their users),
                                           for a managed policy also every role/user/group listing it in
                                           ``ManagedPolicyArns``
AWS::IAM::Role / User / Group    identity  each inline ``Policies[]`` entry (``name`` = its ``PolicyName``)
AWS::IAM::Role                   resource  the trust policy ``AssumeRolePolicyDocument`` (``name`` says so)
AWS::S3::BucketPolicy            resource  the bucket's ARN and ``<bucket ARN>/*``
AWS::KMS::Key                    resource  ``KeyPolicy``; the key's ARN
AWS::SNS::TopicPolicy            resource  the ARNs of ``Topics``
AWS::SQS::QueuePolicy            resource  the ARNs of ``Queues``
AWS::SecretsManager::            resource  the secret's ARN
ResourcePolicy
AWS::Lambda::Permission          resource  a one-statement document built from the permission; the function's ARN
Custom::SesIdentityPolicy        resource  its ``Policy`` (a JSON string, usually an ``Fn::Join``); the identity's
                                           ARN ``arn:<p>:ses:<region>:<account>:identity/<Identity>``. With
                                           ``NormalizeAwsPrincipals`` "true" the AWS principals are rewritten to the
                                           account root, as the deploy-time handler does.
===============================  ========  =========================================================================

AWS managed policies named in ``ManagedPolicyArns`` are not in the template and are not extracted.

The stack's account, region and partition come from the cloud assembly's ``manifest.json`` (the stack artifact's
``environment``, ``aws://123456789012/us-east-1``) when the template sits in one (a nested stack's template,
``*.nested.template.json``: its parent's, the stack whose asset manifest lists it); otherwise from the caller's
defaults, else they stay unresolved markers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .intrinsics import Resolver, StackContext, is_unresolved, partition_of_region, unresolved

__all__ = [
    "ExtractedPolicy",
    "StackContext",
    "TemplateError",
    "TemplateScan",
    "extract_policies",
    "load_templates",
    "principal_arn",
    "scan_templates",
]

TEMPLATE_SUFFIX = ".template.json"


class TemplateError(ValueError):
    """A path that holds no readable template (missing, unreadable, not JSON, no templates in a directory)."""


@dataclass(frozen=True)
class ExtractedPolicy:
    """One policy document found in a template, with what it applies to."""

    template: str
    logical_id: str
    resource_type: str
    kind: str
    document: Mapping[str, Any]
    attached_to: tuple[str, ...]
    resource_arns: tuple[str, ...]
    context: StackContext
    #: The policy's name where a resource holds several (inline role policies, the trust policy), else ``None``.
    name: str | None = None
    #: Why the document could not be read (e.g. a ``Policy`` string that is not JSON); the document is then empty.
    problems: tuple[str, ...] = ()
    #: The resource's ``Metadata`` (lint suppressions live there).
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TemplateScan:
    """One loaded template: its path, content, context, resolver and extracted policies."""

    path: Path
    template: dict[str, Any]
    context: StackContext
    resolver: Resolver
    policies: list[ExtractedPolicy]


def load_templates(
    paths: Sequence[str | Path], *, defaults: StackContext | None = None
) -> list[tuple[Path, dict[str, Any], StackContext]]:
    """Every ``*.template.json`` under each path (a file or a directory such as cdk.out/), parsed, with its context.

    ``defaults`` fills what a cloud assembly's manifest does not say (account, region, partition). Raises
    :class:`TemplateError` for a missing or unreadable path, invalid JSON, or a directory without templates.
    """
    seen: set[Path] = set()
    loaded: list[tuple[Path, dict[str, Any], StackContext]] = []
    manifests: dict[Path, Mapping[str, Any]] = {}
    for raw in paths:
        for path in _template_files(Path(raw)):
            key = path.resolve()
            if key in seen:
                continue
            seen.add(key)
            try:
                template = json.loads(path.read_text(encoding="utf-8"))
            except OSError as error:
                raise TemplateError(f"{path}: cannot read: {error.strerror or error}") from None
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise TemplateError(f"{path}: not a JSON template: {error}") from None
            if not isinstance(template, dict) or not isinstance(template.get("Resources", {}), dict):
                raise TemplateError(f"{path}: not a CloudFormation template (no Resources object)")
            loaded.append((path, template, _context_for(path, manifests, defaults)))
    return loaded


def scan_templates(paths: Sequence[str | Path], *, defaults: StackContext | None = None) -> list[TemplateScan]:
    """Load the templates under ``paths`` and extract their policies (see :func:`extract_policies`)."""
    scans = []
    for path, template, context in load_templates(paths, defaults=defaults):
        resolver = Resolver(template, context)
        scans.append(TemplateScan(path, template, context, resolver, list(_extract(str(path), template, resolver))))
    return scans


def extract_policies(paths: Sequence[str | Path], *, defaults: StackContext | None = None) -> list[ExtractedPolicy]:
    """Every policy document in the templates, in file then logical-id order."""
    return [policy for scan in scan_templates(paths, defaults=defaults) for policy in scan.policies]


def principal_arn(template: Mapping[str, Any], logical_id: str, context: StackContext) -> str:
    """The ARN of an AWS::IAM::Role or AWS::IAM::User defined in the template.

    e.g. ``arn:aws:iam::123456789012:role/<RoleName, or the logical id when the name is generated>``. Raises
    ``KeyError`` when the template has no role or user with that logical id.
    """
    resource = (template.get("Resources") or {}).get(logical_id)
    if not resource or resource.get("Type") not in ("AWS::IAM::Role", "AWS::IAM::User"):
        raise KeyError(f"no AWS::IAM::Role or AWS::IAM::User with logical id {logical_id!r}")
    arn = Resolver(template, context).get_att(logical_id, "Arn")
    assert isinstance(arn, str)
    return arn


# -- files and context ------------------------------------------------------------------------------------------------


def _template_files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.rglob(f"*{TEMPLATE_SUFFIX}") if p.is_file())
        if not found:
            raise TemplateError(f"{path}: no *{TEMPLATE_SUFFIX} files (run `cdk synth` first?)")
        return found
    if path.is_file():
        return [path]
    raise TemplateError(f"{path}: no such file or directory")


def _context_for(path: Path, manifests: dict[Path, Mapping[str, Any]], defaults: StackContext | None) -> StackContext:
    folder = path.parent
    if folder not in manifests:
        try:
            manifests[folder] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifests[folder] = {}
    account = region = stack_name = None
    artifacts = manifests[folder].get("artifacts") or {}
    # A nested stack's template is a file asset of its parent stack, and is deployed into the parent's environment.
    parent = _parent_of_nested(folder, path.name, artifacts)
    for artifact_id, artifact in artifacts.items():
        props = artifact.get("properties") or {}
        if artifact_id == parent:
            environment = str(artifact.get("environment", ""))
            if environment.startswith("aws://"):
                account, _, region = environment[len("aws://") :].partition("/")
            continue
        if artifact.get("type") == "aws:cloudformation:stack" and props.get("templateFile") == path.name:
            environment = str(artifact.get("environment", ""))
            if environment.startswith("aws://"):
                account, _, region = environment[len("aws://") :].partition("/")
            stack_name = props.get("stackName") or artifact_id
            break
    if not account or account.startswith("unknown-"):
        account = defaults.account if defaults else unresolved({"Ref": "AWS::AccountId"})
    if not region or region.startswith("unknown-"):
        region = defaults.region if defaults else unresolved({"Ref": "AWS::Region"})
    if defaults and defaults.partition and not is_unresolved(defaults.partition) and defaults.partition != "aws":
        partition = defaults.partition
    else:
        partition = partition_of_region(region)
    if stack_name is None:
        stack_name = path.name[: -len(TEMPLATE_SUFFIX)] if path.name.endswith(TEMPLATE_SUFFIX) else path.stem
    return StackContext(account=account, region=region, partition=partition, stack_name=stack_name)


def _parent_of_nested(folder: Path, name: str, artifacts: Mapping[str, Any]) -> str | None:
    """The stack artifact whose asset manifest lists the template ``name`` (a ``*.nested.template.json``)."""
    if not name.endswith(".nested" + TEMPLATE_SUFFIX):
        return None
    for asset_id, artifact in artifacts.items():
        if artifact.get("type") != "cdk:asset-manifest":
            continue
        try:
            assets = json.loads((folder / str((artifact.get("properties") or {}).get("file"))).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if any((f.get("source") or {}).get("path") == name for f in (assets.get("files") or {}).values()):
            for stack_id, stack in artifacts.items():
                if stack.get("type") == "aws:cloudformation:stack" and asset_id in (stack.get("dependencies") or []):
                    return str(stack_id)
    return None


# -- extraction -------------------------------------------------------------------------------------------------------


def _extract(template_name: str, template: Mapping[str, Any], resolver: Resolver) -> Iterator[ExtractedPolicy]:
    resources: Mapping[str, Any] = template.get("Resources") or {}
    members = _group_members(resources, resolver)
    for logical_id in sorted(resources):
        resource = resources[logical_id]
        if not isinstance(resource, Mapping):
            continue
        kind = resource.get("Type", "")
        props = resource.get("Properties") or {}
        extractor = _EXTRACTORS.get(kind)
        if extractor is None:
            continue
        for found in extractor(logical_id, props, resolver, members):
            document, kind_of, attached, arns, name, problems = found
            yield ExtractedPolicy(
                template=template_name,
                logical_id=logical_id,
                resource_type=kind,
                kind=kind_of,
                document=document,
                attached_to=tuple(attached),
                resource_arns=tuple(arns),
                context=resolver.context,
                name=name,
                problems=tuple(problems),
                metadata=resource.get("Metadata") or {},
            )


# (document, kind, attached_to, resource_arns, name, problems)
_Found = tuple[Mapping[str, Any], str, Sequence[str], Sequence[str], "str | None", Sequence[str]]


def _document(resolver: Resolver, value: Any) -> tuple[Mapping[str, Any], list[str]]:
    if isinstance(value, str) or (isinstance(value, Mapping) and set(value) & _STRING_BUILDERS):
        try:
            parsed = resolver.resolve_json_string(value)
        except ValueError as error:
            return {}, [f"policy document is {error}"]
    else:
        parsed = resolver.resolve(value)
    if not isinstance(parsed, Mapping):
        return {}, ["policy document is not a JSON object"]
    return parsed, []


def _principal_ids(values: Any, resolver: Resolver, kind: str) -> list[str]:
    """Logical ids of the roles/users/groups named by ``values`` (Refs or names); unknown names stay as they are."""
    out = []
    by_name = {
        resolver.name(lid): lid
        for lid, res in resolver.resources.items()
        if isinstance(res, Mapping) and res.get("Type") == kind
    }
    for value in values or []:
        if isinstance(value, Mapping) and isinstance(value.get("Ref"), str) and value["Ref"] in resolver.resources:
            out.append(value["Ref"])
            continue
        resolved = resolver.resolve(value)
        if isinstance(resolved, str):
            out.append(by_name.get(resolved, resolved))
    return out


def _group_members(resources: Mapping[str, Any], resolver: Resolver) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for lid, res in resources.items():
        if not isinstance(res, Mapping):
            continue
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::IAM::User":
            for group in _principal_ids(props.get("Groups"), resolver, "AWS::IAM::Group"):
                members.setdefault(group, []).append(lid)
        elif res.get("Type") == "AWS::IAM::UserToGroupAddition":
            users = _principal_ids(props.get("Users"), resolver, "AWS::IAM::User")
            for group in _principal_ids([props.get("GroupName")], resolver, "AWS::IAM::Group"):
                members.setdefault(group, []).extend(users)
    return members


def _attached(props: Mapping[str, Any], resolver: Resolver, members: Mapping[str, list[str]]) -> list[str]:
    attached = _principal_ids(props.get("Roles"), resolver, "AWS::IAM::Role")
    attached += _principal_ids(props.get("Users"), resolver, "AWS::IAM::User")
    for group in _principal_ids(props.get("Groups"), resolver, "AWS::IAM::Group"):
        attached += members.get(group, [])
    return list(dict.fromkeys(attached))


def _iam_policy(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    document, problems = _document(resolver, props.get("PolicyDocument"))
    name = resolver.resolve(props.get("PolicyName"))
    yield (
        document,
        "identity",
        _attached(props, resolver, members),
        (),
        name if isinstance(name, str) else None,
        problems,
    )


def _managed_policy(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    document, problems = _document(resolver, props.get("PolicyDocument"))
    attached = _attached(props, resolver, members)
    arn = resolver.ref(lid)
    for other, res in resolver.resources.items():
        if not isinstance(res, Mapping) or res.get("Type") not in _PRINCIPAL_TYPES:
            continue
        arns = (res.get("Properties") or {}).get("ManagedPolicyArns") or []
        if any(value == {"Ref": lid} or resolver.resolve(value) == arn for value in arns):
            attached += members.get(other, []) if res["Type"] == "AWS::IAM::Group" else [other]
    yield document, "identity", list(dict.fromkeys(attached)), (), resolver.name(lid), problems


def _inline_policies(
    lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any, kind: str
) -> Iterator[_Found]:
    attached = members.get(lid, []) if kind == "AWS::IAM::Group" else [lid]
    for entry in props.get("Policies") or []:
        entry = entry if isinstance(entry, Mapping) else {}
        document, problems = _document(resolver, entry.get("PolicyDocument"))
        name = resolver.resolve(entry.get("PolicyName"))
        yield document, "identity", attached, (), name if isinstance(name, str) else None, problems


def _role(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    if "AssumeRolePolicyDocument" in props:
        document, problems = _document(resolver, props["AssumeRolePolicyDocument"])
        yield document, "resource", (), (str(resolver.get_att(lid, "Arn")),), "AssumeRolePolicyDocument", problems
    yield from _inline_policies(lid, props, resolver, members, "AWS::IAM::Role")


def _user(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    yield from _inline_policies(lid, props, resolver, members, "AWS::IAM::User")


def _group(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    yield from _inline_policies(lid, props, resolver, members, "AWS::IAM::Group")


def _bucket_policy(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    document, problems = _document(resolver, props.get("PolicyDocument"))
    bucket = resolver.resolve(props.get("Bucket"))
    arn = f"arn:{resolver.context.partition}:s3:::{bucket}"
    yield document, "resource", (), (arn, f"{arn}/*"), None, problems


def _key(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    if "KeyPolicy" in props:
        document, problems = _document(resolver, props["KeyPolicy"])
        yield document, "resource", (), (str(resolver.get_att(lid, "Arn")),), None, problems


def _topic_policy(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    document, problems = _document(resolver, props.get("PolicyDocument"))
    topics = [str(t) for t in resolver.resolve(props.get("Topics") or [])]
    yield document, "resource", (), topics, None, problems


def _queue_policy(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    document, problems = _document(resolver, props.get("PolicyDocument"))
    arns = []
    for url in resolver.resolve(props.get("Queues") or []):
        url = str(url)
        # https://sqs.<region>.<suffix>/<account>/<name> -> arn:<p>:sqs:<region>:<account>:<name>
        parts = url.split("/")
        if url.startswith("https://sqs.") and len(parts) == 5 and not is_unresolved(url):
            region = parts[2].split(".")[1]
            arns.append(f"arn:{resolver.context.partition}:sqs:{region}:{parts[3]}:{parts[4]}")
        else:
            arns.append(url)
    yield document, "resource", (), arns, None, problems


def _secret_policy(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    document, problems = _document(resolver, props.get("ResourcePolicy"))
    yield document, "resource", (), (str(resolver.resolve(props.get("SecretId"))),), None, problems


def _lambda_permission(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    function = lambda_function_arn(resolver, props.get("FunctionName"))
    principal = resolver.resolve(props.get("Principal"))
    statement: dict[str, Any] = {
        "Sid": lid,
        "Effect": "Allow",
        "Principal": _permission_principal(principal),
        "Action": resolver.resolve(props.get("Action")),
        "Resource": function,
    }
    conditions: dict[str, dict[str, Any]] = {}
    if "SourceAccount" in props:
        conditions.setdefault("StringEquals", {})["aws:SourceAccount"] = resolver.resolve(props["SourceAccount"])
    if "PrincipalOrgID" in props:
        conditions.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = resolver.resolve(props["PrincipalOrgID"])
    if "FunctionUrlAuthType" in props:
        value = resolver.resolve(props["FunctionUrlAuthType"])
        conditions.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = value
    if "SourceArn" in props:
        conditions["ArnLike"] = {"aws:SourceArn": resolver.resolve(props["SourceArn"])}
    if conditions:
        statement["Condition"] = conditions
    yield {"Version": "2012-10-17", "Statement": [statement]}, "resource", (), (function,), None, ()


def _ses_identity_policy(lid: str, props: Mapping[str, Any], resolver: Resolver, members: Any) -> Iterator[_Found]:
    document, problems = _document(resolver, props.get("Policy"))
    ctx = resolver.context
    identity = resolver.resolve(props.get("Identity"))
    arn = f"arn:{ctx.partition}:ses:{ctx.region}:{ctx.account}:identity/{identity}"
    if str(resolver.resolve(props.get("NormalizeAwsPrincipals", "false"))).lower() == "true" and document:
        document = _normalize_principals(document, ctx.partition)
    name = resolver.resolve(props.get("PolicyName"))
    yield document, "resource", (), (arn,), name if isinstance(name, str) else None, problems


def lambda_function_arn(resolver: Resolver, value: Any) -> str:
    """The function ARN that a ``FunctionName``/``FunctionArn`` value names (a name, an ARN, or a Ref/GetAtt)."""
    resolved = resolver.resolve(value)
    text = str(resolved)
    if text.startswith("arn:") or is_unresolved(text):
        return text
    ctx = resolver.context
    return f"arn:{ctx.partition}:lambda:{ctx.region}:{ctx.account}:function:{text}"


def _permission_principal(principal: Any) -> Any:
    if principal == "*":
        return "*"
    text = str(principal)
    if text.endswith((".amazonaws.com", ".amazonaws.com.cn")) and not text.startswith("arn:"):
        return {"Service": text}
    return {"AWS": text}


def _normalize_principals(document: Mapping[str, Any], partition: str) -> Mapping[str, Any]:
    # The same pure function the deploy-time handler runs (shipped as sesmail._handlers).
    from sesmail._handlers.identity_policy.principals import normalize_aws_principals

    try:
        return normalize_aws_principals(dict(document), partition)
    except ValueError:
        return document  # an unresolved principal: the handler would decide at deploy time


_STRING_BUILDERS = {"Fn::Join", "Fn::Sub", "Fn::ToJsonString", "Fn::If", "Fn::Select"}
_PRINCIPAL_TYPES = frozenset({"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"})

_EXTRACTORS: dict[str, Any] = {
    "AWS::IAM::Policy": _iam_policy,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::IAM::Role": _role,
    "AWS::IAM::User": _user,
    "AWS::IAM::Group": _group,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::KMS::Key": _key,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::SecretsManager::ResourcePolicy": _secret_policy,
    "AWS::Lambda::Permission": _lambda_permission,
    "Custom::SesIdentityPolicy": _ses_identity_policy,
}
