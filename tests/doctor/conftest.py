"""Fixtures of the doctor tests: an app directory over the session's synthesized assembly, and moto."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
import pytest
from moto import mock_aws

from tests.conftest import ROOT, cdk_json_context


@pytest.fixture(scope="session")
def app_dir(project_app: cdk.App, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory like the repository's: a cdk.json with the shipped examples, and cdk.out = the session's synthesized
    cloud assembly."""
    directory = tmp_path_factory.mktemp("app")
    cdk_json = {**json.loads((ROOT / "cdk.json").read_text()), "context": cdk_json_context()}
    (directory / "cdk.json").write_text(json.dumps(cdk_json, indent=2))
    assembly = project_app.synth().directory
    (directory / "cdk.out").symlink_to(assembly)
    assert json.loads((directory / "cdk.out" / "manifest.json").read_text())["artifacts"]["sesmail-example"]
    return directory


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS call of the test, with fake credentials."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield
    assert os.environ.get("AWS_ACCESS_KEY_ID") == "testing"


@pytest.fixture(autouse=True)
def doctor_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """The doctor's clock (WorkMail's end-of-support warning) pinned, so no doctor test depends on the real date."""
    from datetime import date

    from sesmail.doctor import workmail_checks

    monkeypatch.setattr(workmail_checks, "today", lambda: date(2026, 12, 7))
