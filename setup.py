"""Package discovery that pyproject.toml cannot express: every sesmail subpackage under the constructs/ source root."""

from setuptools import find_packages, setup

setup(packages=[*find_packages("constructs", include=["sesmail", "sesmail.*"]), "sesmail._handlers", "stacks"])
