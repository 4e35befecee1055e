"""One environment's alarm topic: every alarm of the stack reports to it (see ``sesmail.alarms.MailAlarms``)."""

from __future__ import annotations

import aws_cdk as cdk

from sesmail import MailAlarms

from .alarm_settings import AlarmSettings


def build_alarms(stack: cdk.Stack, settings: AlarmSettings) -> MailAlarms:
    """The topic, its subscribers and the reputation alarms; call last, so every alarm of the stack is watched."""
    alarms = MailAlarms(stack, "Alarms", emails=settings.emails)
    alarms.watch_all(stack)
    return alarms
