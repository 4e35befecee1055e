"""sesmail: AWS CDK constructs that set up a company's mail on Amazon SES, correctly the first time.

The constructs are loaded on first use (PEP 562), so ``sesmail.policy`` (the offline policy lint and evaluator, which
has no CDK dependency) and the ``sesmail`` command start without loading aws-cdk-lib and its Node runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "SES_RECEIVING_REGIONS": "regions",
    "WORKMAIL_REGIONS": "regions",
    "DelegateSender": "sending",
    "DnsRecord": "dns",
    "EmailTemplate": "sending",
    "IdentityPolicy": "identity_policy",
    "IdentityPolicyProvider": "identity_policy",
    "InboundFailures": "inbound",
    "InboundParser": "inbound",
    "MailConfigurationSet": "sending",
    "MailAlarms": "alarms",
    "MailDomain": "mail_domain",
    "MailForwarder": "inbound",
    "SendConditions": "sending",
    "SmtpCredentials": "inbound",
    "WorkMailPrincipal": "workmail",
    "WorkMailSendingAuthorization": "workmail",
    "grant_send": "sending",
    "suppress": "policy_suppress",
    "AddHeaderAction": "receiving",
    "BounceAction": "receiving",
    "LambdaAction": "receiving",
    "MailBucket": "receiving",
    "ReceiptAction": "receiving",
    "ReceiptRule": "receiving",
    "ReceiptRuleSet": "receiving",
    "ReceiptRuleSetActivation": "receiving",
    "S3Action": "receiving",
    "SnsAction": "receiving",
    "StopAction": "receiving",
    "WorkMailAction": "receiving",
}

__all__ = [
    "SES_RECEIVING_REGIONS",
    "WORKMAIL_REGIONS",
    "AddHeaderAction",
    "BounceAction",
    "DelegateSender",
    "DnsRecord",
    "EmailTemplate",
    "IdentityPolicy",
    "IdentityPolicyProvider",
    "InboundFailures",
    "InboundParser",
    "LambdaAction",
    "MailAlarms",
    "MailBucket",
    "MailConfigurationSet",
    "MailDomain",
    "MailForwarder",
    "ReceiptAction",
    "ReceiptRule",
    "ReceiptRuleSet",
    "ReceiptRuleSetActivation",
    "S3Action",
    "SendConditions",
    "SmtpCredentials",
    "SnsAction",
    "StopAction",
    "WorkMailAction",
    "WorkMailPrincipal",
    "WorkMailSendingAuthorization",
    "grant_send",
    "suppress",
]

if TYPE_CHECKING:
    from .alarms import MailAlarms
    from .dns import DnsRecord
    from .identity_policy import IdentityPolicy, IdentityPolicyProvider
    from .inbound import InboundFailures, InboundParser, MailForwarder, SmtpCredentials
    from .mail_domain import MailDomain
    from .policy_suppress import suppress
    from .receiving import (
        AddHeaderAction,
        BounceAction,
        LambdaAction,
        MailBucket,
        ReceiptAction,
        ReceiptRule,
        ReceiptRuleSet,
        ReceiptRuleSetActivation,
        S3Action,
        SnsAction,
        StopAction,
        WorkMailAction,
    )
    from .regions import SES_RECEIVING_REGIONS, WORKMAIL_REGIONS
    from .sending import DelegateSender, EmailTemplate, MailConfigurationSet, SendConditions, grant_send
    from .workmail import WorkMailPrincipal, WorkMailSendingAuthorization


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sesmail' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
