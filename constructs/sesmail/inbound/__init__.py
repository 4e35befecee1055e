"""Inbound mail without WorkMail: SMTP send-as credentials (parser and forwarder constructs to follow)."""

from .smtp_credentials import SmtpCredentials

__all__ = ["SmtpCredentials"]
