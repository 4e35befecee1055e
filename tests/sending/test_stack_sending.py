"""The example environment's send path: the sender may send its template only as register@, over SES v2, via the
configuration set; checked as statements and as requests under the project's ``sesmail check`` engine."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from sesmail.policy.cli import main

IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/example.org"
CONFIGURATION_SET = "arn:aws:ses:eu-west-1:123456789012:configuration-set/sesmail-example"
TEMPLATE = "arn:aws:ses:eu-west-1:123456789012:template/sesmail-example-signup"


def _sends(template: assertions.Template) -> list[dict]:
    """The example sender's send statements (the forwarder and SMTP user, which also send as register@, aside)."""
    return [
        statement
        for logical_id, policy in template.find_resources("AWS::IAM::Policy").items()
        if logical_id.startswith("ExampleSender")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ses:SendEmail" in statement["Action"] or "ses:SendRawEmail" in statement["Action"]
        if "ses:FromAddress" in str(statement.get("Condition")) and "register@" in str(statement.get("Condition"))
    ]


def test_example_sender_policy_exact(example_template: assertions.Template) -> None:
    condition = {"StringEquals": {"ses:ApiVersion": "2", "ses:FromAddress": ["register@example.org"]}}
    assert _sends(example_template) == [
        {
            "Action": "ses:SendRawEmail",
            "Condition": condition,
            "Effect": "Allow",
            "Resource": [CONFIGURATION_SET, IDENTITY],
        },
        {
            "Action": "ses:SendEmail",
            "Condition": condition,
            "Effect": "Allow",
            "Resource": [CONFIGURATION_SET, IDENTITY, TEMPLATE],
        },
    ]


def test_identity_default_configuration_set(example_template: assertions.Template) -> None:
    example_template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {"ConfigurationSetAttributes": {"ConfigurationSetName": assertions.Match.any_value()}},
    )
    example_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": {
                    "FROM_ADDRESS": "register@example.org",
                    "TEMPLATE_NAME": "sesmail-example-signup",
                    "CONFIGURATION_SET_NAME": assertions.Match.any_value(),
                }
            }
        },
    )


@pytest.fixture(scope="module")
def assembly(project_app: cdk.App) -> tuple[str, str]:
    """The example stack's template in the app's cloud assembly, and the example sender role's logical id."""
    stack = project_app.node.find_child("sesmail-example")
    role = stack.node.find_child("ExampleSender").node.find_child("Role")
    path = f"{project_app.synth().directory}/sesmail-example.template.json"
    return path, cdk.Stack.of(role).get_logical_id(role.node.default_child)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("resource", "from_address", "api_version", "allowed"),
    [
        (IDENTITY, "register@example.org", "2", True),
        (CONFIGURATION_SET, "register@example.org", "2", True),
        (TEMPLATE, "register@example.org", "2", True),
        (TEMPLATE.replace("sesmail-example-signup", "someone-elses"), "register@example.org", "2", False),
        (TEMPLATE, "support@example.org", "2", False),
        (IDENTITY, "register@example.org", "1", False),
    ],
)
def test_templated_send_is_authorized_on_identity_set_and_template(
    assembly: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
    resource: str,
    from_address: str,
    api_version: str,
    allowed: bool,
) -> None:
    """Service Authorization Reference (SES v2): SendEmail's resource types are ``identity``, ``configuration-set``
    and ``template``; a templated SendEmail through the set must be allowed on each of the three (the shipped
    example's grant once lacked the template ARN, so SES would have denied every send)."""
    path, role = assembly
    argv = ["check", path, "--principal", f"logical:{role}", "--action", "ses:SendEmail", "--resource", resource]
    argv += ["--context", f"ses:FromAddress={from_address}", "--context", f"ses:ApiVersion={api_version}"]
    code = main(argv)
    out = capsys.readouterr().out
    assert (code == 0) is allowed, out
