"""Locate Lambda handler sources, both in a source checkout and in an installed wheel."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
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


def handler_code_with(name: str, files: Mapping[str, str]) -> lambda_.Code:
    """Asset code for handler ``name`` plus generated ``files`` (file name -> text) beside its sources.

    The copy is made once per content under the system's temporary folder, named by the hash of the sources and the
    files, so synth stays deterministic and the asset hash changes exactly when a source or a file does.
    """
    source = handler_dir(name)
    digest = hashlib.sha256()
    sources = sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    sources = [p for p in sources if p.suffix != ".pyc" and p.name != "__init__.py"]
    for path in sources:
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes() + b"\0")
    for file_name in sorted(files):
        digest.update(file_name.encode() + b"\0" + files[file_name].encode() + b"\0")
    staged = Path(tempfile.gettempdir()) / "sesmail-assets" / f"{name}-{digest.hexdigest()[:32]}"
    if not staged.is_dir():
        partial = staged.with_name(staged.name + f".{os.getpid()}")
        partial.mkdir(parents=True)
        for path in sources:
            target = partial / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        for file_name, text in files.items():
            (partial / file_name).write_text(text, encoding="utf-8")
        try:
            partial.rename(staged)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)  # another synth made the same copy first
    return lambda_.Code.from_asset(str(staged), exclude=_EXCLUDE)
