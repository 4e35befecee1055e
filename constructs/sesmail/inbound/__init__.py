"""Inbound mail without WorkMail: the parser Lambda and SMTP send-as credentials."""

from .parser import InboundParser
from .smtp_credentials import SmtpCredentials

__all__ = ["InboundParser", "SmtpCredentials"]
