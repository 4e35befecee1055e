"""Receiving: receipt rule sets with ordered rules, the seven SES actions, the grants SES needs, the mail bucket."""

from .actions import (
    AddHeaderAction,
    BounceAction,
    LambdaAction,
    ReceiptAction,
    S3Action,
    SnsAction,
    StopAction,
    WorkMailAction,
)
from .activation import ReceiptRuleSetActivation, RuleSetActivationProvider
from .mail_bucket import MailBucket
from .rule_set import ReceiptRule, ReceiptRuleSet

__all__ = [
    "AddHeaderAction",
    "BounceAction",
    "LambdaAction",
    "MailBucket",
    "ReceiptAction",
    "ReceiptRule",
    "ReceiptRuleSet",
    "ReceiptRuleSetActivation",
    "RuleSetActivationProvider",
    "S3Action",
    "SnsAction",
    "StopAction",
    "WorkMailAction",
]
