"""``sesmail addresses ENV [--json]``: the address book from cdk.json, offline; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sesmail.policy.cli import main
from tests.conftest import ROOT


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["addresses", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_form(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "example-company", "--app-dir", str(ROOT), "--json")
    assert status == 0
    book = json.loads(out)
    assert book["version"] == 1 and book["otherRecipients"] == "store"
    by_address = {a["address"]: a for a in book["addresses"]}
    assert by_address["alice@company.example"] | {"storedUnder": None} == {
        "address": "alice@company.example",
        "aliases": ["a.smith@company.example"],
        "destinations": ["alice@staff.example"],
        "sendAs": ["alice"],
        "sharedSmtpUser": False,
        "delegates": [],
        "kind": "entry",
        "storedUnder": None,
    }
    # A group expanded; two people granted one address.
    assert by_address["sales@company.example"]["destinations"] == [
        "alice@staff.example",
        "bob@staff.example",
        "partners@agency.example",
    ]
    assert by_address["sales@company.example"]["sendAs"] == ["alice", "bob"]
    assert by_address["register@company.example"]["destinations"] == []
    assert {"postmaster@company.example", "abuse@company-store.example"} <= set(by_address)
    assert book["domains"] == [
        {"domain": "company.example", "otherRecipients": "store", "otherRecipientsNotify": "it@staff.example"},
        {"domain": "company-store.example", "otherRecipients": "reject", "otherRecipientsNotify": None},
    ]


def test_text_form_of_the_short_form(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "example", "--app-dir", str(ROOT))
    assert status == 0
    assert "info@example.org\n  mail goes to: staff@corp.example; stored under info/" in out
    assert "may send as it: the shared SMTP user" in out
    assert "any other recipient @example.org: SES rejects it" in out


def _app(tmp_path: Path, environments: dict[str, Any]) -> Path:
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"environments": environments}}))
    return tmp_path


@pytest.mark.parametrize(
    ("environments", "name", "expected"),
    [
        ({}, "prod", "sesmail addresses: error: ENVIRONMENT: 'prod' is not in"),
        (
            {
                "prod": {
                    "account": "111122223333",
                    "region": "eu-west-1",
                    "domain": "example.org",
                    "addresses": [{"localPart": "jane"}],
                }
            },
            "prod",
            "sesmail addresses: error: environments.prod.addresses[0].to: missing: say where jane@example.org's mail",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], environments: dict[str, Any], name: str, expected: str
) -> None:
    status, out, err = run(capsys, name, "--app-dir", str(_app(tmp_path, environments)))
    assert (status, out) == (2, "")
    assert err.startswith(expected) and err.count("\n") == 1


def test_an_app_dir_without_the_app_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder with neither the clone's stacks/ nor a project's cdk.json: the installed app (sesmail_app) reads it.
    status, _, err = run(capsys, "prod", "--app-dir", str(tmp_path))
    assert status == 2
    assert err == f"sesmail addresses: error: --app-dir: no cdk.json in {tmp_path}\n"
    # Without an installed app either (a wheel older than sesmail_app): one line saying so.
    from sesmail.policy import cli

    monkeypatch.setattr(cli, "_installed_app", lambda: None)
    status, _, err = run(capsys, "prod", "--app-dir", str(tmp_path))
    assert status == 2
    assert err == (
        f"sesmail addresses: error: --app-dir: {tmp_path} is not the sesmail app (no stacks/addresses_cli.py) and no "
        "sesmail app is installed (sesmail_app)\n"
    )


def test_beside_workmail_the_text_says_workmail_delivers(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "example-workmail", "--app-dir", str(ROOT))
    assert status == 0
    assert "info@example.com\n  mail goes to: WorkMail's own rule delivers it (sesmail stores a copy first)" in out
    assert "any other recipient @example.com: WorkMail's own rule decides" in out
