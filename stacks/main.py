"""The sesmail CDK app's entry point: ``app.py`` in a clone, ``python -m sesmail_app`` from the installed wheel.

A bad setting, a construct's refused prop (``ValueError``) and every AWS limit the stacks would hit (checked at synth
by :mod:`sesmail.limits`, and on the synthesized templates for resources per stack and template size) end synth with
one line each and exit status 1, never a traceback.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk

from sesmail import limits

from .app_builder import build_app
from .settings import SettingsError

_VALIDATION_FAILED = "Validation failed with the following errors:"


def main() -> int:
    """Synthesize the app (``cdk synth`` runs this); the exit status for the CDK CLI."""
    try:
        app = build_app()
    except ModuleNotFoundError as error:
        if error.name != "cdk_nag":
            raise
        # The wheel's app runs cdk-nag's checks at every synth; the package comes with the [app] extra.
        print("sesmail: cdk-nag is not installed: install sesmail with its app extra (sesmail[app])", file=sys.stderr)
        return 1
    except SettingsError as error:
        print(f"sesmail: bad setting: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"sesmail: {error}", file=sys.stderr)
        return 1
    for stack in app.node.children:
        if isinstance(stack, cdk.Stack):
            limits.watch(stack)  # every stack, also one with no construct that registers the check itself
    try:
        assembly = app.synth()
    except RuntimeError as error:
        message = str(error)
        if _VALIDATION_FAILED not in message:
            if not message.startswith("ValidationFailed"):
                raise
            # A validation plugin's report (cdk-nag, aws-cdk-lib's CloudFormation validation) was printed above it.
            print(f"sesmail: {message.splitlines()[0]}", file=sys.stderr)
            return 1
        # CDK lists each construct validation's error as "  [path] message" after the heading.
        lines = message.split(_VALIDATION_FAILED, 1)[1].strip().splitlines()
        for line in lines:
            if line.strip().startswith("["):
                print(f"sesmail: {line.strip()}", file=sys.stderr)
        return 1
    problems = limits.check_assembly(assembly)
    for problem in problems:
        print(f"sesmail: {problem}", file=sys.stderr)
    return 1 if problems else 0
