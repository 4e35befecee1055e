"""The layering: no import cycles (the contracts in pyproject.toml, checked by import-linter), and the settings layer
and the offline commands start without aws-cdk-lib (so without a jsii/Node runtime)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    # stacks/ is found from the repository root, as app.py finds it.
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def test_import_contracts_are_kept() -> None:
    """Every `[tool.importlinter]` contract of pyproject.toml holds (no cycles; stacks above sesmail)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    "module", ["stacks.settings", "stacks.addresses_cli", "sesmail.doctor.cli", "sesmail.policy.cli"]
)
def test_loads_no_aws_cdk(module: str) -> None:
    """Reading settings (`sesmail addresses`) and starting the doctor load no aws_cdk module, so no jsii runtime."""
    probe = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii')))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"import {module} loaded {result.stdout.strip()}"
