"""``sesmail lint`` end to end: output format, exit codes, usage errors, and the project's own app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sesmail.policy.cli import main

from .test_lint import IDENTITY, STAR, identity_policy, send, write


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(["lint", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_findings_print_one_per_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = write(tmp_path / "out", STAR)
    code, lines, err = run(capsys, str(out))
    assert code == 1
    assert lines == [
        f"{out}/Mail.template.json:Policy:Send: SES010 "
        + 'Resource "*" for ses:SendEmail, ses:SendRawEmail, which can be scoped to resources: name the ARNs '
        "(e.g. the SES identity arn:<partition>:ses:<region>:<account>:identity/<domain>)"
    ]
    assert "1 finding(s)" in err


def test_no_finding_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run(capsys, str(write(tmp_path, {"Policy": {"Type": "AWS::S3::Bucket"}})))
    assert (code, lines) == (0, []) and "0 finding(s)" in err


def test_suppressed_findings_are_counted_and_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """By default a suppressed finding is only counted (issue 23: no long line per stack on every synth)."""
    config = tmp_path / "lint.json"
    config.write_text(json.dumps({"suppress": [{"rule": "SES010", "logicalId": "Policy", "reason": "any identity"}]}))
    code, lines, err = run(capsys, str(write(tmp_path / "out", STAR)), "--config", str(config))
    assert (code, lines) == (0, [])
    assert "1 suppressed (--show-suppressed lists them)" in err


def test_show_suppressed_lists_each_with_its_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "lint.json"
    config.write_text(json.dumps({"suppress": [{"rule": "SES010", "logicalId": "Policy", "reason": "any identity"}]}))
    out = str(write(tmp_path / "out", STAR))
    code, lines, err = run(capsys, out, "--config", str(config), "--show-suppressed")
    assert code == 0
    (line,) = lines
    assert ": SES010 " in line and line.endswith(" SUPPRESSED (any identity)")
    assert "1 suppressed," in err


def test_default_path_is_cdk_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "cdk.out", STAR)
    monkeypatch.chdir(tmp_path)
    code, lines, _ = run(capsys)
    assert code == 1 and lines[0].startswith("cdk.out/Mail.template.json:Policy:Send: SES010")


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        (None, ["missing-dir"], "missing-dir: no such file or directory"),
        ("broken", ["x.template.json"], "x.template.json: not a JSON template"),
        ("empty-dir", ["empty"], "no *.template.json files"),
        ("config-without-reason", ["out", "--config", "c.json"], "'reason' missing or empty"),
        (None, ["out", "--config", "absent.json"], "absent.json: cannot read"),
        (None, ["out", "--account", "12345"], "--account: '12345' is not a 12-digit AWS account id"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    setup: str | None,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "out", STAR)
    if setup == "broken":
        (tmp_path / "x.template.json").write_text("{nope")
    elif setup == "empty-dir":
        (tmp_path / "empty").mkdir()
    elif setup == "config-without-reason":
        (tmp_path / "c.json").write_text(json.dumps({"suppress": [{"rule": "SES010", "logicalId": "Policy"}]}))
    code, lines, err = run(capsys, *argv)
    assert code == 2 and lines == []
    assert err.count("\n") == 1 and err.startswith("sesmail lint: error: ") and message in err
    assert "Traceback" not in err


def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--no-such-option"]) == 2
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --no-such-option" in err


def test_list_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "--list-rules")
    assert code == 0 and lines[0].startswith("SES000 ") and lines[-1].startswith("SES017 ")


def test_context_options_apply_to_loose_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "loose.template.json"
    resources: dict[str, Any] = identity_policy(
        send(
            Principal={"Service": "workmail.us-east-1.amazonaws.com"},
            Condition={"StringEquals": {"aws:SourceAccount": "1"}, "ArnLike": {"aws:SourceArn": "x"}},
        )
    )
    template.write_text(json.dumps({"Resources": resources}))
    # Without a context the identity ARN cannot be checked against the stack's region; with one that differs it is.
    assert run(capsys, str(template))[0] == 0
    code, lines, _ = run(capsys, str(template), "--account", "123456789012", "--region", "eu-west-1")
    assert code == 1 and all(": SES005 " in line for line in lines) and IDENTITY in lines[0]


def test_the_command_starts_without_aws_cdk() -> None:
    probe = "import sys; from sesmail.policy import cli, lint, templates; print('aws_cdk' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("sesmail")
    result = subprocess.run([str(script), "lint", "--list-rules"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "SES007" in result.stdout


def test_the_projects_own_app_has_no_lint_findings(project_app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    directory = project_app.synth().directory
    code, lines, err = run(capsys, directory)
    failing = [line for line in lines if " SUPPRESSED (" not in line and ": note: " not in line]
    assert failing == [] and code == 0, "\n".join(lines)
    assert "0 finding(s)" in err
