"""The sending side: least-privilege send grants restricted by SES's sending-authorization condition keys."""

from .conditions import SendConditions
from .grants import grant_send

__all__ = ["SendConditions", "grant_send"]
