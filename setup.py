"""Package discovery that pyproject.toml cannot express, with the package-dir mapping it declares.

Every sesmail subpackage under the constructs/ source root, and every handler folder of lambda/ as a subpackage of
``sesmail._handlers`` so the handler sources ship inside the wheel.
"""

from setuptools import find_namespace_packages, find_packages, setup

handlers = [f"sesmail._handlers.{name}" for name in find_namespace_packages("lambda", exclude=["*__pycache__*"])]
setup(packages=[*find_packages("constructs", include=["sesmail", "sesmail.*"]), "sesmail._handlers", *handlers])
