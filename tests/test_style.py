"""The tree stays ruff- and mypy-clean: CI runs the test suite, so style regressions fail it like any other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy", "."],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tree_is_clean(command: list[str]) -> None:
    tool = BIN / command[0]
    assert tool.exists(), f"{command[0]} is installed with the dev extra"
    result = subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def _imported_cdk_modules() -> set[str]:
    """Every aws_cdk module the repository's Python imports (``import aws_cdk.x``, ``from aws_cdk import x``,
    ``from aws_cdk.x import y``)."""
    import ast

    found: set[str] = set()
    folders = ("constructs", "stacks", "tests", "benchmarks", "tools")
    files = [ROOT / "app.py", *(path for folder in folders for path in (ROOT / folder).rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "aws_cdk"}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "aws_cdk":
                found.add(node.module)
                if node.module == "aws_cdk":
                    found |= {f"aws_cdk.{alias.name}" for alias in node.names if alias.name.islower()}
    # Code inside strings (the benchmarks' and packaging test's app sources) is run, not type-checked.
    return found


def test_mypy_follows_every_aws_cdk_module_the_code_imports() -> None:
    """pyproject.toml has mypy skip aws-cdk-lib's modules except those listed: a module imported but not listed would
    be Any to mypy and its calls unchecked."""
    import tomllib

    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    followed = {m for o in overrides if o.get("follow_imports") == "normal" for m in o["module"]}
    exact = {m for m in followed if not m.endswith(".*")}
    prefixes = tuple(m.removesuffix("*") for m in followed if m.endswith(".*"))
    imported = _imported_cdk_modules()
    assert {"aws_cdk", "aws_cdk.aws_ses", "aws_cdk.assertions"} <= imported  # the scan sees the code's imports
    assert {m for m in imported if m not in exact and not m.startswith(prefixes)} == set()
