"""Inbound mail without WorkMail: the parser and forwarder Lambdas and SMTP send-as credentials."""

from .failures import InboundFailures
from .feedback import DeliveryFeedback
from .forwarder import MailForwarder
from .parser import InboundParser
from .smtp_credentials import SmtpCredentials

__all__ = ["DeliveryFeedback", "InboundFailures", "InboundParser", "MailForwarder", "SmtpCredentials"]
