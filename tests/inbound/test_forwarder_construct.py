"""MailForwarder construct: the role's exact least-privilege policy in both trigger modes, environment, validation,
and cdk-nag (AwsSolutions) on a small stack with the project's MailBucket."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
import pytest
from aws_cdk import assertions
from cdk_nag import AwsSolutionsChecks

from sesmail.inbound import MailForwarder
from sesmail.inbound.forwarder import DEFAULT_VERDICT_POLICY, VERDICT_ACTIONS, VERDICT_CHECKS
from sesmail.receiving import LambdaAction, MailBucket
from tests.conftest import cdk_json_context, load_handler
from tests.inbound._statements import failure_queue_statement

IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"
CONFIGURATION_SET = "arn:aws:ses:eu-west-1:123456789012:configuration-set/sesmail-prod"
ENV = cdk.Environment(account="123456789012", region="eu-west-1")
MAILBOXES = ["info@example.com", "support@example.com"]
PREFIXES = {"info@example.com": "info/", "support@example.com": "support/"}


def _app() -> cdk.App:
    """An app with the project's feature flags (cdk.json), which MailBucket's access logging needs."""
    return cdk.App(context={key: value for key, value in cdk_json_context().items() if key != "environments"})


def _stack(app: cdk.App | None = None) -> tuple[cdk.Stack, MailBucket]:
    stack = cdk.Stack(app or _app(), "T", env=ENV)
    return stack, MailBucket(stack, "Mail")


def _forwarder(stack: cdk.Stack, bucket: s3.IBucket, **props: Any) -> MailForwarder:
    defaults: dict[str, Any] = {"identity_arn": IDENTITY, "mailboxes": MAILBOXES, "forward_to": ["s@corp.example"]}
    return MailForwarder(stack, "Fwd", bucket=bucket, **{**defaults, **props})


def _role_statements(stack: cdk.Stack, template: assertions.Template, forwarder: MailForwarder) -> list[Any]:
    role_id = stack.get_logical_id(forwarder.role.node.default_child)  # type: ignore[arg-type]
    (policy,) = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}).values()
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _expected(stack: cdk.Stack, mail: MailBucket, forwarder: MailForwarder, read: list[str]) -> list[Any]:
    bucket_arn = {"Fn::GetAtt": [stack.get_logical_id(mail.bucket.node.default_child), "Arn"]}  # type: ignore[arg-type]
    key_arn = {"Fn::GetAtt": [stack.get_logical_id(mail.key.node.default_child), "Arn"]}  # type: ignore[arg-type]
    logs = forwarder.node.find_child("Logs").node.default_child
    objects = [{"Fn::Join": ["", [bucket_arn, f"/{pattern}"]]} for pattern in read]
    records = [{"Fn::Join": ["", [bucket_arn, f"/{pattern}.forward.json"]]} for pattern in read]
    return [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [stack.get_logical_id(logs), "Arn"]},  # type: ignore[arg-type]
        },
        failure_queue_statement(stack),
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": objects[0] if len(objects) == 1 else objects},
        {"Action": "s3:PutObject", "Effect": "Allow", "Resource": records[0] if len(records) == 1 else records},
        # The hourly cap's counter objects (default 100 an hour), read and written with conditional writes.
        {
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [bucket_arn, "/.sesmail/forward-cap/*"]]},
        },
        {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow", "Resource": key_arn},
        {
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Condition": {"StringEquals": {"ses:FromAddress": MAILBOXES}},
            "Effect": "Allow",
            "Resource": IDENTITY,
        },
    ]


def test_notification_mode_policy_and_environment() -> None:
    stack, mail = _stack()
    forwarder = _forwarder(stack, mail.bucket, prefix="inbound/")
    template = assertions.Template.from_stack(stack)
    assert _role_statements(stack, template, forwarder) == _expected(stack, mail, forwarder, ["inbound/*"])
    function = template.to_json()["Resources"][stack.get_logical_id(forwarder.function.node.default_child)]  # type: ignore[arg-type]
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["FORWARD_TO"] == "s@corp.example" and variables["MAILBOXES"] == ",".join(MAILBOXES)
    assert json.loads(variables["VERDICT_POLICY"]) == DEFAULT_VERDICT_POLICY
    # A claim is stale once older than the function may run: its timeout (120 s) plus a margin.
    assert variables["CLAIM_STALE_SECONDS"] == "150" and function["Properties"]["Timeout"] == 120
    config = json.dumps(template.find_resources("Custom::S3BucketNotifications"))
    assert "inbound/" in config and "s3:ObjectCreated:*" in config


def test_key_prefixes_mode_reads_the_prefixes_common_path_without_notification() -> None:
    """One object pattern for all mailbox prefixes (their common path; here none, so the bucket): the role's policy
    stays the same size however many mailboxes there are. IAM User Guide, "IAM and AWS STS quotas"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): "Role policy size cannot exceed
    10,240 characters"; two patterns per mailbox passed it at about 52 mailboxes."""
    stack, mail = _stack()
    forwarder = _forwarder(stack, mail.bucket, key_prefixes=PREFIXES)
    template = assertions.Template.from_stack(stack)
    assert _role_statements(stack, template, forwarder) == _expected(stack, mail, forwarder, ["*"])
    template.resource_count_is("Custom::S3BucketNotifications", 0)
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["MAIL_BUCKET"] == {"Ref": stack.get_logical_id(mail.bucket.node.default_child)}  # type: ignore[arg-type]
    assert json.loads(variables["KEY_PREFIXES"]) == PREFIXES
    action = forwarder.receipt_action()
    assert isinstance(action, LambdaAction)
    assert action.function is forwarder.function and action.invocation_type == "Event"


def test_configuration_set_is_a_second_send_resource() -> None:
    stack, mail = _stack()
    forwarder = _forwarder(stack, mail.bucket, key_prefixes=PREFIXES, configuration_set_arn=CONFIGURATION_SET)
    statements = _role_statements(stack, assertions.Template.from_stack(stack), forwarder)
    (send,) = [s for s in statements if s["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]]
    assert sorted(send["Resource"]) == sorted([IDENTITY, CONFIGURATION_SET])


def test_own_role_without_managed_policies() -> None:
    stack, mail = _stack()
    forwarder = _forwarder(stack, mail.bucket, key_prefixes=PREFIXES)
    template = assertions.Template.from_stack(stack)
    role_id = stack.get_logical_id(forwarder.role.node.default_child)  # type: ignore[arg-type]
    assert "ManagedPolicyArns" not in template.to_json()["Resources"][role_id]["Properties"]
    template.has_resource_properties("AWS::Lambda::Function", {"Role": {"Fn::GetAtt": [role_id, "Arn"]}})


@pytest.mark.parametrize("mode", [{"key_prefixes": PREFIXES}, {}])
def test_cdk_nag_passes_with_mail_bucket(mode: dict[str, Any]) -> None:
    app = _app()
    stack, mail = _stack(app)
    _forwarder(stack, mail.bucket, **mode)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # Any unacknowledged AwsSolutions finding makes synth raise; the notification mode adds aws-cdk-lib's handler.
    assert [artifact.stack_name for artifact in app.synth().stacks] == ["T"]


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("forward_to", []),
        ("mailboxes", ["nope"]),
        ("key_prefixes", {}),
        ("configuration_set_arn", "arn:aws:ses:eu-west-1:123456789012:identity/example.com"),
        ("verdict_policy", {"virus": "forward"}),
        ("verdict_policy", {"phishing": "skip"}),
    ],
)
def test_invalid_props(prop: str, value: Any) -> None:
    stack = cdk.Stack(cdk.App(), "T", env=ENV)
    with pytest.raises(ValueError, match=prop):
        _forwarder(stack, s3.Bucket(stack, "B"), **{prop: value})


def test_configuration_set_arn_token_is_accepted() -> None:
    stack, mail = _stack()
    name = cdk.CfnParameter(stack, "ConfigurationSetName").value_as_string
    arn = stack.format_arn(
        service="ses", resource="configuration-set", resource_name=name, arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME
    )
    forwarder = _forwarder(stack, mail.bucket, key_prefixes=PREFIXES, configuration_set_arn=arn)
    statements = _role_statements(stack, assertions.Template.from_stack(stack), forwarder)
    (send,) = [s for s in statements if s["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]]
    assert len(send["Resource"]) == 2 and IDENTITY in send["Resource"]


def test_verdict_policy_reaches_the_function_and_matches_the_handlers_table() -> None:
    stack, mail = _stack()
    _forwarder(stack, mail.bucket, key_prefixes=PREFIXES, verdict_policy={"spam": "tag", "virus": "skip"})
    (function,) = assertions.Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    policy = json.loads(function["Properties"]["Environment"]["Variables"]["VERDICT_POLICY"])
    assert policy == {**DEFAULT_VERDICT_POLICY, "spam": "tag", "virus": "skip"}
    handler = load_handler("mail_forwarder", "fwd_verdicts")
    assert (handler.ACTIONS, handler.CHECKS, handler.DEFAULT_POLICY) == (
        VERDICT_ACTIONS,
        VERDICT_CHECKS,
        DEFAULT_VERDICT_POLICY,
    )
    assert handler.load_policy(json.dumps(policy)) == policy


def test_retries_are_on_now_that_a_repeat_is_a_no_op() -> None:
    stack, mail = _stack()
    _forwarder(stack, mail.bucket, key_prefixes=PREFIXES)
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 2}
    )


def test_prefixes_under_one_domain_folder_are_read_under_that_folder_only() -> None:
    stack, mail = _stack()
    prefixes = {f"box{i}@example.net": f"example.net/box{i}/" for i in range(30)}
    forwarder = _forwarder(stack, mail.bucket, mailboxes=list(prefixes), key_prefixes=prefixes)
    statements = _role_statements(stack, assertions.Template.from_stack(stack), forwarder)
    bucket_arn = {"Fn::GetAtt": [stack.get_logical_id(mail.bucket.node.default_child), "Arn"]}  # type: ignore[arg-type]
    resources = {s["Action"]: s["Resource"] for s in statements if s["Action"] in ("s3:GetObject", "s3:PutObject")}
    assert resources == {
        "s3:GetObject": {"Fn::Join": ["", [bucket_arn, "/example.net/*"]]},
        "s3:PutObject": {"Fn::Join": ["", [bucket_arn, "/example.net/*.forward.json"]]},
    }
