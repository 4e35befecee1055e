"""The alarm topic and the alarms that report to it: SES reputation, failed inbound messages, function errors.

Each environment gets one topic, encrypted with a customer managed key, that every alarm of the stack notifies on
ALARM and OK, and an ``alarms.email`` setting that subscribes addresses to it.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_cloudwatch as cloudwatch
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sns as sns
import pytest
from aws_cdk import assertions

from sesmail import InboundParser, MailAlarms
from stacks.alarm_settings import AlarmSettings
from stacks.settings import SettingsError, parse_environment
from tests.conftest import build_app

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def _stack(name: str = "sesmail-t") -> cdk.Stack:
    return cdk.Stack(cdk.App(), name, env=cdk.Environment(account=ACCOUNT, region=REGION))


@pytest.fixture(scope="module")
def built() -> tuple[cdk.Stack, MailAlarms, dict[str, Any]]:
    stack = _stack()
    InboundParser(stack, "Parser", bucket=s3.Bucket.from_bucket_name(stack, "Mail", "mail-bucket"))
    alarms = MailAlarms(stack, "Alarms", emails=["ops@corp.example", "oncall@corp.example"])
    alarms.watch_all(stack)
    return stack, alarms, assertions.Template.from_stack(stack).to_json()["Resources"]


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {key: value for key, value in resources.items() if value["Type"] == kind}


def _service_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if isinstance(s.get("Principal"), dict) and "Service" in s["Principal"]]


def _source_arn_pattern(condition: dict[str, Any]) -> str:
    """The ``aws:SourceArn`` pattern with the partition filled in (synthesized as ``Fn::Join``)."""
    joined = condition["ArnLike"]["aws:SourceArn"]["Fn::Join"]
    return "".join("aws" if part == {"Ref": "AWS::Partition"} else part for part in joined[1])


def test_topic_is_encrypted_with_a_rotated_customer_managed_key_and_refuses_plain_http(built: Any) -> None:
    """cdk-nag AwsSolutions-SNS2 (server-side encryption) and -SNS3 (TLS only); a customer managed key because
    "If you use the default AWS managed key alias/aws/sns for encryption, then the CloudWatch alarm can't initiate
    the alarm action" (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns)."""
    _, _, resources = built
    ((topic_id, topic),) = _of_type(resources, "AWS::SNS::Topic").items()
    ((key_id, key),) = _of_type(resources, "AWS::KMS::Key").items()
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    ((policy,),) = [[p for p in _of_type(resources, "AWS::SNS::TopicPolicy").values()]]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]


def test_cloudwatch_may_publish_and_use_the_key_only_for_this_stacks_alarms(built: Any) -> None:
    """The key policy must let CloudWatch call "kms:Decrypt" and "kms:GenerateDataKey*" for an encrypted topic
    (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns;
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services), and the topic
    policy "sns:Publish" for "cloudwatch.amazonaws.com", restricted to alarms with "the aws:SourceArn global condition
    key" (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger). Every alarm's name must match
    the pattern, or CloudWatch would be refused and the alarm silently not delivered."""
    _, _, resources = built
    ((key,),) = [list(_of_type(resources, "AWS::KMS::Key").values())]
    (key_grant,) = _service_statements(key["Properties"]["KeyPolicy"]["Statement"])
    (topic_policy,) = _of_type(resources, "AWS::SNS::TopicPolicy").values()
    (publish,) = _service_statements(topic_policy["Properties"]["PolicyDocument"]["Statement"])
    assert key_grant["Principal"] == publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert key_grant["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert publish["Action"] == "sns:Publish"
    # Both grants scoped to the stack's alarms (issue 21): "the aws:SourceAccount condition key is only available when
    # the call to your resource is made directly by an AWS service principal" (IAM User Guide, AWS global condition
    # context keys), which cloudwatch.amazonaws.com is in the key grant; no AWS page says CloudWatch's calls lack the
    # keys (the SNS key-management page's exception is EventBridge's).
    assert key_grant["Condition"] == publish["Condition"]
    assert publish["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    pattern = _source_arn_pattern(publish["Condition"])
    assert pattern == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:sesmail-t.*"
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 4, "parser errors, failure queue, bounce rate, complaint rate"
    for alarm in alarms.values():
        arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm['Properties']['AlarmName']}"
        assert fnmatch.fnmatchcase(arn, pattern), arn


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok(built: Any) -> None:
    _, alarms, resources = built
    ((topic_id, _),) = _of_type(resources, "AWS::SNS::Topic").items()
    found = _of_type(resources, "AWS::CloudWatch::Alarm")
    for alarm in found.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
    assert len(alarms.alarms) == len(found)
    alarms.watch_all(alarms.node.scope)
    assert len(alarms.alarms) == len(found), "watching twice adds nothing"


def test_reputation_alarms_fire_where_ses_places_an_account_under_review(built: Any) -> None:
    """ "Amazon SES automatically publishes two reputation-related metrics to Amazon CloudWatch:
    Reputation.BounceRate and Reputation.ComplaintRate. ... The values of Reputation.BounceRate and
    Reputation.ComplaintRate are decimal numbers between 0 and 1" (Creating reputation monitoring alarms using
    CloudWatch, https://docs.aws.amazon.com/ses/latest/dg/reputationdashboard-cloudwatch-alarm.html). SES places an
    account under review at a bounce rate of 5% or greater and a complaint rate of 0.1% or greater (Reputation
    metrics messages, https://docs.aws.amazon.com/ses/latest/dg/reputationdashboardmessages.html). Missing data is
    ignored: "The reputation metrics might not appear in CloudWatch if your account hasn't had any bounces or
    complaints" (first page), and a gap does not lower the rate SES reviews on."""
    _, _, resources = built
    reputation = {
        alarm["Properties"]["MetricName"]: alarm["Properties"]
        for alarm in _of_type(resources, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SES"
    }
    assert {name: props["Threshold"] for name, props in reputation.items()} == {
        "Reputation.BounceRate": 0.05,
        "Reputation.ComplaintRate": 0.001,
    }
    for props in reputation.values():
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "ignore"
        assert "Dimensions" not in props, "the account-wide rate, the one SES reviews"
        assert props["Statistic"] == "Maximum"


def test_each_address_is_an_email_subscription(built: Any) -> None:
    _, _, resources = built
    subscriptions = _of_type(resources, "AWS::SNS::Subscription").values()
    assert sorted((s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions) == [
        ("email", "oncall@corp.example"),
        ("email", "ops@corp.example"),
    ]


def test_your_own_topic_receives_the_alarms_and_no_topic_or_key_is_created() -> None:
    stack = _stack()
    topic = sns.Topic.from_topic_arn(stack, "Ops", f"arn:aws:sns:{REGION}:{ACCOUNT}:ops")
    MailAlarms(stack, "Alarms", topic=topic)
    resources = assertions.Template.from_stack(stack).to_json()["Resources"]
    assert not _of_type(resources, "AWS::SNS::Topic") and not _of_type(resources, "AWS::KMS::Key")
    for alarm in _of_type(resources, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [f"arn:aws:sns:{REGION}:{ACCOUNT}:ops"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"emails": ["ops.corp.example"]}, "emails[0]: 'ops.corp.example' is not an e-mail address"),
        ({"emails": ["ops@corp"]}, "emails[0]: 'corp' is not a valid DNS domain name"),
        ({"alarm_name_prefix": "a*"}, "alarm_name_prefix: 'a*' must be 1..128 characters without '*'"),
    ],
)
def test_bad_props_are_one_line(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as error:
        MailAlarms(_stack(), "Alarms", **kwargs)
    assert str(error.value) == message


def test_an_alarm_named_outside_the_prefix_is_refused() -> None:
    stack = _stack()
    alarms = MailAlarms(stack, "Alarms", reputation_alarms=False)
    metric = cloudwatch.Metric(namespace="X", metric_name="Y")
    foreign = cloudwatch.Alarm(stack, "Mine", alarm_name="mine", metric=metric, threshold=1, evaluation_periods=1)
    with pytest.raises(ValueError, match=r"^alarm: 'mine' does not start with 'sesmail-t\.'"):
        alarms.watch(foreign)


ENVIRONMENT = {
    "account": ACCOUNT,
    "region": REGION,
    "domain": "example.org",
    "mailboxes": ["info"],
    "inbound": {"parse": True, "forwardTo": ["staff@corp.example"]},
    "alarms": {"email": ["ops@corp.example"]},
}


def test_setting_subscribes_the_addresses() -> None:
    assert parse_environment("prod", ENVIRONMENT).alarms == AlarmSettings(emails=("ops@corp.example",))
    assert parse_environment("prod", {k: v for k, v in ENVIRONMENT.items() if k != "alarms"}).alarms.emails == ()


@pytest.mark.parametrize(
    ("alarms", "message"),
    [
        ({"email": "ops@corp.example"}, "environments.prod.alarms.email: 'ops@corp.example' is not a list"),
        ({"email": ["ops"]}, "environments.prod.alarms.email[0]: 'ops' is not an e-mail address"),
        ({"email": [1]}, "environments.prod.alarms.email[0]: 1 is not a string"),
        ({"email": ["a@corp.example", "A@corp.example"]}, "environments.prod.alarms.email: "),
        ({"emails": []}, "environments.prod.alarms.emails: unknown setting (known: email)"),
        ([], "environments.prod.alarms: [] is not an object"),
    ],
)
def test_bad_alarm_settings_are_one_line_naming_key_and_value(alarms: Any, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_environment("prod", {**ENVIRONMENT, "alarms": alarms})
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_the_environment_stack_routes_every_alarm_to_its_topic() -> None:
    app = build_app({"prod": ENVIRONMENT}, with_nag=False)
    stack = app.node.find_child("sesmail-prod")
    template = assertions.Template.from_stack(stack)  # type: ignore[arg-type]
    resources = template.to_json()["Resources"]
    topic_ref = stack.resolve(stack.alarms.topic.topic_arn)  # type: ignore[attr-defined]
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    metrics = sorted(a["Properties"]["MetricName"] for a in alarms.values())
    # The failure queue; the parser's, the forwarder's and the delivery-feedback function's errors; reputation.
    assert metrics == [
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "Errors",
        "Errors",
        "Reputation.BounceRate",
        "Reputation.ComplaintRate",
    ]
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [topic_ref], json.dumps(alarm)
        assert alarm["Properties"]["AlarmName"].startswith("sesmail-prod.")
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@corp.example"})


def test_the_alarm_pattern_matches_no_alarm_of_a_stack_whose_name_extends_this_one() -> None:
    """CloudFormation stack names hold only letters, digits and hyphens ("A stack name can contain only alphanumeric
    characters (case-sensitive) and hyphens", CreateStack, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html),
    so ``<stack>.`` is a prefix no other stack's alarm names share (``<stack>-`` was shared with ``<stack>-x``)."""
    import fnmatch

    pattern = MailAlarms(_stack("sesmail-example"), "Alarms").alarm_name_prefix + "*"
    assert fnmatch.fnmatchcase("sesmail-example.Alarms-BounceRateAlarm", pattern)
    assert not fnmatch.fnmatchcase("sesmail-example-workmail.Alarms-BounceRateAlarm", pattern)
