"""The forwarder routing by the address book: groups, aliases, several of our addresses, Bcc, catch-all notices.

Real handler, S3 and SES v2 through moto. What decides is ``receipt.recipients``: "The recipients (specifically, the
envelope RCPT TO addresses) that were matched by the active receipt rule. The addresses listed here may differ from
those listed by the destination field in the mail object." (SES Developer Guide, "Contents of notifications for
Amazon SES email receiving", receipt object).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from stacks.settings import parse_environment
from tests.inbound.test_mail_forwarder import RAW, Mail, fwd, ses_record

SETTINGS: dict[str, Any] = {
    "account": "123456789012",
    "region": "eu-west-1",
    "domain": "example.com",
    "mailboxes": ["info"],
    "inbound": {"forwardTo": ["staff@corp.example"]},
    "addresses": [
        {"localPart": "jane", "aliases": ["j.doe"], "to": ["jane@corp.example"]},
        {"localPart": "bob", "to": ["bob@home.example"]},
        {"localPart": "sales", "to": ["jane", "bob", "partner@other.example"]},
        {"localPart": "archive", "to": []},
    ],
    "otherRecipients": "store",
    "otherRecipientsNotify": "ops@corp.example",
}


def routes_of(settings: dict[str, Any]) -> dict[str, Any]:
    """The routing table exactly as the app ships it (``AddressBook.routes`` of the parsed settings)."""
    book = parse_environment("test", settings).address_book
    assert book is not None
    return book.routes()


@pytest.fixture
def mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps(routes_of(SETTINGS)))
    monkeypatch.setenv("ROUTES_FILE", str(routes))
    monkeypatch.setenv("FORWARD_TO", "staff@corp.example")
    monkeypatch.setenv("MAILBOXES", "info@example.com")
    monkeypatch.setenv("MAIL_BUCKET", "mail")
    monkeypatch.setenv("KEY_PREFIXES", '{"info@example.com": "info/"}')
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.delenv("VERDICT_POLICY", raising=False)
    with mock_aws():
        yield Mail(monkeypatch)


def sends(mail: Mail) -> list[tuple[str, list[str]]]:
    return [(p["FromEmailAddress"], p["Destination"]["ToAddresses"]) for p in mail.sent]


def test_a_group_reaches_each_member_once(mail: Mail) -> None:
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["sales@example.com"])]})
    assert sends(mail) == [("sales@example.com", ["jane@corp.example", "bob@home.example", "partner@other.example"])]
    assert mail.record("address-book/m1.sales@example.com")["state"] == "sent"


def test_several_of_our_addresses_reach_each_destination_once_as_the_first_matched(mail: Mail) -> None:
    """jane@ and sales@ both route to jane@corp.example: one forward, as the first recipient SES matched."""
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["jane@example.com", "sales@example.com"])]})
    assert sends(mail) == [
        ("jane@example.com", ["jane@corp.example"]),
        ("sales@example.com", ["bob@home.example", "partner@other.example"]),
    ]


def test_an_alias_routes_as_its_entry(mail: Mail) -> None:
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["J.Doe@example.com"])]})
    assert sends(mail) == [("jane@example.com", ["jane@corp.example"])]


def test_a_bccd_address_routes_and_a_to_header_that_was_not_a_recipient_routes_nothing(mail: Mail) -> None:
    """RAW's To header names info@example.com; SES matched only bob@ (Bcc): bob's mail goes to bob, nothing to
    info@'s staff."""
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["bob@example.com"])]})
    assert sends(mail) == [("bob@example.com", ["bob@home.example"])]


def test_stored_only_sends_nothing_and_records_it(mail: Mail) -> None:
    """Every stored message ends in one recorded outcome: ``to: []`` is ``stored``, in the record beside it."""
    mail.store("address-book/m1", RAW)
    result = fwd.handler({"Records": [ses_record("m1", ["archive@example.com"])]})["results"]
    assert result == [{"key": "address-book/m1", "skipped": "the address book stores archive@example.com's mail only"}]
    assert mail.sent == []
    assert mail.record("address-book/m1.archive@example.com")["outcome"] == "stored"


def test_a_repeated_delivery_sends_nothing_again(mail: Mail) -> None:
    """Exactly once, as for mailboxes: the record of each (message, sending address) is claimed before sending."""
    mail.store("address-book/m1", RAW)
    event = {"Records": [ses_record("m1", ["sales@example.com"])]}
    fwd.handler(event)
    fwd.handler(event)
    assert len(mail.sent) == 1


def test_two_rules_storing_one_message_each_forward_their_own_recipients(mail: Mail) -> None:
    """Past 100 addresses the book is in several rules storing the same key: each rule's invocation forwards for
    the recipients it matched, and neither takes the other's record."""
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["jane@example.com"])]})
    fwd.handler({"Records": [ses_record("m1", ["bob@example.com"])]})
    assert sends(mail) == [("jane@example.com", ["jane@corp.example"]), ("bob@example.com", ["bob@home.example"])]


def test_an_unknown_recipient_is_stored_and_noticed_never_forwarded(mail: Mail) -> None:
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["nobody@example.com"])]})
    assert sends(mail) == [("postmaster@example.com", ["ops@corp.example"])]
    notice = mail.sent_message()
    assert "nobody@example.com" in notice.get_content()
    assert "s3://mail/address-book/m1" in notice.get_content()
    assert not list(notice.iter_attachments())
    assert mail.record("address-book/m1.catch-all")["state"] == "held"


def test_postmaster_goes_through_the_same_path(mail: Mail) -> None:
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["postmaster@example.com", "abuse@example.com"])]})
    # Both default to the first destination of the first entry (info@'s staff): one forward, as postmaster@.
    assert sends(mail) == [("postmaster@example.com", ["staff@corp.example"])]


def test_a_mailbox_keeps_its_own_key_and_record(mail: Mail) -> None:
    mail.store("info/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["info@example.com"])]})
    assert sends(mail) == [("info@example.com", ["staff@corp.example"])]
    assert mail.record("info/m1")["state"] == "sent"


def test_our_own_forward_coming_back_is_not_forwarded_again(mail: Mail) -> None:
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["sales@example.com"])]})
    back = mail.sent[0]["Content"]["Raw"]["Data"]
    mail.store("address-book/m2", back)
    fwd.handler({"Records": [ses_record("m2", ["jane@example.com"])]})
    assert len(mail.sent) == 1
    assert mail.record("address-book/m2.jane@example.com")["state"] == "skipped"


def test_a_labelled_address_routes_as_the_address_its_rule_lists(mail: Mail) -> None:
    """A rule's recipient "will match any form of the address with a label. Addresses that contain labels are of the
    form, with user-specified text between the plus sign (+) and the at sign (@)" (SES Developer Guide, "Creating
    receipt rules"): ``receipt.recipients`` then holds ``jane+news@``, which routes as ``jane@``."""
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["Jane+News@example.com"])]})
    assert sends(mail) == [("jane@example.com", ["jane@corp.example"])]


def test_a_labelled_mailbox_finds_its_stored_copy(mail: Mail) -> None:
    mail.store("info/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["info+orders@example.com"])]})
    assert sends(mail) == [("info@example.com", ["staff@corp.example"])]


def test_a_routed_forward_coming_back_is_our_own_loop(mail: Mail) -> None:
    """A routed forward's record is ``<key>.<address>.forward.json``: the address is the forward's From, which the
    returning message still carries, so its marker is checked against that record."""
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["sales@example.com"])]})
    mail.store("address-book/m2", mail.sent[0]["Content"]["Raw"]["Data"])
    result = fwd.handler({"Records": [ses_record("m2", ["sales@example.com"])]})["results"]
    assert result == [{"key": "address-book/m2", "skipped": "our own forward of address-book/m1 came back"}]
    assert len(mail.sent) == 1
    assert mail.record("address-book/m2.sales@example.com")["outcome"] == "own-loop"


# --- one forward per destination however many rules stored the message (fwd_across)


def test_a_destination_shared_by_two_rules_gets_one_forward(mail: Mail) -> None:
    """jane@ is in ``addresses-1``, sales@ in ``addresses-2`` (a book past 100 addresses): each rule stores the
    message and invokes the forwarder with only the recipients it matched. jane@corp.example, a destination of both,
    gets one forward; the second copy's record says who sent it.

    Both events carry the same ``mail.messageId``, "the unique ID assigned to the email by Amazon SES. If the email
    was delivered to Amazon S3, the message ID is also the Amazon S3 object key that was used to write the message to
    your Amazon S3 bucket" (SES Developer Guide, "Contents of notifications for Amazon SES email receiving", mail
    object), so both copies are ``address-book/m1``: one message id, one claim per destination."""
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["jane@example.com"])]})
    fwd.handler({"Records": [ses_record("m1", ["sales@example.com"])]})
    assert sends(mail) == [
        ("jane@example.com", ["jane@corp.example"]),
        ("sales@example.com", ["bob@home.example", "partner@other.example"]),
    ]
    record = mail.record("address-book/m1.sales@example.com")
    assert record["state"] == "sent" and record["to"] == ["bob@home.example", "partner@other.example"]
    assert record["forwardedBy"] == {"jane@corp.example": "the copy under address-book/m1 (as jane@example.com)"}


def test_a_copy_left_with_no_destination_records_which_copy_forwarded_it(mail: Mail) -> None:
    """The first rule's recipient (sales@) already reaches every destination of the second's (jane@): the second copy
    sends nothing and its record ends ``skipped``, naming the copy that forwarded the message."""
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["sales@example.com"])]})
    result = fwd.handler({"Records": [ses_record("m1", ["jane@example.com"])]})
    assert sends(mail) == [("sales@example.com", ["jane@corp.example", "bob@home.example", "partner@other.example"])]
    assert "forwarded by the copy under address-book/m1 (as sales@example.com)" in result["results"][0]["skipped"]
    record = mail.record("address-book/m1.jane@example.com")
    assert record["state"] == "skipped" and record["decision"] == "skip" and record["to"] == []
    assert "forwarded by the copy under address-book/m1 (as sales@example.com)" in record["reasons"]["elsewhere"]


TWO_DOMAINS: dict[str, Any] = {
    "account": "123456789012",
    "region": "eu-west-1",
    "domains": [
        {"domain": "example.com", "addresses": [{"localPart": "jane", "to": ["jane@corp.example"]}]},
        {"domain": "example.net", "addresses": [{"localPart": "team", "to": ["jane@example.com", "ops@corp.example"]}]},
    ],
}


def test_two_domains_store_two_copies_and_forward_each_destination_once(
    mail: Mail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message to jane@example.com and team@example.net: each domain's rule stores it under its own prefix
    (``address-book/``, ``example.net/address-book/``) and invokes the forwarder. The S3 action's ``objectKey`` is
    "a name that uniquely identifies the email in the Amazon S3 bucket. This is the same as the messageId in the mail
    object" (SES Developer Guide, "Contents of notifications for Amazon SES email receiving", action object): two
    keys, one message id. jane@corp.example, reached by both, gets one forward; ops@ its own."""
    routes = tmp_path / "two.json"
    routes.write_text(json.dumps(routes_of(TWO_DOMAINS)))
    monkeypatch.setenv("ROUTES_FILE", str(routes))
    boto3.client("sesv2", region_name="eu-west-1").create_email_identity(EmailIdentity="example.net")
    mail.store("address-book/m1", RAW)
    mail.store("example.net/address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["team@example.net"])]})
    fwd.handler({"Records": [ses_record("m1", ["jane@example.com"])]})
    assert sends(mail) == [("team@example.net", ["jane@corp.example", "ops@corp.example"])]
    assert mail.record("address-book/m1.jane@example.com")["forwardedBy"] == {
        "jane@corp.example": "the copy under example.net/address-book/m1 (as team@example.net)"
    }


def test_a_copy_whose_send_failed_keeps_its_destinations_for_its_retry(mail: Mail) -> None:
    """The first copy's send fails (SES refuses it; Lambda will retry that invocation): its destinations stay
    claimed, so the second copy leaves them to it, and the retry sends them. Nothing is sent twice, and nothing is
    lost: until the retry succeeds the first copy's record says ``failed``."""
    mail.store("address-book/m1", RAW)
    first = {"Records": [ses_record("m1", ["jane@example.com"])]}
    real_client = fwd.boto3.client

    def refusing_client(name: str, *args: Any, **kwargs: Any) -> Any:
        client = real_client(name, *args, **kwargs)
        if name == "sesv2":
            stubber = Stubber(client)
            stubber.add_client_error("send_email", "MessageRejected", "Email address is not verified.", 400)
            stubber.activate()
        return client

    fwd.boto3.client = refusing_client
    try:
        with pytest.raises(fwd.ForwardFailed, match="MessageRejected"):
            fwd.handler(first)
    finally:
        fwd.boto3.client = real_client
    assert mail.record("address-book/m1.jane@example.com")["state"] == "failed"
    fwd.handler({"Records": [ses_record("m1", ["sales@example.com"])]})
    fwd.handler(first)
    assert sends(mail)[-2:] == [
        ("sales@example.com", ["bob@home.example", "partner@other.example"]),
        ("jane@example.com", ["jane@corp.example"]),
    ]
    assert mail.record("address-book/m1.jane@example.com")["state"] == "sent"


def test_catch_all_notices_are_not_shared(mail: Mail) -> None:
    """A catch-all notice names the recipients and the copy of its own rule: it is sent whatever else the message
    reached, even to an address that also got a forward."""
    mail.store("address-book/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["nobody@example.com"])]})
    fwd.handler({"Records": [ses_record("m1", ["nobody@example.com"])]})
    assert sends(mail) == [("postmaster@example.com", ["ops@corp.example"])]


def test_two_mailboxes_of_the_short_form_forward_once_to_staff(
    mail: Mail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The short form: info@ and support@ each have a rule storing under its own prefix; a message to both is handed
    to the forwarder by both rules with the same ``mail.messageId`` ("the unique ID assigned to the email by Amazon
    SES", "Contents of notifications for Amazon SES email receiving"). Staff get one forward, not one per mailbox."""
    short = {
        "account": "123456789012",
        "region": "eu-west-1",
        "domain": "example.com",
        "mailboxes": ["info", "support"],
        "inbound": {"forwardTo": ["staff@corp.example"]},
    }
    routes = tmp_path / "short.json"
    routes.write_text(json.dumps(routes_of(short)))
    monkeypatch.setenv("ROUTES_FILE", str(routes))
    mail.store("info/m1", RAW)
    mail.store("support/m1", RAW)
    fwd.handler({"Records": [ses_record("m1", ["info@example.com"])]})
    fwd.handler({"Records": [ses_record("m1", ["support@example.com"])]})
    assert sends(mail) == [("info@example.com", ["staff@corp.example"])]
    assert mail.record("support/m1")["state"] == "skipped"
    assert mail.record("support/m1")["forwardedBy"] == {
        "staff@corp.example": "the copy under info/m1 (as info@example.com)"
    }
