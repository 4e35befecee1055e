"""``sesmail init DIR``: a company's own sesmail project, run from the installed wheel (``pip install 'sesmail[app]'``).

The project holds only what is the company's: its configuration file (``mail.json``), a ``cdk.json`` whose ``app`` is
``python -m sesmail_app`` and whose context names that file and carries the CDK feature flags this sesmail release was
tested with, and a ``package.json`` pinning the CDK CLI and Node it was tested with. Taking a newer release is ``pip
install -U 'sesmail[app]'`` (then ``sesmail init --flags-only DIR`` to take its feature flags and pins): nothing of
sesmail's is copied into the project, so nothing merges. Existing files are never overwritten.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

#: The configuration file a new project gets, named by its cdk.json's context ``config``.
CONFIG_FILE = "mail.json"

#: A first environment: one domain receiving info@, support@ and register@, stored, parsed and forwarded to staff.
FIRST_ENVIRONMENT: dict[str, Any] = {
    "account": "123456789012",
    "region": "eu-west-1",
    "domain": "example.com",
    "mailboxes": ["info", "support", "register"],
    "inbound": {"parse": True, "forwardTo": ["staff@corp.example"]},
    "alarms": {"email": ["ops@corp.example"]},
}

_GITIGNORE = ".venv/\nnode_modules/\ncdk.out/\ncdk.context.json\n__pycache__/\n"


class InitError(Exception):
    """One line for stderr: why the project was not written."""


def template() -> dict[str, Any]:
    """The feature flags and npm pins of this release (``project_template.json``, kept equal to the clone's cdk.json
    and package.json by the tests)."""
    text = resources.files(__package__ or "stacks").joinpath("project_template.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def project_files(flags_only: bool = False) -> dict[str, str]:
    """File name -> text of a new project (``flags_only``: cdk.json and package.json, the files a release updates)."""
    release = template()
    cdk_json = {
        "app": "python -m sesmail_app",
        "context": {"config": CONFIG_FILE, **release["cdkContext"]},
    }
    package_json = {
        "name": "sesmail-project",
        "private": True,
        "description": "Pins the AWS CDK CLI and Node.js this sesmail release was tested with.",
        "devDependencies": release["devDependencies"],
        "allowScripts": release["allowScripts"],
    }
    files = {
        "cdk.json": json.dumps(cdk_json, indent=2) + "\n",
        "package.json": json.dumps(package_json, indent=2) + "\n",
    }
    if not flags_only:
        files[CONFIG_FILE] = json.dumps({"environments": {"prod": FIRST_ENVIRONMENT}}, indent=2) + "\n"
        files[".gitignore"] = _GITIGNORE
    return files


def init(directory: Path, *, flags_only: bool = False) -> list[Path]:
    """Write a new project into ``directory`` (created if missing); the paths written. Raises :class:`InitError`
    naming the first file that already exists (nothing is written then), except that ``flags_only`` replaces
    cdk.json's ``app`` and feature flags and package.json's pins while keeping every other key of cdk.json."""
    files = project_files(flags_only)
    if directory.exists() and not directory.is_dir():
        raise InitError(f"DIR: {str(directory)!r} is not a directory")
    if flags_only:
        cdk_json = directory / "cdk.json"
        try:
            current = json.loads(cdk_json.read_text(encoding="utf-8"))
            context = current["context"]
        except (OSError, ValueError, KeyError, TypeError):
            raise InitError(f"--flags-only: {str(cdk_json)!r} is not a sesmail project's cdk.json") from None
        fresh = json.loads(files["cdk.json"])
        kept = {k: v for k, v in context.items() if k == "config" or not k.startswith("@aws-cdk")}
        merged = {**current, "app": fresh["app"], "context": {**fresh["context"], **kept}}
        files["cdk.json"] = json.dumps(merged, indent=2) + "\n"
    else:
        for name in files:
            if (directory / name).exists():
                raise InitError(f"DIR: {str(directory / name)!r} already exists (sesmail init writes only new files)")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
        written.append(directory / name)
    return written
