"""A forward that SES suppresses, end to end through the real handlers against moto (issue 22, items 2 and 3).

1. The forwarder forwards a stored message to staff; its record says ``sent`` with SES's message id.
2. SES did not send it: the staff address is on the account suppression list, and the configuration set publishes a
   Bounce with ``bounceSubType`` ``OnAccountSuppressionList`` for that message id ("Contents of event data that Amazon
   SES publishes to Amazon SNS"; SES "accepts the message, but doesn't send it", "Using the Amazon SES account-level
   suppression list").
3. The delivery-feedback handler tells the team once (the alarm topic) and marks the record ``deferred``; the same
   event delivered again by SNS tells nobody twice.
4. Once the address is off the list, the re-delivery ``sesmail forward-deferred`` makes (an S3-shaped event)
   forwards the message again, exactly once more.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import load_handler
from tests.inbound.test_mail_forwarder import RAW, ses_record

fwd = load_handler("mail_forwarder")
feedback = load_handler("delivery_feedback")
REGION = "eu-west-1"
STAFF = "staff@corp.example"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "FORWARD_CAP_PER_HOUR", "VERDICT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "FORWARD_TO": STAFF,
        "FEEDBACK_TO": STAFF,
        "MAILBOXES": "info@example.com",
        "MAIL_BUCKET": "mail",
        "FEEDBACK_BUCKET": "mail",
        "KEY_PREFIXES": '{"info@example.com": "info/"}',
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION})
        boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity="example.com")
        sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="alarms")["TopicArn"]
        queue = sqs.create_queue(QueueName="reader")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        monkeypatch.setenv("ALARM_TOPIC_ARN", topic)
        sent: list[dict[str, Any]] = []
        real = boto3.client

        def recording(name: str, *args: Any, **kwargs: Any) -> Any:
            client = real(name, *args, **{"region_name": REGION, **kwargs})
            if name == "sesv2":
                client.meta.events.register(
                    "provide-client-params.sesv2.SendEmail", lambda params, **_: sent.append(params)
                )
            return client

        monkeypatch.setattr(fwd.boto3, "client", recording)
        monkeypatch.setattr(feedback.boto3, "client", recording)
        yield {"s3": s3, "sqs": sqs, "queue": queue, "sent": sent}


def record(world: dict[str, Any]) -> dict[str, Any]:
    return json.loads(world["s3"].get_object(Bucket="mail", Key="info/m1.forward.json")["Body"].read())


def test_a_suppressed_forward_reaches_staff_once_the_address_is_lifted(world: dict[str, Any]) -> None:
    world["s3"].put_object(Bucket="mail", Key="info/m1", Body=RAW)
    fwd.handler({"Records": [ses_record("m1", ["info@example.com"])]})
    first = record(world)
    assert first["state"] == "sent" and len(world["sent"]) == 1

    event = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "OnAccountSuppressionList",
            "bouncedRecipients": [{"emailAddress": STAFF}],
            "timestamp": "2026-12-07T12:00:01.000Z",
            "feedbackId": "f-1",
        },
        "mail": {
            "messageId": first["sesMessageId"],
            "source": "info@example.com",
            "destination": [STAFF],
            "headersTruncated": False,
            "headers": [{"name": "X-Sesmail-Forwarded", "value": "info/m1"}],
            "commonHeaders": {"from": ['"Jane Doe via info@example.com" <info@example.com>'], "subject": "Order 1234"},
        },
    }
    sns_event = {"Records": [{"Sns": {"Message": json.dumps(event)}}]}
    assert feedback.handler(sns_event) == {"done": ["topic"]}
    assert feedback.handler(sns_event) == {"done": ["duplicate"]}
    alarms = world["sqs"].receive_message(QueueUrl=world["queue"], MaxNumberOfMessages=10).get("Messages", [])
    assert len(alarms) == 1 and "info/m1" in json.loads(alarms[0]["Body"])["Message"]
    assert record(world)["state"] == "deferred"
    assert len(world["sent"]) == 1  # nobody else to tell by mail: the only staff address is the suppressed one

    # What `sesmail forward-deferred` hands the forwarder: the S3 event shape.
    redrive = {"Records": [{"s3": {"bucket": {"name": "mail"}, "object": {"key": "info/m1"}}}]}
    assert fwd.handler(redrive)["results"][0]["sent"] == "forward"
    assert record(world)["state"] == "sent" and len(world["sent"]) == 2
    assert fwd.handler(redrive)["results"][0] == {"key": "info/m1", "duplicate": "sent"}
    assert len(world["sent"]) == 2
