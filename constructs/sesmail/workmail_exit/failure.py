"""How a ``sesmail workmail`` command reports a failure: one line on stderr (and JSON with ``--json``).

Below both the command line (``cli``) and the commands (``export``...), which report through it.
"""

from __future__ import annotations

import argparse
import json
import sys


def fail(args: argparse.Namespace, error: Exception) -> int:
    """Report ``error`` in one line (and as JSON with ``--json``); the exit status."""
    from .aws import EXIT_AWS, EXIT_USAGE, UsageError

    status = EXIT_USAGE if isinstance(error, UsageError) else EXIT_AWS
    code = getattr(error, "code", "") or ("UsageError" if status == EXIT_USAGE else "AwsError")
    command = f"sesmail workmail {getattr(args, 'workmail_command', '')}".rstrip()
    print(f"{command}: error: {error}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"error": {"code": code, "message": str(error), "exitStatus": status}}, indent=2))
    return status
