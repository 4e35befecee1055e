"""``sesmail init DIR``: a company's own sesmail project, run from the installed wheel (``pip install 'sesmail[app]'``).

The project holds only what is the company's: its configuration file (``mail.json``), a ``cdk.json`` whose ``app`` is
``python -m sesmail_app`` and whose context names that file and carries the CDK feature flags this sesmail release was
tested with, and a ``package.json`` pinning the CDK CLI and Node it was tested with. Taking a newer release is ``pip
install -U`` of the new wheel with its ``[app]`` extra, then ``sesmail init --flags-only DIR`` to set its feature flags
and pins, keeping every other key): nothing of sesmail's code is copied into the project, so nothing merges. A new
project's files are never written over existing ones.
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


def project_files() -> dict[str, str]:
    """File name -> text of a new project."""
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
    return {
        "cdk.json": json.dumps(cdk_json, indent=2) + "\n",
        "package.json": json.dumps(package_json, indent=2) + "\n",
        CONFIG_FILE: json.dumps({"environments": {"prod": FIRST_ENVIRONMENT}}, indent=2) + "\n",
        ".gitignore": _GITIGNORE,
    }


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InitError(f"--flags-only: {str(path)!r} is not {what}") from None
    if not isinstance(document, dict):
        raise InitError(f"--flags-only: {str(path)!r} is not {what}")
    return document


def _release_update(directory: Path) -> tuple[dict[str, str], list[str]]:
    """cdk.json and package.json of an existing project with this release's flags and pins: every other key (the
    company's context, an ``@aws-cdk`` flag the release does not set, its own app command, package.json's name,
    scripts and other dependencies) is kept. Also the lines saying what changed."""
    release = template()
    cdk_json = _read_json(directory / "cdk.json", "a sesmail project's cdk.json")
    context = cdk_json.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("config"), str):
        raise InitError(f"--flags-only: {str(directory / 'cdk.json')!r} is not a sesmail project's cdk.json")
    changes = [
        f"cdk.json: {key}: {json.dumps(context.get(key))} -> {json.dumps(value)}"
        for key, value in release["cdkContext"].items()
        if context.get(key) != value
    ]
    cdk_json["context"] = {**context, **release["cdkContext"]}
    package_path = directory / "package.json"
    package = _read_json(package_path, "a package.json") if package_path.exists() else {}
    pins = {**(package.get("devDependencies") or {}), **release["devDependencies"]}
    changes += [
        f"package.json: {name}: {(package.get('devDependencies') or {}).get(name)} -> {version}"
        for name, version in release["devDependencies"].items()
        if (package.get("devDependencies") or {}).get(name) != version
    ]
    package = {
        **package,
        "devDependencies": pins,
        "allowScripts": {**(package.get("allowScripts") or {}), **release["allowScripts"]},
    }
    files = {"cdk.json": json.dumps(cdk_json, indent=2) + "\n", "package.json": json.dumps(package, indent=2) + "\n"}
    return files, changes


def init(directory: Path, *, flags_only: bool = False) -> list[Path]:
    """Write a new project into ``directory`` (created if missing); the paths written. Raises :class:`InitError`
    naming the first file that already exists (nothing is written then). ``flags_only``: in an existing project, set
    this release's feature flags in cdk.json and its pins in package.json, keeping every other key of both."""
    if directory.exists() and not directory.is_dir():
        raise InitError(f"DIR: {str(directory)!r} is not a directory")
    if flags_only:
        files, _ = _release_update(directory)
    else:
        files = project_files()
        for name in files:
            if (directory / name).exists():
                raise InitError(f"DIR: {str(directory / name)!r} already exists (sesmail init writes only new files)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in files.items():
            (directory / name).write_text(text, encoding="utf-8")
            written.append(directory / name)
    except OSError as error:
        raise InitError(f"DIR: {str(directory)!r}: cannot be written ({error.strerror or error})") from None
    return written


def release_changes(directory: Path) -> list[str]:
    """What ``init --flags-only`` would change in ``directory``'s project, one line each (before it writes)."""
    return _release_update(directory)[1]
