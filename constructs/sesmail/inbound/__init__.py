"""Inbound mail without WorkMail: the parser and forwarder Lambdas and SMTP send-as credentials (shared, or per
person).

The constructs are loaded on first use (PEP 562), like ``sesmail``'s: their CDK-free modules (names, checks,
verdicts) are read by the settings without loading aws-cdk-lib and its Node runtime.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .failures import InboundFailures as InboundFailures
    from .feedback import DeliveryFeedback as DeliveryFeedback
    from .forwarder import MailForwarder as MailForwarder
    from .parser import InboundParser as InboundParser
    from .people import PeopleSmtpCredentials as PeopleSmtpCredentials
    from .people import Person as Person
    from .smtp_credentials import SmtpCredentials as SmtpCredentials

_WHERE = {
    "DeliveryFeedback": "feedback",
    "InboundFailures": "failures",
    "InboundParser": "parser",
    "MailForwarder": "forwarder",
    "PeopleSmtpCredentials": "people",
    "Person": "people",
    "SmtpCredentials": "smtp_credentials",
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
