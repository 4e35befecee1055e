"""Mail forwarder: forwarding headers, loop and bounce protection, oversize summary; sending through moto SES."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import load_handler

fwd = load_handler("mail_forwarder")
STAFF = {"staff@corp.example"}

RAW = (
    b"Return-Path: <alice@example.org>\r\nFrom: Alice <alice@example.org>\r\nTo: info@example.com\r\n"
    b"Subject: hi\r\nMessage-ID: <1@example.org>\r\nDKIM-Signature: v=1; d=example.org; b=xyz\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n'
    b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"
)


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def test_forwarded_headers_and_attachment_kept() -> None:
    out = fwd.forwarded(parse(RAW), as_address="info@example.com", to=["staff@corp.example"], key="inbound/k")
    assert out["From"] == "info@example.com" and out["To"] == "staff@corp.example"
    assert out["Reply-To"] == "Alice <alice@example.org>"
    assert out["Auto-Submitted"] == "auto-forwarded" and out[fwd.MARKER] == "inbound/k"
    assert out["DKIM-Signature"] is None and out["Return-Path"] is None and out["Message-ID"] is None
    (attachment,) = list(out.iter_attachments())
    assert attachment.get_filename() == "a.pdf" and attachment.get_content() == b"%PDF-"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (b"X-Sesmail-Forwarded: inbound/x\r\n", "already forwarded"),
        (b"Auto-Submitted: auto-replied\r\n", "auto-submitted"),
        (b"Return-Path: <>\r\n", "bounce"),
        (b"Return-Path: <MAILER-DAEMON@example.org>\r\n", "bounce"),
        (b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n", "delivery report"),
        (b"From: staff@corp.example\r\n", "sent by staff"),
    ],
)
def test_loop_and_bounce_protection(extra: bytes, reason: str) -> None:
    assert fwd.skip_reason(parse(extra + b"Subject: s\r\n\r\nbody\r\n"), STAFF) == reason


def test_ordinary_mail_is_forwarded() -> None:
    assert fwd.skip_reason(parse(RAW), STAFF) is None


def test_summary_links_instead_of_attaching() -> None:
    out = fwd.summary(parse(RAW), as_address="info@example.com", to=["s@x.example"], key="k", link="https://l", size=9)
    assert "https://l" in out.get_content() and out["Subject"] == "[too large to forward] hi"
    assert out["Reply-To"] == "Alice <alice@example.org>" and not list(out.iter_attachments())


def test_handler_sends_through_ses_and_skips_bounces(monkeypatch) -> None:
    monkeypatch.setenv("FORWARD_TO", "staff@corp.example")
    monkeypatch.setenv("MAILBOXES", "support@example.com,info@example.com")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="mail")
        boto3.client("sesv2").create_email_identity(EmailIdentity="example.com")
        s3.put_object(Bucket="mail", Key="inbound/a", Body=RAW)
        s3.put_object(Bucket="mail", Key="inbound/b", Body=b"Return-Path: <>\r\nSubject: bounce\r\n\r\nx\r\n")
        records = [{"s3": {"bucket": {"name": "mail"}, "object": {"key": k}}} for k in ("inbound/a", "inbound/b")]
        results = fwd.handler({"Records": records})["results"]
    assert results == [{"key": "inbound/a", "forwarded": 1}, {"key": "inbound/b", "skipped": "bounce"}]


def _ses_record(message_id: str, recipients: list[str]) -> dict:
    """The shape of an SES receipt-rule Lambda action record (fields the forwarder reads)."""
    return {
        "eventSource": "aws:ses",
        "ses": {
            "mail": {"messageId": message_id, "destination": recipients},
            "receipt": {"recipients": recipients, "action": {"type": "Lambda", "invocationType": "Event"}},
        },
    }


def test_ses_event_reads_the_stored_copy_under_the_matched_mailbox_prefix(monkeypatch) -> None:
    monkeypatch.setenv("FORWARD_TO", "staff@corp.example")
    monkeypatch.setenv("MAILBOXES", "info@example.com,support@example.com")
    monkeypatch.setenv("MAIL_BUCKET", "mail")
    monkeypatch.setenv("KEY_PREFIXES", '{"info@example.com": "info/", "support@example.com": "support/"}')
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="mail")
        boto3.client("sesv2").create_email_identity(EmailIdentity="example.com")
        # Addressed to info@ in the headers, but the rule that ran matched support@ (e.g. Bcc): send as support@.
        s3.put_object(Bucket="mail", Key="support/m1", Body=RAW)
        sent: list[dict] = []
        real_client = boto3.client

        def recording_client(name: str, *args: Any, **kwargs: Any) -> Any:
            client = real_client(name, *args, **kwargs)
            if name == "sesv2":
                client.meta.events.register(
                    "provide-client-params.sesv2.SendEmail", lambda params, **_: sent.append(params)
                )
            return client

        monkeypatch.setattr(fwd.boto3, "client", recording_client)
        results = fwd.handler({"Records": [_ses_record("m1", ["Support@example.com"]), _ses_record("m2", ["x@y.z"])]})
    assert results["results"] == [{"key": "support/m1", "forwarded": 1}]
    assert sent[0]["FromEmailAddress"] == "Support@example.com"
    assert sent[0]["Destination"] == {"ToAddresses": ["staff@corp.example"]}


def test_targets_skip_derived_objects_of_s3_events() -> None:
    records = [{"s3": {"bucket": {"name": "b"}, "object": {"key": k}}} for k in ("a", "a.json", "a.attachments/1-x")]
    assert fwd.targets({"Records": records}, {}) == [("b", "a", None)]
