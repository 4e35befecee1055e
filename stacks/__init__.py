"""App-level stacks: one :class:`MailStack` per environment of the company's configuration file or of cdk.json.

The names are loaded on first use, so that reading settings (``stacks.settings``, as ``sesmail addresses`` does)
loads no aws-cdk-lib and starts no jsii runtime.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app_builder import build_app as build_app
    from .app_builder import environments_of as environments_of
    from .mail_stack import MailStack as MailStack
    from .settings import EnvironmentSettings as EnvironmentSettings
    from .settings import SettingsError as SettingsError
    from .settings import load_environments as load_environments

_WHERE = {
    "build_app": ".app_builder",
    "environments_of": ".app_builder",
    "MailStack": ".mail_stack",
    "EnvironmentSettings": ".settings",
    "SettingsError": ".settings",
    "load_environments": ".settings",
}

__all__ = ["EnvironmentSettings", "MailStack", "SettingsError", "build_app", "environments_of", "load_environments"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name], __name__), name)
