"""The address book's settings: entries, aliases, groups, postmaster@/abuse@, other recipients and people.

Every bad entry stops synth with one line naming the key and the bad value.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.settings import SettingsError, parse_environment

BASE: dict[str, Any] = {
    "account": "111122223333",
    "region": "eu-west-1",
    "domain": "example.org",
    "addresses": [
        {"localPart": "jane", "aliases": ["j.doe"], "to": ["jane.doe@corp.example"]},
        {"localPart": "bob", "to": ["bob@home.example"]},
        {"localPart": "sales", "to": ["jane", "bob", "partner@other.example", "jane.doe@corp.example"]},
        {"localPart": "team", "to": ["sales", "archive"]},
        {"localPart": "archive", "to": []},
    ],
}


def env(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is ...:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def error(raw: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as caught:
        parse_environment("prod", raw)
    message = str(caught.value)
    assert "\n" not in message
    return message


def book(raw: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    settings = parse_environment("prod", raw)
    assert settings.address_book is not None
    return {a.address: a.destinations for a in settings.address_book.addresses}


def test_groups_expand_to_each_member_once_in_order() -> None:
    assert book(BASE) == {
        "jane@example.org": ("jane.doe@corp.example",),
        "bob@example.org": ("bob@home.example",),
        "sales@example.org": ("jane.doe@corp.example", "bob@home.example", "partner@other.example"),
        "team@example.org": ("jane.doe@corp.example", "bob@home.example", "partner@other.example"),
        "archive@example.org": (),
        # RFC 5321 4.5.1 postmaster, RFC 2142 abuse: received by default, to the first entry's first destination.
        "postmaster@example.org": ("jane.doe@corp.example",),
        "abuse@example.org": ("jane.doe@corp.example",),
    }


def test_an_alias_routes_as_its_entry() -> None:
    settings = parse_environment("prod", BASE)
    assert settings.address_book is not None
    found = settings.address_book.find("J.Doe@example.org")
    assert found is not None and found.address == "jane@example.org"
    assert settings.address_book.routes()["addresses"]["j.doe@example.org"]["as"] == "jane@example.org"


def test_a_member_may_be_an_alias() -> None:
    raw = env(addresses=[*BASE["addresses"], {"localPart": "press", "to": ["j.doe"]}])
    assert book(raw)["press@example.org"] == ("jane.doe@corp.example",)


def test_postmaster_to_and_an_explicit_postmaster_entry() -> None:
    raw = env(postmasterTo=["ops@corp.example", "sales"])
    found = book(raw)
    assert found["postmaster@example.org"] == found["abuse@example.org"]
    assert found["abuse@example.org"] == (
        "ops@corp.example",
        "jane.doe@corp.example",
        "bob@home.example",
        "partner@other.example",
    )
    raw = env(addresses=[*BASE["addresses"], {"localPart": "abuse", "to": ["security@corp.example"]}])
    assert book(raw)["abuse@example.org"] == ("security@corp.example",)


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        (
            [{"localPart": "jane"}],
            "environments.prod.addresses[0].to: missing: say where jane@example.org's mail goes, or [] to store it "
            "only",
        ),
        (
            [{"localPart": "sales", "to": ["jnae"]}],
            "environments.prod.addresses[0].to[0]: 'jnae' is not an entry of example.org",
        ),
        (
            [{"localPart": "a", "to": ["b"]}, {"localPart": "b", "to": ["c"]}, {"localPart": "c", "to": ["a"]}],
            "environments.prod.addresses[0].to: a -> b -> c -> a is a cycle",
        ),
        (
            [{"localPart": "jane", "to": []}, {"localPart": "bob", "aliases": ["Jane"], "to": []}],
            "environments.prod.addresses[1].aliases[0]: 'Jane' is already environments.prod.addresses[0]",
        ),
        (
            [{"localPart": "a", "aliases": ["x"], "to": []}, {"localPart": "b", "aliases": ["X"], "to": []}],
            "environments.prod.addresses[1].aliases[0]: 'X' is already environments.prod.addresses[0].aliases[0]",
        ),
        (
            [{"localPart": "jane", "to": []}, {"localPart": "JANE", "to": []}],
            "environments.prod.addresses[1].localPart: 'JANE' is already environments.prod.addresses[0]",
        ),
        (
            [{"localPart": "jane", "to": []}, {"localPart": "sales", "to": ["jane@example.org"]}],
            "environments.prod.addresses[1].to[0]: 'jane@example.org' is one of our own addresses given as an "
            "external one; route it as a member: 'jane'",
        ),
        (
            [{"localPart": "jane", "to": ["bad address"]}],
            "environments.prod.addresses[0].to[0]: 'bad address' is not a valid e-mail local part",
        ),
        (
            [{"localPart": "jane", "to": ["x@exa mple.com"]}],
            "environments.prod.addresses[0].to[0]: 'exa mple.com' is not a valid DNS domain name",
        ),
        (
            [{"localPart": "jane", "to": [], "cc": []}],
            "environments.prod.addresses[0].cc: unknown setting",
        ),
    ],
)
def test_bad_entries_are_one_line(addresses: list[dict[str, Any]], expected: str) -> None:
    assert error(env(addresses=addresses)).startswith(expected)


def test_a_group_across_domains_names_the_member_in_full() -> None:
    raw: dict[str, Any] = {
        "account": "111122223333",
        "region": "eu-west-1",
        "domains": [
            {"domain": "example.org", "addresses": [{"localPart": "jane", "to": ["jane@corp.example"]}]},
            {
                "domain": "example.co.jp",
                "addresses": [
                    {"localPart": "sales", "to": ["jane@example.org"]},
                    {"localPart": "info", "to": ["nobody@example.org"]},
                ],
            },
        ],
    }
    assert error(raw).startswith(
        "environments.prod.domains[1].addresses[1].to[0]: 'nobody@example.org' is not an entry of example.org"
    )
    raw["domains"][1]["addresses"].pop()
    assert book(raw)["sales@example.co.jp"] == ("jane@corp.example",)


def test_other_recipients() -> None:
    assert error(env(otherRecipients="store")).startswith(
        "environments.prod.otherRecipientsNotify: missing (required with otherRecipients 'store'"
    )
    assert error(env(otherRecipients="keep")).startswith(
        "environments.prod.otherRecipients: 'keep' is not one of reject, store"
    )
    assert error(env(otherRecipientsNotify="ops@corp.example")).startswith(
        "environments.prod.otherRecipientsNotify: 'ops@corp.example' only applies to otherRecipients 'store'"
    )
    assert error(env(otherRecipients="store", otherRecipientsNotify="jane@example.org")).startswith(
        "environments.prod.otherRecipientsNotify: 'jane@example.org' is an address of a domain this environment "
        "receives"
    )
    settings = parse_environment("prod", env(otherRecipients="store", otherRecipientsNotify="ops@corp.example"))
    assert settings.address_book is not None
    (domain,) = settings.address_book.domains
    # SES: "If this field is not specified, this rule matches all recipients on all verified domains"; a domain
    # recipient matches every address of that domain (ReceiptRule, Recipients, SES API reference).
    assert domain.rules == (("addresses-1", ("example.org",)),)


def test_reject_lists_every_address_in_rules_of_at_most_100_recipients() -> None:
    """SES quotas: "Maximum number of recipients per receipt rule | 100 | No" (SES Developer Guide, "Service quotas
    in Amazon SES", not adjustable). 500 entries with their aliases go into rules of 100."""
    entries = [{"localPart": f"user{i}", "aliases": [f"u{i}"], "to": [f"user{i}@corp.example"]} for i in range(500)]
    settings = parse_environment("prod", env(addresses=entries))
    assert settings.address_book is not None
    (domain,) = settings.address_book.domains
    assert [len(r) for _, r in domain.rules] == [100] * 10 + [2]
    assert [name for name, _ in domain.rules][:2] == ["addresses-1", "addresses-2"]
    everything = [r for _, rs in domain.rules for r in rs]
    assert len(set(everything)) == 1002
    assert {"postmaster@example.org", "abuse@example.org", "u499@example.org"} <= set(everything)


def test_rules_past_the_set_limit_are_refused() -> None:
    """SES quotas: "Maximum number of rules per receipt rule set | 200 | No" (not adjustable)."""
    entries = [{"localPart": f"user{i}", "aliases": [f"u{i}-{j}" for j in range(99)], "to": []} for i in range(201)]
    assert error(env(addresses=entries)).startswith("environments.prod.receiving.rules: 202 rules; SES allows 200")


def test_short_form_is_the_same_book() -> None:
    raw = {
        "account": "111122223333",
        "region": "eu-west-1",
        "domain": "example.org",
        "inbound": {"forwardTo": ["staff@corp.example"]},
    }
    settings = parse_environment("prod", raw)
    assert settings.address_book is not None
    assert [(a.address, a.destinations, a.kind, a.prefix) for a in settings.address_book.addresses] == [
        ("info@example.org", ("staff@corp.example",), "mailbox", "info/"),
        ("support@example.org", ("staff@corp.example",), "mailbox", "support/"),
        ("register@example.org", ("staff@corp.example",), "mailbox", "register/"),
        ("postmaster@example.org", ("staff@corp.example",), "role", "address-book/"),
        ("abuse@example.org", ("staff@corp.example",), "role", "address-book/"),
    ]
    (domain,) = settings.address_book.domains
    assert domain.rules == (("addresses-1", ("postmaster@example.org", "abuse@example.org")),)


def test_mailboxes_beside_addresses_and_the_default_mailboxes() -> None:
    # With addresses the role mailboxes are not implied.
    assert parse_environment("prod", BASE).mailboxes == ()
    raw = env(mailboxes=["info"], addresses=[{"localPart": "info", "to": []}])
    assert error(raw).startswith("environments.prod.addresses[0].localPart: 'info' is already")


def test_beside_workmail_the_book_keys_are_refused() -> None:
    raw = env(workmail={"organizationId": "m-0123456789abcdef0123456789abcdef"})
    assert error(raw).startswith("environments.prod.addresses: not available beside workmail")
    short = {k: v for k, v in raw.items() if k != "addresses"}
    settings = parse_environment("prod", short)
    assert settings.address_book is not None
    # WorkMail's own rule decides postmaster@ and abuse@ there: sesmail adds no rule for them.
    assert [a.kind for a in settings.address_book.addresses] == ["mailbox"] * 3
    assert settings.address_book.domains[0].rules == ()


def test_people() -> None:
    raw = env(
        people=[
            {"name": "jane", "address": "jane", "sendAs": ["sales", "team@example.org"], "rotationToken": "2"},
            {"name": "bob", "address": "bob", "sendAs": ["sales"], "keepPreviousKey": False},
        ]
    )
    jane, bob = parse_environment("prod", raw).people
    assert jane.addresses == ("jane@example.org", "sales@example.org", "team@example.org")
    assert (jane.rotation_token, jane.keep_previous_key) == ("2", True)
    assert (bob.send_as, bob.keep_previous_key) == (("sales@example.org",), False)


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        ([{"name": "jane", "address": "nobody"}], "environments.prod.people[0].address: 'nobody' is not an entry"),
        (
            [{"name": "jane", "address": "jane", "sendAs": ["j.doe"]}],
            "environments.prod.people[0].sendAs[0]: 'j.doe' is an alias of jane@example.org",
        ),
        (
            [{"name": "jane", "address": "jane"}, {"name": "Jane", "address": "bob"}],
            "environments.prod.people[1].name: 'Jane' is already environments.prod.people[0].name",
        ),
        ([{"name": "ja ne", "address": "jane"}], "environments.prod.people[0].name: 'ja ne' must be 1-32"),
        ([{"address": "jane"}], "environments.prod.people[0].name: missing (required)"),
        (
            [{"name": "jane", "address": "jane", "sendAs": ["sales", "sales@example.org"]}],
            "environments.prod.people[0].sendAs[1]: 'sales@example.org' is listed twice",
        ),
    ],
)
def test_bad_people_are_one_line(people: list[dict[str, Any]], expected: str) -> None:
    assert error(env(people=people)).startswith(expected)


def test_the_shared_smtp_user_needs_mailboxes() -> None:
    assert error(env(inbound={"smtpCredentials": True})).startswith(
        "environments.prod.inbound.smtpCredentials: true, but no domain has mailboxes for the shared SMTP user"
    )


def test_a_delegate_may_send_as_an_entry_but_not_an_alias() -> None:
    def delegates(*boxes: str) -> dict[str, Any]:
        return env(sending={"delegates": [{"policyName": "agency", "principal": "444455556666", "from": list(boxes)}]})

    settings = parse_environment("prod", delegates("sales", "jane@example.org"))
    assert settings.sending is not None
    assert settings.sending.delegates[0].from_mailboxes == ("sales", "jane@example.org")
    assert error(delegates("j.doe")).startswith("environments.prod.sending.delegates[0].from[0]: 'j.doe' is not")
