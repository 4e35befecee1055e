"""Checks shared by the constructs and the app settings; each raises ``ValueError`` naming the prop.

Loads no aws-cdk-lib: the settings (``sesmail addresses``, the doctor) read through it without a jsii runtime.
"""

from __future__ import annotations

import re
import sys

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# RFC 5322 dot-atom, the local parts SES receipt rules and sending identities accept without quoting.
_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_ACCOUNT = re.compile(r"^\d{12}$")
_WORKMAIL_ORG = re.compile(r"^m-[0-9a-f]{32}$")
_IAM_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):(iam|sts)::(\d{12}):\S+$")

#: The ``p=`` policies of a DMARC record (RFC 7489, section 6.3), as ``MailDomain``'s ``dmarc_policy`` takes them.
DMARC_POLICIES = ("none", "quarantine", "reject")


def strings(prop: str, value: object) -> list[str]:
    """``value`` as a list of strings; a bare string (which Python would iterate letter by letter) is refused.

    Tokens pass: a list token (``Fn::Split``) is resolved at deploy time.
    """
    if isinstance(value, str) and not is_token(value):
        raise ValueError(f"{prop}: {value!r} is a string; pass a list of strings, e.g. [{value!r}]")
    if isinstance(value, str):
        import aws_cdk as cdk  # a token exists only once aws-cdk-lib is loaded

        return cdk.Token.as_list(value)
    try:
        items = list(value)  # type: ignore[call-overload]
    except TypeError:
        raise ValueError(f"{prop}: {value!r} is not a list of strings") from None
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ValueError(f"{prop}[{i}]: {item!r} is not a string")
    return items


def is_token(value: object) -> bool:
    """True when ``value`` is a CDK token whose value is only known at deploy time.

    Only aws-cdk-lib makes tokens: while it is not loaded (settings read on their own), no value is one.
    """
    cdk = sys.modules.get("aws_cdk")
    return cdk is not None and isinstance(value, str) and cdk.Token.is_unresolved(value)


def check_domain(prop: str, value: str) -> None:
    """A fully qualified DNS name with at least two labels, such as ``example.com``."""
    if is_token(value):
        return
    labels = value.lower().rstrip(".").split(".") if isinstance(value, str) else []
    if len(labels) < 2 or len(value) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(f"{prop}: {value!r} is not a valid DNS domain name")


def check_local_part(prop: str, value: str) -> None:
    """The part of an address before ``@``: at most 64 characters of the RFC 5322 dot-atom set."""
    if is_token(value):
        return
    if not isinstance(value, str) or len(value) > 64 or not _LOCAL_PART.match(value.lower()):
        raise ValueError(f"{prop}: {value!r} is not a valid e-mail local part")


def check_account(prop: str, value: str) -> None:
    """A 12-digit AWS account id."""
    if is_token(value):
        return
    if not isinstance(value, str) or not _ACCOUNT.match(value):
        raise ValueError(f"{prop}: {value!r} is not a 12-digit AWS account id")


def check_workmail_organization_id(prop: str, value: str) -> None:
    """A WorkMail organization id: ``m-`` followed by 32 lowercase hex digits."""
    if is_token(value):
        return
    if not isinstance(value, str) or not _WORKMAIL_ORG.match(value):
        raise ValueError(f"{prop}: {value!r} is not a WorkMail organization id (m- followed by 32 hex digits)")


def check_account_or_iam_arn(prop: str, value: str) -> None:
    """A 12-digit account id, or any IAM/STS ARN that names one (such as the user in SES's 403 message)."""
    if is_token(value):
        return
    if not isinstance(value, str) or not (_ACCOUNT.match(value) or _IAM_ARN.match(value)):
        raise ValueError(f"{prop}: {value!r} is neither a 12-digit account id nor an IAM ARN in an account")
