"""Inbound parser: real sample messages through moto S3; documents, attachments, safe keys, failure records."""

from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest
from moto import mock_aws

from tests.conftest import load_handler

mime = load_handler("inbound_parser", "mime")
index = load_handler("inbound_parser")

BUCKET = "mail"
PDF = b"%PDF-1.4 fake pdf \x00\x01\x02" * 10

ALTERNATIVE = (
    b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>\r\n"
    b"To: Info <info@example.com>\r\n"
    b'Cc: a@example.net, "B, Person" <b@example.net>\r\n'
    b"Reply-To: replies@example.org\r\n"
    b"Subject: =?iso-8859-1?q?Gr=FC=DFe_aus_K=F6ln?=\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    b"Message-ID: <abc@example.org>\r\n"
    b"In-Reply-To: <prev@example.com>\r\n"
    b"References: <first@example.com> <prev@example.com>\r\n"
    b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n"
    b"Received-SPF: pass (spfCheck: domain of example.org designates 192.0.2.1 as permitted sender)\r\n"
    b"Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=example.org; dkim=pass header.i=@example.org;"
    b" dmarc=pass header.from=example.org;\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
    b"--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Sch=F6ne Gr=FC=DFe\r\n"
    b"--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    b"<p>Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe</p>\r\n"
    b"--alt--\r\n"
)


def nested_with_attachments() -> bytes:
    pdf = base64.encodebytes(PDF)
    return (
        b"From: a@example.org\r\nTo: info@example.com\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        b'--outer\r\nContent-Type: multipart/alternative; boundary="inner"\r\n\r\n'
        b"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
        b"--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<b>hello</b>\r\n--inner--\r\n"
        b"--outer\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''..%2F..%2FRechnung%20M%C3%A4rz.pdf\r\n\r\n"
        + pdf
        + b"\r\n--outer\r\nContent-Type: text/plain\r\n"
        b'Content-Disposition: attachment; filename="../../etc/passwd"\r\n\r\n'
        b"root:x:0:0\r\n--outer--\r\n"
    )


MALFORMED = (
    b"From: a@example.org\r\nTo: info@example.com\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="never-used"\r\n\r\n'
    b"--wrong\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\nbody \xff\xfe\r\n"
)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _run(s3, key: str, raw: bytes) -> dict:
    s3.put_object(Bucket=BUCKET, Key=key, Body=raw)
    event = {"Records": [{"s3": {"bucket": {"name": BUCKET}, "object": {"key": key.replace(" ", "+")}}}]}
    index.handler(event)
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key + ".json")["Body"].read())


def test_alternative_message_headers_bodies_verdicts(s3) -> None:
    doc = _run(s3, "inbound/m1", ALTERNATIVE)
    assert doc["status"] == "parsed" and doc["errors"] == []
    assert doc["subject"] == "Grüße aus Köln"
    assert doc["from"] == [{"name": "Jürgen Müller", "address": "juergen@example.org"}]
    assert [a["address"] for a in doc["cc"]] == ["a@example.net", "b@example.net"]
    assert doc["replyTo"][0]["address"] == "replies@example.org"
    assert doc["references"] == ["<first@example.com>", "<prev@example.com>"]
    assert doc["inReplyTo"] == "<prev@example.com>" and doc["messageId"] == "<abc@example.org>"
    assert doc["text"].strip() == "Schöne Grüße" and doc["html"].strip() == "<p>Schöne Grüße</p>"
    assert doc["verdicts"] == {"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"}


def test_nested_attachments_written_under_safe_keys(s3) -> None:
    doc = _run(s3, "inbound/m 2", nested_with_attachments())
    assert doc["text"].strip() == "hello" and doc["html"].strip() == "<b>hello</b>"
    pdf, passwd = doc["attachments"]
    assert pdf["filename"] == "../../Rechnung März.pdf"
    assert pdf["key"] == "inbound/m 2.attachments/000-Rechnung_Marz.pdf"
    assert pdf["size"] == len(PDF) and pdf["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert s3.get_object(Bucket=BUCKET, Key=pdf["key"])["Body"].read() == PDF
    assert passwd["key"] == "inbound/m 2.attachments/001-passwd"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert all(k.startswith("inbound/m 2") for k in keys)


def test_malformed_boundary_and_unknown_charset_recorded_not_raised(s3) -> None:
    doc = _run(s3, "inbound/m3", MALFORMED)
    assert doc["status"] == "parsed"
    assert any("Boundary" in e for e in doc["errors"])
    assert doc["subject"] == "broken"


def test_unknown_charset_decodes_leniently() -> None:
    raw = b"Subject: x\r\nContent-Type: text/plain; charset=x-bogus\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n"
    doc = mime.parse(raw).document
    assert doc["text"].strip() == "Grüße" and any("x-bogus" in e or "LookupError" in e for e in doc["errors"])


def test_deep_nesting_is_cut_and_recorded() -> None:
    depth = mime.MAX_DEPTH + 5
    head = b"Subject: deep\r\nMIME-Version: 1.0\r\n"
    body = b"".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode() for i in range(depth))
    tail = b"Content-Type: text/plain\r\n\r\nleaf\r\n" + b"".join(
        f"--b{i}--\r\n".encode() for i in reversed(range(depth))
    )
    doc = mime.parse(head + body + tail).document
    assert any("nesting deeper" in e for e in doc["errors"]) and doc["text"] is None


def test_virus_flagged_message_keeps_record_but_no_attachments(s3) -> None:
    raw = b"X-SES-Virus-Verdict: FAIL\r\n" + nested_with_attachments()
    doc = _run(s3, "inbound/m4", raw)
    assert doc["verdicts"]["virus"] == "FAIL"
    assert all(a.get("skipped") == "virus verdict FAIL" and "key" not in a for a in doc["attachments"])
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {"inbound/m4", "inbound/m4.json"}


def test_missing_object_writes_unparsed_record_without_raising(s3) -> None:
    event = {"Records": [{"s3": {"bucket": {"name": BUCKET}, "object": {"key": "inbound/gone"}}}]}
    result = index.handler(event)["results"][0]
    assert result["status"] == "unparsed"
    doc = json.loads(s3.get_object(Bucket=BUCKET, Key="inbound/gone.json")["Body"].read())
    assert doc["errors"] and ("NoSuchKey" in doc["errors"][0] or "404" in doc["errors"][0])


def test_own_outputs_do_not_retrigger(s3) -> None:
    event = {
        "Records": [
            {"s3": {"bucket": {"name": BUCKET}, "object": {"key": k}}}
            for k in ("inbound/m.json", "inbound/m.attachments/000-a.pdf")
        ]
    }
    assert index.handler(event)["results"] == []


def test_ses_action_event_uses_receipt_verdicts_and_envelope(s3, monkeypatch) -> None:
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    monkeypatch.setenv("OBJECT_PREFIX", "inbound/")
    s3.put_object(Bucket=BUCKET, Key="inbound/ses-id-1", Body=ALTERNATIVE)
    receipt: dict = {
        f"{n}Verdict": {"status": "GRAY" if n == "spam" else "PASS"} for n in ("spam", "virus", "spf", "dkim")
    }
    receipt.update(dmarcVerdict={"status": "FAIL"}, recipients=["info@example.com"], action={"type": "Lambda"})
    event = {
        "Records": [{"ses": {"mail": {"messageId": "ses-id-1", "source": "bounce@example.org"}, "receipt": receipt}}]
    }
    index.handler(event)
    doc = json.loads(s3.get_object(Bucket=BUCKET, Key="inbound/ses-id-1.json")["Body"].read())
    assert doc["envelope"] == {"mailFrom": "bounce@example.org", "recipients": ["info@example.com"]}
    assert doc["verdicts"]["spam"] == "GRAY" and doc["verdicts"]["dmarc"] == "FAIL"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../x.pdf", "000-x.pdf"),
        ("..", "000-attachment"),
        ("a\\b\\c.txt", "000-c.txt"),
        ("", "000-attachment"),
        ("日本語.txt", "000-txt"),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert mime.safe_name(name, 0) == expected
