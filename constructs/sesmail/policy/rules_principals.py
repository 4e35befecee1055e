"""Principal rules: SES006 (service principal without source conditions), SES007 (IAM user of another account in
an SES identity policy), SES015 (NotPrincipal with Allow), SES016 (a resource policy open to every principal)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .findings import Finding
from .intrinsics import is_unresolved
from .statements import Statement

_IAM_USER = re.compile(r"^arn:(?P<partition>[^:]+):iam::(?P<account>\d{12}):user/(?P<name>.+)$")


def check(statement: Statement) -> Iterator[Finding]:
    """SES006, SES007, SES015 and SES016 for one statement."""
    yield from _service_principals(statement)
    yield from _cross_account_user(statement)
    yield from _not_principal_allow(statement)
    yield from _open_to_everyone(statement)


def _not_principal_allow(statement: Statement) -> Iterator[Finding]:
    # IAM User Guide, "NotPrincipal": with Allow it "allows all principals except the one named ... access to your
    # resources", possibly anonymous users.
    if statement.effect == "Allow" and "NotPrincipal" in statement.raw:
        yield Finding.at(
            statement,
            "SES015",
            "NotPrincipal in an Allow grants every principal except the ones listed, anonymous callers included: "
            "name the principals in Principal instead",
        )


#: Condition keys that restrict who (or from where) a "*" principal may call: an account, organization, ARN or
#: network origin. A negated or ...IfExists operator on them does not narrow (it is true when the key is absent).
NARROWING_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:VpceAccount",
        "aws:VpceOrgID",
        "aws:userid",
        "aws:username",
        "kms:CallerAccount",
    )
)
_NEGATED = ("stringnot", "arnnot", "notipaddress", "numericnot", "datenot")


def _open_to_everyone(statement: Statement) -> Iterator[Finding]:
    if statement.effect != "Allow" or statement.policy.kind != "resource":
        return
    principals = statement.principals
    if "*" not in principals and "*" not in principals.get("AWS", []):
        return
    for condition in statement.conditions:
        base = condition.base.lower()
        if (
            condition.key.lower() in NARROWING_KEYS
            and condition.qualifier is None
            and not condition.if_exists
            and not base.startswith(_NEGATED)
            and base != "null"
        ):
            return
    actions = ", ".join(statement.actions) or "NotAction"
    yield Finding.at(
        statement,
        "SES016",
        f'Principal "*" may {actions} with no condition on who calls (aws:PrincipalAccount, aws:PrincipalOrgID, '
        "aws:SourceArn, aws:SourceVpce...): any AWS account, or anyone, matches; name the principals or add such a "
        "condition",
    )


def _service_principals(statement: Statement) -> Iterator[Finding]:
    # A role's trust policy lets a service assume the role; the confused-deputy keys do not apply there.
    if statement.effect != "Allow" or statement.policy.name == "AssumeRolePolicyDocument":
        return
    services = statement.principals.get("Service", [])
    if not services:
        return
    missing = [k for k in ("aws:SourceAccount", "aws:SourceArn") if not statement.has_condition_key(k)]
    if missing:
        actions = ", ".join(statement.actions) or "NotAction"
        yield Finding.at(
            statement,
            "SES006",
            f"{', '.join(services)} may {actions} without {' and '.join(missing)}: a request the service makes for "
            "another account or resource also matches (confused deputy); add StringEquals aws:SourceAccount and "
            "ArnLike aws:SourceArn with the calling resource's ARN",
        )


def _cross_account_user(statement: Statement) -> Iterator[Finding]:
    policy = statement.policy
    if policy.resource_type != "Custom::SesIdentityPolicy" or statement.effect != "Allow":
        return
    for principal in statement.principals.get("AWS", []):
        match = _IAM_USER.match(principal)
        if not match or (match["account"] == policy.context.account and not is_unresolved(policy.context.account)):
            continue
        root = f"arn:{match['partition']}:iam::{match['account']}:root"
        if "workmail" in match["name"].lower():
            region = policy.context.region
            advice = (
                f"{principal} is the caller named in WorkMail's 403 message, not a principal to grant: use the "
                f"WorkMail service principal workmail.{region}.amazonaws.com with aws:SourceAccount and "
                f"aws:SourceArn (the organization ARN), or the account root {root} "
                "(WorkMailPrincipal.legacy_account rewrites it)"
            )
        else:
            advice = (
                f"{principal} is an IAM user of another account: authorize the account ({root}) and let that "
                "account's IAM policies decide which of its users may send"
            )
        yield Finding.at(statement, "SES007", advice)
