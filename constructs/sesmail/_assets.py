"""Locate Lambda handler sources, both in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

import aws_cdk.aws_lambda as lambda_

_HERE = Path(__file__).resolve().parent
# In the wheel the handlers ship as the `sesmail._handlers` package; in a checkout they live in the top-level lambda/.
_CANDIDATES = (_HERE / "_handlers", _HERE.parent.parent / "lambda")

# Byte-code caches appear when tests import a handler; they must not change the asset hash.
_EXCLUDE = ["__pycache__", "*.pyc", "__init__.py"]


def handler_dir(name: str) -> Path:
    """The folder holding handler ``name`` (a sub-folder of ``lambda/``)."""
    for root in _CANDIDATES:
        folder = root / name
        if (folder / "index.py").is_file():
            return folder
    raise FileNotFoundError(f"Lambda handler {name!r} not found under {', '.join(map(str, _CANDIDATES))}")


def handler_code(name: str) -> lambda_.Code:
    """Asset code for handler ``name``; its hash depends only on the handler's own sources."""
    return lambda_.Code.from_asset(str(handler_dir(name)), exclude=_EXCLUDE)
