"""App-level stacks: one :class:`MailStack` per environment in cdk.json."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from .mail_stack import MailStack
from .settings import EnvironmentSettings, SettingsError, load_environments

__all__ = ["EnvironmentSettings", "MailStack", "SettingsError", "build_app", "load_environments"]


def build_app(app: cdk.App | None = None) -> cdk.App:
    """Add one stack per environment to ``app`` and run cdk-nag's AwsSolutions checks at synth.

    Raises :class:`SettingsError` on a bad setting before any construct is created.
    """
    app = app or cdk.App()
    environments = load_environments(app.node.try_get_context("environments"))
    for settings in environments:
        MailStack(app, settings.stack_name, settings=settings)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
