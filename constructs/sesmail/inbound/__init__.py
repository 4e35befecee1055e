"""Inbound mail without WorkMail: the parser and forwarder Lambdas and SMTP send-as credentials."""

from .forwarder import MailForwarder
from .parser import InboundParser
from .smtp_credentials import SmtpCredentials

__all__ = ["InboundParser", "MailForwarder", "SmtpCredentials"]
