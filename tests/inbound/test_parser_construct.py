"""InboundParser construct: function settings, S3 notification filter, the role's exact least-privilege policy, and
cdk-nag (AwsSolutions) on a small stack with the project's MailBucket."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
import pytest
from aws_cdk import assertions
from cdk_nag import AwsSolutionsChecks

from sesmail.inbound import InboundParser
from sesmail.receiving import MailBucket
from tests.conftest import cdk_json_context
from tests.inbound._statements import failure_queue_statement

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _app() -> cdk.App:
    """An app with the project's feature flags (cdk.json), which MailBucket's access logging needs."""
    return cdk.App(context={key: value for key, value in cdk_json_context().items() if key != "environments"})


def _role_statements(stack: cdk.Stack, template: assertions.Template, parser: InboundParser) -> list[Any]:
    role_id = stack.get_logical_id(parser.role.node.default_child)  # type: ignore[arg-type]
    (policy,) = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}).values()
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


@pytest.fixture(scope="module")
def mail_stack() -> tuple[cdk.Stack, MailBucket, InboundParser, assertions.Template]:
    stack = cdk.Stack(_app(), "T", env=ENV)
    mail = MailBucket(stack, "Mail")
    parser = InboundParser(stack, "Parser", bucket=mail.bucket, prefix="inbound/")
    return stack, mail, parser, assertions.Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(mail_stack: tuple[cdk.Stack, MailBucket, InboundParser, assertions.Template]) -> assertions.Template:
    return mail_stack[3]


def test_function_retries_transient_errors_and_limits(template: assertions.Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "MemorySize": 1024,
            "Environment": {"Variables": assertions.Match.object_like({"MAX_MESSAGE_BYTES": "52428800"})},
        },
    )
    # It raises only when it cannot write its record (transient): retried, see tests/inbound/test_failures.py.
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600}
    )


def _notifications(template: assertions.Template) -> list[dict[str, Any]]:
    (resource,) = template.find_resources("Custom::S3BucketNotifications").values()
    return list(resource["Properties"]["NotificationConfiguration"].get("LambdaFunctionConfigurations", []))


def _filter_prefixes(configs: list[dict[str, Any]]) -> list[str]:
    return sorted(
        rule["Value"]
        for config in configs
        for rule in config["Filter"]["Key"]["FilterRules"]
        if rule["Name"] == "prefix"
    )


def test_notification_filtered_by_prefix(template: assertions.Template) -> None:
    (config,) = _notifications(template)
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert _filter_prefixes([config]) == ["inbound/"]


def test_notifications_cover_the_mail_prefixes_and_never_the_parsers_output() -> None:
    """One notification per mail prefix, none overlapping: S3 says "Overlapping prefixes and suffixes are not
    supported" (FilterRule, https://docs.aws.amazon.com/AmazonS3/latest/API/API_FilterRule.html) and "The same type
    of filter rule cannot be used more than once" (S3KeyFilter,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-s3keyfilter.html).
    The outputs go under ``parsed/``, which no filter matches, so writing them invokes nothing."""
    stack = cdk.Stack(_app(), "T", env=ENV)
    mail = MailBucket(stack, "Mail")
    prefixes = ["info/", "support/", "example.co.jp/info/", "support/", "info/archive/"]
    parser = InboundParser(stack, "Parser", bucket=mail.bucket, mail_prefixes=prefixes)
    filters = _filter_prefixes(_notifications(assertions.Template.from_stack(stack)))
    assert filters == parser.mail_prefixes == ["example.co.jp/info/", "info/", "support/"]
    outputs = [f"parsed/{p}0123abcd{suffix}" for p in filters for suffix in (".json", ".attachments/a.pdf")]
    assert not any(output.startswith(p) for output in outputs for p in filters)
    stored = [f"{p}0123abcd" for p in prefixes]
    assert all(any(key.startswith(p) for p in filters) for key in stored)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mail_prefixes": ["parsed/"]}, "output_prefix: 'parsed/' overlaps the mail prefix 'parsed/'; choose another"),
        ({"mail_prefixes": ["p"]}, "output_prefix: 'parsed/' overlaps the mail prefix 'p'; choose another"),
        ({"mail_prefixes": []}, "mail_prefixes: [] must name at least one prefix"),
        (
            {"mail_prefixes": ["/info/"]},
            "mail_prefixes: '/info/' must be at most 1024 characters and not start with '/'",
        ),
    ],
)
def test_bad_prefixes_are_one_line(kwargs: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(_app(), "T", env=ENV)
    with pytest.raises(ValueError) as error:
        InboundParser(stack, "Parser", bucket=s3.Bucket.from_bucket_name(stack, "Mail", "mail-bucket"), **kwargs)
    assert str(error.value) == message


def test_handler_skips_what_is_under_the_output_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import load_handler

    monkeypatch.setenv("OUTPUT_PREFIX", "parsed/")
    index = load_handler("inbound_parser")
    assert index.is_derived("parsed/info/abc")
    assert index.is_derived("info/abc.forward.json"), "another function's record beside the message"
    assert not index.is_derived("info/abc")
    assert index.output_key("info/abc", ".json") == "parsed/info/abc.json"


def test_role_policy_is_exactly_what_the_handler_calls(
    mail_stack: tuple[cdk.Stack, MailBucket, InboundParser, assertions.Template],
) -> None:
    stack, mail, parser, template = mail_stack
    bucket_arn = {"Fn::GetAtt": [stack.get_logical_id(mail.bucket.node.default_child), "Arn"]}  # type: ignore[arg-type]
    key_arn = {"Fn::GetAtt": [stack.get_logical_id(mail.key.node.default_child), "Arn"]}  # type: ignore[arg-type]
    logs_arn = {"Fn::GetAtt": [stack.get_logical_id(parser.node.find_child("Logs").node.default_child), "Arn"]}  # type: ignore[arg-type]

    def objects(pattern: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [bucket_arn, f"/{pattern}"]]}

    assert _role_statements(stack, template, parser) == [
        {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow", "Resource": logs_arn},
        failure_queue_statement(stack),
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": objects("inbound/*")},
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": [objects("parsed/inbound/*.attachments/*"), objects("parsed/inbound/*.json")],
        },
        {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow", "Resource": key_arn},
    ]


def test_own_role_without_managed_policies(
    mail_stack: tuple[cdk.Stack, MailBucket, InboundParser, assertions.Template],
) -> None:
    stack, _, parser, template = mail_stack
    role_id = stack.get_logical_id(parser.role.node.default_child)  # type: ignore[arg-type]
    role = template.to_json()["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    template.has_resource_properties("AWS::Lambda::Function", {"Role": {"Fn::GetAtt": [role_id, "Arn"]}})
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})


def test_unencrypted_bucket_gets_no_kms_statement() -> None:
    stack = cdk.Stack(_app(), "T", env=ENV)
    parser = InboundParser(stack, "Parser", bucket=s3.Bucket(stack, "Plain", enforce_ssl=True))
    statements = _role_statements(stack, assertions.Template.from_stack(stack), parser)
    assert not any("kms:" in json.dumps(statement["Action"]) for statement in statements)


def test_cdk_nag_passes_with_mail_bucket() -> None:
    app = _app()
    stack = cdk.Stack(app, "T", env=ENV)
    mail = MailBucket(stack, "Mail")
    InboundParser(stack, "Parser", bucket=mail.bucket)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # Any unacknowledged AwsSolutions finding makes synth raise.
    assert [artifact.stack_name for artifact in app.synth().stacks] == ["T"]


def test_cdk_nag_acknowledges_only_the_object_wildcards() -> None:
    # A bare role with the same object grant is a finding under exactly the id the parser acknowledges.
    import aws_cdk.aws_iam as iam

    app = _app()
    stack = cdk.Stack(app, "T", env=ENV)
    mail = MailBucket(stack, "Mail")
    role = iam.Role(stack, "Bare", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[mail.bucket.arn_for_objects("x/*")])
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    bucket_id = stack.get_logical_id(mail.bucket.node.default_child)  # type: ignore[arg-type]
    with pytest.raises(Exception, match=rf"AwsSolutions-IAM5\[Resource::<{bucket_id}\.Arn>/x/\*\]"):
        app.synth()


@pytest.mark.parametrize(("prop", "value"), [("memory_size", 64), ("max_message_bytes", 0)])
def test_invalid_props(prop: str, value: int) -> None:
    stack = cdk.Stack(_app(), "T")
    with pytest.raises(ValueError, match=prop):
        InboundParser(stack, "P", bucket=s3.Bucket(stack, "B"), **{prop: value})  # type: ignore[arg-type]


def test_ses_action_path_works_with_the_environment_the_construct_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler reads an SES Lambda action's message from BUCKET_NAME at OBJECT_PREFIX + message id; run it with
    exactly the variables the synthesized function gets. AWS: "For example, if you use Email as your Object Key
    Prefix, your emails will appear in your Amazon S3 bucket in a folder named Email."
    (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-s3.html); the event carries the message id
    (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-lambda.html)."""
    import boto3
    from moto import mock_aws

    from tests.conftest import load_handler

    stack = cdk.Stack(_app(), "T", env=ENV)
    InboundParser(stack, "Parser", bucket=s3.Bucket.from_bucket_name(stack, "Mail", "mail-bucket"), prefix="in/")
    functions = assertions.Template.from_stack(stack).find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "index.handler", "Runtime": "python3.14"}}
    )
    (function,) = functions.values()
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables == {
        "MAX_MESSAGE_BYTES": "52428800",
        "BUCKET_NAME": "mail-bucket",
        "OBJECT_PREFIX": "in/",
        "OUTPUT_PREFIX": "parsed/",
    }
    for name in ("BUCKET_NAME", "OBJECT_PREFIX", "OUTPUT_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    index = load_handler("inbound_parser")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="mail-bucket")
        client.put_object(Bucket="mail-bucket", Key="in/abc123", Body=b"Subject: via SES\r\n\r\nhello\r\n")
        receipt = {"recipients": ["info@example.com"], "action": {"type": "Lambda", "functionArn": "arn"}}
        event = {"Records": [{"ses": {"mail": {"messageId": "abc123", "source": "a@example.org"}, "receipt": receipt}}]}
        assert index.handler(event)["results"] == [{"key": "parsed/in/abc123.json", "status": "parsed", "errors": 0}]
        doc = json.loads(client.get_object(Bucket="mail-bucket", Key="parsed/in/abc123.json")["Body"].read())
    assert doc["subject"] == "via SES" and doc["envelope"]["recipients"] == ["info@example.com"]


def test_role_policy_does_not_grow_with_the_mail_prefixes() -> None:
    """200 mailbox prefixes give the same two object patterns as one: their common path.

    IAM User Guide, "IAM and AWS STS quotas" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
    "Role policy size cannot exceed 10,240 characters" (inline policies, aggregate). One pattern per prefix and
    output suffix would pass that at about 200 mailboxes.
    """
    stack = cdk.Stack(_app(), "Many", env=ENV)
    mail = MailBucket(stack, "Mail")
    prefixes = [f"box{i}/" for i in range(200)]
    parser = InboundParser(stack, "Parser", bucket=mail.bucket, mail_prefixes=prefixes)
    template = assertions.Template.from_stack(stack)
    statements = {json.dumps(s["Action"]): s["Resource"] for s in _role_statements(stack, template, parser)}
    bucket_arn = {"Fn::GetAtt": [stack.get_logical_id(mail.bucket.node.default_child), "Arn"]}  # type: ignore[arg-type]
    assert statements['"s3:GetObject"'] == {"Fn::Join": ["", [bucket_arn, "/*"]]}
    assert statements['"s3:PutObject"'] == [
        {"Fn::Join": ["", [bucket_arn, "/parsed/*.attachments/*"]]},
        {"Fn::Join": ["", [bucket_arn, "/parsed/*.json"]]},
    ]
    assert len(parser.mail_prefixes) == 200


def test_overlapping_notifications_of_two_constructs_on_one_bucket_are_refused_at_synth() -> None:
    """S3 API reference, FilterRule (https://docs.aws.amazon.com/AmazonS3/latest/API/API_FilterRule.html):
    "Overlapping prefixes and suffixes are not supported" for one event type: the bucket's notification
    configuration would be refused at deploy, so a second sesmail function notified of an overlapping prefix is
    refused at synth, naming the first."""
    from sesmail.inbound import MailForwarder

    stack = cdk.Stack(_app(), "Overlap", env=ENV)
    mail = MailBucket(stack, "Mail")
    InboundParser(stack, "Parser", bucket=mail.bucket, mail_prefixes=["inbound/"])
    identity = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"
    with pytest.raises(ValueError) as raised:
        MailForwarder(
            stack, "Fwd", bucket=mail.bucket, identity_arn=identity, mailboxes=["info@example.com"],
            forward_to=["staff@corp.example"], prefix="inbound/info/",
        )  # fmt: skip
    assert str(raised.value) == (
        "prefix: 'inbound/info/' overlaps 'inbound/', which Overlap/Parser is already notified of on this bucket; "
        "S3 refuses overlapping ObjectCreated filters (give them disjoint prefixes)"
    )
    MailForwarder(
        stack, "Fwd2", bucket=mail.bucket, identity_arn=identity, mailboxes=["info@example.com"],
        forward_to=["staff@corp.example"], prefix="other/",
    )  # fmt: skip
