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


def test_flags_only_sets_the_release_and_keeps_everything_else(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["init", str(tmp_path)]) == 0
    cdk_json = json.loads((tmp_path / "cdk.json").read_text())
    cdk_json["app"] = "python -m sesmail_app --verbose"  # the company's own command
    cdk_json["context"]["@aws-cdk/core:checkSecretUsage"] = False  # an older release's value
    cdk_json["context"]["@aws-cdk/aws-lambda:acmeOptIn"] = True  # a flag this release does not set
    cdk_json["context"]["acme:own"] = 1
    (tmp_path / "cdk.json").write_text(json.dumps(cdk_json))
    package = json.loads((tmp_path / "package.json").read_text())
    package["scripts"] = {"synth": "cdk synth"}
    package["devDependencies"] = {**package["devDependencies"], "aws-cdk": "2.0.0", "prettier": "3.0.0"}
    (tmp_path / "package.json").write_text(json.dumps(package))
    mail = (tmp_path / "mail.json").read_text()
    capsys.readouterr()

    assert main(["init", "--flags-only", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "changed cdk.json: @aws-cdk/core:checkSecretUsage: false -> true" in out
    release = init_project.template()
    assert f"changed package.json: aws-cdk: 2.0.0 -> {release['devDependencies']['aws-cdk']}" in out
    updated = json.loads((tmp_path / "cdk.json").read_text())
    assert updated["app"] == "python -m sesmail_app --verbose"
    assert updated["context"]["@aws-cdk/core:checkSecretUsage"] is True
    assert updated["context"]["@aws-cdk/aws-lambda:acmeOptIn"] is True and updated["context"]["acme:own"] == 1
    assert updated["context"]["config"] == "mail.json"
    pins = json.loads((tmp_path / "package.json").read_text())
    assert pins["scripts"] == {"synth": "cdk synth"} and pins["devDependencies"]["prettier"] == "3.0.0"
    assert pins["devDependencies"]["aws-cdk"] == release["devDependencies"]["aws-cdk"]
    assert (tmp_path / "mail.json").read_text() == mail


def test_flags_only_refuses_a_cdk_json_that_is_not_a_project(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "x", "context": ["not", "an", "object"]}))
    assert main(["init", "--flags-only", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_init_needs_cdk_nag(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's app runs cdk-nag at every synth: without the [app] extra init says so instead of writing a project
    whose first synth fails."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cdk_nag" else real(name, *a))
    assert main(["init", str(tmp_path / "p")]) == 2
    assert "install sesmail with its app extra (sesmail[app])" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_the_app_without_cdk_nag_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from stacks import main as entry

    def missing() -> None:
        raise ModuleNotFoundError("No module named 'cdk_nag'", name="cdk_nag")

    monkeypatch.setattr(entry, "build_app", missing)
    assert entry.main() == 1
    assert capsys.readouterr().err == (
        "sesmail: cdk-nag is not installed: install sesmail with its app extra (sesmail[app])\n"
    )


def test_a_non_string_config_in_cdk_json_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"config": 5}}))
    with pytest.raises(ValueError, match=r"^cdk.json context config: 5 is not a file path$"):
        tool_config(tmp_path)


def test_a_failed_validation_ends_synth_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A cdk-nag finding fails synth with its report (printed by aws-cdk-lib) and one line of ours, no traceback."""
    import aws_cdk as cdk
    import aws_cdk.aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    from stacks import main as entry

    def failing() -> cdk.App:
        app = cdk.App()
        s3.Bucket(cdk.Stack(app, "Bad"), "Open")  # AwsSolutions-S1 and -S10
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        return app

    monkeypatch.setattr(entry, "build_app", failing)
    assert entry.main() == 1
    ours = [line for line in capsys.readouterr().err.splitlines() if line.startswith("sesmail:")]
    assert len(ours) == 1 and ours[0].startswith("sesmail: ValidationFailed"), ours


@pytest.mark.parametrize("command", ["doctor", "outcomes", "forward-deferred", "addresses"])
def test_every_tool_reads_the_projects_config(tmp_path: Path, capsys: pytest.CaptureFixture, command: str) -> None:
    """Run from a project of `sesmail init`, each tool reads its mail.json (cdk.json's context config), not cdk.json's
    environments: an environment missing there is named with that file."""
    assert main(["init", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main([command, "staging", "--app-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"ENVIRONMENT: 'staging' is not in {tmp_path / 'mail.json'}'s environments (known: prod)" in err, err
