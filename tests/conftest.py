"""Shared test fixtures: synthesize once per session, import Lambda handlers by path, pinned Node for jsii."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
_NODE_BIN = ROOT / "node_modules" / ".bin"
# jsii starts `node` from PATH: use the supported Node pinned in package.json, as `make test` does.
if (_NODE_BIN / "node").exists() and not os.environ.get("PATH", "").startswith(str(_NODE_BIN)):
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

if TYPE_CHECKING:
    import aws_cdk as cdk
    from aws_cdk import assertions
# aws-cdk-lib (and its jsii Node runtime, about 0.4 GB) loads only where a test uses it: not in pytest-xdist's
# controller process, which loads this file but runs no test.

# The tests synthesize the shipped examples only, never a company's configuration file (see docs/configuration.md).
os.environ.pop("SESMAIL_CONFIG", None)

# aws-cdk-lib (2.262+) runs its built-in CloudFormation validation (a WASM rule engine in the jsii runtime) at every
# synth unless CDK_VALIDATION=false: starting it cost about 10 s and 350 MB of each process's Node, more than the
# synth it checks. The tests synthesize without it (the jsii runtime inherits this environment); one test,
# tests/test_checks.py::test_builtin_cloudformation_validation_reports_nothing, runs the shipped examples with it on
# (and a canary it must flag), and `make synth` always runs it.
os.environ["CDK_VALIDATION"] = "false"

# AWS SDK calls in tests never reach AWS: moto and Stubber intercept them; these keep boto3 from looking further.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


def is_shipped_example(name: str) -> bool:
    """Whether ``name`` is one of the example environments sesmail ships in cdk.json (``example``, ``example-*``)."""
    return name == "example" or name.startswith("example-")


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (feature flags) with its shipped example environments as ``environments``.

    The tests' fixture environments are the shipped examples: an environment a company adds to cdk.json under its own
    name is synthesized and checked by ``make synth``, never by the tests (snapshots and figures stay the examples').
    """
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    examples = {name: value for name, value in context.get("environments", {}).items() if is_shipped_example(name)}
    return {**context, "environments": examples}


def load_handler(folder: str, module: str = "index") -> ModuleType:
    """Import ``lambda/<folder>/<module>.py`` as the Lambda runtime would (its folder first on sys.path)."""
    path = ROOT / "lambda" / folder
    sys.path.insert(0, str(path))
    try:
        name = f"_handler_{folder}_{module}"
        spec = importlib.util.spec_from_file_location(name, path / f"{module}.py")
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(path))


TEST_STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/sesmail-test/11111111-2222-3333-4444-555555555555"


def cfn_event(request: str, props: dict[str, Any], physical_id: str | None = None, old: dict | None = None) -> dict:
    """A CloudFormation custom-resource event as the Provider framework hands it to an on_event handler."""
    event: dict[str, Any] = {
        "RequestType": request,
        "RequestId": f"request-{request.lower()}",
        "StackId": TEST_STACK_ID,
        "LogicalResourceId": "Resource",
        "ResourceProperties": props,
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old is not None:
        event["OldResourceProperties"] = old
    return event


def no_sleep(_: float) -> None:
    """Stands in for ``time.sleep`` in handlers' retry loops."""


def build_app(environments: dict[str, Any] | None = None, with_nag: bool = True) -> cdk.App:
    """The project's app, built from the shipped examples (cdk.json's feature flags) or from ``environments``."""
    import aws_cdk as cdk

    from stacks import build_app as build

    context = cdk_json_context()
    if environments is not None:
        context = {**context, "environments": environments}
    app = cdk.App(context=context)
    if not with_nag:
        return _build_without_nag(app)
    return build(app)


def _build_without_nag(app: cdk.App) -> cdk.App:
    from stacks.mail_stack import MailStack
    from stacks.settings import load_environments

    for settings in load_environments(app.node.try_get_context("environments")):
        MailStack(app, settings.stack_name, settings=settings)
    return app


def synth_warnings(stack: cdk.Stack, path: str = "*") -> list[str]:
    """The warnings of ``stack``'s construct at ``path`` (``"*"``: every construct of the stack), as their text, from
    its app's synthesized cloud assembly.

    The same messages as ``assertions.Annotations.from_stack(stack).find_warning(path, ...)``, read from the app's
    cached synthesis (``Stage.synth()``, which synthesizes the app the first time only): ``Annotations.from_stack``
    synthesizes the whole app again on every call (aws-cdk-lib's ``synth({force: true})``), seconds per call for an
    app of several stacks checked by cdk-nag. Only for an app whose construct tree no longer changes.
    """
    import aws_cdk as cdk
    from aws_cdk import cx_api

    artifact = cdk.Stage.of(stack).synth().get_stack_artifact(stack.artifact_id)  # type: ignore[union-attr]
    return [
        str(message.entry.data)
        for message in artifact.messages
        if message.level == cx_api.SynthesisMessageLevel.WARNING and path in ("*", message.id)
    ]


@pytest.fixture(scope="session")
def project_app() -> cdk.App:
    """The app with the shipped example environments and cdk-nag; synthesized once for the whole session."""
    app = build_app()
    app.synth()
    return app


@pytest.fixture(scope="session")
def example_template(project_app: cdk.App) -> assertions.Template:
    """The ``example`` environment's template."""
    from aws_cdk import assertions

    stack = project_app.node.find_child("sesmail-example")
    return assertions.Template.from_stack(stack)  # type: ignore[arg-type]


@pytest.fixture()
def tmp_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region for moto-backed handler tests."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield


#: Test files whose tests take longest (mypy and ruff over the repository, the wheel installed in a fresh venv, the
#: lifecycle matrices): started first, so that under ``make test``'s two workers their tails overlap the many short
#: tests instead of running alone at the end. The order is otherwise kept; every test still runs.
_LONGEST_FIRST = ("tests/test_style.py", "tests/test_packaging.py", "tests/lifecycle/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        ranks = [i for i, prefix in enumerate(_LONGEST_FIRST) if item.nodeid.startswith(prefix)]
        return ranks[0] if ranks else len(_LONGEST_FIRST)

    items.sort(key=rank)
