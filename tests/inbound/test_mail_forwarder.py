"""Mail forwarder: who a forward is from and how it threads, verdict decisions, loops, exactly-once delivery,
retries and failures, oversize messages; S3 and SES through moto (SES errors through botocore's Stubber)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests import boto_models
from tests.conftest import load_handler, no_sleep

fwd = load_handler("mail_forwarder")
verdicts_mod = load_handler("mail_forwarder", "fwd_verdicts")
message_mod = load_handler("mail_forwarder", "fwd_message")
STAFF = "staff@corp.example"
MAILBOXES = "info@example.com,support@example.com"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "mime" / "messages"

# A customer's message as SES stores it: SES's own headers on top, then the sender's (with a duplicate Subject and an
# Auto-Submitted: no, both of which a forward must not repeat, and an X-SES header SES would act on when sending).
RAW = (
    b"Return-Path: <jane@customer.example>\r\n"
    b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n"
    b"Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=customer.example; dkim=pass "
    b"header.i=@customer.example; dmarc=pass header.from=customer.example;\r\n"
    b'From: "Jane Doe" <jane@customer.example>\r\nTo: info@example.com\r\n'
    b"Subject: Order 1234\r\nSubject: Order 1234 (dup)\r\nAuto-Submitted: no\r\n"
    b"X-SES-CONFIGURATION-SET: attacker-chosen\r\n"
    b"Message-ID: <m1@customer.example>\r\nReferences: <m0@example.com>\r\nIn-Reply-To: <m0@example.com>\r\n"
    b"DKIM-Signature: v=1; d=customer.example; b=xyz\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nWhere is my order?\r\n'
    b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="invoice.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"
)
# The EICAR anti-virus test file, assembled here so that this source file itself is not flagged.
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def ses_record(message_id: str, recipients: list[str], **verdicts: Any) -> dict[str, Any]:
    """An SES receipt-rule Lambda action record, shaped as the SES Developer Guide's "Sample incoming email event"."""
    statuses = {"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"}
    statuses |= {k: v for k, v in verdicts.items() if k != "dmarcPolicy"}
    receipt: dict[str, Any] = {
        "recipients": recipients,
        "action": {"type": "Lambda", "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:f"},
        **{f"{name}Verdict": {"status": status} for name, status in statuses.items()},
    }
    if "dmarcPolicy" in verdicts:
        receipt["dmarcPolicy"] = verdicts["dmarcPolicy"]
    return {
        "eventSource": "aws:ses",
        "eventVersion": "1.0",
        "ses": {"mail": {"messageId": message_id, "destination": recipients}, "receipt": receipt},
    }


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARD_TO", STAFF)
    monkeypatch.setenv("MAILBOXES", MAILBOXES)
    monkeypatch.setenv("MAIL_BUCKET", "mail")
    monkeypatch.setenv("KEY_PREFIXES", '{"info@example.com": "info/", "support@example.com": "support/"}')
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.delenv("VERDICT_POLICY", raising=False)


class Mail:
    """moto's S3 and SES v2 with the mail bucket and a verified domain; records what the handler sends."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        boto_models.use_as_default()  # made inside mock_aws: the shared API models (tests/boto_models.py)
        self.s3 = boto3.client("s3", region_name="eu-west-1")
        self.s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        boto3.client("sesv2", region_name="eu-west-1").create_email_identity(EmailIdentity="example.com")
        self.sent: list[dict[str, Any]] = []
        real_client = boto3.client

        def recording_client(name: str, *args: Any, **kwargs: Any) -> Any:
            client = real_client(name, *args, **{"region_name": "eu-west-1", **kwargs})
            if name == "sesv2":
                client.meta.events.register(
                    "provide-client-params.sesv2.SendEmail", lambda params, **_: self.sent.append(params)
                )
            return client

        monkeypatch.setattr(fwd.boto3, "client", recording_client)

    def store(self, key: str, raw: bytes) -> None:
        self.s3.put_object(Bucket="mail", Key=key, Body=raw)

    def record(self, key: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket="mail", Key=key + ".forward.json")["Body"].read())

    def sent_message(self, index: int = -1) -> EmailMessage:
        return parse(self.sent[index]["Content"]["Raw"]["Data"])


@pytest.fixture
def mail(env: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    with mock_aws():
        yield Mail(monkeypatch)


# --- who wrote it, how it threads, which headers


def test_forward_is_from_the_mailbox_with_the_senders_name_and_threads(mail: Mail) -> None:
    """From: the mailbox with the sender's name; Reply-To the sender; the sender's Message-ID in In-Reply-To and
    References. "If you provide a Message-ID header, Amazon SES overrides the header with its own value" and "If you
    specify a Return-Path header, Amazon SES sends bounce and complaint notifications to the address that you
    specified" (SES Developer Guide, "Amazon SES header fields"): so the id travels in the threading headers and the
    original Return-Path is dropped."""
    mail.store("info/m1", RAW)
    assert fwd.handler({"Records": [ses_record("m1", ["info@example.com"])]})["results"][0]["sent"] == "forward"
    (params,) = mail.sent
    assert params["FromEmailAddress"] == "info@example.com"
    assert params["Destination"] == {"ToAddresses": [STAFF]}
    out = mail.sent_message()
    assert out["From"].addresses[0].display_name == "Jane Doe via info@example.com"
    assert out["From"].addresses[0].addr_spec == "info@example.com"
    assert (
        out["Reply-To"] == '"Jane Doe" <jane@customer.example>' or out["Reply-To"] == "Jane Doe <jane@customer.example>"
    )
    assert out["In-Reply-To"] == "<m1@customer.example>"
    assert out["References"] == "<m0@example.com> <m1@customer.example>"
    assert out["Return-Path"] is None and out["DKIM-Signature"] is None and out["Message-ID"] is None
    (attachment,) = list(out.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf" and attachment.get_content() == b"%PDF-"


def test_no_header_ses_refuses_twice_and_one_auto_submitted(mail: Mail) -> None:
    """SES header fields: "The following fields can't appear more than once in the header section of a message"
    (Subject, Auto-Submitted, ... among them). Incoming X-SES-* headers are dropped: SES reads some when sending."""
    mail.store("info/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["info@example.com"])]})
    out = mail.sent_message()
    for name in message_mod.SINGLE_HEADERS:
        assert len(out.get_all(name) or []) <= 1, name
    assert out.get_all("Auto-Submitted") == ["auto-forwarded"]
    assert out["Subject"] == "Order 1234"
    assert not [name for name in out if name.lower().startswith("x-ses-")]
    assert out[message_mod.MARKER] == "info/m1"


def test_recipient_spelled_differently_is_sent_as_the_configured_mailbox(mail: Mail) -> None:
    """The role's ``ses:FromAddress`` condition is StringEquals, and IAM's StringEquals is case-sensitive (IAM User
    Guide, condition operators): a forward must use the configured spelling, not SES's ``Info@Example.COM``."""
    mail.store("info/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["Info@Example.COM"])]})
    assert mail.sent[0]["FromEmailAddress"] == "info@example.com"
    assert mail.sent_message()["From"].addresses[0].addr_spec == "info@example.com"


def test_s3_event_reads_the_mailbox_from_the_headers() -> None:
    msg = parse(b"To: Support@Example.com\r\nCc: info@example.com\r\n\r\nx")
    assert fwd.mailbox_for(None, msg, MAILBOXES.split(",")) == "support@example.com"
    assert fwd.mailbox_for("INFO@example.com", msg, MAILBOXES.split(",")) == "info@example.com"


def _compose(raw: bytes, decision: Any) -> tuple[str, bytes | None]:
    """What the forwarder would send for the stored message ``raw`` to info@ (staff: STAFF), no SES verdicts."""
    config = fwd.Config(
        staff=[STAFF], mailboxes=["info@example.com"], policy=dict(verdicts_mod.DEFAULT_POLICY), region=""
    )
    target = fwd.Target("mail", "info/x")
    return fwd.compose(
        parse(raw),
        decision,
        verdicts_mod.Verdicts(),
        stored=raw,
        mailbox="info@example.com",
        target=target,
        config=config,
    )


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared MIME corpus is not checked out next to the repository")
def test_every_corpus_message_forwards_without_duplicate_headers() -> None:
    """Over the shared corpus of real and broken messages: each one can be forwarded, and the forward never repeats
    a header SES refuses twice."""
    counted = 0
    for path in sorted(CORPUS.iterdir()):
        _, data = _compose(path.read_bytes(), verdicts_mod.Decision(action="forward"))
        assert data is not None
        sent = parse(data)
        for name in message_mod.SINGLE_HEADERS:
            assert len(sent.get_all(name) or []) <= 1, (path.name, name)
        assert sent.get_all("Auto-Submitted") == ["auto-forwarded"], path.name
        counted += 1
    assert counted == len(list(CORPUS.iterdir())) > 200


# --- loops and bounces


kinds_mod = load_handler("mail_forwarder", "fwd_kinds")


@pytest.mark.parametrize(
    ("extra", "kind"),
    [
        (b"Auto-Submitted: auto-replied\r\n", "automated; auto-submitted=auto-replied"),
        (b"Auto-Submitted: auto-generated\r\n", "automated; auto-submitted=auto-generated"),
        (b"Return-Path: <>\r\n", "report; null return path"),
        (b"Return-Path: <MAILER-DAEMON@example.org>\r\n", "report; return path mailer-daemon@example.org"),
        (
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n",
            "report; multipart/report; report-type=delivery-status",
        ),
        (b"From: staff@corp.example\r\n", "staff; from=staff@corp.example"),
        (b"From: info@example.com\r\n", "staff; from=info@example.com"),
        (b"Auto-Submitted: no\r\n", None),
    ],
)
def test_what_was_skipped_before_is_now_a_kind_sent_on(extra: bytes, kind: str | None) -> None:
    """RFC 3834 section 2 limits automatic responders ("Automatic responses SHOULD NOT be issued in response to any
    message which contains an Auto-Submitted header field ... any value other than 'no'"), not a forwarder: each of
    these used to be dropped; now each is a kind, tagged, and none of them alone is a loop."""
    msg = parse(extra + b"Subject: s\r\n\r\nbody\r\n")
    found = kinds_mod.classify(msg, staff=[STAFF], own=["info@example.com"])
    assert (found.header if found else None) == kind
    assert kinds_mod.own_loop(msg, own=["info@example.com"], destinations=[STAFF], dmarc="PASS", is_ours=_never) is None


def _never(key: str, authors: list[str]) -> bool:
    return False


def test_a_stranger_copying_our_marker_is_not_skipped() -> None:
    """Only a marker naming a message we recorded is ours: the record is read (``is_ours``)."""
    msg = parse(b"X-Sesmail-Forwarded: info/guess\r\nFrom: x@y.example\r\nSubject: s\r\n\r\nb\r\n")
    assert kinds_mod.own_loop(msg, own=["info@example.com"], destinations=[STAFF], dmarc="PASS", is_ours=_never) is None
    assert kinds_mod.own_loop(
        msg, own=["info@example.com"], destinations=[STAFF], dmarc="PASS", is_ours=lambda k, a: k == "info/guess"
    ) == ("our own forward of info/guess came back")


def test_a_via_name_from_our_address_failing_dmarc_is_a_spoof_not_a_loop() -> None:
    msg = parse(b'From: "Jane via info@example.com" <info@example.com>\r\nSubject: s\r\n\r\nb\r\n')
    own = ["info@example.com"]
    assert kinds_mod.own_loop(msg, own=own, destinations=[STAFF], dmarc="PASS", is_ours=_never)
    assert kinds_mod.own_loop(msg, own=own, destinations=[STAFF], dmarc="FAIL", is_ours=_never) is None


@pytest.mark.parametrize(
    ("keyword", "loop"),
    [("auto-replied", True), ("auto-generated", False)],
)
def test_only_a_destinations_auto_reply_is_an_answer_to_our_forward(keyword: str, loop: bool) -> None:
    """RFC 3834 section 5: ``auto-replied`` "Indicates that a message was automatically generated as a direct response
    to another message"; ``auto-generated`` "... is not a direct response to another message". From the mailbox we
    forward to, the first answers our forward (its out-of-office); the second is its own mail (monitoring)."""
    msg = parse(f"From: {STAFF}\r\nAuto-Submitted: {keyword}\r\nSubject: s\r\n\r\nb\r\n".encode())
    found = kinds_mod.own_loop(msg, own=["info@example.com"], destinations=[STAFF], dmarc="PASS", is_ours=_never)
    assert bool(found) is loop
    # From anyone else (a customer's out-of-office answering a staff reply) it reaches staff.
    other = parse(b"From: c@customer.example\r\nAuto-Submitted: auto-replied\r\nSubject: s\r\n\r\nb\r\n")
    assert (
        kinds_mod.own_loop(other, own=["info@example.com"], destinations=[STAFF], dmarc="PASS", is_ours=_never) is None
    )


def test_a_report_returning_our_marker_is_ours_only_for_a_recorded_message() -> None:
    """A DSN's ``text/rfc822-headers`` part returns the headers of the message that failed (RFC 6522)."""
    raw = (
        b"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example\r\nSubject: failure\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n--r\r\n'
        b"Content-Type: text/plain\r\n\r\nfailed\r\n--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"From: info@example.com\r\nX-Sesmail-Forwarded: info/m1\r\nSubject: x\r\n\r\n--r--\r\n"
    )
    msg = parse(raw)
    args: dict[str, Any] = {"own": ["info@example.com"], "destinations": [STAFF], "dmarc": "PASS"}
    assert kinds_mod.own_loop(msg, **args, is_ours=_never) is None
    seen: list[tuple[str, list[str]]] = []

    def recorded(key: str, authors: list[str]) -> bool:
        seen.append((key, authors))
        return True

    found = kinds_mod.own_loop(msg, **args, is_ours=recorded)
    assert found == "a report about our own forward of info/m1 (the delivery-feedback function reports it)"
    assert seen == [("info/m1", ["info@example.com"])]


def test_our_forward_coming_back_is_not_forwarded_again(mail: Mail) -> None:
    """A mail loop: a staff mailbox that forwards everything back to info@ returns our forward; it stops there."""
    mail.store("info/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["info@example.com"])]})
    mail.store("info/m2", mail.sent[0]["Content"]["Raw"]["Data"])
    result = fwd.handler({"Records": [ses_record("m2", ["info@example.com"])]})["results"]
    assert result == [{"key": "info/m2", "skipped": "our own forward of info/m1 came back"}]
    assert len(mail.sent) == 1 and mail.record("info/m2")["state"] == "skipped"
    assert mail.record("info/m2")["outcome"] == "own-loop"


# --- verdicts


def _eicar_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Mallory <mallory@attacker.example>"
    msg["To"] = "info@example.com"
    msg["Subject"] = "Your invoice"
    msg["Message-ID"] = "<v1@attacker.example>"
    msg.set_content("Please open the attachment.")
    msg.add_attachment(EICAR.encode(), maintype="application", subtype="octet-stream", filename="invoice.com")
    return msg.as_bytes()


def test_virus_fail_sends_a_notice_without_the_content(mail: Mail) -> None:
    """A virus FAIL (SES receipt ``virusVerdict.status``; "Contents of notifications for Amazon SES email receiving")
    never sends content or attachments on: staff get a notice naming where the message is kept."""
    mail.store("info/v1", _eicar_message())
    result = fwd.handler({"Records": [ses_record("v1", ["info@example.com"], virus="FAIL")]})["results"]
    assert result[0]["sent"] == "notice"
    out = mail.sent_message()
    assert not list(out.iter_attachments()) and EICAR not in out.as_string()
    assert out["Subject"] == "[VIRUS] Your invoice" and out["Reply-To"] is None
    assert "s3://mail/info/v1" in out.get_content() and "virus verdict FAIL" in out.get_content()
    record = mail.record("info/v1")
    assert record["decision"] == "notice" and record["reasons"] == {"virus": "virus verdict FAIL"}
    assert record["verdicts"]["virus"] == "FAIL" and record["state"] == "held"


@pytest.mark.parametrize(
    ("verdicts", "action", "reason"),
    [
        ({"spam": "FAIL"}, "notice", {"spam": "spam verdict FAIL"}),
        ({"dmarc": "FAIL", "dmarcPolicy": "reject"}, "notice", {"dmarc": "DMARC FAIL, sender policy reject"}),
        ({"dmarc": "FAIL", "dmarcPolicy": "quarantine"}, "notice", {"dmarc": "DMARC FAIL, sender policy quarantine"}),
        ({"dmarc": "FAIL", "dmarcPolicy": "none"}, "forward", {}),
        ({"virus": "PROCESSING_FAILED"}, "notice", {"virus": "virus verdict PROCESSING_FAILED"}),
        ({"spam": "GRAY", "dmarc": "GRAY"}, "forward", {}),
        ({"spf": "FAIL"}, "forward", {"spf": "SPF FAIL"}),
    ],
)
def test_default_policy(verdicts: dict[str, str], action: str, reason: dict[str, str]) -> None:
    """Defaults: virus, spam and DMARC-fail-with-quarantine/reject (``dmarcPolicy`` "appears only if the message fails
    DMARC authentication", SES receipt object) are held as notices; the rest is forwarded."""
    receipt = ses_record("x", ["info@example.com"], **verdicts)["ses"]["receipt"]
    decision = verdicts_mod.decide(
        verdicts_mod.from_receipt(receipt),
        verdicts_mod.DEFAULT_POLICY,
        from_domain="customer.example",
        own_domains=frozenset({"example.com"}),
    )
    assert (decision.action, decision.triggered) == (action, reason)


def test_spoofed_own_domain_failing_dmarc_is_held_even_under_policy_none(mail: Mail) -> None:
    """Someone else's server claiming ``From: ceo@example.com``: DMARC fails; even with our own ``p=none`` it is a
    spoof of our domain, and staff must not see it as internal mail."""
    spoof = RAW.replace(b'"Jane Doe" <jane@customer.example>', b"CEO <ceo@example.com>")
    mail.store("info/s1", spoof)
    record = ses_record("s1", ["info@example.com"], dmarc="FAIL", spf="FAIL", dmarcPolicy="none")
    fwd.handler({"Records": [record]})
    out = mail.sent_message()
    assert out["Subject"].startswith("[DMARC FAIL] [SPF FAIL]") and not list(out.iter_attachments())
    assert mail.record("info/s1")["reasons"]["dmarc"] == "DMARC FAIL for our own domain example.com"


def test_policy_is_configurable_tag_and_skip(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERDICT_POLICY", json.dumps({"spam": "tag", "dmarc": "skip"}))
    mail.store("info/t1", RAW)
    mail.store("info/t2", RAW)
    fwd.handler({"Records": [ses_record("t1", ["info@example.com"], spam="FAIL")]})
    tagged = mail.sent_message()
    assert tagged["Subject"] == "[SPAM] Order 1234" and len(list(tagged.iter_attachments())) == 1
    result = fwd.handler({"Records": [ses_record("t2", ["info@example.com"], dmarc="FAIL", dmarcPolicy="reject")]})
    assert result["results"] == [{"key": "info/t2", "skipped": "DMARC FAIL, sender policy reject"}]
    assert len(mail.sent) == 1 and mail.record("info/t2")["state"] == "skipped"


def test_a_virus_is_never_forwarded_whatever_the_policy_says() -> None:
    with pytest.raises(ValueError, match=r"VERDICT_POLICY: virus='forward' is not allowed"):
        verdicts_mod.load_policy('{"virus": "forward"}')
    with pytest.raises(ValueError, match=r"VERDICT_POLICY: virus='tag' is not allowed"):
        verdicts_mod.load_policy('{"virus": "tag"}')


def test_s3_triggered_forward_decides_from_the_headers_ses_added(mail: Mail) -> None:
    """Without a receipt (bucket-notification mode) the verdicts are SES's headers on the stored message; a message
    SES marked ``X-SES-Virus-Verdict: FAIL`` becomes a notice, a clean one a forward sent as the addressed mailbox."""
    infected = b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: FAIL\r\n" + _eicar_message()
    mail.store("inbound/v", infected)
    mail.store("inbound/ok", RAW)
    records = [{"s3": {"bucket": {"name": "mail"}, "object": {"key": k}}} for k in ("inbound/v", "inbound/ok")]
    results = fwd.handler({"Records": records})["results"]
    assert [r["sent"] for r in results] == ["notice", "forward"]
    assert mail.record("inbound/v")["verdicts"] == {
        "spam": "PASS",
        "virus": "FAIL",
        "spf": None,
        "dkim": None,
        "dmarc": None,
        "dmarcPolicy": None,
        "source": "headers",
    }
    assert not list(mail.sent_message(0).iter_attachments())
    assert mail.sent[1]["FromEmailAddress"] == "info@example.com"


def test_header_verdicts_count_only_the_first_occurrence() -> None:
    """SES prepends its headers to the stored message; a sender's look-alike further down is ignored."""
    raw = (
        b"X-SES-Spam-Verdict: FAIL\r\nX-SES-Virus-Verdict: PASS\r\n"
        b"Authentication-Results: amazonses.com; spf=pass; dkim=pass; dmarc=fail header.from=example.com;\r\n"
        b"X-SES-Spam-Verdict: PASS\r\nAuthentication-Results: evil.example; dmarc=pass\r\n\r\nx"
    )
    verdicts = verdicts_mod.from_headers(parse(raw))
    assert (verdicts.spam, verdicts.virus, verdicts.dmarc, verdicts.source) == ("FAIL", "PASS", "FAIL", "headers")


# --- exactly once, retries, failures


def test_repeated_delivery_sends_one_forward(mail: Mail) -> None:
    """SES and Lambda's asynchronous invocation may both deliver an event more than once: one forward is sent."""
    mail.store("info/m1", RAW)
    event = {"Records": [ses_record("m1", ["info@example.com"])]}
    first = fwd.handler(event)["results"]
    second = fwd.handler(event)["results"]
    assert first[0]["sent"] == "forward" and second == [{"key": "info/m1", "duplicate": "sent"}]
    assert len(mail.sent) == 1
    record = mail.record("info/m1")
    assert record["state"] == "sent" and record["sesMessageId"] == first[0]["sesMessageId"]


def test_a_delivery_in_progress_fails_the_duplicate_so_lambda_retries_it(mail: Mail) -> None:
    mail.store("info/m1", RAW)
    mail.s3.put_object(Bucket="mail", Key="info/m1.forward.json", Body=b'{"state": "sending"}')
    with pytest.raises(fwd.ForwardFailed, match=r"s3://mail/info/m1: another delivery is forwarding it"):
        fwd.handler({"Records": [ses_record("m1", ["info@example.com"])]})
    assert mail.sent == []


def test_a_stale_claim_of_a_delivery_that_died_is_taken_over(mail: Mail) -> None:
    mail.store("info/m1", RAW)
    mail.s3.put_object(Bucket="mail", Key="info/m1.forward.json", Body=b'{"state": "sending"}')
    s3 = boto3.client("s3", region_name="eu-west-1")
    ses = boto3.client("sesv2", region_name="eu-west-1")
    config = fwd.Config.from_environ({"FORWARD_TO": STAFF, "MAILBOXES": MAILBOXES})
    target = fwd.targets(
        {"Records": [ses_record("m1", ["info@example.com"])]},
        {"MAIL_BUCKET": "mail", "KEY_PREFIXES": '{"info@example.com": "info/"}'},
    )[0]
    later = datetime.now(UTC) + timedelta(minutes=3)
    assert fwd.process(s3, ses, target, config, now=later)["sent"] == "forward"
    assert mail.record("info/m1")["previous"] == {"state": "sending"}


def _stubbed_ses() -> tuple[Any, Stubber]:
    client = boto3.client("sesv2", region_name="eu-west-1")
    return client, Stubber(client)


def _target() -> Any:
    return fwd.Target("mail", "info/m1", "info@example.com", ses_record("m1", ["info@example.com"])["ses"]["receipt"])


def test_throttling_is_retried_with_backoff(mail: Mail) -> None:
    """ "If you encounter a throttling error, you should program your application to wait ... and then retry the send
    request" (SES, errors related to sending quotas). SES v2 answers ``TooManyRequestsException``."""
    mail.store("info/m1", RAW)
    ses, stubber = _stubbed_ses()
    stubber.add_client_error("send_email", "TooManyRequestsException", "Maximum sending rate exceeded", 429)
    stubber.add_client_error("send_email", "TooManyRequestsException", "Maximum sending rate exceeded", 429)
    stubber.add_response("send_email", {"MessageId": "0100-ok"})
    slept: list[float] = []
    config = fwd.Config.from_environ({"FORWARD_TO": STAFF, "MAILBOXES": MAILBOXES})
    with stubber:
        result = fwd.process(mail.s3, ses, _target(), config, now=datetime.now(UTC), sleep=slept.append)
    assert result == {"key": "info/m1", "sent": "forward", "sesMessageId": "0100-ok"} and slept == [1.0, 2.0]
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "message", "status"),
    [
        ("TooManyRequestsException", "Daily message quota exceeded", 429),
        ("SendingPausedException", "Sending paused for this account", 400),
        ("MessageRejected", "Email address is not verified", 400),
    ],
)
def test_what_still_fails_is_raised_with_the_key_and_a_later_delivery_sends_it(
    mail: Mail, code: str, message: str, status: int
) -> None:
    """Daily quota and paused sending do not clear within seconds: not retried in the function, but raised naming the
    message, so Lambda's asynchronous retries (and then the failure destination) get it; the claim is released."""
    mail.store("info/m1", RAW)
    ses, stubber = _stubbed_ses()
    stubber.add_client_error("send_email", code, message, status)
    config = fwd.Config.from_environ({"FORWARD_TO": STAFF, "MAILBOXES": MAILBOXES})
    with stubber, pytest.raises(fwd.ForwardFailed, match=rf"s3://mail/info/m1: not forwarded: {code}: {message}"):
        fwd.process(mail.s3, ses, _target(), config, now=datetime.now(UTC), sleep=no_sleep)
    assert mail.record("info/m1")["state"] == "failed"
    refused = len(mail.sent)  # the refused attempt went through the recording client too
    retry = fwd.handler({"Records": [ses_record("m1", ["info@example.com"])]})["results"]
    assert retry[0]["sent"] == "forward" and len(mail.sent) == refused + 1
    assert mail.record("info/m1")["previous"]["state"] == "failed"


def test_handler_tries_every_message_then_raises_naming_the_failed_ones(mail: Mail) -> None:
    mail.store("info/ok", RAW)
    records = [ses_record("missing", ["info@example.com"]), ses_record("ok", ["info@example.com"])]
    with pytest.raises(fwd.ForwardFailed, match=r"s3://mail/info/missing: NoSuchKey"):
        fwd.handler({"Records": records})
    assert len(mail.sent) == 1


# --- oversize


def _large(attachment_bytes: int, body: str = "See the scans.") -> bytes:
    """A message with a PDF attachment of ``attachment_bytes`` zero bytes, base64-encoded.

    Built with a short stand-in attachment whose encoding is then replaced by the real one: the same bytes the email
    package writes (76-character base64 lines, as ``base64.encodebytes``), without its line-by-line encoding and
    writing of a 40 MB body, which took over a second."""
    msg = EmailMessage()
    msg["From"] = "Jane Doe <jane@customer.example>"
    msg["To"] = "info@example.com"
    msg["Subject"] = "Scans"
    msg["Message-ID"] = "<big@customer.example>"
    msg.set_content(body)
    stand_in = b"the attachment goes here"
    msg.add_attachment(stand_in, maintype="application", subtype="pdf", filename="scan.pdf")
    raw = msg.as_bytes()
    assert raw.count(base64.encodebytes(stand_in)) == 1
    return raw.replace(base64.encodebytes(stand_in), base64.encodebytes(b"\0" * attachment_bytes))


def test_large_helper_writes_what_the_email_package_writes() -> None:
    """``_large`` gives the bytes of the message the email package builds and writes itself (boundaries aside)."""

    def by_email_package(attachment_bytes: int) -> bytes:
        msg = EmailMessage()
        msg["From"] = "Jane Doe <jane@customer.example>"
        msg["To"] = "info@example.com"
        msg["Subject"] = "Scans"
        msg["Message-ID"] = "<big@customer.example>"
        msg.set_content("See the scans.")
        msg.add_attachment(b"\0" * attachment_bytes, maintype="application", subtype="pdf", filename="scan.pdf")
        return msg.as_bytes()

    def unbounded(raw: bytes) -> bytes:
        return re.sub(rb"={15}[0-9]+==", b"(boundary)", raw)

    for size in (1, 56, 57, 58, 100, 10_000, 100_001):
        assert unbounded(_large(size)) == unbounded(by_email_package(size)), size


def test_above_40_mb_the_attachments_are_left_out_and_listed(mail: Mail) -> None:
    """ "Using the SES v2 API or SMTP - Maximum message size (including attachments): 40 MB per message (after base64
    encoding)" (SES quotas): a 30 MB attachment is 40.5 MB base64-encoded, so the forward drops it and says where the
    complete message is."""
    raw = _large(30_000_000)
    assert len(raw) > fwd.SES_MAX_BYTES
    mail.store("info/big", raw)
    result = fwd.handler({"Records": [ses_record("big", ["info@example.com"])]})["results"]
    assert result[0]["sent"] == "forward-without-attachments"
    data = mail.sent[0]["Content"]["Raw"]["Data"]
    assert len(data) < fwd.SES_MAX_BYTES - fwd.SES_HEADROOM
    out = parse(data)
    assert out["From"].addresses[0].display_name == "Jane Doe via info@example.com"
    assert out["In-Reply-To"] == "<big@customer.example>"
    text = "\n".join(part.get_content() for part in out.walk() if part.get_content_type() == "text/plain")
    assert "scan.pdf" in text and "s3://mail/info/big" in text and "See the scans." in text
    assert mail.record("info/big")["sent"] == "forward-without-attachments"


def test_what_the_forwarder_adds_counts_towards_the_limit(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    """A message just under the limit stays under it once forwarded, or loses its attachments: never above."""
    raw = _large(10_000)
    monkeypatch.setattr(fwd, "SES_MAX_BYTES", len(raw) + fwd.SES_HEADROOM + 10)  # fits as stored, not with our headers
    mail.store("info/edge", raw)
    fwd.handler({"Records": [ses_record("edge", ["info@example.com"])]})
    assert len(mail.sent[0]["Content"]["Raw"]["Data"]) <= fwd.SES_MAX_BYTES - fwd.SES_HEADROOM
    assert mail.record("info/edge")["sent"] == "forward-without-attachments"


def test_a_body_too_large_even_alone_becomes_a_notice(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fwd, "SES_MAX_BYTES", fwd.SES_HEADROOM + 5_000)
    mail.store("info/huge", _large(100, body="x" * 20_000))
    fwd.handler({"Records": [ses_record("huge", ["info@example.com"])]})
    out = mail.sent_message()
    assert out["Subject"] == "[TOO LARGE] Scans" and "s3://mail/info/huge" in out.get_content()
    # The notice names the customer, not the forward that was tried first (made of the same parsed message).
    assert "From: Jane Doe <jane@customer.example>" in out.get_content()


def _with_8bit_attachment(charset: str, content: bytes) -> bytes:
    return (
        b"From: Jane Doe <jane@customer.example>\r\nTo: info@example.com\r\nSubject: Notes\r\n"
        b"Message-ID: <notes@customer.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the notes.\r\n"
        b"--b\r\nContent-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b'Content-Disposition: attachment; filename="notes.txt"\r\n\r\n' + content + b"\r\n--b--\r\n"
    )


@pytest.mark.parametrize("charset", ["utf-8", "idna", "utf-16"])
def test_a_left_out_attachment_is_listed_by_its_size_in_bytes_whatever_charset_it_claims(
    mail: Mail, monkeypatch: pytest.MonkeyPatch, charset: str
) -> None:
    """An 8bit attachment's body is the bytes between its header block and "the CRLF preceding the boundary
    delimiter line", which "is conceptually attached to the boundary" (RFC 2046 section 5.1.1): those are listed.
    The charset it claims is the sender's word, not a fact: a wrong one (or one Python refuses to decode, ``idna``)
    neither changes the count nor stops the forward."""
    content = "Grüße aus Köln, 東京から\r\n".encode() * 100 + b"\xff\xfe end"
    raw = _with_8bit_attachment(charset, content)
    monkeypatch.setattr(fwd, "SES_MAX_BYTES", fwd.SES_HEADROOM + len(raw) - 1_000)  # too large with the attachment
    mail.store("info/notes", raw)
    result = fwd.handler({"Records": [ses_record("notes", ["info@example.com"])]})["results"]
    assert result[0]["sent"] == "forward-without-attachments"
    text = "\n".join(p.get_content() for p in mail.sent_message().walk() if p.get_content_type() == "text/plain")
    assert f"- notes.txt (text/plain, {len(content)} bytes encoded)" in text


def test_a_tagged_forward_too_large_is_tagged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cut-down forward starts from the stored message, not from the forward tried first: its subject carries
    the tags once."""
    raw = _large(10_000)
    monkeypatch.setattr(fwd, "SES_MAX_BYTES", fwd.SES_HEADROOM + len(raw) - 1_000)
    sent, data = _compose(raw, verdicts_mod.Decision(action="tag", triggered={"spf": "spf verdict FAIL"}))
    assert sent == "forward-without-attachments" and data is not None
    assert parse(data)["Subject"] == "[SPF FAIL] Scans"


def test_s3_trigger_skips_derived_objects() -> None:
    records = [
        {"s3": {"bucket": {"name": "b"}, "object": {"key": k}}}
        for k in ("a", "a.json", "a.forward.json", "a.attachments/1-x")
    ]
    assert fwd.targets({"Records": records}, {}) == [fwd.Target("b", "a")]
