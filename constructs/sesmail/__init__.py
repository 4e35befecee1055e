"""sesmail: AWS CDK constructs that set up a company's mail on Amazon SES, correctly the first time."""

from .dns import DnsRecord
from .identity_policy import IdentityPolicy, IdentityPolicyProvider
from .inbound import InboundParser, MailForwarder, SmtpCredentials
from .mail_domain import MailDomain
from .regions import SES_RECEIVING_REGIONS, WORKMAIL_REGIONS
from .sending import DelegateSender, EmailTemplate, MailConfigurationSet, SendConditions, grant_send
from .workmail import WorkMailPrincipal, WorkMailSendingAuthorization

__all__ = [
    "SES_RECEIVING_REGIONS",
    "WORKMAIL_REGIONS",
    "DelegateSender",
    "DnsRecord",
    "EmailTemplate",
    "IdentityPolicy",
    "IdentityPolicyProvider",
    "InboundParser",
    "MailConfigurationSet",
    "MailDomain",
    "MailForwarder",
    "SendConditions",
    "SmtpCredentials",
    "WorkMailPrincipal",
    "WorkMailSendingAuthorization",
    "grant_send",
]
