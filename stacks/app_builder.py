"""The app: one :class:`MailStack` per environment of the company's configuration file or of cdk.json."""

from __future__ import annotations

import aws_cdk as cdk

from sesmail.app_config import CONFIG_CONTEXT_KEY, config_path, read_environments

from .mail_stack import MailStack
from .settings import SettingsError, load_environments


def environments_of(app: cdk.App) -> object:
    """The raw ``environments``: from the file named by context ``config`` or ``SESMAIL_CONFIG`` (a company's own
    configuration, see docs/configuration.md), else cdk.json's ``environments`` context (the shipped examples)."""
    try:
        named = config_path(app.node.try_get_context(CONFIG_CONTEXT_KEY))
        return app.node.try_get_context("environments") if named is None else read_environments(*named)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def build_app(app: cdk.App | None = None) -> cdk.App:
    """Add one stack per environment to ``app`` and run cdk-nag's AwsSolutions checks at synth.

    Raises :class:`SettingsError` on a bad setting before any construct is created.
    """
    # Loaded here: cdk-nag's jsii assembly is only needed where its checks run, not by every importer of stacks.
    from cdk_nag import AwsSolutionsChecks

    app = app or cdk.App()
    environments = load_environments(environments_of(app))
    for settings in environments:
        MailStack(app, settings.stack_name, settings=settings)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
