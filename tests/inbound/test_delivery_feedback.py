"""Delivery feedback: SES's configuration-set events about staff's sends become notices to the person concerned.

The event records are shaped as AWS documents them ("Examples of event data that Amazon SES publishes to Amazon SNS"
and "Contents of event data that Amazon SES publishes to Amazon SNS", SES Developer Guide): a top-level
``eventType`` ("Possible values: Bounce, Complaint, Delivery, Send, Reject, Open, Click, Rendering Failure,
DeliveryDelay, or Subscription"), a ``mail`` object with ``messageId``, ``source``, ``destination``, ``headers``
(name/value pairs of the original message) and ``commonHeaders``, and one object named after the event. SNS delivers
each to Lambda as ``Records[].Sns.Message`` (a JSON string). S3, SES v2 and SNS through moto.
"""

from __future__ import annotations

import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests import boto_models
from tests.conftest import load_handler

feedback = load_handler("delivery_feedback")
REGION = "eu-west-1"
STAFF = ["staff@corp.example", "backup@corp.example"]
DIAGNOSTIC = "smtp; 550 5.1.1 user unknown"


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def mail_object(source: str, to: list[str], *, subject: str = "Re: Order 1234", headers: dict[str, str] | None = None):
    """The event's ``mail`` object, as in SES's example records."""
    listed = [{"name": "From", "value": source}, {"name": "To", "value": ", ".join(to)}]
    listed += [{"name": "Subject", "value": subject}]
    listed += [{"name": k, "value": v} for k, v in (headers or {}).items()]
    return {
        "timestamp": "2026-12-06T10:00:00.000Z",
        "source": source,
        "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/example.com",
        "sendingAccountId": "123456789012",
        "messageId": "0102018c5a1b2c3d-4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8-000000",
        "destination": to,
        "headersTruncated": False,
        "headers": listed,
        "commonHeaders": {"from": [source], "to": to, "subject": subject},
        "tags": {"ses:configuration-set": ["sesmail-example"]},
    }


def bounce(source: str, to: list[str], *, sub: str = "General", kind: str = "Permanent", **mail: Any) -> dict:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": sub,
            "bouncedRecipients": [
                {
                    "emailAddress": a,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
                for a in to
            ],
            "timestamp": "2026-12-06T10:00:02.669Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; mta.example.com",
        },
        "mail": mail_object(source, to, **mail),
    }


def sns_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(r)}} for r in records]}


class World:
    """moto's S3 (claims), SES v2 (a verified domain) and SNS (the alarm topic, read through an SQS queue)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, staff: list[str]) -> None:
        boto_models.use_as_default()  # made inside mock_aws: the shared API models (tests/boto_models.py)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION})
        boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity="example.com")
        sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
        self.topic = sns.create_topic(Name="alarms")["TopicArn"]
        self.queue = sqs.create_queue(QueueName="alarm-reader")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=queue_arn)
        self.sqs = sqs
        self.sent: list[dict[str, Any]] = []
        monkeypatch.setenv("MAILBOXES", "info@example.com,support@example.com")
        monkeypatch.setenv("FEEDBACK_TO", ",".join(staff))
        monkeypatch.setenv("ALARM_TOPIC_ARN", self.topic)
        monkeypatch.setenv("FEEDBACK_BUCKET", "mail")
        monkeypatch.setenv("AWS_REGION", REGION)
        real_client = boto3.client

        def recording_client(name: str, *args: Any, **kwargs: Any) -> Any:
            client = real_client(name, *args, **{"region_name": REGION, **kwargs})
            if name == "sesv2":
                client.meta.events.register(
                    "provide-client-params.sesv2.SendEmail", lambda params, **_: self.sent.append(params)
                )
            return client

        monkeypatch.setattr(feedback.boto3, "client", recording_client)

    def alarms(self) -> list[str]:
        messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"])["Message"] for m in messages]

    def notice(self, index: int = -1) -> EmailMessage:
        return parse(self.sent[index]["Content"]["Raw"]["Data"])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield World(monkeypatch, STAFF)


def test_bounce_of_a_staff_reply_reaches_the_staff_of_that_mailbox(world: World) -> None:
    """A staff reply sent as info@ through SMTP credentials bounces ("bounceType":"Permanent", a
    ``bouncedRecipients`` entry with its ``diagnosticCode``): the staff reading info@ get one notice from info@
    naming the recipient, SES's reason, the subject and what to do; marked so its own failure is not answered."""
    result = feedback.handler(sns_event(bounce("info@example.com", ["jane@customer.example"])))
    assert result == {"done": ["notice"]}
    assert world.sent[0]["FromEmailAddress"] == "info@example.com"
    assert world.sent[0]["Destination"] == {"ToAddresses": STAFF}
    out = world.notice()
    assert out["Subject"] == "[NOT DELIVERED] Re: Order 1234"
    assert out["Auto-Submitted"] == "auto-replied"
    assert out[feedback.FEEDBACK].strip() == "0102018c5a1b2c3d-4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8-000000"
    body = out.get_content()
    assert "jane@customer.example" in body and "550 5.1.1 user unknown" in body and "check the address" in body
    assert world.alarms() == []


def test_suppressed_reply_says_so_and_how_to_lift_it(world: World) -> None:
    """ "OnAccountSuppressionList: Amazon SES has suppressed sending to this address because it has a recent history
    of bouncing as an invalid address" (SES Developer Guide, bounce types): SES accepted the send but did not send
    it. The notice says so and names DeleteSuppressedDestination's CLI form."""
    feedback.handler(sns_event(bounce("support@example.com", ["old@customer.example"], sub="OnAccountSuppressionList")))
    out = world.notice()
    assert world.sent[0]["FromEmailAddress"] == "support@example.com"
    body = out.get_content()
    assert "suppression list" in body and "aws sesv2 delete-suppressed-destination" in body
    assert "old@customer.example" in body


def test_failed_forward_tells_the_team_and_the_other_staff(world: World) -> None:
    """A forward (``X-Sesmail-Forwarded: <key>``) to staff@ bounced: staff@ itself cannot be told by mail, so the
    alarm topic hears it, naming the stored message, and the staff address that did not fail gets a notice."""
    record = bounce(
        "info@example.com", ["staff@corp.example"], headers={"X-Sesmail-Forwarded": "info/abc123"}, subject="Order"
    )
    assert feedback.handler(sns_event(record)) == {"done": ["both"]}
    (alarm,) = world.alarms()
    assert "info/abc123" in alarm and "staff@corp.example" in alarm
    assert world.sent[0]["Destination"] == {"ToAddresses": ["backup@corp.example"]}


def test_failed_notice_is_never_answered_with_a_notice(world: World) -> None:
    """A notice of ours (``X-Sesmail-Feedback``) that bounces goes to the alarm topic only: no SES send, so a
    mailbox that bounces cannot make notices about notices."""
    record = bounce(
        "info@example.com", STAFF, headers={"X-Sesmail-Feedback": "earlier-id", "Auto-Submitted": "auto-replied"}
    )
    assert feedback.handler(sns_event(record)) == {"done": ["topic"]}
    assert world.sent == []
    assert len(world.alarms()) == 1


def test_the_same_event_twice_gives_one_notice(world: World) -> None:
    """SNS may deliver a message more than once ("at-least-once", SNS message delivery): the event is claimed with
    an S3 conditional write ("If-None-Match ... 412 Precondition Failed" when the key exists), so one notice."""
    event = sns_event(bounce("info@example.com", ["jane@customer.example"]))
    assert feedback.handler(event) == {"done": ["notice"]}
    assert feedback.handler(event) == {"done": ["duplicate"]}
    assert len(world.sent) == 1


def test_deliveries_are_not_failures_and_other_senders_reach_the_team(world: World) -> None:
    """``Delivery`` events are not failures. A send from another address of the domain (the web app's) reaches the
    alarm topic: with the identity's e-mailed feedback off, SES no longer e-mails it to the Return-Path either
    ("you receive an email notification ... (even if this setting is disabled)" only without another mechanism,
    PutEmailIdentityFeedbackAttributes)."""
    delivery = {"eventType": "Delivery", "mail": mail_object("info@example.com", ["a@b.example"]), "delivery": {}}
    stranger = bounce("no-reply@example.com", ["a@b.example"])
    assert feedback.handler(sns_event(delivery, stranger)) == {"done": ["ignored", "topic"]}
    assert world.sent == []
    (alarm,) = world.alarms()
    assert "no-reply@example.com" in alarm and "a@b.example" in alarm


def test_complaint_reject_and_delay(world: World) -> None:
    """Complaint (``complainedRecipients``, ``complaintFeedbackType``), Reject (``reject.reason`` "Bad content": a
    virus) and DeliveryDelay (``delayType``, ``expirationTime``, ``delayedRecipients``) each give one notice."""
    mail = mail_object("info@example.com", ["jane@customer.example"])
    complaint = {
        "eventType": "Complaint",
        "mail": mail,
        "complaint": {
            "complainedRecipients": [{"emailAddress": "jane@customer.example"}],
            "timestamp": "2026-12-06T10:01:00Z",
            "feedbackId": "c1",
            "complaintFeedbackType": "abuse",
        },
    }
    reject = {"eventType": "Reject", "mail": mail, "reject": {"reason": "Bad content"}}
    delay = {
        "eventType": "DeliveryDelay",
        "mail": mail,
        "deliveryDelay": {
            "timestamp": "2026-12-06T10:05:00Z",
            "delayType": "MailboxFull",
            "expirationTime": "2026-12-06T22:00:00Z",
            "delayedRecipients": [{"emailAddress": "jane@customer.example", "status": "4.2.2"}],
        },
    }
    assert feedback.handler(sns_event(complaint, reject, delay)) == {"done": ["notice", "notice", "notice"]}
    subjects = [world.notice(i)["Subject"] for i in range(3)]
    assert subjects == ["[COMPLAINT] Re: Order 1234", "[NOT DELIVERED] Re: Order 1234", "[DELAYED] Re: Order 1234"]
    assert "Bad content" in world.notice(1).get_content()
    assert "2026-12-06T22:00:00Z" in world.notice(2).get_content()


def test_a_failed_send_releases_the_claim_so_the_retry_sends(world: World) -> None:
    """SES refuses the notice (throttled): the invocation raises (Lambda retries it, then the failure destination
    keeps it) and the claim is released, so the retry sends the notice."""
    event = sns_event(bounce("info@example.com", ["jane@customer.example"]))
    real_client = feedback.boto3.client

    def failing_client(name: str, *args: Any, **kwargs: Any) -> Any:
        client = real_client(name, *args, **kwargs)
        if name == "sesv2":
            stubber = Stubber(client)
            stubber.add_client_error("send_email", service_error_code="TooManyRequestsException", http_status_code=429)
            stubber.activate()
        return client

    feedback.boto3.client = failing_client
    try:
        with pytest.raises(Exception, match="TooManyRequests"):
            feedback.handler(event)
    finally:
        feedback.boto3.client = real_client
    assert feedback.handler(event) == {"done": ["notice"]}


def test_a_suppressed_forward_is_deferred_for_sesmail_forward_deferred(world: World) -> None:
    """A forward to a staff address on the account suppression list: SES "accepts the message, but doesn't send it"
    and publishes a Bounce with ``bounceSubType`` ``OnAccountSuppressionList`` (SES Developer Guide, "Using the
    Amazon SES account-level suppression list"). The forward's record (``sent`` with that SES message id) becomes
    ``deferred``, so once the address is removed ``sesmail forward-deferred`` sends it; the team hears it through the
    alarm topic, with both commands."""
    message_id = "0102018c5a1b2c3d-4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8-000000"
    sent = {"state": "sent", "sesMessageId": message_id, "key": "info/abc"}
    world.s3.put_object(Bucket="mail", Key="info/abc.forward.json", Body=json.dumps(sent).encode())
    record = bounce(
        "info@example.com",
        ["staff@corp.example"],
        sub="OnAccountSuppressionList",
        headers={"X-Sesmail-Forwarded": "info/abc"},
    )
    assert feedback.handler(sns_event(record)) == {"done": ["both"]}
    after = json.loads(world.s3.get_object(Bucket="mail", Key="info/abc.forward.json")["Body"].read())
    assert after["state"] == "deferred" and after["suppressed"] == ["staff@corp.example"]
    (alarm,) = world.alarms()
    assert "delete-suppressed-destination" in alarm and "sesmail forward-deferred" in alarm


def test_a_forward_whose_headers_were_truncated_is_still_a_forward(world: World) -> None:
    """The event's mail object has ``headersTruncated`` beside ``headers`` ("Contents of event data that Amazon SES
    publishes to Amazon SNS"): the listed headers can be cut short, and our marker with them for a forward carrying a
    customer's long headers. A send from a mailbox to staff addresses only is still treated as a forward: the team
    hears it, not the staff address that just failed."""
    record = bounce("info@example.com", ["staff@corp.example"])
    record["mail"]["headersTruncated"] = True
    assert feedback.handler(sns_event(record)) == {"done": ["both"]}
    assert world.sent[0]["Destination"] == {"ToAddresses": ["backup@corp.example"]}
    assert len(world.alarms()) == 1
