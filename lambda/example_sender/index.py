"""Example sender: sends the sign-up verification template through the configuration set (SES v2 SendEmail).

Event: ``{"to": "user@example.org", "templateData": {"name": "...", "verification_url": "..."}}``.
Environment: ``FROM_ADDRESS`` (register@<domain>), ``TEMPLATE_NAME``, ``CONFIGURATION_SET_NAME``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3


def build_request(event: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
    """The ``sesv2.send_email`` arguments for one verification mail; raises ``ValueError`` on a bad event."""
    to = event.get("to")
    if not isinstance(to, str) or "@" not in to:
        raise ValueError(f"to: {to!r} is not an e-mail address")
    data = event.get("templateData", {})
    if not isinstance(data, dict):
        raise ValueError(f"templateData: {data!r} is not an object")
    return {
        "FromEmailAddress": environment["FROM_ADDRESS"],
        "Destination": {"ToAddresses": [to]},
        "Content": {
            "Template": {"TemplateName": environment["TEMPLATE_NAME"], "TemplateData": json.dumps(data, sort_keys=True)}
        },
        "ConfigurationSetName": environment["CONFIGURATION_SET_NAME"],
    }


def handler(event: dict[str, Any], _context: object = None, client: Any = None) -> dict[str, str]:
    """Lambda entry point: send and return the SES message id."""
    request = build_request(event, dict(os.environ))
    response = (client or boto3.client("sesv2")).send_email(**request)
    return {"MessageId": response["MessageId"]}
