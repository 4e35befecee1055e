"""Receiving: receipt rule sets with ordered rules, the seven SES actions, the grants SES needs, the mail bucket.

The constructs are loaded on first use (PEP 562), like ``sesmail``'s: their CDK-free modules (names, checks,
verdicts) are read by the settings without loading aws-cdk-lib and its Node runtime.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .actions import AddHeaderAction as AddHeaderAction
    from .actions import BounceAction as BounceAction
    from .actions import LambdaAction as LambdaAction
    from .actions import ReceiptAction as ReceiptAction
    from .actions import S3Action as S3Action
    from .actions import SnsAction as SnsAction
    from .actions import StopAction as StopAction
    from .actions import WorkMailAction as WorkMailAction
    from .activation import ReceiptRuleSetActivation as ReceiptRuleSetActivation
    from .activation import RuleSetActivationProvider as RuleSetActivationProvider
    from .mail_bucket import MailBucket as MailBucket
    from .rule_set import ReceiptRule as ReceiptRule
    from .rule_set import ReceiptRuleSet as ReceiptRuleSet

_WHERE = {
    "AddHeaderAction": "actions",
    "BounceAction": "actions",
    "LambdaAction": "actions",
    "MailBucket": "mail_bucket",
    "ReceiptAction": "actions",
    "ReceiptRule": "rule_set",
    "ReceiptRuleSet": "rule_set",
    "ReceiptRuleSetActivation": "activation",
    "RuleSetActivationProvider": "activation",
    "S3Action": "actions",
    "SnsAction": "actions",
    "StopAction": "actions",
    "WorkMailAction": "actions",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
