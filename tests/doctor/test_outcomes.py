"""``sesmail outcomes``: each stored message of the deployed environment with its outcome, and the ones with none.

S3 through moto; CloudFormation through botocore's Stubber (moto's CloudFormation needs extras this project does not
install), which checks each request against the API model. The command finds the bucket as it does in an account:
``DescribeStacks`` and ``ListStackResources``, the logical id's physical id
("PhysicalResourceId: The name or unique identifier that corresponds to a physical instance ID of a resource
supported by CloudFormation", CloudFormation API reference, StackResourceSummary). The mail prefixes come from the
synthesized receipt rules' ``S3Action.ObjectKeyPrefix`` ("The key prefix of the Amazon S3 bucket. The key prefix is
similar to a directory name", SES API reference, S3Action). Records are the forwarder's own (``fwd_outcome``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from sesmail.policy.cli import build_parser, main

REGION = "eu-west-1"
BUCKET_ID = "MailBucket7A1944CB"
RULE = {
    "Type": "AWS::SES::ReceiptRule",
    "Properties": {
        "RuleSetName": "sesmail-example",
        "Rule": {
            "Name": "mailbox-info",
            "Actions": [{"S3Action": {"BucketName": {"Ref": BUCKET_ID}, "ObjectKeyPrefix": "info/"}}],
        },
    },
}
DEPLOYED = {"Resources": {BUCKET_ID: {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "example-mail"}}}}
FORWARDER = {"MailForwarder3C850010": {"Type": "AWS::Lambda::Function", "Properties": {}}}


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """cdk.json with environment ``example`` and a cloud assembly holding its (abridged) synthesized template."""
    return write_app(tmp_path, forwarder=True)


def write_app(tmp_path: Path, *, forwarder: bool) -> Path:
    (tmp_path / "cdk.json").write_text(
        json.dumps({"context": {"environments": {"example": {"domain": "example.com"}}}})
    )
    out = tmp_path / "cdk.out"
    out.mkdir()
    template = {
        "Resources": {
            **DEPLOYED["Resources"],
            "ReceiptRuleSetRulemailboxinfo": RULE,
            **(FORWARDER if forwarder else {}),
        }
    }
    (out / "sesmail-example.template.json").write_text(json.dumps(template))
    manifest = {
        "artifacts": {
            "sesmail-example": {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://123456789012/{REGION}",
                "properties": {"templateFile": "sesmail-example.template.json"},
            }
        }
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def stubbed_cloudformation(*, deployed: bool = True) -> Any:
    cfn = boto3.client("cloudformation", region_name=REGION)
    stub = Stubber(cfn)
    if not deployed:
        stub.add_client_error("describe_stacks", "ValidationError", "Stack with id sesmail-example does not exist", 400)
    else:
        stack = {
            "StackName": "sesmail-example",
            "CreationTime": "2026-12-01T00:00:00Z",
            "StackStatus": "UPDATE_COMPLETE",
        }
        stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "sesmail-example"})
        summary = {
            "LogicalResourceId": BUCKET_ID,
            "PhysicalResourceId": "example-mail",
            "ResourceType": "AWS::S3::Bucket",
            "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
            "ResourceStatus": "CREATE_COMPLETE",
        }
        stub.add_response(
            "list_stack_resources", {"StackResourceSummaries": [summary]}, {"StackName": "sesmail-example"}
        )
    stub.activate()
    return cfn


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="example-mail", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3


def record(s3: Any, key: str, **fields: Any) -> None:
    s3.put_object(Bucket="example-mail", Key=f"{key}.forward.json", Body=json.dumps(fields).encode())


def run(app_dir: Path, s3: Any, *extra: str, now: datetime | None = None, deployed: bool = True) -> int:
    args = build_parser(with_check=False).parse_args(["outcomes", "example", "--app-dir", str(app_dir), *extra])
    clients = {"cloudformation": stubbed_cloudformation(deployed=deployed), "s3": s3}
    return int(args.handler(args, clients.__getitem__, now=now or datetime.now(UTC) + timedelta(minutes=20)))


def test_every_message_with_its_outcome_and_the_one_nothing_handled(
    app_dir: Path, deployed: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = deployed
    for key in ("info/a", "info/b", "info/c", "info/d", "info/lost"):
        s3.put_object(Bucket="example-mail", Key=key, Body=b"From: x@y.example\r\n\r\nhi\r\n")
    s3.put_object(Bucket="example-mail", Key="info/AMAZON_SES_SETUP_NOTIFICATION", Body=b"setup")
    record(s3, "info/a", state="sent", outcome="forwarded", reasons={})
    record(s3, "info/b", state="skipped", outcome="own-loop", reasons={"loop": "our own forward of info/a came back"})
    record(s3, "info/c", state="deferred", outcome="notice", reasons={"cap": "over the cap"})
    record(s3, "info/d.sales@example.com", state="held", sent="notice", reasons={"spam": "spam verdict FAIL"})
    assert run(app_dir, s3) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 5
    parsed = [re.match(r"^\S+  (.+?)\s+s3://example-mail/(\S+)", line) for line in lines]
    by_key = {m[2]: m[1] for m in parsed if m}
    assert by_key == {
        "info/a": "forwarded",
        "info/b": "own-loop",
        "info/c": "deferred",  # the cap's state wins over what the record said before
        "info/d": "notice",  # an older record without ``outcome``: from its state
        "info/lost": "NO OUTCOME",
    }
    assert "our own forward of info/a came back" in out.out
    assert "no record: nothing handled it" in out.out
    assert out.err.strip() == "sesmail outcomes example: 5 line(s), 1 without an outcome or failed"


def test_json_and_a_message_still_being_handled(
    app_dir: Path, deployed: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = deployed
    s3.put_object(Bucket="example-mail", Key="info/new", Body=b"x")
    assert run(app_dir, s3, "--json", now=datetime.now(UTC) + timedelta(minutes=1)) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["problems"] == 0
    assert [(m["key"], m["outcome"]) for m in document["messages"]] == [("info/new", "in progress")]


def test_older_than_since_is_not_listed(app_dir: Path, deployed: Any, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.put_object(Bucket="example-mail", Key="info/old", Body=b"x")
    assert run(app_dir, deployed, "--since", "30m", now=datetime.now(UTC) + timedelta(hours=2)) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("flag", "line"),
    [
        (["--since", "yesterday"], "sesmail outcomes: error: --since: 'yesterday' is not an age like 30m, 24h or 7d"),
        (["--lost-after", "-1"], "sesmail outcomes: error: --lost-after: -1 is not a number of minutes"),
    ],
)
def test_bad_flags_are_one_line(app_dir: Path, flag: list[str], line: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outcomes", "example", "--app-dir", str(app_dir), *flag]) == 2
    assert capsys.readouterr().err.strip() == line


def test_missing_credentials_are_one_line(
    app_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    assert main(["outcomes", "example", "--app-dir", str(app_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sesmail outcomes: error: no AWS credentials found")


def test_an_environment_not_deployed_is_one_line(
    app_dir: Path, deployed: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(app_dir, deployed, deployed=False) == 2
    err = capsys.readouterr().err
    assert err == (
        "sesmail outcomes: error: sesmail-example is not deployed "
        "(ValidationError: Stack with id sesmail-example does not exist)\n"
    )


def test_without_a_forwarder_a_message_is_stored_only(
    tmp_path: Path, deployed: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.put_object(Bucket="example-mail", Key="info/kept", Body=b"x")
    (tmp_path / "app").mkdir()
    assert run(write_app(tmp_path / "app", forwarder=False), deployed) == 0
    assert "stored       s3://example-mail/info/kept  no mail forwarder in this environment" in capsys.readouterr().out
