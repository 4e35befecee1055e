"""Package discovery that pyproject.toml cannot express, with the package-dir mapping it declares.

Every sesmail subpackage under the constructs/ source root (data folders such as ``sesmail.policy.data`` included:
setuptools treats every importable folder as a package and warns in a box about one left out of ``packages``), and
every handler folder of lambda/ as a subpackage of ``sesmail._handlers`` so the handler sources ship inside the wheel.
"""

from setuptools import find_namespace_packages, setup

handlers = [f"sesmail._handlers.{name}" for name in find_namespace_packages("lambda", exclude=["*__pycache__*"])]
library = find_namespace_packages("constructs", include=["sesmail", "sesmail.*"], exclude=["*__pycache__*"])
setup(packages=[*library, "sesmail._handlers", *handlers])
