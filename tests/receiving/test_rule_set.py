"""ReceiptRuleSet / ReceiptRule / the seven actions: rendered properties, SES grants scoped to the rule, order."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sns as sns
import pytest
from aws_cdk.assertions import Match, Template

from sesmail.receiving import (
    AddHeaderAction,
    BounceAction,
    LambdaAction,
    MailBucket,
    ReceiptRuleSet,
    S3Action,
    SnsAction,
    StopAction,
    WorkMailAction,
)
from tests.conftest import cdk_json_context, synth_warnings

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
        self.rule_set = rule_set = ReceiptRuleSet(stack, "RuleSet", rule_set_name="inbound", activate=False)
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
        # Read from the synthesis above (Annotations.from_stack would synthesize again); the tests only read it.
        self.warnings = synth_warnings(stack, "/Test/RuleSet/Rule-third")

    def rule(self, name: str) -> tuple[str, dict[str, Any]]:
        rules = self.template.find_resources("AWS::SES::ReceiptRule", {"Properties": {"Rule": {"Name": name}}})
        assert len(rules) == 1, rules
        logical_id, resource = next(iter(rules.items()))
        return logical_id, dict(resource)

    def logical_id(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)

    def role_id(self) -> str:
        # The set's role for self.bucket (the imported bucket of rule "third" gets the set's second role).
        return self.logical_id(self.rule_set.node.find_child("S3Role-inbound-Bucket").node.find_child("Resource"))

    def role_policy(self, role_id: str) -> list[dict[str, Any]]:
        (policy,) = self.template.find_resources(
            "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}], "PolicyName": "SesS3Action"}}
        ).values()
        return list(policy["Properties"]["PolicyDocument"]["Statement"])


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
            "IamRoleArn": {"Fn::GetAtt": [built.role_id(), "Arn"]},
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


RULE_SET_PATTERN = RULE_ARN % "*"


def test_s3_action_writes_through_a_role_only_ses_may_assume_for_this_rule_set(built: Fixture) -> None:
    """SES developer guide, "Giving permissions to Amazon SES for email receiving", "Trust policy for S3 action IAM
    role": the trust policy allows ``ses.amazonaws.com`` ``sts:AssumeRole`` with ``AWS:SourceAccount`` and
    ``AWS:SourceArn``
    (``arn:aws:ses:region:111122223333:receipt-rule-set/rule_set_name:receipt-rule/receipt_rule_name``)
    https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html: here the one rule with an S3 action,
    by its ARN."""
    role = built.template.to_json()["Resources"][built.role_id()]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": RULE_ARN % "first"},
            },
        }
    ]


def test_past_ten_rules_the_trust_policy_names_the_set_and_stays_small() -> None:
    """IAM User Guide, "IAM and AWS STS quotas" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
    "Role trust policy length: 2,048 characters"; a rule ARN is about 100 characters, so past ten rules the trust
    names every rule of this set (``receipt-rule/*``), which this stack owns."""
    stack = cdk.Stack(cdk.App(), "Many", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    mail = MailBucket(stack, "Mail")
    rule_set = ReceiptRuleSet(stack, "Set", rule_set_name="inbound")
    for i in range(11):
        rule_set.add_rule(f"box{i}", recipients=[f"box{i}@example.com"], actions=[S3Action(bucket=mail.bucket)])
    (role,) = [
        r
        for r in Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
        if "ses.amazonaws.com" in json.dumps(r)
    ]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    (source_arn,) = statement["Condition"]["ArnLike"].values()
    assert not isinstance(source_arn, list)
    assert json.dumps(source_arn).endswith(':ses:us-east-1:123456789012:receipt-rule-set/inbound:receipt-rule/*"]]}')


def test_role_may_put_under_the_prefix_and_use_the_keys_and_topic(built: Fixture) -> None:
    """CloudFormation ``AWS::SES::ReceiptRule`` S3Action ``IamRoleArn``: "This role should have access to the
    following APIs: s3:PutObject, kms:Encrypt and kms:GenerateDataKey for the given Amazon S3 bucket.
    kms:GenerateDataKey for the given AWS KMS customer managed key. sns:Publish for the given Amazon SNS topic."
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ses-receiptrule-s3action.html
    """
    bucket_id = built.logical_id(built.bucket)
    assert built.bucket.encryption_key is not None and built.topic.master_key is not None
    key_arn = {"Fn::GetAtt": [built.logical_id(built.bucket.encryption_key), "Arn"]}
    statements = built.role_policy(built.role_id())
    assert statements[0] == {
        "Sid": "S3Access",
        "Effect": "Allow",
        "Action": "s3:PutObject",
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/info/*"]]},
    }
    kms_statements = {json_key(s["Resource"]): s for s in statements if s["Sid"].startswith("KMSAccess")}
    assert kms_statements[json_key(key_arn)]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    }
    assert kms_statements[json_key(key_arn)]["Action"] == ["kms:Encrypt", "kms:GenerateDataKey"]
    message_key_arn = {"Fn::GetAtt": [built.logical_id(built.message_key), "Arn"]}
    assert "Condition" not in kms_statements[json_key(message_key_arn)]
    topic_key_arn = {"Fn::GetAtt": [built.logical_id(built.topic.master_key), "Arn"]}
    assert json_key(topic_key_arn) in kms_statements
    assert {
        "Sid": "SNSAccess",
        "Effect": "Allow",
        "Action": "sns:Publish",
        "Resource": {"Ref": built.logical_id(built.topic)},
    } in statements


def json_key(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def test_bucket_and_its_keys_grant_ses_nothing(built: Fixture) -> None:
    """CloudFormation S3Action ``IamRoleArn``: "If an IAM role ARN is provided, the role (and only the role) is used
    to access all the given resources (Amazon S3 bucket, AWS KMS customer managed key and Amazon SNS topic).
    Therefore, setting up individual resource access permissions is not required." No grant to ses.amazonaws.com
    conditioned on kms:ViaService (which KMS documents for principals of an account, not for service principals)."""
    resources = built.template.to_json()["Resources"]
    for resource in resources.values():
        if resource["Type"] == "AWS::S3::BucketPolicy":
            document = resource["Properties"]["PolicyDocument"]
        elif (
            resource["Type"] == "AWS::KMS::Key" and resource is not resources[built.logical_id(built.topic.master_key)]
        ):
            document = resource["Properties"]["KeyPolicy"]
        else:
            continue
        assert "ses.amazonaws.com" not in json_key(document)


def test_bucket_key_policy_is_kms_default_so_the_role_s_iam_grant_counts(built: Fixture) -> None:
    """KMS, "Default key policy": the default statement "gives the AWS account that owns the KMS key permission to
    use IAM policies to allow access to all AWS KMS operations on the KMS key" ("Allows access to the AWS account and
    enables IAM policies"). https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"""
    assert built.bucket.encryption_key is not None
    statements = _key_statements(built, built.bucket.encryption_key)  # type: ignore[arg-type]
    assert statements == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]


def _key_statements(built: Fixture, key: kms.Key) -> list[dict[str, Any]]:
    resource = built.template.to_json()["Resources"][built.logical_id(key)]
    return resource["Properties"]["KeyPolicy"]["Statement"]


def test_lambda_permission_covers_the_rule_set_by_pattern(built: Fixture) -> None:
    """Lambda AddPermission, SourceArn: "For AWS services, the ARN of the AWS resource that invokes the function
    ... Note that Lambda configures the comparison using the StringLike operator."
    https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html: the set's pattern matches each rule."""
    permissions = built.template.find_resources(
        "AWS::Lambda::Permission",
        {"Properties": {"FunctionName": {"Fn::GetAtt": [built.logical_id(built.function), "Arn"]}}},
    )
    assert [p["Properties"] for p in permissions.values()] == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [built.logical_id(built.function), "Arn"]},
            "Principal": "ses.amazonaws.com",
            "SourceAccount": ACCOUNT,
            "SourceArn": RULE_SET_PATTERN,
        }
    ]


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
        if resource["Type"] in ("AWS::SNS::TopicPolicy", "AWS::Lambda::Permission", "AWS::IAM::Policy")
        and "Default" not in logical_id
        and "Theirs" not in logical_id  # the role of rule "third" (imported bucket)
    }
    # The role's policy (S3 action; the role itself is ordered by the IamRoleArn GetAtt), the topic policy and its
    # key (SNS action), the Lambda permission.
    assert policy_ids | {built.logical_id(built.topic.master_key)} <= set(first["DependsOn"])
    assert built.role_id() not in first["DependsOn"]
    assert {"Fn::GetAtt": [built.role_id(), "Arn"]} in [
        a.get("S3Action", {}).get("IamRoleArn") for a in first["Properties"]["Rule"]["Actions"]
    ]


def test_imported_resources_get_a_warning_naming_the_statement(built: Fixture) -> None:
    for pattern in (
        r"imported bucket their-bucket.*another account.*role Test/RuleSet/S3Role-inbound-Theirs"
        r".*s3:PutObject.*S3RoleinboundTheirs",
        r"function arn:aws:lambda:us-east-1:999999999999:function:theirs.*lambda:InvokeFunction",
    ):
        assert [w for w in built.warnings if re.search(pattern, w)], (pattern, built.warnings)
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


def test_one_role_per_rule_set_and_bucket_lists_each_prefix_then_the_bucket() -> None:
    """Each prefix is listed while few; past MAX_LISTED_PREFIXES the role may put anywhere in the bucket, so its
    policy stays within IAM's "Role policy size can't exceed 10,240 characters" (IAM and AWS STS quotas,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""
    from sesmail.receiving.grants import MAX_LISTED_PREFIXES

    def build(extra_rules: int) -> Any:
        stack = new_stack()
        bucket = s3.Bucket(stack, "Bucket", enforce_ssl=True)
        rule_set = ReceiptRuleSet(stack, "RuleSet", rule_set_name="inbound", activate=False)
        rule_set.add_rule(
            "copies",
            actions=[S3Action(bucket=bucket, object_key_prefix="a/"), S3Action(bucket=bucket, object_key_prefix="b/")],
        )
        for i in range(extra_rules):
            rule_set.add_rule(f"r{i}", actions=[S3Action(bucket=bucket, object_key_prefix=f"p{i}/")])
        template = Template.from_stack(stack)
        template.resource_count_is("AWS::IAM::Role", 1)
        (policy,) = template.find_resources("AWS::IAM::Policy").values()
        return policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]

    assert [r["Fn::Join"][1][1] for r in build(0)] == ["/a/*", "/b/*"]
    assert build(MAX_LISTED_PREFIXES)["Fn::Join"][1][1] == "/*"


def test_s3_action_with_a_bucket_of_another_stack() -> None:
    """The role of the rule's stack writes to a bucket of another stack of the app: its ARN arrives by reference, the
    bucket's own policy names neither SES nor the role (same account: "the IAM permissions specified here will be
    sufficient for same account usage", SES developer guide, "Setting up IAM role permissions for Deliver to S3
    bucket action", https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html), and no warning."""
    flags = {key: value for key, value in cdk_json_context().items() if key != "environments"}
    app = cdk.App(context=flags)
    env = cdk.Environment(account=ACCOUNT, region="us-east-1")
    storage = cdk.Stack(app, "Storage", env=env)
    bucket = s3.Bucket(storage, "Bucket", encryption_key=kms.Key(storage, "Key"), enforce_ssl=True)
    mail = cdk.Stack(app, "Mail", env=env)
    rule_set = ReceiptRuleSet(mail, "RuleSet", rule_set_name="inbound", activate=False)
    rule_set.add_rule("store", actions=[S3Action(bucket=bucket, object_key_prefix="in/")])
    mail_template = Template.from_stack(mail)
    (policy,) = mail_template.find_resources("AWS::IAM::Policy").values()
    put, key = policy["Properties"]["PolicyDocument"]["Statement"]
    # A cross-stack reference (this CDK version's Fn::GetStackOutput), not a copy of the bucket.
    assert "'StackName': 'Storage'" in str(put["Resource"]) and "'StackName': 'Storage'" in str(key["Resource"])
    assert "ses.amazonaws.com" not in str(Template.from_stack(storage).to_json())
    assert [w for w in synth_warnings(mail) if "cannot add" in w] == []
