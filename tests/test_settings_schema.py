"""schema/environments.schema.json: the JSON Schema editors use for cdk.json's ``environments``.

The app's reader (stacks/settings.py) stays the authority: it refuses, in one line naming the key, everything the
schema flags and more (AWS limits, clashes across environments). These tests keep the two from drifting apart: every
key the reader reads is in the schema, the shipped environments validate, and a key the reader refuses as unknown is
flagged by the schema too.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from stacks import reader as reader_module
from stacks.settings import SettingsError, parse_environment
from tests.conftest import ROOT, cdk_json_context

SCHEMA = json.loads((ROOT / "schema" / "environments.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
ARN = "arn:aws:{}:eu-west-1:111122223333:{}"

FULL_SHORT_FORM: dict[str, Any] = {
    "account": "111122223333",
    "region": "eu-west-1",
    "domain": "example.com",
    "mailboxes": ["info", "support"],
    "hostedZoneId": "Z0123456789ABCDEFGHIJ",
    "hostedZoneName": "example.com",
    "mailFromSubdomain": "mail",
    "dmarcPolicy": "quarantine",
    "dmarcReportAddress": "dmarc@example.com",
    "dmarcRecord": True,
    "existingIdentity": False,
    "sending": {
        "suppressionReasons": "BOUNCES_ONLY",
        "tlsPolicy": "OPTIONAL",
        "delegates": [{"policyName": "agency", "principal": "444455556666", "from": ["info"]}],
    },
    "takeOverActiveRuleSet": True,
    "receiving": {
        "ruleSetName": "company",
        "mailBucket": {
            "expireAfterDays": 400,
            "noncurrentVersionsExpireAfterDays": 30,
            "infrequentAccessAfterDays": 90,
            "transitionalSesGrants": True,
        },
        "rules": [
            {
                "name": "everything",
                "recipients": ["example.com"],
                "enabled": True,
                "scanEnabled": True,
                "tlsRequired": True,
                "position": "before",
                "actions": [
                    {"type": "addHeader", "name": "X-Seen", "value": "1"},
                    {
                        "type": "s3",
                        "prefix": "all/",
                        "bucketName": "other-bucket",
                        "kmsKeyArn": ARN.format("kms", "key/1234"),
                        "topicArn": ARN.format("sns", "t"),
                    },
                    {
                        "type": "lambda",
                        "functionArn": ARN.format("lambda", "function:f"),
                        "invocationType": "Event",
                        "topicArn": ARN.format("sns", "t"),
                    },
                    {"type": "sns", "topicArn": ARN.format("sns", "t"), "encoding": "Base64"},
                    {"type": "workmail", "organizationArn": ARN.format("workmail", "organization/m-" + "a" * 32)},
                    {
                        "type": "bounce",
                        "smtpReplyCode": "550",
                        "statusCode": "5.1.1",
                        "message": "no such mailbox",
                        "sender": "postmaster@example.com",
                    },
                    {"type": "stop", "topicArn": ARN.format("sns", "t")},
                ],
            }
        ],
    },
    "inbound": {
        "parse": True,
        "forwardTo": ["staff@corp.example"],
        "verdicts": {"spam": "tag"},
        "smtpCredentials": True,
        "smtpRotationToken": "2",
        "forwardsPerHour": 50,
        "forwarderConcurrency": None,
    },
    "alarms": {"email": ["ops@corp.example"]},
}
FULL_DOMAINS_FORM: dict[str, Any] = {
    "account": "111122223333",
    "region": "us-east-1",
    "domains": [
        {"domain": "example.com", "mailboxes": ["info"], "existingIdentity": True},
        {"domain": "news.example.com", "sendOnly": True, "dmarcRecord": False},
    ],
    "workmail": {
        "organizationId": "m-" + "a" * 32,
        "legacyAccountPrincipal": "111122223333",
        "ruleSetName": "INBOUND_MAIL",
    },
    "acknowledgeWarnings": {"sesmail:workmail:identityExists": "imported with --import-existing-resources"},
}


FULL_BOOK_FORM: dict[str, Any] = {
    "account": "111122223333",
    "region": "eu-west-1",
    "domains": [
        {
            "domain": "example.com",
            "mailboxes": ["info"],
            "addresses": [
                {"localPart": "jane", "aliases": ["j.doe"], "to": ["jane@corp.example"]},
                {"localPart": "sales", "to": ["jane", "bob@example.net"]},
            ],
            "postmasterTo": ["ops@corp.example"],
            "otherRecipients": "store",
            "otherRecipientsNotify": "ops@corp.example",
        },
        {"domain": "example.net", "addresses": [{"localPart": "bob", "to": []}]},
    ],
    "people": [
        {"name": "jane", "address": "jane", "sendAs": ["sales", "bob@example.net"], "rotationToken": "2",
         "keepPreviousKey": False},
    ],
}  # fmt: skip


def _schema_at(path: str) -> dict[str, Any]:
    """The schema of the object that ``path`` (``environments.<name>.receiving.rules[0]``...) names."""
    node: dict[str, Any] = SCHEMA["additionalProperties"]
    for part in re.sub(r"\[\d+\]", ".[]", path).split(".")[2:]:
        node = node["items"] if part == "[]" else node["properties"][part]
    return node


def _keys_read(name: str, raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    read: set[tuple[str, str]] = set()
    original = reader_module.Reader.get

    def recording(self: reader_module.Reader, key: str, *args: Any, **kwargs: Any) -> Any:
        read.add((self.path, key))
        return original(self, key, *args, **kwargs)

    monkeypatch.setattr(reader_module.Reader, "get", recording)
    parse_environment(name, raw)
    return read


@pytest.mark.parametrize(
    "raw", [FULL_SHORT_FORM, FULL_DOMAINS_FORM, FULL_BOOK_FORM], ids=["short form", "domains", "address book"]
)
def test_every_key_the_reader_reads_is_in_the_schema(raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    read = _keys_read("prod", raw, monkeypatch)
    assert len(read) > 20
    missing = sorted(f"{path}.{key}" for path, key in read if key not in _schema_at(path).get("properties", {}))
    assert missing == []
    VALIDATOR.validate({"prod": raw})


def test_the_shipped_environments_validate() -> None:
    VALIDATOR.validate(cdk_json_context()["environments"])


@pytest.mark.parametrize(
    ("where", "patch"),
    [
        ("top level", lambda e: e.update(mailBoxes=["info"])),
        ("receiving", lambda e: e["receiving"].update(ruleSet="x")),
        ("an action", lambda e: e["receiving"]["rules"][0]["actions"][0].update(colour="red")),
        ("inbound", lambda e: e["inbound"].update(forward_to=["a@b.example"])),
    ],
)
def test_an_unknown_key_is_refused_by_the_reader_and_flagged_by_the_schema(where: str, patch: Any) -> None:
    raw = json.loads(json.dumps(FULL_SHORT_FORM))
    patch(raw)
    with pytest.raises(SettingsError):
        parse_environment("prod", raw)
    assert list(VALIDATOR.iter_errors({"prod": raw})), where


def _wrapper_validator(name: str) -> Any:
    from referencing import Registry, Resource

    wrapper = json.loads((ROOT / "schema" / name).read_text())
    registry: Registry[Any] = Registry().with_resource("environments.schema.json", Resource.from_contents(SCHEMA))
    return jsonschema.Draft202012Validator(wrapper, registry=registry)


def test_the_cdk_json_wrapper_applies_the_environments_schema() -> None:
    validator = _wrapper_validator("cdk.schema.json")
    cdk_json = {**json.loads((ROOT / "cdk.json").read_text()), "context": cdk_json_context()}
    validator.validate(cdk_json)
    cdk_json["context"]["environments"]["example"]["mailBoxes"] = ["info"]
    assert list(validator.iter_errors(cdk_json))


def test_the_config_file_wrapper_applies_the_environments_schema() -> None:
    """A company's own configuration file (docs/configuration.md): ``environments`` and an optional ``$schema``."""
    validator = _wrapper_validator("config.schema.json")
    config = {"$schema": "schema/config.schema.json", "environments": cdk_json_context()["environments"]}
    validator.validate(config)
    assert list(validator.iter_errors({**config, "context": {}})), "only environments and $schema"
    assert list(validator.iter_errors({"$schema": "x"})), "environments is required"
    config["environments"]["example"]["mailBoxes"] = ["info"]
    assert list(validator.iter_errors(config))
