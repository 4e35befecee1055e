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

import pytest
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
