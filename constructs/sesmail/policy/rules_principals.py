"""Principal rules: SES006 (service principal without source conditions), SES007 (IAM user of another account in
an SES identity policy)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .findings import Finding
from .intrinsics import is_unresolved
from .statements import Statement

_IAM_USER = re.compile(r"^arn:(?P<partition>[^:]+):iam::(?P<account>\d{12}):user/(?P<name>.+)$")


def check(statement: Statement) -> Iterator[Finding]:
    """SES006 and SES007 for one statement."""
    yield from _service_principals(statement)
    yield from _cross_account_user(statement)


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
