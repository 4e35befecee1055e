"""Package discovery that pyproject.toml cannot express, with the package-dir mapping it declares.

Every sesmail subpackage under the constructs/ source root (data folders such as ``sesmail.policy.data`` included:
setuptools treats every importable folder as a package and warns in a box about one left out of ``packages``), and
every handler folder of lambda/ as a subpackage of ``sesmail._handlers`` so the handler sources ship inside the wheel.
"""

import warnings

from setuptools import find_namespace_packages, setup

# setuptools boxes an "Editable installation." notice on every `pip install -e` whose package-dir is not one plain
# source root (ours maps sesmail to constructs/sesmail and sesmail._handlers to lambda/): a folder in the working
# directory named like a package could shadow it. The one such folder here is constructs/, kept without __init__.py
# so that the PyPI `constructs` (a regular package) always wins over it; the notice asks nothing of a developer.
try:
    from setuptools.warnings import InformationOnly
except ImportError:  # a setuptools older than pyproject's build requirement (no build isolation): no such notice
    pass
else:
    warnings.filterwarnings("ignore", message=r"Editable installation\.", category=InformationOnly)

handlers = [f"sesmail._handlers.{name}" for name in find_namespace_packages("lambda", exclude=["*__pycache__*"])]
library = find_namespace_packages("constructs", include=["sesmail", "sesmail.*"], exclude=["*__pycache__*"])
setup(packages=[*library, "sesmail._handlers", *handlers, "sesmail_app"])
