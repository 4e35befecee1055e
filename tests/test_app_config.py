"""A company's own configuration file (docs/configuration.md): named by context ``config`` or ``SESMAIL_CONFIG``, read
instead of cdk.json's shipped examples, by the app and by the doctor; every mistake in naming it is one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from sesmail.app_config import CONFIG_ENV, config_path, read_environments
from stacks import SettingsError, environments_of
from tests.conftest import cdk_json_context

ACME = {
    "acme": {
        "account": "111122223333",
        "region": "eu-west-1",
        "domain": "acme.example",
        "inbound": {"parse": True, "forwardTo": ["staff@corp.example"]},
    }
}


def _write(tmp_path: Path, document: Any, name: str = "mail.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_the_file_replaces_cdk_jsons_environments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, {"$schema": "schema/config.schema.json", "environments": ACME})
    context = cdk_json_context()
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert environments_of(cdk.App(context=context)) == context["environments"]
    assert environments_of(cdk.App(context={**context, "config": str(path)})) == ACME
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert environments_of(cdk.App(context=context)) == ACME
    # The context names a file too: it wins over the variable.
    other = _write(tmp_path, {"environments": {"other": ACME["acme"]}}, "other.json")
    assert environments_of(cdk.App(context={**context, "config": str(other)})) == {"other": ACME["acme"]}


@pytest.mark.parametrize(
    ("document", "error"),
    [
        (None, "no such file"),
        ("{not json", "not JSON (line 1: Expecting property name enclosed in double quotes)"),
        ({"context": {}}, "expected an object with the key 'environments'"),
        ({"environments": ACME, "context": {}}, "unknown key 'context' (only 'environments' and '$schema')"),
        ({"environments": ["acme"]}, "environments: ['acme'] is not an object"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_setting_and_path(tmp_path: Path, document: Any, error: str) -> None:
    path = tmp_path / "mail.json" if document is None else _write(tmp_path, document)
    with pytest.raises(ValueError) as raised:
        read_environments(path)
    assert str(raised.value) == f"{CONFIG_ENV}: {str(path)!r}: {error}"
    with pytest.raises(SettingsError) as through_app:
        environments_of(cdk.App(context={"config": str(path)}))
    assert str(through_app.value) == f"context config: {str(path)!r}: {error}"


def test_config_path_names_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert config_path(None) is None
    monkeypatch.setenv(CONFIG_ENV, "~/mail.json")
    assert config_path(None) == (Path("~/mail.json").expanduser(), CONFIG_ENV)
    assert config_path("a.json") == (Path("a.json"), "context config")
    with pytest.raises(ValueError, match=r"^context config: 3 is not a file path$"):
        config_path(3)


def test_synth_checks_a_company_environment_from_its_own_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's build with the file named by the variable, as ``make synth CONFIG=...`` runs it: the company's stack
    only, cdk-nag inside synth (an unacknowledged finding raises), and ``sesmail lint`` clean on the output."""
    from sesmail.policy.cli import main as sesmail_main
    from stacks import build_app

    monkeypatch.setenv(CONFIG_ENV, str(_write(tmp_path, {"environments": ACME})))
    out = tmp_path / "cdk.out"
    flags = {k: v for k, v in cdk_json_context().items() if k != "environments"}
    build_app(cdk.App(context=flags, outdir=str(out))).synth()
    assert sorted(p.name for p in out.glob("*.template.json")) == ["sesmail-acme.template.json"]
    assert sesmail_main(["lint", str(out)]) == 0


def test_the_doctor_reads_the_same_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sesmail.policy.cli import main as sesmail_main

    path = _write(tmp_path, {"environments": ACME})
    assert sesmail_main(["doctor", "example", "--app-dir", str(tmp_path), "--config", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"sesmail doctor: error: ENVIRONMENT: 'example' is not in {path}'s environments (known: acme)"
    )
    assert sesmail_main(["doctor", "acme", "--app-dir", str(tmp_path), "--config", str(tmp_path / "no.json")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"sesmail doctor: error: --config: {str(tmp_path / 'no.json')!r}: no such file"
    )
