"""SES's rules for receipt rule-set and rule names and recipients, and the ARNs built from the names.

Names are explicit (never CloudFormation-generated) so a rule's ARN is known at synth without referencing the rule
resource: resource policies can name it in ``aws:SourceArn`` while the rule depends on those policies, with no cycle.
Source: the SES API reference (``CreateReceiptRuleSet``, ``ReceiptRule``) and "Service quotas in Amazon SES".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..validation import check_domain, check_local_part, is_token

if TYPE_CHECKING:
    import aws_cdk as cdk

#: Rule sets: ASCII letters, digits, ``_`` and ``-``; start and end with a letter or digit; at most 64 characters.
_RULE_SET_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$")
#: Rules may also contain ``.``.
_RULE_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")

#: SES quota: receipt rules in one rule set (not adjustable).
MAX_RULES_PER_RULE_SET = 200
#: SES quota: recipients (addresses and domains) in one receipt rule.
MAX_RECIPIENTS_PER_RULE = 100


def check_rule_set_name(prop: str, value: str) -> None:
    """Raise ``ValueError`` naming ``prop`` unless ``value`` is a valid receipt rule-set name."""
    if not isinstance(value, str) or not _RULE_SET_NAME.match(value):
        raise ValueError(
            f"{prop}: {value!r} is not a receipt rule set name (1-64 ASCII letters, digits, '_' or '-', "
            "starting and ending with a letter or digit)"
        )


def check_rule_name(prop: str, value: str) -> None:
    """Raise ``ValueError`` naming ``prop`` unless ``value`` is a valid receipt rule name."""
    if not isinstance(value, str) or not _RULE_NAME.match(value):
        raise ValueError(
            f"{prop}: {value!r} is not a receipt rule name (1-64 ASCII letters, digits, '_', '-' or '.', "
            "starting and ending with a letter or digit)"
        )


def check_recipients(prop: str, recipients: Sequence[str]) -> None:
    """Recipients as SES matches them: ``user@example.com``, ``example.com``, or ``.example.com`` (subdomains)."""
    if len(recipients) > MAX_RECIPIENTS_PER_RULE:
        raise ValueError(f"{prop}: {len(recipients)} recipients; SES allows {MAX_RECIPIENTS_PER_RULE} per rule")
    seen: set[str] = set()
    for i, recipient in enumerate(recipients):
        item = f"{prop}[{i}]"
        if is_token(recipient):
            continue
        if not isinstance(recipient, str) or not recipient:
            raise ValueError(f"{item}: {recipient!r} is not an address or domain")
        if "@" in recipient:
            local, _, domain = recipient.partition("@")
            check_local_part(item, local)
            check_domain(item, domain)
        else:
            check_domain(item, recipient.removeprefix("."))
        if recipient.lower() in seen:
            raise ValueError(f"{item}: {recipient!r} is listed twice")
        seen.add(recipient.lower())


def rule_set_arn(stack: cdk.Stack, rule_set_name: str) -> str:
    """``arn:<partition>:ses:<region>:<account>:receipt-rule-set/<name>``."""
    import aws_cdk as cdk  # here, not at the top: the settings check names without loading aws-cdk-lib

    return stack.format_arn(
        service="ses",
        resource="receipt-rule-set",
        resource_name=rule_set_name,
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )


def receipt_rule_arn(stack: cdk.Stack, rule_set_name: str, rule_name: str) -> str:
    """``arn:<partition>:ses:<region>:<account>:receipt-rule-set/<set>:receipt-rule/<rule>``: SES's ``aws:SourceArn``
    when a receipt rule writes to a bucket, uses a key, invokes a function or publishes to a topic."""
    import aws_cdk as cdk  # here, not at the top: the settings check names without loading aws-cdk-lib

    return stack.format_arn(
        service="ses",
        resource="receipt-rule-set",
        resource_name=f"{rule_set_name}:receipt-rule/{rule_name}",
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )
