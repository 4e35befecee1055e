"""The "Using the constructs from another CDK app" example (docs/constructs.md, linked from the README) runs as
written: a bare ``cdk.App()`` with no feature flags, sesmail mixed with aws-cdk-lib's own ``aws_ses``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


def _blocks() -> list[str]:
    readme = (ROOT / "docs" / "constructs.md").read_text()
    section = readme[readme.index("## Using the constructs from another CDK app") :]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    return re.findall(r"```python\n(.*?)```", section, re.S)


def _example() -> str:
    return _blocks()[0]


def test_the_readme_example_synthesizes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = _example().replace("cdk.App()", f"cdk.App(outdir={str(tmp_path / 'out')!r})")
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/constructs.md", "exec"), namespace)  # the project's own docs
    template = json.loads((tmp_path / "out" / "Mail.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::SES::EmailIdentity", "AWS::SES::ReceiptRule", "Custom::SesReceiptRuleSetActivation"} <= types
    identities = [r for r in template["Resources"].values() if r["Type"] == "AWS::SES::EmailIdentity"]
    assert len(identities) == 2 and all("ConfigurationSetAttributes" in r["Properties"] for r in identities)
    send = [
        s
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if "ses:FromAddress" in json.dumps(s.get("Condition"))
    ]
    assert len(send) == 2 and all(":configuration-set/mail" in json.dumps(s["Resource"]) for s in send)
    # A consumer needs no .cfnlintrc to hide sesmail: cfn-lint, run where no config is, finds nothing (W3005
    # included, which aws-cdk-lib's functions used to raise through sesmail's constructs).
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", str(tmp_path / "out" / "Mail.template.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert lint.returncode == 0, lint.stdout[-3000:]


def test_the_bring_your_own_example_runs_after_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first, own = _blocks()[:2]
    code = first.replace("cdk.App()", f"cdk.App(outdir={str(tmp_path / 'out')!r})").replace("app.synth()\n", "")
    exec(compile(code + own + "app.synth()\n", "docs/constructs.md", "exec"), {})  # the project's own docs
    template = json.loads((tmp_path / "out" / "Mail.template.json").read_text())
    permissions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert any("triage" in json.dumps(p["Properties"]["FunctionName"]) for p in permissions)
    # The imported bucket's owner is told which statement to add (an annotation in the assembly's metadata).
    metadata = " ".join(p.read_text() for p in (tmp_path / "out").glob("*.json") if "template" not in p.name)
    assert "corp-mail-archive" in metadata and "its owner must add" in metadata
