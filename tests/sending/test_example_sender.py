"""The example sender builds a SES v2 SendEmail request (template, configuration set) that the API model accepts."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from tests.conftest import load_handler

sender = load_handler("example_sender")
ENVIRONMENT = {
    "FROM_ADDRESS": "register@example.com",
    "TEMPLATE_NAME": "signup-verification",
    "CONFIGURATION_SET_NAME": "example",
}
EVENT = {"to": "new.user@example.org", "templateData": {"name": "Ada", "verification_url": "https://example.com/v/1"}}


def test_build_request_exact() -> None:
    assert sender.build_request(EVENT, ENVIRONMENT) == {
        "FromEmailAddress": "register@example.com",
        "Destination": {"ToAddresses": ["new.user@example.org"]},
        "Content": {
            "Template": {
                "TemplateName": "signup-verification",
                "TemplateData": '{"name": "Ada", "verification_url": "https://example.com/v/1"}',
            }
        },
        "ConfigurationSetName": "example",
    }


@pytest.mark.parametrize(
    ("event", "message"),
    [({"to": "nobody"}, "to: 'nobody' is not"), ({"to": "a@b.c", "templateData": []}, "templateData: \\[\\] is not")],
)
def test_bad_event(event: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sender.build_request(event, ENVIRONMENT)


def test_send_request_matches_the_sesv2_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's SES v2 SendEmail does not implement Template content yet, so the Stubber checks the request against
    # botocore's SES v2 model (and the handler's use of the response) instead.
    for key, value in ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("sesv2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_response("send_email", {"MessageId": "0100-abc"}, sender.build_request(EVENT, ENVIRONMENT))
        assert sender.handler(EVENT, None, client) == {"MessageId": "0100-abc"}
        stubber.assert_no_pending_responses()


def test_malformed_request_is_rejected_by_the_model() -> None:
    client = boto3.client("sesv2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    bad = {**sender.build_request(EVENT, ENVIRONMENT), "Destination": {"ToAddresses": "new.user@example.org"}}
    with Stubber(client) as stubber, pytest.raises(ParamValidationError, match="ToAddresses"):
        stubber.add_response("send_email", {"MessageId": "unused"})
        client.send_email(**bad)
