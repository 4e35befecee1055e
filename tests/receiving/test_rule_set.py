"""ReceiptRuleSet / ReceiptRule / the seven actions: rendered properties, SES grants scoped to the rule, order."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sns as sns
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from sesmail.receiving import (
    AddHeaderAction,
    BounceAction,
    LambdaAction,
    ReceiptRuleSet,
    S3Action,
    SnsAction,
    StopAction,
    WorkMailAction,
)
from tests.conftest import cdk_json_context

ACCOUNT = "123456789012"
ORG_ARN = f"arn:aws:workmail:us-east-1:{ACCOUNT}:organization/m-0123456789abcdef0123456789abcdef"
RULE_ARN = f"arn:aws:ses:us-east-1:{ACCOUNT}:receipt-rule-set/inbound:receipt-rule/%s"


def new_stack(region: str = "us-east-1") -> cdk.Stack:
    """A stack with the project's feature flags (cdk.json), so ARNs resolve as they do in the app."""
    flags = {key: value for key, value in cdk_json_context().items() if key != "environments"}
    return cdk.Stack(cdk.App(context=flags), "Test", env=cdk.Environment(account=ACCOUNT, region=region))


def ses_conditions(rule: str, **extra: Any) -> dict[str, Any]:
    conditions: dict[str, Any] = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": RULE_ARN % rule},
    }
    for operator, keys in extra.items():
        conditions.setdefault(operator, {}).update(keys)
    return conditions


class Fixture:
    """One stack with every action, owned resources, and two imported ones; synthesized once for this module."""

    def __init__(self) -> None:
        self.stack = stack = new_stack()
        self.bucket = s3.Bucket(stack, "Bucket", encryption_key=kms.Key(stack, "BucketKey"), enforce_ssl=True)
        self.message_key = kms.Key(stack, "MessageKey")
        self.topic = sns.Topic(stack, "Topic", master_key=kms.Key(stack, "TopicKey"))
        self.function = lambda_.Function(
            stack,
            "Fn",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context): return None"),
        )
        rule_set = ReceiptRuleSet(stack, "RuleSet", rule_set_name="inbound", activate=False)
        rule_set.add_rule(
            "first",
            recipients=["info@example.com", "example.org", ".example.net"],
            actions=[
                AddHeaderAction(header_name="X-Sesmail", header_value="yes"),
                S3Action(bucket=self.bucket, object_key_prefix="info/", kms_key=self.message_key, topic=self.topic),
                LambdaAction(function=self.function, invocation_type="RequestResponse"),
                SnsAction(topic=self.topic, encoding="Base64"),
                WorkMailAction(organization_arn=ORG_ARN),
            ],
        )
        rule_set.add_rule(
            "second.rule",
            recipients=["noreply@example.com"],
            enabled=False,
            scan_enabled=False,
            tls_required=False,
            actions=[
                BounceAction(
                    smtp_reply_code="550",
                    status_code="5.1.1",
                    message="Mailbox does not exist",
                    sender="postmaster@example.com",
                ),
                StopAction(),
            ],
        )
        imported_bucket = s3.Bucket.from_bucket_name(stack, "Theirs", "their-bucket")
        imported_function = lambda_.Function.from_function_arn(
            stack, "TheirFn", "arn:aws:lambda:us-east-1:999999999999:function:theirs"
        )
        rule_set.add_rule(
            "third",
            actions=[S3Action(bucket=imported_bucket), LambdaAction(function=imported_function)],
        )
        self.template = Template.from_stack(stack)
        self.annotations = Annotations.from_stack(stack)

    def rule(self, name: str) -> tuple[str, dict[str, Any]]:
        rules = self.template.find_resources("AWS::SES::ReceiptRule", {"Properties": {"Rule": {"Name": name}}})
        assert len(rules) == 1, rules
        logical_id, resource = next(iter(rules.items()))
        return logical_id, dict(resource)

    def logical_id(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)


@pytest.fixture(scope="module")
def built() -> Fixture:
    return Fixture()


def test_rule_properties_and_action_order(built: Fixture) -> None:
    _, first = built.rule("first")
    rule = first["Properties"]["Rule"]
    assert (rule["Enabled"], rule["ScanEnabled"], rule["TlsPolicy"]) == (True, True, "Require")
    assert rule["Recipients"] == ["info@example.com", "example.org", ".example.net"]
    assert [next(iter(action)) for action in rule["Actions"]] == [
        "AddHeaderAction",
        "S3Action",
        "LambdaAction",
        "SNSAction",
        "WorkmailAction",
    ]
    _, second = built.rule("second.rule")
    rule = second["Properties"]["Rule"]
    assert (rule["Enabled"], rule["ScanEnabled"], rule["TlsPolicy"]) == (False, False, "Optional")


def test_every_action_renders_its_settings(built: Fixture) -> None:
    _, first = built.rule("first")
    actions = first["Properties"]["Rule"]["Actions"]
    topic_ref = {"Ref": built.logical_id(built.topic)}
    assert actions[0] == {"AddHeaderAction": {"HeaderName": "X-Sesmail", "HeaderValue": "yes"}}
    assert actions[1] == {
        "S3Action": {
            "BucketName": {"Ref": built.logical_id(built.bucket)},
            "ObjectKeyPrefix": "info/",
            "KmsKeyArn": {"Fn::GetAtt": [built.logical_id(built.message_key), "Arn"]},
            "TopicArn": topic_ref,
        }
    }
    assert actions[2] == {
        "LambdaAction": {
            "FunctionArn": {"Fn::GetAtt": [built.logical_id(built.function), "Arn"]},
            "InvocationType": "RequestResponse",
        }
    }
    assert actions[3] == {"SNSAction": {"TopicArn": topic_ref, "Encoding": "Base64"}}
    assert actions[4] == {"WorkmailAction": {"OrganizationArn": ORG_ARN}}
    _, second = built.rule("second.rule")
    assert second["Properties"]["Rule"]["Actions"] == [
        {
            "BounceAction": {
                "SmtpReplyCode": "550",
                "StatusCode": "5.1.1",
                "Message": "Mailbox does not exist",
                "Sender": "postmaster@example.com",
            }
        },
        {"StopAction": {"Scope": "RuleSet"}},
    ]


def test_rules_are_ordered_and_each_waits_for_the_previous(built: Fixture) -> None:
    first_id, first = built.rule("first")
    second_id, second = built.rule("second.rule")
    _, third = built.rule("third")
    assert "After" not in first["Properties"]
    assert second["Properties"]["After"] == "first"
    assert third["Properties"]["After"] == "second.rule"
    assert first_id in second["DependsOn"] and second_id in third["DependsOn"]
    rule_set_id = next(iter(built.template.find_resources("AWS::SES::ReceiptRuleSet")))
    assert all(rule_set_id in rule["DependsOn"] for rule in (first, second, third))


def test_bucket_policy_allows_ses_put_for_this_rule_only(built: Fixture) -> None:
    bucket_id = built.logical_id(built.bucket)
    built.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "AllowSesPutInboundFirst",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/info/*"]]},
                            "Condition": ses_conditions("first"),
                        }
                    ]
                )
            }
        },
    )


def _key_statements(built: Fixture, key: kms.Key) -> list[dict[str, Any]]:
    resource = built.template.to_json()["Resources"][built.logical_id(key)]
    return resource["Properties"]["KeyPolicy"]["Statement"]


def test_sse_kms_bucket_key_allows_ses_through_s3_only(built: Fixture) -> None:
    assert built.bucket.encryption_key is not None
    statements = _key_statements(built, built.bucket.encryption_key)  # type: ignore[arg-type]
    assert {
        "Sid": "AllowSesSseKmsInboundFirst",
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
        "Condition": ses_conditions("first", StringEquals={"kms:ViaService": "s3.us-east-1.amazonaws.com"}),
    } in statements


def test_message_key_carries_the_ses_encryption_context_conditions(built: Fixture) -> None:
    statements = _key_statements(built, built.message_key)
    assert {
        "Sid": "AllowSesEncryptInboundFirst",
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": ["kms:Encrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": ses_conditions(
            "first",
            StringEquals={
                "kms:EncryptionContext:aws:ses:source-account": ACCOUNT,
                "kms:EncryptionContext:aws:ses:rule-name": "first",
            },
            Null={"kms:EncryptionContext:aws:ses:message-id": "false"},
        ),
    } in statements


def test_lambda_permission_names_account_and_rule(built: Fixture) -> None:
    built.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [built.logical_id(built.function), "Arn"]},
            "Principal": "ses.amazonaws.com",
            "SourceAccount": ACCOUNT,
            "SourceArn": RULE_ARN % "first",
        },
    )


def test_topic_policy_and_topic_key_for_ses(built: Fixture) -> None:
    built.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "AllowSesPublishInboundFirst",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": built.logical_id(built.topic)},
                            "Condition": ses_conditions("first"),
                        }
                    ]
                )
            }
        },
    )
    assert built.topic.master_key is not None
    statements = _key_statements(built, built.topic.master_key)  # type: ignore[arg-type]
    assert any(
        s.get("Sid") == "AllowSesTopicKeyInboundFirst" and s["Condition"] == ses_conditions("first") for s in statements
    )


def test_rule_depends_on_every_policy_it_needs(built: Fixture) -> None:
    _, first = built.rule("first")
    resources = built.template.to_json()["Resources"]
    policy_ids = {
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::Lambda::Permission")
    }
    key_ids = {built.logical_id(k) for k in (built.message_key, built.bucket.encryption_key, built.topic.master_key)}
    assert policy_ids | key_ids <= set(first["DependsOn"])


def test_imported_resources_get_a_warning_naming_the_statement(built: Fixture) -> None:
    built.annotations.has_warning(
        "/Test/RuleSet/Rule-third",
        Match.string_like_regexp(r"imported bucket their-bucket.*s3:PutObject.*aws:SourceArn.*receipt-rule/third"),
    )
    built.annotations.has_warning(
        "/Test/RuleSet/Rule-third",
        Match.string_like_regexp(
            r"function arn:aws:lambda:us-east-1:999999999999:function:theirs.*lambda:InvokeFunction"
        ),
    )
    assert not built.template.find_resources(
        "AWS::Lambda::Permission", {"Properties": {"FunctionName": Match.string_like_regexp("theirs")}}
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda rs: ReceiptRuleSet(rs, "X", rule_set_name="bad name"), r"rule_set_name: 'bad name' is not"),
        (lambda rs: ReceiptRuleSet(rs, "X", rule_set_name="-dash"), r"rule_set_name: '-dash'"),
        (lambda rs: ReceiptRuleSet(rs, "X", rule_set_name="a" * 65), r"rule_set_name: 'a{65}'"),
        (lambda rs: ReceiptRuleSet(rs, "X", rule_set_name="dot.ted"), r"rule_set_name: 'dot.ted'"),
        (lambda rs: _set(rs).add_rule("bad/name", actions=[StopAction()]), r"rule_name: 'bad/name'"),
        (lambda rs: _set(rs).add_rule("ok", actions=[]), r"actions: rule 'ok' has no actions"),
        (lambda rs: _set(rs).add_rule("ok", recipients=["a b@x.com"], actions=[StopAction()]), r"recipients\[0\]"),
        (
            lambda rs: _set(rs).add_rule("ok", recipients=["x.com", "X.com"], actions=[StopAction()]),
            r"recipients\[1\]: 'X.com' is listed twice",
        ),
        (
            lambda rs: _set(rs).add_rule("ok", recipients=[f"u{i}@x.com" for i in range(101)], actions=[StopAction()]),
            r"recipients: 101 recipients; SES allows 100",
        ),
        (lambda rs: _twice(rs), r"rule_name: 'dup' is already a rule of set 'inbound'"),
        (lambda rs: _many(rs), r"rules: SES allows 200 rules per rule set"),
    ],
)
def test_bad_rule_set_input_is_rejected(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(new_stack())


def _set(scope: cdk.Stack) -> ReceiptRuleSet:
    return ReceiptRuleSet(scope, "Set", rule_set_name="inbound", activate=False)


def _twice(scope: cdk.Stack) -> None:
    rule_set = _set(scope)
    rule_set.add_rule("dup", actions=[StopAction()])
    rule_set.add_rule("dup", actions=[StopAction()])


def _many(scope: cdk.Stack) -> None:
    rule_set = _set(scope)
    # Construct rules cheaply: the limit check runs before any construct is made.
    rule_set.rules.extend([object()] * 200)  # type: ignore[list-item]
    rule_set.add_rule("one-more", actions=[StopAction()])


def test_receiving_region_is_checked() -> None:
    stack = new_stack("eu-south-1")
    with pytest.raises(ValueError, match=r"region: SES email receiving is not offered in 'eu-south-1'"):
        ReceiptRuleSet(stack, "Set", rule_set_name="inbound", activate=False)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AddHeaderAction(header_name="X Bad", header_value="v"), r"header_name: 'X Bad'"),
        (lambda: AddHeaderAction(header_name="X-Ok", header_value="a\nb"), r"header_value: 'a\\nb'"),
        (lambda: AddHeaderAction(header_name="X-Ok", header_value="v" * 2049), r"header_value: 'v{2049}'"),
        (lambda: BounceAction(smtp_reply_code="250", message="m", sender="a@x.com"), r"smtp_reply_code: '250'"),
        (
            lambda: BounceAction(smtp_reply_code="550", status_code="4.1.1", message="m", sender="a@x.com"),
            r"status_code: '4.1.1'",
        ),
        (lambda: BounceAction(smtp_reply_code="550", message="", sender="a@x.com"), r"message: ''"),
        (lambda: BounceAction(smtp_reply_code="550", message="m", sender="postmaster"), r"sender: 'postmaster'"),
        (lambda: WorkMailAction(organization_arn="arn:aws:workmail:us-east-1:1:org"), r"organization_arn: "),
        (lambda: SnsAction(topic=_topic(), encoding="latin-1"), r"encoding: 'latin-1' is not one of UTF-8, Base64"),
        (lambda: LambdaAction(function=_fn(), invocation_type="Async"), r"invocation_type: 'Async'"),
        (lambda: S3Action(bucket=_bucket(), object_key_prefix="/abs"), r"object_key_prefix: '/abs'"),
    ],
)
def test_bad_action_input_is_rejected(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


_SCRATCH = new_stack()


def _topic() -> sns.ITopic:
    return sns.Topic.from_topic_arn(_SCRATCH, f"T{len(_SCRATCH.node.children)}", f"arn:aws:sns:us-east-1:{ACCOUNT}:t")


def _fn() -> lambda_.IFunction:
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"
    return lambda_.Function.from_function_arn(_SCRATCH, f"F{len(_SCRATCH.node.children)}", arn)


def _bucket() -> s3.IBucket:
    return s3.Bucket.from_bucket_name(_SCRATCH, f"B{len(_SCRATCH.node.children)}", "mail-bucket")


def test_two_actions_on_one_bucket_get_distinct_sids() -> None:
    stack = new_stack()
    bucket = s3.Bucket(stack, "Bucket", enforce_ssl=True)
    rule_set = ReceiptRuleSet(stack, "RuleSet", rule_set_name="inbound", activate=False)
    rule_set.add_rule(
        "copies",
        actions=[S3Action(bucket=bucket, object_key_prefix="a/"), S3Action(bucket=bucket, object_key_prefix="b/")],
    )
    (policy,) = Template.from_stack(stack).find_resources("AWS::S3::BucketPolicy").values()
    sids = [s.get("Sid") for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid")]
    assert sids == ["AllowSesPutInboundCopies", "AllowSesPutInboundCopies2"]
