"""Turn the legacy WorkMail sender (an account id or any IAM ARN in that account) into the account's root principal.

SES's 403 names a user such as ``arn:aws:iam::111122223333:user/amazon-workmail-us-east-1``; an identity policy must
name the account instead (``arn:aws:iam::111122223333:root``), so this runs at deploy time, when the value is known.
"""

from __future__ import annotations

import re

PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov"})
_ACCOUNT = re.compile(r"^\d{12}$")
_ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):(?:iam|sts)::(?P<account>\d{12}):\S+$")


def to_account_root(value: str, partition: str = "aws") -> str:
    """The ``arn:<partition>:iam::<account>:root`` principal for an account id or an IAM/STS ARN.

    An ARN keeps its own partition; a bare account id takes ``partition``. Anything else raises ``ValueError``.
    """
    value = value.strip()
    if _ACCOUNT.match(value):
        if partition not in PARTITIONS:
            raise ValueError(f"unknown partition {partition!r}")
        return f"arn:{partition}:iam::{value}:root"
    match = _ARN.match(value)
    if match and match["partition"] in PARTITIONS:
        return f"arn:{match['partition']}:iam::{match['account']}:root"
    raise ValueError(f"{value!r} is neither a 12-digit account id nor an IAM ARN of an account")


def normalize_aws_principals(document: dict, partition: str) -> dict:
    """A copy of ``document`` whose every ``Principal.AWS`` entry is the account root principal."""
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    fixed = []
    for statement in statements:
        statement = dict(statement)
        principal = statement.get("Principal")
        if isinstance(principal, dict) and "AWS" in principal:
            values = principal["AWS"] if isinstance(principal["AWS"], list) else [principal["AWS"]]
            roots = sorted({to_account_root(v, partition) for v in values})
            statement["Principal"] = {**principal, "AWS": roots[0] if len(roots) == 1 else roots}
        fixed.append(statement)
    return {**document, "Statement": fixed}
