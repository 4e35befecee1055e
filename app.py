#!/usr/bin/env python3
"""The sesmail CDK app: one stack per environment in cdk.json's ``environments`` context."""

import sys

from stacks import SettingsError, build_app


def main() -> int:
    try:
        app = build_app()
    except SettingsError as error:
        print(f"sesmail: bad setting: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
