"""``python -m sesmail_app``: the app as a project made by ``sesmail init`` runs it (its cdk.json's ``app``)."""

import sys

from .main import main

sys.exit(main())
