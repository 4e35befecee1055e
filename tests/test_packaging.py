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
    # The app ships as sesmail_app (`python -m sesmail_app`, `sesmail init`), never as a top-level `stacks`.
    app = {f"sesmail_app/{path.relative_to(ROOT / 'stacks').as_posix()}" for path in (ROOT / "stacks").glob("*.py")}
    assert app | {"sesmail_app/project_template.json"} <= names
    assert not [name for name in names if name.startswith("stacks/")]


def _runtime_closure(wheel: Path, extra: str = "") -> dict[str, importlib.metadata.Distribution]:
    """The distributions the wheel's ``Requires-Dist`` pulls in (with ``extra``, e.g. ``app``), transitively, as this
    venv has them."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requires = email.message_from_bytes(archive.read(metadata)).get_all("Requires-Dist") or []
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = list(requires)
    while pending:
        requirement = Requirement(pending.pop())
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue  # another extra (dev) or another platform's requirement: not installed for a consumer
        key = canonicalize_name(requirement.name)
        if key not in found:
            found[key] = importlib.metadata.distribution(requirement.name)
            pending += found[key].requires or []
    return found


def _consumer_venv(wheel: Path, root: Path) -> Path:
    """A fresh venv holding the wheel (installed by pip, not editable) and exactly its runtime dependencies with the
    ``app`` extra (``pip install 'sesmail[app]'``).

    The dependencies are this venv's installed copies, linked into one folder the new venv reads through a ``.pth``
    file, rather than installed again (reinstalling aws-cdk-lib took most of this file's minute): the dev extra,
    pytest and moto are not in it, and ``pip check`` proves the wheel's declared requirements are met by them.
    """
    deps = root / "runtime-deps"
    deps.mkdir()
    for dist in _runtime_closure(wheel, "app").values():
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
    with_app = set(_runtime_closure(wheel, "app"))
    assert with_app - names == {"cdk-nag"}


@pytest.fixture(scope="module")
def consumer_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The consumer venv's interpreter; the tests below only run apps in it (their own folders), never install."""
    return _consumer_venv(wheel, tmp_path_factory.mktemp("consumer"))


def test_consumer_app_synthesizes_with_installed_wheel(consumer_python: Path, tmp_path: Path) -> None:
    python = consumer_python
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


def test_a_project_made_by_sesmail_init_synthesizes_from_the_wheel(consumer_python: Path, tmp_path: Path) -> None:
    """docs/configuration.md's released-wheel path: `pip install 'sesmail[app]'`, `sesmail init`, edit mail.json,
    `cdk synth` with the pinned CLI; the project holds only the company's files, and a release's flags are taken with
    `sesmail init --flags-only` without touching its configuration."""
    python = consumer_python
    project = tmp_path / "acme-mail"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SESMAIL_CONFIG")}
    env["PATH"] = os.pathsep.join([str(python.parent), str(ROOT / "node_modules" / ".bin"), env.get("PATH", "")])

    def run(*command: str, cwd: Path = project) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{command}: {result.stdout[-1000:]}{result.stderr[-3000:]}"
        return result

    run("sesmail", "init", str(project), cwd=tmp_path)
    assert sorted(p.name for p in project.iterdir()) == [".gitignore", "cdk.json", "mail.json", "package.json"]
    config = json.loads((project / "mail.json").read_text())
    config["environments"]["prod"]["domain"] = "acme.example"
    (project / "mail.json").write_text(json.dumps(config))

    run("cdk", "synth", "--quiet")
    template = json.loads((project / "cdk.out" / "sesmail-prod.template.json").read_text())
    identities = [r for r in template["Resources"].values() if r["Type"] == "AWS::SES::EmailIdentity"]
    assert [r["Properties"]["EmailIdentity"] for r in identities] == ["acme.example"]
    assert "0 finding(s)" in run("sesmail", "lint", "cdk.out").stderr
    book = json.loads(run("sesmail", "addresses", "prod", "--json").stdout)
    assert "info@acme.example" in [entry["address"] for entry in book["addresses"]]

    release = json.loads((project / "cdk.json").read_text())
    release["context"]["@aws-cdk/core:checkSecretUsage"] = False  # an older release's flag value
    release["context"]["acme:own"] = 1
    (project / "cdk.json").write_text(json.dumps(release))
    run("sesmail", "init", "--flags-only", str(project), cwd=tmp_path)
    updated = json.loads((project / "cdk.json").read_text())["context"]
    assert updated["@aws-cdk/core:checkSecretUsage"] is True and updated["acme:own"] == 1  # release flag, own key
    assert updated["config"] == "mail.json" and json.loads((project / "mail.json").read_text()) == config
