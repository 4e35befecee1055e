"""Someone hears the alarms: the alarm topic has a confirmed subscription.

An e-mail subscription sends nothing until its owner follows the link in SNS's confirmation message. SNS's API
reports the difference: ``ListSubscriptionsByTopic`` lists a subscription that is not confirmed yet with the
``SubscriptionArn`` ``PendingConfirmation`` (Subscribe: "The ARN of the subscription if it is confirmed, or the
string 'pending confirmation' if the subscription requires confirmation"; SNS API reference). A topic with no
confirmed subscription delivers every alarm to nobody, so the check fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from .checks import Check, fail, ok
from .expected import referenced
from .live import Live, error_code

AREA = "alarms"
PENDING = ("pendingconfirmation", "pending confirmation")


def alarm_topics(live: Live) -> list[str]:
    """The logical ids of the topics the stack's CloudWatch alarms notify, in template order."""
    found: list[str] = []
    for _, props in live.env.of_type("AWS::CloudWatch::Alarm"):
        for action in props.get("AlarmActions") or []:
            logical_id = referenced(action)
            if logical_id and logical_id not in found:
                found.append(logical_id)
    return found


def _subscriptions(sns: Any, topic_arn: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = sns.list_subscriptions_by_topic(TopicArn=topic_arn, **({"NextToken": token} if token else {}))
        found.extend(page.get("Subscriptions") or [])
        token = page.get("NextToken")
        if not token:
            return found


def subscribers(live: Live) -> Iterator[Check]:
    """Each alarm topic has at least one confirmed subscription."""
    wanted = [
        str(props.get("Endpoint"))
        for _, props in live.env.of_type("AWS::SNS::Subscription")
        if str(props.get("Protocol", "")).lower() == "email"
    ]
    hint = f"environments.{live.env.name}.alarms.email in cdk.json"
    for logical_id in alarm_topics(live):
        arn = live.stack.physical.get(logical_id)
        subject = f"alarm topic {logical_id} subscribers"
        if arn is None:
            continue  # the stack check already failed: the topic is not deployed
        try:
            subscriptions = _subscriptions(live.clients("sns"), arn)
        except ClientError as error:
            yield fail(
                AREA, subject, "sns:ListSubscriptionsByTopic answers", error_code(error), "grant it to the doctor"
            )
            continue
        confirmed = [s for s in subscriptions if str(s.get("SubscriptionArn", "")).lower() not in PENDING]
        pending = [str(s.get("Endpoint", "")) for s in subscriptions if s not in confirmed]
        expected = "at least one confirmed subscription"
        if confirmed:
            who = ", ".join(f"{s.get('Protocol')}:{s.get('Endpoint')}" for s in confirmed)
            yield ok(AREA, subject, expected, f"{len(confirmed)} confirmed ({who})")
        elif pending:
            yield fail(
                AREA,
                subject,
                expected,
                f"pending confirmation: {', '.join(pending)}",
                "open SNS's confirmation message in each mailbox and follow its link (alarms reach nobody until then)",
            )
        else:
            action = f"add an address to {hint} and deploy" if not wanted else "redeploy: the subscriptions are gone"
            yield fail(AREA, subject, expected, "no subscriptions: alarms reach nobody", action)


def run(live: Live) -> list[Check]:
    """Every alarm check."""
    return list(subscribers(live))
