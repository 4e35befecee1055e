"""A forward's In-Reply-To and References carry the customer's msg-ids as they are (issue 22, item 8).

RFC 5322 section 3.6.4: ``in-reply-to = "In-Reply-To:" 1*msg-id CRLF`` and ``references = "References:" 1*msg-id
CRLF``; a msg-id is ``[CFWS] "<" id-left "@" id-right ">" [CFWS]``, not text, so RFC 2047 encoded-words ("An
'encoded-word' MUST NOT appear in any portion of an 'addr-spec'" and may appear only in text, comments and phrases,
RFC 2047 section 5) can never stand for one. RFC 5322 section 2.1.1: "Each line of characters MUST be no more than
998 characters, and SHOULD be no more than 78 characters"; section 2.2.3 folds only at white space.

SES: "If you provide a Message-ID header, Amazon SES overrides the header with its own value" (SES Developer Guide,
"Amazon SES header fields"): a customer who writes through SES (or answers one of our SES-sent replies) carries SES's
long ids, ``<0102018c...-000000@eu-west-1.amazonses.com>``, which do not fit on one 78-character line beside
``References:``; the standard library used to fold them into ``=?utf-8?q?=3C0102...?=``.
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from tests.conftest import load_handler

message_mod = load_handler("mail_forwarder", "fwd_message")
# The shared corpus sits beside the repository (CI clones ../shared); from a worktree, further up.
CORPUS = next(
    (
        p / "shared" / "corpus" / "mime" / "messages"
        for p in Path(__file__).resolve().parents[2:]
        if (p / "shared").is_dir()
    ),
    Path("/nonexistent"),
)
MSGID = re.compile(r"<[^<>\s]+>")
# SES's Message-IDs, as SES writes them into mail it sends (the message id of SendEmail, then the region's host).
SES_IDS = [
    "<0102018c5a1b2c3d-4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8-000000@eu-west-1.amazonses.com>",
    "<0100018c5a1b2c3d-4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b9-000000@email.amazonses.com>",
    "<010d018c5a1b2c3d-4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7c0-000000@ap-southeast-2.amazonses.com>",
]


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def forward_bytes(msg: EmailMessage) -> bytes:
    out = message_mod.forwarded(
        msg, mailbox="info@example.com", staff=["staff@corp.example"], key="k", verdicts="v", tags=[]
    )
    return bytes(out.as_bytes())


def header_lines(raw: bytes, name: str) -> list[str]:
    """The physical lines of header ``name`` (its first line and its folded continuations)."""
    head = raw.split(b"\n\n", 1)[0].decode("ascii", "replace").split("\n")
    lines: list[str] = []
    for line in head:
        if line.lower().startswith(name.lower() + ":"):
            lines = [line]
        elif lines and line[:1] in (" ", "\t") and lines[-1] is not None:
            lines.append(line)
        elif lines:
            break
    return lines


def assert_ids_as_they_are(raw: bytes, in_reply_to: str, references: list[str]) -> None:
    for name in ("In-Reply-To", "References"):
        lines = header_lines(raw, name)
        assert lines, name
        text = "\n".join(lines)
        assert "=?" not in text, text
        assert all(len(line.rstrip("\r")) <= 998 for line in lines)
    back = parse(raw)
    assert MSGID.findall(str(back["In-Reply-To"])) == [in_reply_to]
    assert MSGID.findall(str(back["References"])) == [*references, in_reply_to]


def test_ses_message_ids_are_not_encoded() -> None:
    """A customer's answer to an SES-sent reply: its Message-ID and References are SES's long ids. The forward's
    In-Reply-To and References hold them byte for byte, folded only between ids."""
    msg = parse(
        b"From: Jane <jane@customer.example>\r\nTo: info@example.com\r\nSubject: Re: your order\r\n"
        b"Message-ID: " + SES_IDS[0].encode() + b"\r\n"
        b"References: " + " ".join(SES_IDS[1:]).encode() + b"\r\n\r\nThanks\r\n"
    )
    raw = forward_bytes(msg)
    assert_ids_as_they_are(raw, SES_IDS[0], SES_IDS[1:])
    assert header_lines(raw, "In-Reply-To") == [f"In-Reply-To: {SES_IDS[0]}"]
    # Three ids, each on a line of its own: none fits beside another within 78 characters.
    assert [line.strip() for line in header_lines(raw, "References")] == [
        f"References: {SES_IDS[1]}",
        SES_IDS[2],
        SES_IDS[0],
    ]


def test_short_ids_share_lines_within_78() -> None:
    """Short ids fill a line up to RFC 5322's 78 characters, then fold at the space between two ids."""
    refs = [f"<id{n:03d}@customer.example>" for n in range(10)]
    msg = parse(
        b"From: jane@customer.example\r\nTo: info@example.com\r\nMessage-ID: <last@customer.example>\r\n"
        b"References: " + " ".join(refs).encode() + b"\r\n\r\nx\r\n"
    )
    raw = forward_bytes(msg)
    assert_ids_as_they_are(raw, "<last@customer.example>", refs)
    assert all(len(line) <= 78 for line in header_lines(raw, "References"))
    assert len(header_lines(raw, "References")) > 1


def test_an_id_longer_than_a_line_can_hold_is_left_out() -> None:
    """An id that cannot fit on one 998-character line could not be sent (RFC 5322 section 2.1.1): it is dropped
    from References, the others stay."""
    huge = "<" + "a" * 1000 + "@customer.example>"
    msg = parse(
        b"From: jane@customer.example\r\nTo: info@example.com\r\nMessage-ID: <m@customer.example>\r\n"
        b"References: <r@customer.example> " + huge.encode() + b"\r\n\r\nx\r\n"
    )
    raw = forward_bytes(msg)
    assert_ids_as_they_are(raw, "<m@customer.example>", ["<r@customer.example>"])


def corpus_with_message_id() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.iterdir()):
        head = path.read_bytes().split(b"\n\n", 1)[0].lower()
        if b"\nmessage-id:" in b"\n" + head:
            found.append(path)
    return found


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared MIME corpus is not present")
def test_real_mail_threads_as_it_came() -> None:
    """Every real message of the shared corpus with a Message-ID: the forward's In-Reply-To is that id and its
    References are the message's references then that id, as they are, with no encoded-word and no line over 998."""
    paths = corpus_with_message_id()
    assert len(paths) >= 20, len(paths)
    checked = 0
    for path in paths:
        msg = parse(path.read_bytes())
        original = message_mod.Original(msg)
        if original.message_id is None:
            continue
        refs = [r for r in original.references if len(r) + len("References: ") <= 998]
        raw = forward_bytes(parse(path.read_bytes()))
        assert_ids_as_they_are(raw, original.message_id, refs)
        checked += 1
    assert checked >= 20, checked
