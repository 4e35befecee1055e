"""`sesmail init` (stacks/init_project.py) and how the tools find a project's configuration file (app_config).

The project a company keeps holds its own files only; this release's CDK feature flags and npm pins come from
stacks/project_template.json, which must stay what this clone's cdk.json and package.json hold (the flags the tests
synthesize with and the CLI they run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sesmail.app_config import CONFIG_ENV, tool_config
from sesmail.policy.cli import main
from stacks import init_project
from tests.conftest import ROOT


def test_the_release_template_is_this_clones_flags_and_pins() -> None:
    release = init_project.template()
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert release["cdkContext"] == {k: v for k, v in context.items() if k != "environments"}
    package = json.loads((ROOT / "package.json").read_text())
    assert release["devDependencies"] == package["devDependencies"]
    assert release["allowScripts"] == package.get("allowScripts", {})


def test_init_writes_a_project_whose_cdk_json_names_its_config(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "acme")]) == 0
    cdk_json = json.loads((tmp_path / "acme" / "cdk.json").read_text())
    assert cdk_json["app"] == "python -m sesmail_app"
    assert cdk_json["context"]["config"] == "mail.json"
    assert "environments" not in cdk_json["context"]
    config = json.loads((tmp_path / "acme" / "mail.json").read_text())
    assert list(config) == ["environments"] and list(config["environments"]) == ["prod"]
    # The first environment is one the settings reader accepts as it stands.
    from stacks.settings import parse_environment

    parse_environment("prod", config["environments"]["prod"])


def test_init_never_overwrites_and_says_which_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mail.json").write_text('{"environments": {}}')
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"sesmail init: error: DIR: '{tmp_path / 'mail.json'}' already exists (sesmail init writes only new files)"
    ]
    assert not (tmp_path / "cdk.json").exists()  # nothing written: not half a project
    assert (tmp_path / "mail.json").read_text() == '{"environments": {}}'


def test_flags_only_needs_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--flags-only", str(tmp_path)]) == 2
    assert "--flags-only:" in capsys.readouterr().err and not (tmp_path / "package.json").exists()


def test_tools_find_the_config_as_synth_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config FILE, else the project's cdk.json context `config` (relative to the project), else SESMAIL_CONFIG,
    else cdk.json's own environments: the order in which the app reads them (context before the variable)."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert tool_config(tmp_path) is None
    monkeypatch.setenv(CONFIG_ENV, "/srv/mail.json")
    assert tool_config(tmp_path) == (Path("/srv/mail.json"), CONFIG_ENV)
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"config": "mail.json"}}))
    assert tool_config(tmp_path) == (tmp_path / "mail.json", "cdk.json context config")
    assert tool_config(tmp_path, Path("other.json")) == (Path("other.json"), "--config")


def test_addresses_reads_a_projects_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["addresses", "prod", "--app-dir", str(tmp_path), "--json"]) == 0
    book = json.loads(capsys.readouterr().out)
    assert "info@example.com" in [entry["address"] for entry in book["addresses"]]
    assert main(["addresses", "staging", "--app-dir", str(tmp_path)]) == 2
    assert "ENVIRONMENT: 'staging' is not in" in capsys.readouterr().err
