"""Delivery feedback with the address book and people: who hears of a failed send is whoever reads the address it was
sent as (its destinations in the book), never the destination that failed.

Real handler (``lambda/delivery_feedback``) with the routing table the app ships (``AddressBook.routes`` of parsed
settings, as ``routes.json``); S3, SES v2 and SNS through moto. The event records are shaped as AWS documents them
("Contents of event data that Amazon SES publishes to Amazon SNS", SES Developer Guide): the ``mail`` object's
``source`` is "The email address that the message was sent from (the envelope MAIL FROM address)", its ``headers``
"A list of the email's original headers. Each header in the list has a name field and a value field", and a Bounce's
``bouncedRecipients`` "A list that contains information about the recipients of the original mail that bounced".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from stacks.settings import parse_environment
from tests.inbound.test_delivery_feedback import World, bounce, feedback, sns_event

SETTINGS: dict[str, Any] = {
    "account": "123456789012",
    "region": "eu-west-1",
    "domain": "example.com",
    "addresses": [
        {"localPart": "jane", "aliases": ["j.doe"], "to": ["jane.doe@corp.example"]},
        {"localPart": "bob", "to": ["bob@home.example"]},
        {"localPart": "info", "to": ["jane", "bob"]},
        {"localPart": "sales", "to": ["jane", "bob", "partner@other.example"]},
        {"localPart": "archive", "to": []},
    ],
    "people": [
        {"name": "jane", "address": "jane", "sendAs": ["info", "sales"]},
        {"name": "bob", "address": "bob", "sendAs": ["info"]},
    ],
}
JANE, BOB, PARTNER = "jane.doe@corp.example", "bob@home.example", "partner@other.example"


def routes_of(settings: dict[str, Any]) -> dict[str, Any]:
    """The routing table exactly as the app ships it to the forwarder and to delivery feedback."""
    book = parse_environment("test", settings).address_book
    assert book is not None
    return book.routes()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps(routes_of(SETTINGS)))
    with mock_aws():
        found = World(monkeypatch, [])
        # The construct leaves MAILBOXES/FEEDBACK_TO out when it ships routes: the table decides.
        monkeypatch.delenv("MAILBOXES")
        monkeypatch.delenv("FEEDBACK_TO")
        monkeypatch.setenv("ROUTES_FILE", str(routes))
        yield found


def sends(world: World) -> list[tuple[str, list[str]]]:
    return [(p["FromEmailAddress"], p["Destination"]["ToAddresses"]) for p in world.sent]


def test_a_persons_reply_from_their_own_address_reaches_their_own_mailbox(world: World) -> None:
    """Jane replies as jane@ through her own credentials; the customer's server bounces it: the notice goes from
    jane@ to jane's own destination in the book, nobody else's, and the team is not bothered."""
    assert feedback.handler(sns_event(bounce("jane@example.com", ["customer@client.example"]))) == {"done": ["notice"]}
    assert sends(world) == [("jane@example.com", [JANE])]
    notice = world.notice()
    assert notice["Subject"] == "[NOT DELIVERED] Re: Order 1234"
    assert notice[feedback.FEEDBACK] is not None and notice["Auto-Submitted"] == "auto-replied"
    assert "customer@client.example" in notice.get_content()
    assert world.alarms() == []


def test_a_reply_from_a_shared_address_reaches_that_addresss_destinations(world: World) -> None:
    """Jane (or Bob) replies as info@, granted to both: the notice goes from info@ to info@'s destinations (whoever
    reads info@), as configured in the book."""
    assert feedback.handler(sns_event(bounce("info@example.com", ["customer@client.example"]))) == {"done": ["notice"]}
    assert sends(world) == [("info@example.com", [JANE, BOB])]


def test_the_notice_is_sent_as_the_address_as_configured(world: World) -> None:
    """``ses:FromAddress`` is compared as written: a From in another case still gets its notice from the book's
    spelling of the address (the role may send as ``*@example.com``)."""
    feedback.handler(sns_event(bounce("Jane <Jane@Example.com>", ["customer@client.example"])))
    assert sends(world) == [("jane@example.com", [JANE])]


def test_a_failed_forward_to_one_member_of_a_group_reaches_the_team_and_the_other_members(world: World) -> None:
    """A forward of sales@ (``X-Sesmail-Forwarded: <key>``) bounced at the partner: the team hears it through the
    alarm topic, naming the stored message, and sales@'s other destinations get a notice from sales@; the partner,
    whose address just failed, gets none."""
    record = bounce("sales@example.com", [PARTNER], headers={"X-Sesmail-Forwarded": "address-book/m1"})
    assert feedback.handler(sns_event(record)) == {"done": ["both"]}
    assert sends(world) == [("sales@example.com", [JANE, BOB])]
    (alarm,) = world.alarms()
    assert "address-book/m1" in alarm and PARTNER in alarm


def test_a_failed_forward_to_a_persons_only_mailbox_reaches_the_team_only(world: World) -> None:
    """jane@'s forward to her own mailbox bounced: nobody else reads jane@, and a notice to the mailbox that failed
    would fail again, so only the alarm topic hears it."""
    record = bounce("jane@example.com", [JANE], headers={"X-Sesmail-Forwarded": "address-book/m1"})
    assert feedback.handler(sns_event(record)) == {"done": ["topic"]}
    assert world.sent == []
    assert len(world.alarms()) == 1


def test_a_reply_copied_to_the_persons_own_mailbox_that_bounces_there_is_not_noticed_back(world: World) -> None:
    """Jane writes as info@ to a customer with a copy to her own mailbox, which bounces: one of info@'s own
    destinations failed (as with a forward whose marker SES truncated with the headers). The team hears it and
    bob, info@'s other reader, gets the notice; jane's failing mailbox does not."""
    record = bounce("info@example.com", [JANE])
    record["mail"]["destination"] = ["customer@client.example", JANE]
    assert feedback.handler(sns_event(record)) == {"done": ["both"]}
    assert sends(world) == [("info@example.com", [BOB])]
    assert len(world.alarms()) == 1


def test_a_notice_that_fails_is_never_answered_so_nothing_loops(world: World) -> None:
    """Jane's mailbox bounces everything: the notice about her reply (marked ``X-Sesmail-Feedback``) bounces in
    turn, and that failure goes to the alarm topic only: one SES send in all."""
    feedback.handler(sns_event(bounce("jane@example.com", ["customer@client.example"])))
    assert len(world.sent) == 1
    notice = world.notice()
    again = bounce(
        "jane@example.com",
        [JANE],
        subject=str(notice["Subject"]),
        headers={feedback.FEEDBACK: str(notice[feedback.FEEDBACK]), "Auto-Submitted": "auto-replied"},
    )
    again["bounce"]["feedbackId"] = "another-feedback-id"
    assert feedback.handler(sns_event(again)) == {"done": ["topic"]}
    assert len(world.sent) == 1
    assert len(world.alarms()) == 1


def test_a_stored_only_address_and_an_address_outside_the_book_reach_the_team(world: World) -> None:
    """archive@ has no destination (stored only) and no-reply@ is no entry (the web app's): nobody reads them by
    mail, so their failures go to the alarm topic."""
    first = bounce("archive@example.com", ["customer@client.example"])
    second = bounce("no-reply@example.com", ["customer@client.example"])
    second["bounce"]["feedbackId"] = "second"
    assert feedback.handler(sns_event(first, second)) == {"done": ["topic", "topic"]}
    assert world.sent == []
    assert len(world.alarms()) == 2


def test_a_suppressed_forward_of_the_book_is_deferred_in_its_own_record(world: World) -> None:
    """A forward routed by the book has its record per (stored message, sending address),
    ``<key>.<address>.forward.json`` (the forwarder's ``fwd_once``). SES "accepts the message, but doesn't send it"
    to an address on the account suppression list ("Using the Amazon SES account-level suppression list") and
    publishes a Bounce with ``bounceSubType`` ``OnAccountSuppressionList``: that record goes back to ``deferred``."""
    message_id = "0102018c5a1b2c3d-4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8-000000"
    sent = {"state": "sent", "sesMessageId": message_id, "key": "address-book/abc"}
    record_key = "address-book/abc.sales@example.com.forward.json"
    world.s3.put_object(Bucket="mail", Key=record_key, Body=json.dumps(sent).encode())
    record = bounce(
        "sales@example.com",
        [PARTNER],
        sub="OnAccountSuppressionList",
        headers={"X-Sesmail-Forwarded": "address-book/abc"},
    )
    assert feedback.handler(sns_event(record)) == {"done": ["both"]}
    after = json.loads(world.s3.get_object(Bucket="mail", Key=record_key)["Body"].read())
    assert after["state"] == "deferred" and after["suppressed"] == [PARTNER]


def test_without_a_routing_table_the_short_form_decides(tmp_path: Path) -> None:
    """No ``routes.json`` (the short form): ``MAILBOXES`` and ``FEEDBACK_TO`` decide, as before."""
    config = feedback.Config.from_environ(
        {"MAILBOXES": "info@example.com", "FEEDBACK_TO": "staff@corp.example", "ROUTES_FILE": str(tmp_path / "none")}
    )
    assert config.routes == {}
    failure = feedback.describe(bounce("info@example.com", ["customer@client.example"]))
    assert failure is not None
    assert feedback.concerned(failure, config) == ("notice", ["staff@corp.example"])
    assert feedback.sender_as(failure, config) == "info@example.com"
