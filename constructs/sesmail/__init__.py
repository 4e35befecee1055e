"""sesmail: AWS CDK constructs that set up a company's mail on Amazon SES, correctly the first time.

The constructs are loaded on first use (PEP 562), so ``sesmail.policy`` (the offline policy lint and evaluator, which
has no CDK dependency) and the ``sesmail`` command start without loading aws-cdk-lib and its Node runtime.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .alarms import MailAlarms as MailAlarms
    from .dns import DnsRecord as DnsRecord
    from .identity_policy import (
        IdentityPolicy as IdentityPolicy,
    )
    from .identity_policy import (
        IdentityPolicyProvider as IdentityPolicyProvider,
    )
    from .inbound import (
        DeliveryFeedback as DeliveryFeedback,
    )
    from .inbound import (
        InboundFailures as InboundFailures,
    )
    from .inbound import (
        InboundParser as InboundParser,
    )
    from .inbound import (
        MailForwarder as MailForwarder,
    )
    from .inbound import (
        PeopleSmtpCredentials as PeopleSmtpCredentials,
    )
    from .inbound import (
        Person as Person,
    )
    from .inbound import (
        SmtpCredentials as SmtpCredentials,
    )
    from .mail_domain import MailDomain as MailDomain
    from .mailbox_export import MailboxExportTarget as MailboxExportTarget
    from .policy_suppress import suppress as suppress
    from .receiving import (
        AddHeaderAction as AddHeaderAction,
    )
    from .receiving import (
        BounceAction as BounceAction,
    )
    from .receiving import (
        LambdaAction as LambdaAction,
    )
    from .receiving import (
        MailBucket as MailBucket,
    )
    from .receiving import (
        ReceiptAction as ReceiptAction,
    )
    from .receiving import (
        ReceiptRule as ReceiptRule,
    )
    from .receiving import (
        ReceiptRuleSet as ReceiptRuleSet,
    )
    from .receiving import (
        ReceiptRuleSetActivation as ReceiptRuleSetActivation,
    )
    from .receiving import (
        S3Action as S3Action,
    )
    from .receiving import (
        SnsAction as SnsAction,
    )
    from .receiving import (
        StopAction as StopAction,
    )
    from .receiving import (
        WorkMailAction as WorkMailAction,
    )
    from .regions import (
        SES_RECEIVING_REGIONS as SES_RECEIVING_REGIONS,
    )
    from .regions import (
        WORKMAIL_REGIONS as WORKMAIL_REGIONS,
    )
    from .sending import (
        DelegateSender as DelegateSender,
    )
    from .sending import (
        EmailTemplate as EmailTemplate,
    )
    from .sending import (
        MailConfigurationSet as MailConfigurationSet,
    )
    from .sending import (
        SendConditions as SendConditions,
    )
    from .sending import (
        grant_send as grant_send,
    )
    from .workmail import (
        WorkMailPrincipal as WorkMailPrincipal,
    )
    from .workmail import (
        WorkMailSendingAuthorization as WorkMailSendingAuthorization,
    )


def _exports() -> dict[str, str]:
    """Public name -> submodule, read from the ``TYPE_CHECKING`` imports above: the one list of what is public."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", None) == "TYPE_CHECKING"]
    return {
        alias.name: str(node.module) for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }


_EXPORTS = _exports()
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sesmail' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
