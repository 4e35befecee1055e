"""The documented deploy command runs the pinned Node and CDK CLI, not the machine's (issue 21, item 12).

package.json pins Node 24 (npm package ``node``) and the CDK CLI; the Makefile puts ``node_modules/.bin`` first on
``PATH``. The README documented ``npx cdk deploy``, which ran the CLI on the machine's Node (20 here) because npx
puts the caller's ``PATH`` first. ``make deploy ENV=...`` is now the documented form: run here with a "machine" node
first on the caller's PATH that fails if used, the CLI must still answer, on Node 24.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.conftest import ROOT


def _make(*args: str, path_first: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path_first is not None:
        env["PATH"] = f"{path_first}:{env['PATH']}"
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_make_deploy_runs_the_pinned_node_even_with_another_node_first_on_path(tmp_path: Path) -> None:
    machine = tmp_path / "bin"
    machine.mkdir()
    node = machine / "node"
    node.write_text("#!/bin/sh\necho 'the machine node was used' >&2\nexit 97\n")
    node.chmod(0o755)
    result = _make("deploy", "ENV=example", "CDK_FLAGS=--help", path_first=machine)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"make deploy: node v24\.\S+ from \S+/node_modules/\.bin/node", result.stderr), result.stderr
    assert "the machine node was used" not in result.stderr
    assert "cdk deploy [STACKS..]" in result.stdout, "the pinned CLI answered"


def test_make_deploy_without_an_environment_is_one_line() -> None:
    result = _make("deploy")
    assert result.returncode != 0
    assert "make deploy: ENV=<environment> is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_docs_give_the_make_form_not_npx() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    text = "\n".join(page.read_text() for page in pages)
    assert "make deploy ENV=" in text
    assert not re.search(r"npx cdk (deploy|diff|import|bootstrap|ls|synth)", text)
