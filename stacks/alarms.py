"""One environment's alarm topic: every alarm of the stack reports to it (see ``sesmail.alarms.MailAlarms``)."""

from __future__ import annotations

import aws_cdk as cdk

from sesmail import MailAlarms

from .settings import EnvironmentSettings

NO_RECIPIENT = "sesmail:alarms:noRecipient"


def build_alarms(stack: cdk.Stack, settings: EnvironmentSettings) -> MailAlarms:
    """The topic, its subscribers and the reputation alarms; call last, so every alarm of the stack is watched.

    An environment that receives mail with no ``alarms.email`` gets one synth warning: its failed messages and
    delivery failures would reach nobody. A warning, not a refusal: the topic may be subscribed outside cdk.json
    (a pager, a chat integration), which synth cannot see, and an environment being set up stage by stage must still
    deploy; ``sesmail doctor`` checks the live topic and fails when no subscription is confirmed.
    """
    alarms = MailAlarms(stack, "Alarms", emails=settings.alarms.emails)
    alarms.watch_all(stack)
    if not settings.alarms.emails and settings.receiving is not None and settings.receiving_domains:
        cdk.Annotations.of(alarms).add_warning_v2(
            NO_RECIPIENT,
            f"environments.{settings.name}.alarms.email: no alarm recipient; failed inbound messages and delivery "
            "failures reach nobody until someone subscribes to the alarm topic (sesmail doctor fails until one "
            "subscription is confirmed)",
        )
    return alarms
