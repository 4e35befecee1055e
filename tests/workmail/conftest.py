"""Stubbed WorkMail and CloudFormation clients (botocore's Stubber) and a clean AWS environment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from sesmail.policy.cli import build_parser


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No credentials, profile or endpoint from the machine running the tests."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_WORKMAIL",
        "AWS_ENDPOINT_URL_CLOUDFORMATION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


class Stubbed:
    """One stubbed client per service, handed out by :meth:`factory` as the commands' client factory does."""

    def __init__(self) -> None:
        session = botocore.session.get_session()
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        for service in ("workmail", "cloudformation"):
            client = session.create_client(
                service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
            )
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        self.asked: list[tuple[str, str]] = []

    def factory(self, service: str, region: str) -> Any:
        self.asked.append((service, region))
        return self.clients[service]

    @property
    def workmail(self) -> Stubber:
        return self.stubbers["workmail"]

    @property
    def cloudformation(self) -> Stubber:
        return self.stubbers["cloudformation"]


@pytest.fixture()
def stubbed(clean_env: None) -> Iterator[Stubbed]:
    """Stubbed clients; the test fails if a stubbed response was not asked for."""
    stubs = Stubbed()
    yield stubs
    for stubber in stubs.stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def parse(*argv: str) -> Any:
    """The ``sesmail`` command line ``argv`` parsed as the console script parses it."""
    return build_parser(with_check=False).parse_args(list(argv))
