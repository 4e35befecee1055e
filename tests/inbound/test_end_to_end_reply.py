"""End to end, without WorkMail: a customer's message is stored (moto S3, as SES's S3 action writes it), parsed (the
inbound parser's handler, from the bucket notification), forwarded (the forwarder's handler, from the mailbox rule's
Lambda action); the staff reply a mail client builds from the forward has the mailbox as From, threads with the
customer's conversation, and is allowed by the SMTP user's policy in the synthesized ``example`` stack under the
project's ``sesmail check`` engine, while the same user sending as another address is denied.

What this models of SMTP: the policy's ``ses:FromAddress`` condition, which "Restricts the 'From' address" (SES
Developer Guide, "Controlling access to Amazon SES"), evaluated on the reply's From address. Which address SES puts
into that key for an SMTP session, the envelope ``MAIL FROM`` or the ``From:`` header (SendRawEmail's ``Source``: "If
you do not provide a value for this parameter, you must specify a 'From' address in the raw text of the message. (You
can also specify both.)"), AWS does not document; the README's policy table says what that leaves open."""

from __future__ import annotations

import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from moto import mock_aws

from sesmail.policy.cli import main
from tests.conftest import load_handler

parser = load_handler("inbound_parser")
forwarder = load_handler("mail_forwarder")

REGION = "eu-west-1"
IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/example.org"
CONFIGURATION_SET = "arn:aws:ses:eu-west-1:123456789012:configuration-set/sesmail-example"
MAILBOXES = "info@example.org,support@example.org,register@example.org"
STAFF = "staff@corp.example"
# As SES stores it: its verdict headers on top, then the customer's message (a reply in an earlier conversation).
CUSTOMER = (
    b"Return-Path: <jane@customer.example>\r\n"
    b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n"
    b"Authentication-Results: amazonses.com; spf=pass; dkim=pass header.i=@customer.example; dmarc=pass;\r\n"
    b'From: "Jane Doe" <jane@customer.example>\r\nTo: Info@Example.org\r\nSubject: Re: Your order\r\n'
    b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m2@customer.example>\r\n"
    b"In-Reply-To: <m1@example.org>\r\nReferences: <m1@example.org>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nIt has not arrived yet.\r\n"
)


def _parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def _staff_reply(forward: EmailMessage) -> EmailMessage:
    """What a mail client makes of "Reply" on the forward: To the Reply-To, From the address the forward is from
    (the mailbox), In-Reply-To the forward's id, References the forward's References plus its id (RFC 5322 3.6.4)."""
    reply = EmailMessage()
    reply["From"] = forward["From"].addresses[0].addr_spec
    reply["To"] = str(forward["Reply-To"])
    reply["Subject"] = f"Re: {forward['Subject']}"
    reply["In-Reply-To"] = forward["Message-ID"]
    reply["References"] = f"{forward['References']} {forward['Message-ID']}"
    reply.set_content("It left our warehouse today.")
    return reply


@pytest.fixture(scope="module")
def smtp_user(project_app: cdk.App) -> tuple[str, str]:
    """The example template in the app's cloud assembly and its SMTP user's logical id."""
    stack = project_app.node.find_child("sesmail-example")
    user = stack.node.find_child("SmtpCredentials").node.find_child("Resource")
    path = f"{project_app.synth().directory}/sesmail-example.template.json"
    return path, cdk.Stack.of(user).get_logical_id(user.node.default_child)  # type: ignore[arg-type]


def _check(smtp_user: tuple[str, str], resource: str, from_address: str, capsys: pytest.CaptureFixture[str]) -> str:
    path, user = smtp_user
    argv = ["check", path, "--principal", f"logical:{user}", "--action", "ses:SendRawEmail", "--resource", resource]
    code = main([*argv, "--context", f"ses:FromAddress={from_address}"])
    out = capsys.readouterr().out
    return ("ALLOW" if code == 0 else "DENY") + ": " + out


def test_customer_message_stored_parsed_forwarded_and_answered(
    monkeypatch: pytest.MonkeyPatch, smtp_user: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "FORWARD_TO": STAFF,
        "MAILBOXES": MAILBOXES,
        "MAIL_BUCKET": "mail",
        "KEY_PREFIXES": json.dumps({box: box.split("@")[0] + "/" for box in MAILBOXES.split(",")}),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("VERDICT_POLICY", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION})
        ses = boto3.client("sesv2", region_name=REGION)
        ses.create_email_identity(EmailIdentity="example.org")
        sent: list[dict[str, Any]] = []
        real_client = boto3.client

        def recording_client(name: str, *args: Any, **kwargs: Any) -> Any:
            client = real_client(name, *args, **kwargs)
            if name == "sesv2":
                client.meta.events.register(
                    "provide-client-params.sesv2.SendEmail", lambda params, **_: sent.append(params)
                )
            return client

        monkeypatch.setattr(forwarder.boto3, "client", recording_client)

        # 1. stored: SES's S3 action writes <mailbox>/<message id>.
        s3.put_object(Bucket="mail", Key="info/abc123", Body=CUSTOMER)
        # 2. parsed: the bucket notification invokes the parser.
        notification = {"Records": [{"s3": {"bucket": {"name": "mail"}, "object": {"key": "info/abc123"}}}]}
        parser.handler(notification)
        document = json.loads(s3.get_object(Bucket="mail", Key="info/abc123.json")["Body"].read())
        assert document["status"] == "parsed" and "<m2@customer.example>" in json.dumps(document)
        # 3. forwarded: the mailbox rule's Lambda action, as SES sends it (recipient as the customer spelled it).
        receipt = {
            "recipients": ["Info@Example.org"],
            **{f"{v}Verdict": {"status": "PASS"} for v in ("spam", "virus", "spf", "dkim", "dmarc")},
            "action": {"type": "Lambda", "invocationType": "Event"},
        }
        event = {"Records": [{"eventSource": "aws:ses", "ses": {"mail": {"messageId": "abc123"}, "receipt": receipt}}]}
        assert forwarder.handler(event)["results"][0]["sent"] == "forward"
        assert forwarder.handler(event)["results"] == [{"key": "info/abc123", "duplicate": "sent"}]

    (params,) = sent
    assert params["FromEmailAddress"] == "info@example.org"
    forward = _parse(params["Content"]["Raw"]["Data"])
    assert str(forward["From"]) == '"Jane Doe via info@example.org" <info@example.org>'
    # SES gives the forward its own Message-ID when it sends it; the staff mailbox sees that one.
    forward["Message-ID"] = make_msgid(domain="email.amazonses.com")

    # 4. answered: staff press Reply and send through SES SMTP as the mailbox.
    reply = _staff_reply(forward)
    assert reply["From"] == "info@example.org"
    assert reply["To"] == '"Jane Doe" <jane@customer.example>' or reply["To"] == "Jane Doe <jane@customer.example>"
    # The customer's client threads on References: the earlier message and the customer's own are both there.
    references = str(reply["References"]).split()
    assert references[:2] == ["<m1@example.org>", "<m2@customer.example>"]

    # 5. allowed: the SMTP user's policy lets exactly that From address send, on the identity and the set.
    for resource in (IDENTITY, CONFIGURATION_SET):
        assert _check(smtp_user, resource, str(reply["From"]), capsys).startswith("ALLOW")
    # ... and no other address, nor the same one spelled differently (IAM's StringEquals is case-sensitive).
    for other in ("ceo@example.org", "Info@Example.org"):
        assert _check(smtp_user, IDENTITY, other, capsys).startswith("DENY")
