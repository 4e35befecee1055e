"""The sending side: least-privilege send grants restricted by SES's sending-authorization condition keys."""

from .conditions import SendConditions
from .delegates import DelegateSender
from .grants import grant_send

__all__ = ["DelegateSender", "SendConditions", "grant_send"]
