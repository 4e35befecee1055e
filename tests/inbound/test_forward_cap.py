"""The forwarder's hourly cap: over it messages stay stored, recorded ``deferred``, one notice an hour (issue 22).

Every forward is an SES send counted against the account's quotas, which the web app's mail shares: "sending quota:
the maximum number of emails that you can send in a 24-hour period" and "maximum send rate" (SES Developer Guide,
"Managing your Amazon SES sending quotas"). The counter is an S3 object per UTC hour written with conditional writes:
"If-None-Match ... upload the object only if the object key name does not already exist" and "If-Match ... only if
the ETag matches", a conflict failing with 412 Precondition Failed or 409 (S3 User Guide, "How to prevent object
overwrites with conditional writes"). S3 and SES v2 through moto.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from tests.inbound.test_mail_forwarder import RAW, Mail, fwd, ses_record

cap_mod = fwd.fwd_cap  # the module the handler imported
NOON = datetime(2026, 12, 7, 12, 5, tzinfo=UTC)


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FORWARD_TO", "staff@corp.example")
    monkeypatch.setenv("MAILBOXES", "info@example.com,support@example.com")
    monkeypatch.setenv("MAIL_BUCKET", "mail")
    monkeypatch.setenv("KEY_PREFIXES", '{"info@example.com": "info/", "support@example.com": "support/"}')
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("FORWARD_CAP_PER_HOUR", "2")
    monkeypatch.delenv("VERDICT_POLICY", raising=False)
    with mock_aws():
        yield Mail(monkeypatch)


def run(mail: Mail, message_id: str, at: datetime) -> dict[str, Any]:
    s3 = fwd.boto3.client("s3")
    ses = fwd.boto3.client("sesv2")
    config = fwd.Config.from_environ(
        {
            "FORWARD_TO": "staff@corp.example",
            "MAILBOXES": "info@example.com,support@example.com",
            "AWS_REGION": "eu-west-1",
        }
    )
    target = fwd.Target("mail", f"info/{message_id}", "info@example.com", ses_record(message_id, [])["ses"]["receipt"])
    return dict(fwd.process(s3, ses, target, config, now=at))


def test_over_the_cap_messages_are_kept_and_one_notice_says_so(capped: Mail) -> None:
    """Cap 2: two forwards; the third gets the hour's one notice instead (naming the cap and the command that
    forwards deferred messages); the fourth sends nothing. Both over the cap are recorded ``deferred``."""
    for n in range(4):
        capped.store(f"info/m{n}", RAW)
    results = [run(capped, f"m{n}", NOON + timedelta(minutes=n)) for n in range(4)]
    assert [r.get("sent") for r in results] == ["forward", "forward", "notice", None]
    assert len(capped.sent) == 3
    notice = capped.sent_message(2)
    assert notice["Subject"].startswith("[HELD]")
    body = notice.get_content()
    assert "forwarding cap of 2 messages an hour" in body and "sesmail forward-deferred" in body
    assert [capped.record(f"info/m{n}")["state"] for n in range(4)] == ["sent", "sent", "deferred", "deferred"]
    counter = json.loads(capped.s3.get_object(Bucket="mail", Key=cap_mod.counter_key(NOON))["Body"].read())
    assert counter["count"] == 4


def test_a_deferred_message_is_forwarded_when_delivered_again(capped: Mail) -> None:
    """``deferred`` is not a final state: the next hour, a new delivery of the message (what ``sesmail
    forward-deferred`` makes) claims its record again and forwards it."""
    for n in range(3):
        capped.store(f"info/m{n}", RAW)
        run(capped, f"m{n}", NOON)
    assert capped.record("info/m2")["state"] == "deferred"
    result = run(capped, "m2", NOON + timedelta(hours=1))
    assert result["sent"] == "forward"
    record = capped.record("info/m2")
    assert record["state"] == "sent" and record["previous"]["state"] == "deferred"


def test_skipped_messages_do_not_count(capped: Mail) -> None:
    """A message nothing is sent for (our own forward come back) spends no sending quota, so it is not counted."""
    looped = RAW.replace(b"MIME-Version: 1.0", b"X-Sesmail-Forwarded: info/x\r\nMIME-Version: 1.0")
    capped.store("info/loop", looped)
    # Our marker counts as a loop only when it names a stored message with a forward record (fwd_kinds): an
    # outsider's copied header is forwarded like anyone else's mail.
    capped.store("info/x.forward.json", b'{"state": "sent"}')
    assert run(capped, "loop", NOON)["skipped"]
    with pytest.raises(Exception, match=r"NoSuchKey|Not Found|404"):
        capped.s3.get_object(Bucket="mail", Key=cap_mod.counter_key(NOON))


def test_no_cap_without_the_setting(capped: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORWARD_CAP_PER_HOUR")
    for n in range(3):
        capped.store(f"info/m{n}", RAW)
        assert run(capped, f"m{n}", NOON)["sent"] == "forward"
