"""Offline IAM authorization: would this request be allowed by these identity and resource policies?

A pure engine (no file I/O, no AWS calls, no CDK) that follows the IAM User Guide's "Policy evaluation logic" for
identity-based and resource-based policies:

1. An explicit ``Deny`` in any applicable statement (identity or resource policy) denies.
2. Same account (or the resource's account unknown): an ``Allow`` in an identity policy *or* in a resource policy that
   names the principal (its ARN, ``"*"`` or its service) allows. A resource policy that names only the principal's
   *account* (``123456789012`` or ``arn:aws:iam::123456789012:root``) delegates to that account's identity policies,
   so it allows only together with an identity-policy allow.
3. Cross account (the principal's account differs from ``resource_account``): an identity-policy allow *and* a
   resource-policy allow are both needed.
4. Service principals (``workmail.us-east-1.amazonaws.com``) have no identity policies: resource policies alone decide.
5. A KMS key and a role being assumed (``sts:AssumeRole*``) are exceptions: their key or trust policy must allow the
   principal, or its account (delegating to the account's identity policies); an identity-policy allow alone does
   not grant them (IAM User Guide, "Policy evaluation logic"; KMS Developer Guide, "Key policies in AWS KMS").
6. Otherwise the request is implicitly denied.

The account root user (``arn:aws:iam::111122223333:root`` or a bare account id) counts as allowed on its side without
an identity policy. Not modelled, and named in every decision's ``assumptions``: SCPs/RCPs, permission boundaries,
session policies, VPC endpoint policies, ACLs, and the ``Version: 2008-10-17`` rule that leaves policy variables
literal (variables are always substituted).

Unresolved values: a statement that applies only if a value the template extraction could not resolve
(``${Unresolved:...}``) matches is *uncertain*. It is not counted, is listed in ``Decision.uncertain`` with a note, and
when it could flip the decision (an uncertain Deny under an ALLOW, an uncertain Allow under a DENY) the decision is
not ``definite`` and its assumptions say so. A policy variable with no value is not unresolved: IAM defines it (it
matches nothing in Resource/NotResource and in positive operators; negated operators match).

Context keys the engine derives from the principal when the request does not carry them: ``aws:PrincipalArn`` (for an
assumed-role session: the role's ARN without a path), ``aws:PrincipalAccount``, ``aws:PrincipalType`` (``Account``,
``User``, ``AssumedRole``, ``FederatedUser``), ``aws:username`` (IAM users), ``aws:PrincipalIsAWSService`` and
``aws:PrincipalServiceName`` (service principals). Request-specific keys such as ``aws:SourceArn``,
``aws:SourceAccount``, ``aws:CurrentTime`` or ``ses:FromAddress`` must be passed in ``Request.context``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .conditions import (
    UNRESOLVED_MARKER,
    ConditionError,
    NoValue,
    Outcome,
    conditions_match,
    pattern_match,
    substitute,
    wildcard_match,
)

__all__ = [
    "NOT_MODELLED",
    "Decision",
    "MatchedStatement",
    "PolicySource",
    "Principal",
    "Request",
    "evaluate",
    "explicit_resource_allow",
    "parse_principal",
    "statement_applies",
]

_IAM_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Request:
    """One API request to authorize."""

    #: IAM ARN (role, user, account root, ``sts`` assumed-role session), a bare account id (= its root), or a service
    #: principal such as ``workmail.us-east-1.amazonaws.com``.
    principal: str
    #: The action, e.g. ``ses:SendRawEmail`` (compared case-insensitively).
    action: str
    #: The resource ARN, e.g. ``arn:aws:ses:us-east-1:123456789012:identity/example.com`` (case-sensitive).
    resource: str
    #: Condition key -> values; more than one value makes a multi-valued key. Key names are case-insensitive.
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicySource:
    """A policy document and where it came from."""

    #: Shown in output, e.g. ``sesmail-example.template.json:LogicalId``.
    name: str
    #: ``{"Version": ..., "Statement": [...]}``.
    document: Mapping[str, Any]
    #: ``"identity"`` (attached to the requesting principal) or ``"resource"`` (on the requested resource).
    kind: str


@dataclass(frozen=True)
class MatchedStatement:
    """A statement that applies to the request."""

    #: ``PolicySource.name`` of the policy that holds it.
    source: str
    #: Index of the statement in the document's ``Statement`` list.
    index: int
    #: The statement's ``Sid``, if any.
    sid: str | None
    #: ``"Allow"`` or ``"Deny"``.
    effect: str
    #: The statement as written.
    statement: Mapping[str, Any]

    @property
    def label(self) -> str:
        """``template:logical-id:statement`` where statement is the Sid, or the index when there is none."""
        return f"{self.source}:{self.sid if self.sid else self.index}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable form."""
        return {
            "source": self.source,
            "index": self.index,
            "sid": self.sid,
            "effect": self.effect,
            "label": self.label,
            "statement": self.statement,
        }


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`evaluate`."""

    #: True for ALLOW.
    allowed: bool
    #: ``"explicit-deny"``, ``"allowed"``, ``"implicit-deny"`` or ``"cross-account-needs-both"``.
    reason: str
    #: The statements that decided: the denies for an explicit deny; the allows that granted (or, for
    #: ``cross-account-needs-both``, the one side that allowed).
    deciding: tuple[MatchedStatement, ...]
    #: What the engine could not evaluate or wants the reader to know (unknown operators, unresolved values,
    #: delegation to identity policies); never changes the decision by itself.
    notes: tuple[str, ...] = ()
    #: Statements that may apply but rest on a value that cannot be resolved offline (an intrinsic): a Deny here
    #: could turn an ALLOW into a DENY, an Allow a DENY into an ALLOW.
    uncertain: tuple[MatchedStatement, ...] = ()
    #: What the decision rests on that the engine does not model (SCPs, permission boundaries, session policies...).
    assumptions: tuple[str, ...] = ()

    @property
    def definite(self) -> bool:
        """False when an uncertain statement could change the decision."""
        flip = "Deny" if self.allowed else "Allow"
        return self.reason == "explicit-deny" or not any(m.effect == flip for m in self.uncertain)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable form, for ``sesmail check --json``."""
        return {
            "decision": "ALLOW" if self.allowed else "DENY",
            "allowed": self.allowed,
            "reason": self.reason,
            "definite": self.definite,
            "deciding": [m.to_json() for m in self.deciding],
            "uncertain": [m.to_json() for m in self.uncertain],
            "assumptions": list(self.assumptions),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Principal:
    """A parsed request principal."""

    #: ``account`` (root), ``user``, ``role``, ``assumed-role``, ``federated-user``, ``service`` or ``other``.
    kind: str
    #: The principal as given (bare account ids become their root ARN).
    arn: str
    account: str | None = None
    partition: str | None = None
    #: User name, role name or session role name.
    name: str | None = None
    #: For roles and assumed-role sessions: ``arn:<partition>:iam::<account>:role/<name>``.
    role_arn: str | None = None


def parse_principal(value: str) -> Principal:
    """Parse a request principal; raises ``ValueError`` naming the value when it is none of the accepted forms."""
    text = value.strip()
    if _ACCOUNT_ID.match(text):
        return Principal("account", f"arn:aws:iam::{text}:root", text, "aws")
    if _SERVICE.match(text):
        return Principal("service", text.lower())
    m = _IAM_ARN.match(text)
    if not m:
        raise ValueError(
            f"principal: {value!r} is not an IAM ARN, an account id or a service principal (name.amazonaws.com)"
        )
    partition, service, account, resource = m.group("partition", "service", "account", "resource")
    if service == "iam" and resource == "root":
        return Principal("account", text, account, partition)
    if service == "iam" and resource.startswith("user/"):
        return Principal("user", text, account, partition, resource.rsplit("/", 1)[1])
    if service == "iam" and resource.startswith("role/"):
        name = resource.rsplit("/", 1)[1]
        return Principal("role", text, account, partition, name, text)
    if service == "sts" and resource.startswith("assumed-role/") and resource.count("/") >= 2:
        name = resource.split("/")[1]
        return Principal("assumed-role", text, account, partition, name, f"arn:{partition}:iam::{account}:role/{name}")
    if service == "sts" and resource.startswith("federated-user/"):
        return Principal("federated-user", text, account, partition, resource.split("/", 1)[1])
    return Principal("other", text, account, partition)


_PRINCIPAL_TYPES = {
    "account": "Account",
    "user": "User",
    "role": "AssumedRole",
    "assumed-role": "AssumedRole",
    "federated-user": "FederatedUser",
}


def request_context(request: Request, principal: Principal) -> dict[str, tuple[str, ...]]:
    """The request's context with lower-cased key names, plus the keys derived from the principal (module docs)."""
    ctx: dict[str, tuple[str, ...]] = {}
    for key, values in request.context.items():
        ctx[key.lower()] = (values,) if isinstance(values, str) else tuple(values)
    derived: dict[str, str | None] = {}
    if principal.kind == "service":
        derived = {"aws:principalisawsservice": "true", "aws:principalservicename": principal.arn}
    else:
        derived = {
            "aws:principalisawsservice": "false",
            "aws:principalarn": principal.role_arn or principal.arn,
            "aws:principalaccount": principal.account,
            "aws:principaltype": _PRINCIPAL_TYPES.get(principal.kind),
            "aws:username": principal.name if principal.kind == "user" else None,
        }
    for key, value in derived.items():
        if value is not None and key not in ctx:
            ctx[key] = (value,)
    return ctx


# --- statement matching ----------------------------------------------------------------------------------------------

_NO_MATCH, _ACCOUNT_LEVEL, _SPECIFIC = 0, 1, 2


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _aws_value_level(value: str, principal: Principal) -> int:
    """How an ``AWS`` principal value names the request principal: not at all, by its account, or specifically."""
    if value == "*":
        return _SPECIFIC
    if principal.kind == "service" or UNRESOLVED_MARKER in value:
        return _NO_MATCH
    if _ACCOUNT_ID.match(value):
        return _ACCOUNT_LEVEL if value == principal.account else _NO_MATCH
    m = _IAM_ARN.match(value)
    if not m:
        return _NO_MATCH
    if m.group("service") == "iam" and m.group("resource") == "root":
        if m.group("account") != principal.account:
            return _NO_MATCH
        return _SPECIFIC if principal.kind == "account" else _ACCOUNT_LEVEL
    if value == principal.arn:
        return _SPECIFIC
    # A role named in a policy covers its sessions; compare by name because session ARNs carry no role path.
    if (
        principal.role_arn is not None
        and m.group("service") == "iam"
        and m.group("resource").startswith("role/")
        and m.group("account") == principal.account
        and m.group("resource").rsplit("/", 1)[1] == principal.name
    ):
        return _SPECIFIC
    return _NO_MATCH


def _principal_level(block: Any, principal: Principal) -> int:
    """The best level at which a ``Principal`` element names the request principal."""
    if block == "*":
        return _SPECIFIC
    if not isinstance(block, Mapping):
        return _NO_MATCH
    best = _NO_MATCH
    for key, values in block.items():
        for value in _as_list(values):
            if not isinstance(value, str):
                continue
            kind = key.lower()
            if kind == "aws":
                best = max(best, _aws_value_level(value, principal))
            elif kind == "service":
                if value == "*" or (principal.kind == "service" and value.lower() == principal.arn):
                    best = _SPECIFIC
            elif value == principal.arn:
                best = _SPECIFIC
        if best == _SPECIFIC:
            break
    return best


def _not_principal_excludes(block: Any, principal: Principal) -> bool:
    """Whether ``NotPrincipal`` excludes the principal: IAM checks every identity in the caller's chain, so an IAM
    user or role session is excluded only when both its account and the user/role (or session) are listed."""
    if block == "*":
        return True
    if not isinstance(block, Mapping):
        return False
    account_named = specific_named = False
    for key, values in block.items():
        for value in _as_list(values):
            if not isinstance(value, str):
                continue
            if key.lower() == "aws":
                level = _aws_value_level(value, principal)
                is_account = bool(_ACCOUNT_ID.match(value)) or value.endswith(":root")
                if level and is_account:
                    account_named = True
                elif level == _SPECIFIC:
                    specific_named = True
            elif key.lower() == "service" and principal.kind == "service" and value.lower() == principal.arn:
                return True
    if principal.kind == "account":
        return account_named
    return account_named and specific_named


def _action_matches(patterns: Any, action: str) -> bool:
    return any(isinstance(p, str) and wildcard_match(p, action, ignore_case=True) for p in _as_list(patterns))


def _resource_matches(patterns: Any, resource: str, ctx: Mapping[str, tuple[str, ...]], notes: list[str]) -> Outcome:
    """Whether a pattern matches: an entry holding a policy variable with no value matches no resource (IAM documents
    this for Resource and NotResource alike); None when none matched but one could not be evaluated (unresolved)."""
    unknown = False
    for pattern in patterns if isinstance(patterns, list) else (patterns,):
        if not isinstance(pattern, str):
            continue
        try:
            if pattern_match(substitute(pattern, ctx, wildcards=True), resource, arn=True):
                return True
        except NoValue:
            continue
        except ConditionError as exc:
            notes.append(f"Resource {pattern!r}: {exc}")
            unknown = True
    return None if unknown else False


def _principal_unresolved(block: Any) -> bool:
    if not isinstance(block, Mapping):
        return False
    return any(isinstance(v, str) and UNRESOLVED_MARKER in v for values in block.values() for v in _as_list(values))


def _applies(
    statement: Mapping[str, Any],
    request: Request,
    principal: Principal,
    ctx: Mapping[str, tuple[str, ...]],
    *,
    resource_policy: bool,
    notes: list[str],
) -> tuple[int, bool]:
    """``(principal level, certain)`` for one statement: level 0 = it does not apply; ``certain`` False when it
    applies only if a value that cannot be resolved offline turns out to match."""
    unknown = False
    if "Action" in statement:
        if not _action_matches(statement["Action"], request.action):
            return _NO_MATCH, True
    elif "NotAction" in statement:
        if _action_matches(statement["NotAction"], request.action):
            return _NO_MATCH, True
    else:
        notes.append(f"statement {statement.get('Sid', '')!r} has neither Action nor NotAction: skipped")
        return _NO_MATCH, True
    if "Resource" in statement:
        hit = _resource_matches(statement["Resource"], request.resource, ctx, notes)
        if hit is False:
            return _NO_MATCH, True
        unknown = hit is None
    elif "NotResource" in statement:
        hit = _resource_matches(statement["NotResource"], request.resource, ctx, notes)
        if hit is True:
            return _NO_MATCH, True
        unknown = hit is None
    elif not resource_policy:
        # An identity policy must name its resources; a resource policy may leave them implicit (trust policies).
        return _NO_MATCH, True
    level = _SPECIFIC
    if resource_policy:
        if "Principal" in statement:
            level = _principal_level(statement["Principal"], principal)
            if level == _NO_MATCH and _principal_unresolved(statement["Principal"]):
                notes.append(f"statement {statement.get('Sid', '')!r}: a principal cannot be resolved offline")
                level, unknown = _SPECIFIC, True
        elif "NotPrincipal" in statement:
            level = _NO_MATCH if _not_principal_excludes(statement["NotPrincipal"], principal) else _SPECIFIC
        else:
            notes.append(f"resource-policy statement {statement.get('Sid', '')!r} has no Principal: skipped")
            return _NO_MATCH, True
        if level == _NO_MATCH:
            return _NO_MATCH, True
    outcome = conditions_match(statement.get("Condition"), ctx, notes)
    if outcome is False:
        return _NO_MATCH, True
    return level, not (unknown or outcome is None)


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether one statement applies to the request: Principal/NotPrincipal (when present), Action/NotAction,
    Resource/NotResource and Condition. The effect is not considered."""
    principal = parse_principal(request.principal)
    ctx = request_context(request, principal)
    has_principal = "Principal" in statement or "NotPrincipal" in statement
    level, certain = _applies(statement, request, principal, ctx, resource_policy=has_principal, notes=[])
    return level != _NO_MATCH and certain


def _statements(document: Mapping[str, Any]) -> list[Any]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


# --- the decision ----------------------------------------------------------------------------------------------------


_KMS_KEY = re.compile(r"^arn:[^:]+:kms:[^:]*:[^:]*:key/")
_ROLE = re.compile(r"^arn:[^:]+:iam::[^:]*:role/")

#: What no decision here accounts for; every decision says so (IAM User Guide, "Policy evaluation logic").
NOT_MODELLED = (
    "not modelled: SCPs and RCPs, permission boundaries, session policies, VPC endpoint policies and ACLs "
    "(each can only deny what the policies here allow)"
)


def explicit_resource_allow(request: Request) -> str | None:
    """``"key policy"`` or ``"trust policy"`` when the resource's own policy must allow the request (a KMS key, a role
    being assumed), else ``None``.

    IAM User Guide, "Policy evaluation logic": "IAM role trust policies and KMS key policies are exceptions to this
    logic, because they must explicitly allow access for principals."
    """
    if ":kms:" in request.resource and _KMS_KEY.match(request.resource):
        return "key policy"
    if request.action[:14].lower() == "sts:assumerole" and _ROLE.match(request.resource):
        return "trust policy"
    return None


def evaluate(
    request: Request,
    *,
    identity_policies: Sequence[PolicySource],
    resource_policies: Sequence[PolicySource],
    resource_account: str | None,
) -> Decision:
    """Decide the request with IAM's evaluation logic (module docs). Raises ``ValueError`` for a bad principal."""
    principal = parse_principal(request.principal)
    ctx = request_context(request, principal)
    notes: list[str] = []
    matched: list[tuple[MatchedStatement, bool, int]] = []  # (statement, from a resource policy, principal level)
    uncertain: list[MatchedStatement] = []
    if principal.kind == "service" and identity_policies:
        notes.append("service principals have no identity policies: only resource policies were evaluated")
    sources = [(s, False) for s in ([] if principal.kind == "service" else identity_policies)]
    sources += [(s, True) for s in resource_policies]
    for source, is_resource in sources:
        for index, statement in enumerate(_statements(source.document)):
            if not isinstance(statement, Mapping):
                continue
            level, certain = _applies(statement, request, principal, ctx, resource_policy=is_resource, notes=notes)
            if level == _NO_MATCH:
                continue
            effect = str(statement.get("Effect", ""))
            sid = statement.get("Sid")
            match = MatchedStatement(source.name, index, str(sid) if sid else None, effect, statement)
            if certain:
                matched.append((match, is_resource, level))
            else:
                uncertain.append(match)
    decision = _decide(principal, matched, resource_account, explicit_resource_allow(request), bool(resource_policies))
    notes.extend(decision.notes)
    for match in uncertain:
        notes.append(
            f"{match.effect} {match.label} may apply: it rests on a value that cannot be resolved offline, "
            "so it is not counted"
        )
    assumptions = [NOT_MODELLED]
    if uncertain:
        flips = [m.label for m in uncertain if m.effect == ("Deny" if decision.allowed else "Allow")]
        if flips:
            verdict = "DENY" if decision.allowed else "ALLOW"
            assumptions.append(f"unresolved values: {', '.join(flips)} could make this {verdict}")
    return Decision(
        decision.allowed,
        decision.reason,
        decision.deciding,
        tuple(dict.fromkeys(notes)),
        tuple(uncertain),
        tuple(assumptions),
    )


def _decide(
    principal: Principal,
    matched: list[tuple[MatchedStatement, bool, int]],
    resource_account: str | None,
    own_policy: str | None,
    has_resource_policy: bool,
) -> Decision:
    """The decision from the statements that certainly apply (its notes: why, when it is not obvious)."""
    denies = tuple(m for m, _, _ in matched if m.effect == "Deny")
    if denies:
        return Decision(False, "explicit-deny", denies)
    allows = [(m, res, lvl) for m, res, lvl in matched if m.effect == "Allow"]
    identity_allows = tuple(m for m, res, _ in allows if not res)
    resource_specific = tuple(m for m, res, lvl in allows if res and lvl == _SPECIFIC)
    resource_any = tuple(m for m, res, _ in allows if res)
    identity_ok = bool(identity_allows) or principal.kind == "account"
    cross_account = (
        principal.kind != "service"
        and resource_account is not None
        and principal.account is not None
        and principal.account != resource_account
    )
    if principal.kind == "service":
        if resource_specific:
            return Decision(True, "allowed", resource_specific)
        return Decision(False, "implicit-deny", ())
    if cross_account:
        if identity_ok and resource_any:
            return Decision(True, "allowed", identity_allows + resource_any)
        if identity_allows or resource_any:
            side = "resource" if identity_allows else "identity"
            note = f"cross-account request ({principal.account} -> {resource_account}): no {side}-policy allow"
            return Decision(False, "cross-account-needs-both", identity_allows + resource_any, (note,))
        return Decision(False, "implicit-deny", ())
    if own_policy is not None and not resource_any:
        # A key or trust policy must allow, itself or by delegating to IAM through the account principal.
        if not has_resource_policy:
            note = (
                f"the resource's {own_policy} is not among the policies evaluated: it must allow the request "
                "(an identity-policy Allow alone does not), so the decision is DENY until it is known"
            )
        else:
            note = (
                f"no statement of the {own_policy} allows the principal or its account: an identity-policy Allow "
                f"alone does not grant access to this resource"
            )
        return Decision(False, "implicit-deny", (), (note,) if identity_allows else ())
    if identity_ok or resource_specific:
        deciding = identity_allows + (resource_any if identity_ok else resource_specific)
        return Decision(True, "allowed", deciding)
    if resource_any:
        note = (
            "a resource policy allows the principal's account, which delegates to the account's identity policies; "
            "none of them allows"
        )
        return Decision(False, "implicit-deny", (), (note,))
    return Decision(False, "implicit-deny", ())
