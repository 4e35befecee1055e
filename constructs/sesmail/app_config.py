"""Where the sesmail app's environments come from: a company's own file, or the ``environments`` of cdk.json.

A company keeps its environments in a file of its own repository, e.g. ``mail.json``::

    {"environments": {"prod": {"account": "...", "region": "eu-west-1", "domain": "example.com"}}}

and names it with ``SESMAIL_CONFIG=path`` (``make synth CONFIG=path``) or ``cdk synth -c config=path``; the app then
synthesizes exactly those environments instead of the examples shipped in cdk.json, so taking a new sesmail release
never merges into the company's edits. The doctor reads the same file. JSON only: no aws-cdk-lib is loaded here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The environment variable naming the company's configuration file.
CONFIG_ENV = "SESMAIL_CONFIG"
#: The CDK context key naming it (``cdk synth -c config=path``); it wins over the variable.
CONFIG_CONTEXT_KEY = "config"


def config_path(context_value: Any = None) -> tuple[Path, str] | None:
    """The configuration file named by the context value, else by ``SESMAIL_CONFIG``, and the setting that named it
    (for error lines); ``None`` when neither names one."""
    if context_value not in (None, ""):
        if not isinstance(context_value, str):
            raise ValueError(f"context {CONFIG_CONTEXT_KEY}: {context_value!r} is not a file path")
        return Path(context_value).expanduser(), f"context {CONFIG_CONTEXT_KEY}"
    value = os.environ.get(CONFIG_ENV, "")
    return (Path(value).expanduser(), CONFIG_ENV) if value else None


def tool_config(app_dir: Path, flag: Path | None = None) -> tuple[Path, str] | None:
    """The configuration file the doctor and the offline tools read for the app in ``app_dir``, found as synth finds
    it: ``--config`` FILE, else the context ``config`` of ``app_dir``'s cdk.json (a project made by ``sesmail init``;
    relative to ``app_dir``), else ``SESMAIL_CONFIG``; ``None`` when cdk.json's own ``environments`` apply."""
    if flag is not None:
        return flag, "--config"
    try:
        context = json.loads((app_dir / "cdk.json").read_text(encoding="utf-8")).get("context") or {}
        named = context.get(CONFIG_CONTEXT_KEY)
    except (OSError, ValueError, AttributeError):
        named = None  # no readable cdk.json: the reader of the environments says so in its own words
    if named not in (None, ""):
        if not isinstance(named, str):  # synth refuses it in the same words (config_path)
            raise ValueError(f"cdk.json context {CONFIG_CONTEXT_KEY}: {named!r} is not a file path")
        return app_dir / Path(named).expanduser(), f"cdk.json context {CONFIG_CONTEXT_KEY}"
    return config_path()


def read_environments(path: Path, setting: str = CONFIG_ENV) -> Mapping[str, Any]:
    """The ``environments`` object of the configuration file at ``path``; one-line ``ValueError`` naming ``setting``
    and the path otherwise."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{setting}: {str(path)!r}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{setting}: {str(path)!r}: cannot be read ({error.__class__.__name__})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{setting}: {str(path)!r}: not JSON (line {error.lineno}: {error.msg})") from None
    if not isinstance(document, Mapping) or "environments" not in document:
        raise ValueError(f"{setting}: {str(path)!r}: expected an object with the key 'environments'")
    unknown = sorted(set(document) - {"environments", "$schema"})
    if unknown:
        raise ValueError(f"{setting}: {str(path)!r}: unknown key {unknown[0]!r} (only 'environments' and '$schema')")
    environments = document["environments"]
    if not isinstance(environments, Mapping):
        raise ValueError(f"{setting}: {str(path)!r}: environments: {environments!r} is not an object")
    return environments


def tool_environments(app_dir: Path, config: tuple[Path, str] | None) -> tuple[Mapping[str, Any], Path]:
    """The environments the tools read for the app in ``app_dir`` and the file they came from: the configuration file
    ``config`` (:func:`tool_config`'s answer), else ``app_dir``'s cdk.json's ``environments``; one-line
    ``ValueError`` (naming ``--app-dir`` or the file) otherwise."""
    cdk_json = app_dir / "cdk.json"
    if config:
        return read_environments(*config), config[0]
    try:
        environments = json.loads(cdk_json.read_text(encoding="utf-8"))["context"]["environments"]
    except FileNotFoundError:
        raise ValueError(f"--app-dir: no cdk.json in {app_dir}") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{cdk_json}: no readable context.environments ({error})") from None
    if not isinstance(environments, Mapping):
        raise ValueError(f"{cdk_json}: no readable context.environments ({environments!r} is not an object)")
    return environments, cdk_json
