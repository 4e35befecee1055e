"""Inbound mail without WorkMail: the parser and forwarder Lambdas and SMTP send-as credentials (shared, or per
person)."""

from .failures import InboundFailures
from .feedback import DeliveryFeedback
from .forwarder import MailForwarder
from .parser import InboundParser
from .people import PeopleSmtpCredentials, Person
from .smtp_credentials import SmtpCredentials

__all__ = [
    "DeliveryFeedback",
    "InboundFailures",
    "InboundParser",
    "MailForwarder",
    "PeopleSmtpCredentials",
    "Person",
    "SmtpCredentials",
]
