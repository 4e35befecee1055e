"""``sesmail check``: would this request be allowed by the policies in the synthesized templates?

``sesmail check [PATH ...] --principal P --action A --resource R [--context key=value ...] [--json]``

- PATH: template files or cloud-assembly directories (default ``cdk.out``), read with
  :func:`sesmail.policy.templates.scan_templates`.
- The principal: an IAM ARN (role, user, account root, assumed-role session), an account id, a service principal
  (``workmail.us-east-1.amazonaws.com``), or ``logical:LogicalId`` for an ``AWS::IAM::Role``/``User`` defined in a
  template. The identity policies evaluated are those the templates attach to that role or user (an ARN principal
  finds its role/user in the templates by ARN); service principals have none.
- The resource policies evaluated are those whose protected resource contains the requested one (the bucket policy
  for ``arn:aws:s3:::bucket/key``, the identity policy for ``...:identity/example.com``, the key policy for the key).
- The resource's account is the ARN's account field, or for ARNs without one (S3) the account of the stack whose
  resource policy protects it; ``--resource-account`` overrides.
- ``--context key=value`` adds a condition key; repeating a key builds a multi-valued key. When not given,
  ``aws:CurrentTime``/``aws:EpochTime`` are the current time and ``aws:SecureTransport`` is ``true`` (SDK calls use
  TLS); the engine derives the principal keys (:mod:`sesmail.policy.evaluate`).

Prints ``ALLOW`` or ``DENY`` with the reason and the deciding statements as ``template:logical-id:statement``
(statement = Sid, or the index when there is none), the statements that may apply but rest on unresolved values, and
what the decision assumes (what is not modelled); ``--json`` carries the same as ``uncertain``, ``definite`` and
``assumptions``. Exit status: 0 ALLOW, 1 DENY, 2 usage error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .conditions import arn_match
from .evaluate import Decision, PolicySource, Request, evaluate, parse_principal

__all__ = ["UsageError", "add_arguments", "check", "parse_context", "run"]

_ACCOUNT = re.compile(r"^\d{12}$")


class UsageError(ValueError):
    """A bad command line or input: reported as one line, exit status 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``check`` subcommand's arguments to ``parser``."""
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", default=["cdk.out"], help="templates or cloud assemblies (default cdk.out)"
    )
    parser.add_argument(
        "--principal",
        required=True,
        help="IAM ARN, account id, service principal (workmail.us-east-1.amazonaws.com) or logical:LogicalId",
    )
    parser.add_argument("--action", required=True, help="the action, e.g. ses:SendRawEmail")
    parser.add_argument("--resource", required=True, help="the resource ARN")
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a condition key and value; repeat a key for a multi-valued key (ses:Recipients)",
    )
    parser.add_argument("--resource-account", help="the account that owns the resource (default: from the ARN)")
    parser.add_argument("--account", help="account id for templates outside a cloud assembly")
    parser.add_argument("--region", help="region for templates outside a cloud assembly")
    parser.add_argument("--json", action="store_true", help="print the decision and matched statements as JSON")


def parse_context(items: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``["k=v", "k=w", "x=y"]`` -> ``{"k": ("v", "w"), "x": ("y",)}``; key names keep their first spelling."""
    context: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--context: {item!r} is not KEY=VALUE")
        name = spelling.setdefault(key.lower(), key)
        context.setdefault(name, []).append(value)
    return {key: tuple(values) for key, values in context.items()}


def _with_defaults(context: dict[str, tuple[str, ...]], now: datetime) -> dict[str, tuple[str, ...]]:
    given = {key.lower() for key in context}
    defaults = {
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        "aws:SecureTransport": "true",
    }
    return {**{k: (v,) for k, v in defaults.items() if k.lower() not in given}, **context}


def _validate_action(action: str, context: dict[str, tuple[str, ...]], notes: list[str]) -> None:
    """Reject an action IAM does not define; note context keys the action does not support (they are ignored)."""
    if not re.fullmatch(r"[A-Za-z0-9-]+:[A-Za-z0-9]+", action):
        raise UsageError(f"--action: {action!r} is not service:Action (no wildcards in a request)")
    from . import iamdb

    found = iamdb.action(action)
    prefix = action.partition(":")[0]
    if found is None:
        if iamdb.service(prefix) is None:
            raise UsageError(f"--action: {action!r}: IAM has no service {prefix!r}")
        raise UsageError(f"--action: {action!r}: IAM's {prefix} service has no such action")
    for key in context:
        if key.lower().startswith("aws:"):
            if iamdb.canonical_global(key) is None:
                notes.append(f"--context {key}: not a global condition key")
        elif not found.supports_key(key):
            notes.append(f"--context {key}: {found.name} does not support this key, so IAM never sets it")


def _resource_account(resource: str, explicit: str | None, protecting: Sequence[Any]) -> str | None:
    if explicit:
        if not _ACCOUNT.match(explicit):
            raise UsageError(f"--resource-account: {explicit!r} is not a 12-digit account id")
        return explicit
    parts = resource.split(":", 5)
    if len(parts) == 6 and _ACCOUNT.match(parts[4]):
        return parts[4]
    accounts = {p.context.account for p in protecting if _ACCOUNT.match(str(p.context.account))}
    return accounts.pop() if len(accounts) == 1 else None


def _protects(arns: Sequence[str], resource: str) -> bool:
    """Whether a resource policy protecting ``arns`` covers ``resource`` (a Lambda ARN also covers its versions)."""
    return any(arn == resource or arn_match(arn, resource) or resource.startswith(arn + ":") for arn in arns)


def _source_name(policy: Any) -> str:
    name = f"{policy.template}:{policy.logical_id}"
    # A role holds its trust policy and inline policies under one logical id: keep them apart in the output.
    return f"{name}/{policy.name}" if policy.name and policy.resource_type in _MULTI_POLICY_TYPES else name


_MULTI_POLICY_TYPES = frozenset({"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"})


def check(args: argparse.Namespace, *, now: datetime | None = None) -> tuple[Request, Decision, dict[str, Any]]:
    """Evaluate the request the arguments describe: ``(request, decision, details)``; raises :class:`UsageError`."""
    from .intrinsics import partition_of_region, unresolved
    from .templates import StackContext, TemplateError, principal_arn, scan_templates

    notes: list[str] = []
    context = parse_context(args.context)
    _validate_action(args.action, context, notes)
    if args.account and not _ACCOUNT.match(args.account):
        raise UsageError(f"--account: {args.account!r} is not a 12-digit account id")
    defaults = None
    if args.account or args.region:
        region = args.region or unresolved({"Ref": "AWS::Region"})
        defaults = StackContext(
            account=args.account or unresolved({"Ref": "AWS::AccountId"}),
            region=region,
            partition=partition_of_region(region),
        )
    try:
        scans = scan_templates(args.paths, defaults=defaults)
    except TemplateError as error:
        raise UsageError(str(error)) from None

    principal_text = args.principal
    identity_owners: set[tuple[str, str]] = set()  # (template, logical id) of the requesting role/user
    if principal_text.startswith("logical:"):
        logical_id = principal_text[len("logical:") :]
        hits = []
        for scan in scans:
            try:
                hits.append((scan, principal_arn(scan.template, logical_id, scan.context)))
            except KeyError:
                continue
        if not hits:
            raise UsageError(
                f"--principal: no AWS::IAM::Role or AWS::IAM::User {logical_id!r} in {', '.join(args.paths)}"
            )
        if len(hits) > 1:
            where = ", ".join(str(scan.path) for scan, _ in hits)
            raise UsageError(f"--principal: {logical_id!r} is defined in several templates ({where}): pass one")
        scan, principal_text = hits[0]
        identity_owners.add((str(scan.path), logical_id))
        if "${Unresolved:" in principal_text:
            raise UsageError(
                f"--principal: the ARN of {logical_id!r} cannot be resolved offline ({principal_text}): "
                "pass --account and --region"
            )
    try:
        principal = parse_principal(principal_text)
    except ValueError as error:
        raise UsageError(f"--{error}") from None
    if not identity_owners and principal.kind in ("user", "role", "assumed-role"):
        wanted = {principal.arn, principal.role_arn}
        for scan in scans:
            for logical_id, resource in (scan.template.get("Resources") or {}).items():
                if isinstance(resource, dict) and resource.get("Type") in ("AWS::IAM::Role", "AWS::IAM::User"):
                    arn = principal_arn(scan.template, logical_id, scan.context)
                    if arn in wanted or (principal.role_arn and _same_role(arn, principal.role_arn)):
                        identity_owners.add((str(scan.path), logical_id))

    policies = [p for scan in scans for p in scan.policies]
    identity = [
        p
        for p in policies
        if p.kind == "identity" and any((p.template, lid) in identity_owners for lid in p.attached_to)
    ]
    protecting = [p for p in policies if p.kind == "resource" and _protects(p.resource_arns, args.resource)]
    for p in policies:
        for problem in p.problems:
            if p in identity or p in protecting:
                notes.append(f"{_source_name(p)}: {problem}")

    request = Request(principal_text, args.action, args.resource, _with_defaults(context, now or datetime.now(UTC)))
    decision = evaluate(
        request,
        identity_policies=[PolicySource(_source_name(p), p.document, "identity") for p in identity],
        resource_policies=[PolicySource(_source_name(p), p.document, "resource") for p in protecting],
        resource_account=_resource_account(args.resource, args.resource_account, protecting),
    )
    details = {
        "identity_policies": [_source_name(p) for p in identity],
        "resource_policies": [_source_name(p) for p in protecting],
        "notes": notes,
    }
    return request, decision, details


def _same_role(role_arn: str, session_role_arn: str) -> bool:
    # A session ARN carries no role path: arn:aws:iam::1:role/path/Name is the role of session arn:..:role/Name.
    name = role_arn.rpartition("/")[2]
    return role_arn.split(":")[4:5] == session_role_arn.split(":")[4:5] and session_role_arn.endswith("/" + name)


def run(args: argparse.Namespace) -> int:
    """Run ``sesmail check``: print the decision; 0 ALLOW, 1 DENY, 2 usage error."""
    try:
        request, decision, details = check(args)
    except UsageError as error:
        print(f"sesmail check: {error}", file=sys.stderr)
        return 2
    notes = [*details["notes"], *decision.notes]
    if args.json:
        out = {
            "request": {
                "principal": request.principal,
                "action": request.action,
                "resource": request.resource,
                "context": {k: list(v) for k, v in request.context.items()},
            },
            **decision.to_json(),
            "notes": notes,
            "identity_policies": details["identity_policies"],
            "resource_policies": details["resource_policies"],
        }
        print(json.dumps(out, indent=2, sort_keys=False))
    else:
        print(_render(request, decision, details, notes))
    return 0 if decision.allowed else 1


def _render(request: Request, decision: Decision, details: dict[str, Any], notes: Sequence[str]) -> str:
    verdict = "ALLOW" if decision.allowed else "DENY"
    reason = decision.reason if decision.definite else f"{decision.reason}, not definite"
    lines = [f"{verdict} ({reason}): {request.principal} {request.action} on {request.resource}"]
    verb = {"explicit-deny": "denied by", "allowed": "allowed by"}.get(decision.reason, "allowed only by")
    for matched in decision.deciding:
        lines.append(f"  {verb} {matched.label}")
    if not decision.deciding and not decision.allowed:
        lines.append("  no statement allows the request")
    for matched in decision.uncertain:
        lines.append(f"  may be {'denied' if matched.effect == 'Deny' else 'allowed'} by {matched.label} (unresolved)")
    n_identity, n_resource = len(details["identity_policies"]), len(details["resource_policies"])
    lines.append(f"  evaluated {n_identity} identity and {n_resource} resource policies")
    lines.extend(f"  note: {note}" for note in notes)
    lines.extend(f"  assumes: {assumption}" for assumption in decision.assumptions)
    return "\n".join(lines)
