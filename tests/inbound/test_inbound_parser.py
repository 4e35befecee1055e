"""Inbound parser: real sample messages through moto S3; documents, attachments, safe keys, failure records."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import os
from email.message import Message
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.conftest import load_handler
from tests.inbound.parser_views import parser_view, stdlib_view

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


@pytest.fixture(scope="module")
def s3_client():
    """One boto3 S3 client for the module (making one costs 0.2-0.5 s); it holds no AWS state of its own."""
    return boto3.client("s3")


@pytest.fixture
def s3(s3_client):
    """A fresh moto S3 for each test (``mock_aws`` starts with empty backends) with the ``mail`` bucket.

    The module's client reaches whichever moto is active: moto intercepts every botocore client's requests, and
    starting ``mock_aws`` resets its backends, so no object or bucket of an earlier test is seen here.
    """
    with mock_aws():
        s3_client.create_bucket(Bucket=BUCKET)
        yield s3_client


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
    assert doc["truncated"] == [f"nesting deeper than MAX_DEPTH={mime.MAX_DEPTH} levels: inner parts not parsed"]
    assert doc["text"] is None and doc["errors"] == []


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
    """AWS: "The event object passed to your Lambda function will contain metadata pertaining to the inbound email
    event. You can also use the metadata to access the message content from your Amazon S3 bucket."
    (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-lambda.html): the object is found from the
    message id, under the prefix the S3 action stored it with."""
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


# --- the streaming splitter: same parts and bytes as email.parser, without parsing the whole message with it ---

STDLIB_DATA = Path(str(getattr(importlib.util.find_spec("test"), "origin", None) or ".")).parent / "test_email" / "data"
STDLIB_MESSAGES = sorted(STDLIB_DATA.glob("msg_*.txt"))


@pytest.mark.skipif(not STDLIB_MESSAGES, reason="this Python ships no test package")
@pytest.mark.parametrize("path", STDLIB_MESSAGES, ids=lambda p: p.name)
def test_stdlib_test_emails_split_as_email_parser_does(path: Path) -> None:
    raw = path.read_bytes()
    assert parser_view(raw) == stdlib_view(raw)


def test_bytearray_input_gives_the_same_document() -> None:
    raw = nested_with_attachments()
    assert parser_view(bytearray(raw)) == parser_view(raw) == stdlib_view(raw)


def test_delimiters_padding_look_alikes_repeats_preamble_epilogue() -> None:
    raw = (
        b'Subject: edges\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
        b"preamble mentions --b mid-line\n--bX is no delimiter\n"
        b"--b \t\n"  # transport padding after the boundary
        b"Content-Type: text/plain\n\nfirst line\n--bogus\nmid-line --b\n"
        b"--b\n--b\n"  # repeated delimiter lines make no empty part
        b"Content-Type: text/html\n\n<p>second</p>\n"
        b"--b-- \t\n"  # close delimiter with padding
        b"--b\nepilogue: ignored\n"
    )
    doc = mime.parse(raw).document
    assert doc["errors"] == []
    assert doc["text"] == "first line\n--bogus\nmid-line --b" and doc["html"] == "<p>second</p>"
    assert doc["attachments"] == []
    assert parser_view(raw) == stdlib_view(raw)


def test_missing_close_delimiter_keeps_the_last_part() -> None:
    raw = (
        b'Subject: x\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\nbody\r\n'
        b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(PDF)
    )
    parsed = mime.parse(raw)
    assert parsed.document["errors"] == ["defect in multipart/mixed: CloseBoundaryNotFoundDefect"]
    assert parsed.document["text"] == "body" and parsed.attachments[0].payload() == PDF
    assert parser_view(raw) == stdlib_view(raw)


def test_close_delimiter_first_keeps_the_body_as_one_attachment() -> None:
    raw = b'Subject: x\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\nsome text\r\n--b--\r\nlost?\r\n'
    parsed = mime.parse(raw)
    assert parsed.document["errors"] == [
        "defect in multipart/mixed: StartBoundaryNotFoundDefect",
        "defect in multipart/mixed: MultipartInvariantViolationDefect",
    ]
    assert parsed.attachments[0].content_type == "multipart/mixed"
    assert parsed.attachments[0].payload() == b"some text\r\n"
    assert parser_view(raw) == stdlib_view(raw)


def test_unclosed_inner_multipart_ends_at_the_outer_delimiter() -> None:
    raw = (
        b'Subject: x\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        b'--outer\r\nContent-Type: multipart/alternative; boundary="inner"\r\n\r\n'
        b"--inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n\r\n"
        b"--outer\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nfile\r\n"
        b"--outer--\r\n"
    )
    parsed = mime.parse(raw)
    assert parsed.document["errors"] == ["defect in multipart/alternative: CloseBoundaryNotFoundDefect"]
    assert parsed.document["text"] == "plain\r\n"  # one line break before the delimiter belongs to it
    assert [a.filename for a in parsed.attachments] == ["a.txt"] and parsed.attachments[0].payload() == b"file"
    assert parser_view(raw) == stdlib_view(raw)


def test_attached_messages_and_digest_entries_are_attachments() -> None:
    """An attached message is what a mail client lists as one attachment: kept whole (its bytes), not walked."""
    inner = (
        b"From: c@example.org\r\nSubject: inner\r\n"
        b'Content-Type: multipart/mixed; boundary="in"\r\n\r\n'
        b"--in\r\nContent-Type: text/plain\r\n\r\ninner text\r\n"
        b"--in\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=pic.png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(b"\x89PNG fake") + b"--in--\r\n"
    )
    raw = (
        b'Subject: fwd\r\nContent-Type: multipart/mixed; boundary="out"\r\n\r\n'
        b"--out\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
        b"--out\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n"
        b'--out\r\nContent-Type: multipart/digest; boundary="d"\r\n\r\n'
        b"--d\r\n\r\nSubject: digest entry\r\n\r\ndigest text\r\n--d--\r\n"
        b"--out--\r\n"
    )
    parsed = mime.parse(raw)
    assert parsed.document["errors"] == []
    assert parsed.document["text"] == "see below"
    forwarded, entry = parsed.attachments
    assert (forwarded.content_type, forwarded.safe_name) == ("message/rfc822", "000-message.eml")
    assert forwarded.payload() == inner
    assert entry.content_type == "message/rfc822" and entry.payload() == b"Subject: digest entry\r\n\r\ndigest text"
    assert parser_view(raw) == stdlib_view(raw)


def _base64_message(body: bytes) -> bytes:
    return (
        b"Subject: b64\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=f.bin\r\n\r\n" + body
    )


@pytest.mark.parametrize(
    ("body", "defects"),
    [
        (base64.encodebytes(PDF), []),  # LF every 76 characters
        (base64.encodebytes(PDF).replace(b"\n", b"\r\n"), []),
        (base64.b64encode(PDF), []),  # one line
        (base64.encodebytes(PDF).replace(b"\n", b" !\r\n"), ["InvalidBase64CharactersDefect"]),
        (base64.b64encode(PDF)[:-2] + b"\r\n", ["InvalidBase64PaddingDefect"]),  # '=' padding cut off
        (b"QUJD==RA==\r\n", ["InvalidBase64CharactersDefect"]),  # padding in the middle
        (b"QUJDR\r\n", ["InvalidBase64LengthDefect"]),  # undecodable: the stdlib keeps the text
    ],
    ids=["lf", "crlf", "one-line", "garbage", "no-padding", "mid-padding", "bad-length"],
)
def test_base64_decodes_as_the_stdlib_with_its_defects(body: bytes, defects: list[str]) -> None:
    raw = _base64_message(body)
    parsed = mime.parse(raw)
    (attachment,) = parsed.attachments
    payload = attachment.payload()
    reference = Message()
    reference["Content-Transfer-Encoding"] = "base64"
    reference.set_payload(body.decode("ascii"))
    assert payload == reference.get_payload(decode=True)
    assert [type(d).__name__ for d in reference.defects] == defects
    assert parsed.document["errors"] == [f"defect in application/octet-stream: {d}" for d in defects]
    if not defects:
        assert payload == PDF


def test_quoted_printable_and_8bit_text_bodies() -> None:
    raw = (
        b'Subject: qp\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
        b"--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Gr=C3=BC=C3=9Fe, a long line that is soft=\r\n-wrapped\r\n"
        b"--a\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"<p>K\xf6ln</p>\r\n--a--\r\n"
    )
    doc = mime.parse(raw).document
    assert doc["text"] == "Grüße, a long line that is soft-wrapped" and doc["html"] == "<p>Köln</p>"
    assert doc["errors"] == []


def test_headers_the_registry_cannot_build_are_kept_raw_and_recorded() -> None:
    raw = b"To: IETF-Announce:;\r\n\taccess-type=anon-ftp;\r\nMessage-ID: <abc@\r\nSubject: ok\r\n\r\nbody\r\n"
    doc = mime.parse(raw).document
    assert doc["subject"] == "ok" and doc["text"] == "body\r\n" and doc["messageId"] == "<abc@"
    assert doc["to"] == [] and [name for name, _ in doc["headers"]] == ["To", "Message-ID", "Subject"]
    assert len(doc["errors"]) == 2
    assert doc["errors"][0].startswith("header To: ") and doc["errors"][1].startswith("header Message-ID: ")


def test_too_many_parts_stops_splitting() -> None:
    parts = b"".join(b"--b\r\n\r\np\r\n" for _ in range(mime.MAX_PARTS + 10))
    raw = b'Subject: many\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + b"--b--\r\n"
    doc = mime.parse(raw).document
    assert doc["truncated"] == [f"more than MAX_PARTS={mime.MAX_PARTS} parts: the rest not parsed"]
    assert doc["text"] == "\n".join(["p"] * (mime.MAX_PARTS - 1))


# --- the handler around it: one buffer, attachments written as decoded ---


class ChunkStream(io.BytesIO):
    """A file-like body that records how much each ``readinto`` asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.requests: list[int] = []

    def readinto(self, buffer) -> int:
        self.requests.append(len(buffer))
        return super().readinto(buffer)


def test_read_body_fills_one_buffer_in_bounded_steps() -> None:
    data = os.urandom(2 * index.READ_CHUNK + 5)
    stream = ChunkStream(data)
    buffer = index.read_body(stream, len(data))
    assert isinstance(buffer, bytearray) and buffer == data
    assert stream.requests == [index.READ_CHUNK, index.READ_CHUNK, 5]
    with pytest.raises(ValueError, match="ended after 3 of 10 bytes"):
        index.read_body(io.BytesIO(b"abc"), 10)


def test_large_attachment_is_decoded_hashed_and_written_with_its_checksum(s3) -> None:
    big = os.urandom(5 * 1024 * 1024 + 3)
    raw = (
        b'From: a@example.org\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--b\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="big.zip"\r\n\r\n'
        + base64.encodebytes(big).replace(b"\n", b"\r\n")
        + b"--b--\r\n"
    )
    doc = _run(s3, "inbound/big", raw)
    assert doc["status"] == "parsed" and doc["errors"] == [] and doc["text"] == "see attached"
    (described,) = doc["attachments"]
    digest = hashlib.sha256(big).digest()
    assert described["size"] == len(big) and described["sha256"] == digest.hex()
    assert s3.get_object(Bucket=BUCKET, Key=described["key"])["Body"].read() == big
    head = s3.head_object(Bucket=BUCKET, Key=described["key"], ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(digest).decode()


def test_oversize_message_is_recorded_not_read(s3, monkeypatch) -> None:
    monkeypatch.setattr(index, "MAX_BYTES", 100)
    doc = _run(s3, "inbound/huge", nested_with_attachments())
    assert doc["status"] == "unparsed" and "exceeds MAX_MESSAGE_BYTES=100" in doc["errors"][0]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {"inbound/huge", "inbound/huge.json"}


# --- whatever the bytes: a document, and one odd header costs that header only ---


def _worst_cases():
    """benchmarks/worst_cases.py: the generated inputs the benchmark times."""
    path = Path(__file__).parents[2] / "benchmarks" / "worst_cases.py"
    spec = importlib.util.spec_from_file_location("worst_cases", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worst = _worst_cases()
limits = load_handler("inbound_parser", "mime_limits")


def test_8bit_header_bytes_are_read_as_utf8_and_the_document_is_written(s3) -> None:
    raw = (
        b"From: J\xc3\xbcrgen <j@example.org>\r\nSubject: Gr\xc3\xbc\xc3\x9fe \xfc\r\n"
        b"Content-Type: text/plain; charset=utf-7\r\n\r\n+2D0-"  # UTF-7 for a lone surrogate
    )
    doc = _run(s3, "inbound/8bit", raw)
    assert doc["status"] == "parsed"
    assert doc["subject"] == "Grüße \ufffd" and doc["from"][0]["name"] == "Jürgen"
    assert doc["text"] == "\ufffd"


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (b"Received-SPF:\r\n", None),
        (b"Received-SPF: \r\n", None),
        (b'Content-Type: text/plain; charset="utf-8\0"\r\n', "embedded null character"),
        (b"Content-Type: text/plain; charset*\r\n", "its parameters are ignored"),
    ],
    ids=["empty-spf", "blank-spf", "nul-charset", "bare-rfc2231"],
)
def test_one_odd_header_costs_that_header_not_the_message(s3, header: bytes, error: str | None) -> None:
    raw = b"Subject: odd\r\n" + header + b"\r\nthe body\r\n"
    doc = _run(s3, "inbound/odd", raw)
    assert doc["status"] == "parsed" and doc["subject"] == "odd" and doc["text"] == "the body\r\n"
    assert doc["verdicts"]["spf"] is None
    assert (error is None and doc["errors"] == []) or any(error in e for e in doc["errors"])


def test_bare_rfc2231_file_name_keeps_the_attachment(s3) -> None:
    raw = (
        b'Subject: x\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--b\r\nContent-Type: application/pdf; name*\r\nContent-Disposition: attachment; filename*\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(PDF) + b"--b--\r\n"
    )
    doc = _run(s3, "inbound/rfc2231", raw)
    assert doc["status"] == "parsed" and doc["text"] == "hello"
    (pdf,) = doc["attachments"]
    assert (pdf["contentType"], pdf["filename"], pdf["size"]) == ("application/pdf", "", len(PDF))
    assert s3.get_object(Bucket=BUCKET, Key=pdf["key"])["Body"].read() == PDF
    assert len([e for e in doc["errors"] if "its parameters are ignored" in e]) == 2


def test_named_inline_text_is_an_attachment() -> None:
    raw = (
        b'Subject: x\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
        b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: inline; filename=notes.txt\r\n\r\nnotes\r\n"
        b'--b\r\nContent-Type: text/html; name="page.html"\r\n\r\n<p>page</p>\r\n--b--\r\n'
    )
    parsed = mime.parse(raw)
    assert parsed.document["text"] == "body" and parsed.document["html"] is None
    assert [(a.filename, a.payload()) for a in parsed.attachments] == [
        ("notes.txt", b"notes"),
        ("page.html", b"<p>page</p>"),
    ]


def test_an_error_text_that_is_not_utf8_still_gives_an_unparsed_record(s3, monkeypatch) -> None:
    def broken(_raw):
        raise ValueError("bad \udcff byte")

    monkeypatch.setattr(index, "parse", broken)
    doc = _run(s3, "inbound/err", b"Subject: x\r\n\r\n")
    assert doc["status"] == "unparsed" and doc["errors"] == ["ValueError: bad \ufffd byte"]
    assert doc["schemaVersion"] == mime.SCHEMA_VERSION and doc["key"] == "inbound/err"


def test_an_error_text_that_is_not_utf8_still_reaches_a_strict_utf8_log(s3, monkeypatch) -> None:
    """The failure's log line survives a stream that cannot encode lone surrogates.

    Python's logging documentation, Handler.handleError (https://docs.python.org/3/library/logging.html): "This method
    should be called from handlers when an exception is encountered during an emit() call. If the module-level
    attribute raiseExceptions is False, exceptions get silently ignored." A UTF-8 stream with errors='strict' raises
    UnicodeEncodeError on a lone surrogate, so without the filter this test's stream gets no line at all.
    """
    import io
    import logging

    def broken(_raw):
        raise ValueError("bad \udcff byte")

    monkeypatch.setattr(index, "parse", broken)
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    monkeypatch.setattr(logging, "raiseExceptions", False)
    try:
        _run(s3, "inbound/err", b"Subject: x\r\n\r\n")
    finally:
        logging.getLogger().removeHandler(handler)
    written = raw.getvalue().decode("utf-8")
    assert "could not parse s3://" in written and "inbound/err" in written
    assert "ValueError: bad \\udcff byte" in written


def test_a_record_that_cannot_be_written_fails_the_invocation_after_the_others(s3, monkeypatch) -> None:
    s3.put_object(Bucket=BUCKET, Key="inbound/ok", Body=ALTERNATIVE)
    event = {
        "Records": [
            {"s3": {"bucket": {"name": b}, "object": {"key": "inbound/ok"}}} for b in ("no-such-bucket", BUCKET)
        ]
    }
    with pytest.raises(RuntimeError, match="no document written for s3://no-such-bucket/inbound/ok"):
        index.handler(event)
    assert json.loads(s3.get_object(Bucket=BUCKET, Key="inbound/ok.json")["Body"].read())["status"] == "parsed"


# --- limits: generated worst cases give bounded documents that say what was cut (the time is benchmarks/parse.py's) ---


def test_subject_of_100000_encoded_words_is_cut() -> None:
    doc = mime.parse(worst.encoded_word_subject(100_000)).document
    assert doc["truncated"] == [f"header subject longer than MAX_HEADER_BYTES={limits.MAX_HEADER_BYTES} bytes: cut"]
    # Adjacent encoded words join without the space between them (RFC 2047 section 6.2).
    assert 0 < len(doc["subject"]) < limits.MAX_HEADER_BYTES and doc["subject"] == "café" * (len(doc["subject"]) // 4)
    assert doc["text"] == "body\r\n"


def test_to_with_100000_addresses_keeps_the_first_whole_ones() -> None:
    doc = mime.parse(worst.address_flood(100_000)).document
    assert doc["truncated"] == [
        f"header to longer than MAX_ADDRESS_HEADER_BYTES={limits.MAX_ADDRESS_HEADER_BYTES} bytes: cut"
    ]
    kept = doc["to"]
    assert 100 < len(kept) < limits.MAX_ADDRESS_HEADER_BYTES // 20
    assert kept == [{"name": f"Person {i}", "address": f"p{i}@example.com"} for i in range(len(kept))]
    assert doc["from"] == [{"name": "", "address": "a@example.org"}] and doc["subject"] == "many"


def test_header_folded_over_100000_lines_is_cut() -> None:
    doc = mime.parse(worst.folded_header(100_000)).document
    assert doc["subject"].startswith("start word") and len(doc["subject"]) < limits.MAX_HEADER_BYTES
    assert doc["truncated"] and doc["text"] == "body\r\n"


def test_100000_header_fields_exhaust_the_decoding_budget_and_are_listed_undecoded() -> None:
    doc = mime.parse(worst.header_flood(100_000)).document
    assert doc["truncated"] == [
        f"more than MAX_DECODED_HEADER_BYTES={limits.MAX_DECODED_HEADER_BYTES} bytes of headers to decode"
    ]
    assert len(doc["headers"]) == 100_001 and doc["subject"] == "flood"  # the document's fields are decoded first
    assert doc["text"] == "body\r\n"


def test_parts_past_the_decoding_budget_are_not_read() -> None:
    doc = mime.parse(worst.heavy_part_headers(parts=200)).document
    assert doc["truncated"] == [
        f"more than MAX_DECODED_HEADER_BYTES={limits.MAX_DECODED_HEADER_BYTES} bytes of headers to decode"
    ]
    read = doc["text"].count("x")
    assert 0 < read < 200 and read * 15 * 1024 <= limits.MAX_DECODED_HEADER_BYTES


def test_nesting_10000_deep_stops_at_max_depth() -> None:
    doc = mime.parse(worst.deep_nesting(10_000)).document
    assert doc["truncated"] == [f"nesting deeper than MAX_DEPTH={limits.MAX_DEPTH} levels: inner parts not parsed"]


class CountingBytes(bytes):
    """Bytes that count the ``find`` calls the delimiter search makes on them."""

    finds = 0

    def find(self, *args, **kwargs) -> int:
        CountingBytes.finds += 1
        return super().find(*args, **kwargs)


def test_long_boundary_lines_that_are_not_delimiters_cost_one_search_each() -> None:
    split = load_handler("inbound_parser", "mime_split")
    boundary = b"b" * 8000  # under MAX_HEADER_BYTES, so the boundary is the real one
    raw = worst.long_boundary(size=1024 * 1024, boundary_bytes=len(boundary))
    lines = raw.count(b"x\r\n")
    counted = CountingBytes(raw)
    CountingBytes.finds = 0
    delimiters = list(split._delimiters(counted, b"--" + boundary, 0, len(counted)))
    assert [close for *_, close in delimiters] == [False, True]
    assert CountingBytes.finds <= lines + 3  # one per look-alike line, not one per byte of it
    doc = mime.parse(raw).document
    assert doc["errors"] == [] and doc["text"].count("x") == lines
