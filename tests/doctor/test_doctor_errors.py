"""``sesmail doctor`` when AWS cannot be asked: one line, a documented exit status, a JSON error object (issue 21, 11).

Cases and the AWS behaviour each rests on:

- no credentials: botocore raises ``NoCredentialsError`` ("Unable to locate credentials") before any request;
- expired credentials: AWS answers ``ExpiredToken`` ("The security token included in the request is expired",
  STS/IAM common errors);
- a read refused: ``AccessDenied`` naming the action (IAM User Guide, "Troubleshoot access denied error messages");
- a region without the service: no endpoint answers at ``<service>.<region>.amazonaws.com`` (AWS General Reference,
  "Service endpoints": a service is reachable only where it is offered), botocore's ``EndpointConnectionError``;
- an endpoint that does not answer: botocore's ``ReadTimeoutError`` after ``read_timeout``.

Exit statuses (``sesmail.doctor.cli``): 3 credentials, 4 access denied, 5 unreachable.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from sesmail.doctor import cli

NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2, read_timeout=0.5)


def _run(app_dir: Path, factory: Any, *, as_json: bool) -> int:
    args = argparse.Namespace(
        environment="example",
        app_dir=app_dir,
        json=as_json,
        round_trip=False,
        round_trip_timeout=300.0,
        nameserver="127.0.0.1:9",
    )
    return cli.run(args, factory=factory)


def _stubbed(code: str, message: str, status: int) -> Any:
    def factory(service: str) -> Any:
        client = boto3.client(service, region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
        stubber = Stubber(client)
        stubber.add_client_error("describe_stacks", code, message, status)
        stubber.activate()
        return client

    return factory


def _check(capsys: pytest.CaptureFixture[str], status: int, expected: int, kind: str, words: str) -> None:
    out, err = capsys.readouterr()
    assert status == expected
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sesmail doctor: error: ") and words in lines[0], err
    assert "Traceback" not in err
    error = json.loads(out)["error"]
    assert error["kind"] == kind and error["exitStatus"] == expected and words in error["message"]


@pytest.fixture()
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_credentials")
def test_no_credentials(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = _run(app_dir, None, as_json=True)
    _check(capsys, status, 3, "credentials", "no AWS credentials found")


def test_no_credentials_text_mode_prints_the_line_only(
    app_dir: Path, capsys: pytest.CaptureFixture[str], no_credentials: None
) -> None:
    assert _run(app_dir, None, as_json=False) == 3
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "AWS_PROFILE" in err


def test_expired_credentials(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    factory = _stubbed("ExpiredToken", "The security token included in the request is expired", 403)
    _check(capsys, _run(app_dir, factory, as_json=True), 3, "credentials", "ExpiredToken")


def test_access_denied_on_a_read(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudformation:DescribeStacks"
    factory = _stubbed("AccessDenied", message, 403)
    _check(capsys, _run(app_dir, factory, as_json=True), 4, "access-denied", "cloudformation:DescribeStacks")


def test_region_without_the_service(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def factory(service: str) -> Any:
        return boto3.client(
            service, region_name="xx-nowhere-1", aws_access_key_id="a", aws_secret_access_key="b", config=NO_RETRY
        )

    _check(capsys, _run(app_dir, factory, as_json=True), 5, "unreachable", "xx-nowhere-1")


@pytest.fixture()
def silent_endpoint() -> Iterator[str]:
    """A TCP endpoint that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_endpoint_that_times_out(app_dir: Path, capsys: pytest.CaptureFixture[str], silent_endpoint: str) -> None:
    def factory(service: str) -> Any:
        return boto3.client(
            service,
            region_name="eu-west-1",
            endpoint_url=silent_endpoint,
            aws_access_key_id="a",
            aws_secret_access_key="b",
            config=NO_RETRY,
        )

    _check(capsys, _run(app_dir, factory, as_json=True), 5, "unreachable", "did not answer in time")


@pytest.mark.usefixtures("no_credentials")
def test_forward_deferred_without_credentials_is_one_line(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``sesmail forward-deferred`` maps AWS's failures as the doctor does: botocore's ``NoCredentialsError``
    ("Unable to locate credentials") is one line and exit status 3, not a traceback."""
    from sesmail.doctor import deferred

    args = argparse.Namespace(environment="example", app_dir=app_dir, dry_run=True)
    assert deferred.run(args) == 3
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("sesmail forward-deferred: error: no AWS credentials found") and "AWS_PROFILE" in err
