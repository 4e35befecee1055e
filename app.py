#!/usr/bin/env python3
"""The sesmail CDK app in a clone (cdk.json's ``app``): one stack per environment; see :mod:`stacks.main`.

From the installed wheel the same app is ``python -m sesmail_app`` (a project made by ``sesmail init``).
"""

import sys

from stacks.main import main

if __name__ == "__main__":
    sys.exit(main())
