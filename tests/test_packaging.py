"""The wheel as another team would use it: built, installed (not editable) in a fresh venv, used by a consumer app."""

from __future__ import annotations

import email
import importlib.metadata
import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

pytestmark = pytest.mark.packaging

# Each point of "constructs that compose with aws-cdk-lib", from the installed wheel: interfaces both ways, identity
# constructs for senders, cross-stack without a cycle, and what synth refuses at once, each as one ValueError line.
COMPOSE_APP = """
import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_ses as ses
import aws_cdk.aws_ses_actions as ses_actions
from sesmail import DelegateSender, MailBucket, MailDomain, ReceiptRuleSet, SendConditions, StopAction
from sesmail.inbound import InboundParser, MailForwarder, SmtpCredentials
from sesmail.sending import MailConfigurationSet

def refused(build, start):
    try:
        build()
    except ValueError as error:
        assert str(error).startswith(start) and "\\n" not in str(error), str(error)
        return
    raise AssertionError("not refused: " + start)

app = cdk.App(outdir="compose-out")
env = cdk.Environment(account="210987654321", region="eu-west-1")
storage = cdk.Stack(app, "Storage", env=env)
mail = MailBucket(storage, "Mail", expire_after=cdk.Duration.days(400))
processing = cdk.Stack(app, "Processing", env=env)
events = MailConfigurationSet(processing, "Events", configuration_set_name="mail")
domain = MailDomain(processing, "Domain", domain_name="consumer.example", configuration_set=events)
identity: ses.IEmailIdentity = domain
InboundParser(processing, "Parser", bucket=mail.bucket, mail_prefixes=["info/"])
MailForwarder(processing, "Fwd", bucket=mail.bucket, identity=domain, mailboxes=["info@consumer.example"],
              forward_to=["staff@corp.example"], key_prefixes={"info@consumer.example": "info/"})
SmtpCredentials(processing, "Smtp", identity=domain, from_addresses=["info@consumer.example"])
DelegateSender(processing, "Agency", identity=domain, principal="444455556666", policy_name="agency",
               conditions=SendConditions(from_addresses=("info@consumer.example",)))
refused(lambda: DelegateSender(processing, "Again", identity=domain, principal="444455556666", policy_name="agency",
        conditions=SendConditions(from_addresses=("info@consumer.example",))), "policy_name: 'agency' is already")
refused(lambda: SendConditions(from_addresses="info@consumer.example"),
        "from_addresses: 'info@consumer.example' is a string")
rules = ReceiptRuleSet(storage, "Rules", rule_set_name="inbound")
refused(lambda: rules.add_rule("r", actions=[ses_actions.Stop()]), "actions[0]: Stop is not a sesmail receipt action")
rules.add_rule("stop", actions=[StopAction()])
refused(lambda: InboundParser(processing, "Parser2", bucket=mail.bucket, mail_prefixes=["info/x/"]),
        "prefix: 'info/x/' overlaps 'info/'")
assembly = app.synth()
assert "Processing" not in str(assembly.get_stack_by_name("Storage").template)
"""

CONSUMER_APP = """
import aws_cdk as cdk
import sesmail
from sesmail import MailDomain, WorkMailPrincipal, WorkMailSendingAuthorization

assert "site-packages" in sesmail.__file__, sesmail.__file__
# Every public module imports with the wheel's own dependencies, no dev extra.
import importlib, importlib.util
for module in ("sesmail.receiving", "sesmail.inbound", "sesmail.sending", "sesmail.policy", "sesmail.doctor"):
    importlib.import_module(module)
for name in sesmail.__all__:
    getattr(sesmail, name)
# The app's own package is not part of the library.
assert importlib.util.find_spec("stacks") is None
app = cdk.App(outdir="out")
stack = cdk.Stack(app, "Consumer", env=cdk.Environment(account="210987654321", region="eu-west-1"))
domain = MailDomain(stack, "Domain", domain_name="consumer.example")
WorkMailSendingAuthorization(
    stack, "WorkMail", mail_domain=domain, organization_id="m-" + "ab" * 16,
    principal=WorkMailPrincipal.legacy_account("210987654321"),
)
app.synth()
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (out / "build.log").write_text(result.stdout + result.stderr)
    (built,) = out.glob("sesmail-*.whl")
    return built


def test_the_build_prints_no_warning_box(wheel: Path) -> None:
    """Issue 23: no setuptools warning box (such as "Package would be ignored" for a data folder left out of
    ``packages``) in the build's output."""
    log = (wheel.parent / "build.log").read_text()
    assert "********" not in log and "Warning" not in log, log[-3000:]


def test_wheel_ships_every_package_and_handler(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"sesmail/{path.relative_to(ROOT / 'constructs' / 'sesmail').as_posix()}"
        for path in (ROOT / "constructs" / "sesmail").rglob("*.py")
    }
    expected |= {
        f"sesmail/_handlers/{path.relative_to(ROOT / 'lambda').as_posix()}"
        for path in (ROOT / "lambda").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert expected - names == set()
    assert not [name for name in names if name.startswith("stacks/")]


def _runtime_closure(wheel: Path) -> dict[str, importlib.metadata.Distribution]:
    """The distributions the wheel's ``Requires-Dist`` pulls in without extras, transitively, as this venv has them."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requires = email.message_from_bytes(archive.read(metadata)).get_all("Requires-Dist") or []
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = list(requires)
    while pending:
        requirement = Requirement(pending.pop())
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra (dev) or another platform's requirement: not installed for a consumer
        key = canonicalize_name(requirement.name)
        if key not in found:
            found[key] = importlib.metadata.distribution(requirement.name)
            pending += found[key].requires or []
    return found


def _consumer_venv(wheel: Path, root: Path) -> Path:
    """A fresh venv holding the wheel (installed by pip, not editable) and exactly its runtime dependencies.

    The dependencies are this venv's installed copies, linked into one folder the new venv reads through a ``.pth``
    file, rather than installed again (reinstalling aws-cdk-lib took most of this file's minute): the dev extra,
    pytest and moto are not in it, and ``pip check`` proves the wheel's declared requirements are met by them.
    """
    deps = root / "runtime-deps"
    deps.mkdir()
    for dist in _runtime_closure(wheel).values():
        base = Path(str(dist.locate_file("")))
        for top in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            if not (deps / top).exists() and (base / top).exists():
                (deps / top).symlink_to(base / top)
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    (site_packages,) = (env_dir / "lib").glob("python*/site-packages")
    (site_packages / "runtime-deps.pth").write_text(f"{deps}\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    return python


def test_runtime_closure_is_the_declared_dependencies_only(wheel: Path) -> None:
    """The consumer venv below gets the wheel's own dependencies and theirs, never the dev extra."""
    names = set(_runtime_closure(wheel))
    assert {"aws-cdk-lib", "constructs", "boto3", "dnspython", "jsii"} <= names
    assert not names & {"pytest", "moto", "mypy", "cfn-lint", "syrupy", "cdk-nag"}


def test_consumer_app_synthesizes_with_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    python = _consumer_venv(wheel, tmp_path)
    app_dir = tmp_path / "consumer"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(CONSUMER_APP)
    # docs/constructs.md's "Using the constructs" example, sesmail with aws_ses in a bare cdk.App, from the wheel.
    from tests.test_readme_example import _example

    (app_dir / "readme_app.py").write_text(_example().replace("cdk.App()", 'cdk.App(outdir="readme-out")'))
    (app_dir / "compose_app.py").write_text(COMPOSE_APP)
    # The three apps run one after another in one interpreter (one jsii runtime to start, not three).
    (app_dir / "run_all.py").write_text(
        "import runpy\nfor app in ('app.py', 'readme_app.py', 'compose_app.py'):\n"
        "    print('running', app, flush=True)\n    runpy.run_path(app, run_name='__main__')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(python), "run_all.py"], cwd=app_dir, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-500:] + result.stderr[-3000:]

    template = json.loads((app_dir / "out" / "Consumer.template.json").read_text())
    types = sorted({r["Type"] for r in template["Resources"].values()})
    assert "AWS::SES::EmailIdentity" in types and "Custom::SesIdentityPolicy" in types
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::SesIdentityPolicy"]
    assert policy["Properties"]["NormalizeAwsPrincipals"] == "true"
    readme_template = json.loads((app_dir / "readme-out" / "Mail.template.json").read_text())
    assert "Custom::SesReceiptRuleSetActivation" in {r["Type"] for r in readme_template["Resources"].values()}
    # The handler's code came out of the installed wheel into the asset.
    handler_assets = [p for p in (app_dir / "out").glob("asset.*") if (p / "index.py").exists()]
    assert any((p / "principals.py").exists() for p in handler_assets)
