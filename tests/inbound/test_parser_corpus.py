"""The inbound parser over the shared public corpus (``../shared/corpus/mime/messages/``, read in place).

Two claims: on every message the standard library reads without a defect, the parser's document equals
``BytesParser(policy=policy.default)``'s reading (tests/inbound/parser_views.py states the rules and the one documented
difference); and every message, broken ones included, ends with a JSON document or an ``unparsed`` record through the
real handler against moto S3.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.conftest import ROOT, load_handler
from tests.inbound.parser_views import parser_view, stdlib_defects, stdlib_view

index = load_handler("inbound_parser")

CORPUS = ROOT.parent / "shared" / "corpus" / "mime"
MESSAGES = sorted((CORPUS / "messages").iterdir()) if (CORPUS / "messages").is_dir() else []
pytestmark = pytest.mark.skipif(not MESSAGES, reason=f"no corpus at {CORPUS} (CI clones ../shared beside the repo)")


def test_corpus_is_the_one_its_manifest_describes() -> None:
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    assert sorted(entry["file"] for entry in manifest) == [path.name for path in MESSAGES]


mime = load_handler("inbound_parser", "mime")


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: p.name)
def test_messages_parse_as_the_standard_library_does(path: Path) -> None:
    """Well-formed or not (``stdlib_defects`` tells), where the standard library can read a message at all the
    parser's headers, text, html and attachments are the same; where it cannot (it raises building a header), the
    parser still gives a document naming that header in ``errors``."""
    raw = path.read_bytes()
    parsed = mime.parse(raw)  # parsed once: the comparison's view and the `truncated` below read the same result
    try:
        reference = stdlib_view(raw)
    except Exception as error:
        assert any(e.startswith("header ") for e in parsed.document["errors"]), error
        return
    # A header cut at its documented limit (the document's `truncated` names it) differs from the stdlib's whole one.
    cut = {line.split()[1] for line in parsed.document["truncated"] if line.startswith("header ")}
    ours = parser_view(raw, parsed)
    for view in (ours, reference):
        view["headers"] = [header for header in view["headers"] if header[0].lower() not in cut]
    assert ours == reference, f"{len(stdlib_defects(raw))} stdlib defects"


def test_a_corpus_header_past_its_limit_is_cut_and_says_so() -> None:
    (path,) = [p for p in MESSAGES if p.name.endswith("stack-overflow.txt")]  # a To: of 130 KB of encoded words
    doc = mime.parse(path.read_bytes()).document
    assert doc["truncated"] == ["header to longer than MAX_ADDRESS_HEADER_BYTES=8192 bytes: cut"]
    assert doc["to"] == [{"name": "test", "address": "test@test.com"}]


def test_most_of_the_corpus_is_well_formed_so_the_comparison_means_something() -> None:
    well_formed = [path for path in MESSAGES if not stdlib_defects(path.read_bytes())]
    assert len(well_formed) >= len(MESSAGES) // 2


def test_every_corpus_message_ends_with_a_document_through_the_handler() -> None:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="mail")
        statuses: dict[str, int] = {}
        for number, path in enumerate(MESSAGES):
            key = f"inbound/{number:03d}"
            s3.put_object(Bucket="mail", Key=key, Body=path.read_bytes())
            result = index.handler({"Records": [{"s3": {"bucket": {"name": "mail"}, "object": {"key": key}}}]})
            doc = json.loads(s3.get_object(Bucket="mail", Key=key + ".json")["Body"].read())
            assert doc["status"] in ("parsed", "unparsed") and doc["schemaVersion"] == index.SCHEMA_VERSION, path.name
            assert result["results"] == [{"key": key + ".json", "status": doc["status"], "errors": len(doc["errors"])}]
            statuses[doc["status"]] = statuses.get(doc["status"], 0) + 1
    # None of these needs the unparsed fallback: broken parts cost the part, not the message.
    assert statuses == {"parsed": len(MESSAGES)}
