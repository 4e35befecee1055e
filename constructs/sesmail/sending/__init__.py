"""The sending side: least-privilege send grants restricted by SES's sending-authorization condition keys."""

from .conditions import SendConditions
from .configuration_set import MailConfigurationSet
from .delegates import DelegateSender
from .grants import grant_send
from .templates import EmailTemplate

__all__ = ["DelegateSender", "EmailTemplate", "MailConfigurationSet", "SendConditions", "grant_send"]
