"""The example environment's send path: the sender may send only as register@, over SES v2, via the set."""

from __future__ import annotations

from aws_cdk import assertions


def test_example_sender_policy_exact(example_template: assertions.Template) -> None:
    policies = example_template.find_resources("AWS::IAM::Policy")
    sends = [
        statement
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ses:SendEmail" in statement["Action"]
    ]
    assert sends == [
        {
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Condition": {"StringEquals": {"ses:ApiVersion": "2", "ses:FromAddress": ["register@example.com"]}},
            "Effect": "Allow",
            "Resource": [
                "arn:aws:ses:us-east-1:123456789012:configuration-set/sesmail-example",
                "arn:aws:ses:us-east-1:123456789012:identity/example.com",
            ],
        }
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
                    "FROM_ADDRESS": "register@example.com",
                    "TEMPLATE_NAME": "sesmail-signup-verification",
                    "CONFIGURATION_SET_NAME": assertions.Match.any_value(),
                }
            }
        },
    )
