"""The app's receiving wiring: extra rules of every action around the mailbox rules, imports, warnings, activation."""

from __future__ import annotations

import itertools
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from tests.conftest import build_app, synth_warnings

ACCOUNT = "111122223333"
OTHER = "999988887777"
ORG_ID = "m-0123456789abcdef0123456789abcdef"
ORG_ARN = f"arn:aws:workmail:us-east-1:{ACCOUNT}:organization/{ORG_ID}"
RULE_SET = "prod-inbound"
RULE_ARN = f"arn:aws:ses:us-east-1:{ACCOUNT}:receipt-rule-set/{RULE_SET}:receipt-rule/%s"
OUR_TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:mail-events"
THEIR_TOPIC = f"arn:aws:sns:us-east-1:{OTHER}:their-events"
OUR_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:triage"
THEIR_FUNCTION = f"arn:aws:lambda:us-east-1:{OTHER}:function:theirs"
THEIR_KEY = f"arn:aws:kms:us-east-1:{OTHER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

BOUNCE = {
    "type": "bounce",
    "smtpReplyCode": "550",
    "statusCode": "5.1.1",
    "message": "No such user",
    "sender": "postmaster@example.com",
}
ENVIRONMENTS: dict[str, Any] = {
    "prod": {
        "account": ACCOUNT,
        "region": "us-east-1",
        "domain": "example.com",
        "mailboxes": ["info", "support"],
        # WorkMail-free: beside WorkMail, stop, bounce, WorkMail and RequestResponse actions and a takeover are
        # refused (tests/test_workmail_coexistence.py); here every action type is wired around the mailbox rules.
        "takeOverActiveRuleSet": True,
        "receiving": {
            "ruleSetName": RULE_SET,
            "rules": [
                # Listed out of order on purpose: position, not list order, puts a rule before the mailboxes.
                {
                    "name": "notify",
                    "actions": [
                        {"type": "sns", "topicArn": THEIR_TOPIC, "encoding": "Base64"},
                        {"type": "lambda", "functionArn": THEIR_FUNCTION},
                        {"type": "workmail", "organizationArn": ORG_ARN},
                        {"type": "s3", "prefix": "catchall/"},
                    ],
                },
                {
                    "name": "block",
                    "position": "before",
                    "recipients": ["spam@example.com"],
                    "scanEnabled": False,
                    "actions": [{"type": "addHeader", "name": "X-Blocked", "value": "yes"}, BOUNCE, {"type": "stop"}],
                },
                {
                    "name": "archive",
                    "position": "before",
                    "actions": [
                        {"type": "s3", "bucketName": "central-archive", "prefix": "archive/", "kmsKeyArn": THEIR_KEY},
                        {
                            "type": "lambda",
                            "functionArn": OUR_FUNCTION,
                            "invocationType": "RequestResponse",
                            "topicArn": OUR_TOPIC,
                        },
                    ],
                },
                {"name": "last", "position": "after", "actions": [{"type": "stop", "topicArn": OUR_TOPIC}]},
            ],
        },
    },
    "dev": {"account": ACCOUNT, "region": "eu-west-1", "domain": "dev.example.com", "mailboxes": ["info"]},
}
MAIL_ROLE = f"ReceiptRuleSet/S3Role-{RULE_SET}-MailBucket"
# The address book's rule (postmaster@, abuse@) follows the mailbox rules, so theirs keep their After.
ORDER = ["block", "archive", "mailbox-info", "mailbox-support", "addresses-1", "notify", "last"]


class Built:
    """The app with both environments and cdk-nag, synthesized once: any unacknowledged finding fails synth.

    The tests only read its templates and its assembly's warnings (``synth_warnings``), so they share one synthesis.
    """

    def __init__(self) -> None:
        self.app = build_app(ENVIRONMENTS, with_nag=True)
        self.app.synth()
        self.stacks = {name: self.app.node.find_child(f"sesmail-{name}") for name in ENVIRONMENTS}
        self.templates = {name: Template.from_stack(stack) for name, stack in self.stacks.items()}  # type: ignore[arg-type]
        self.resources: dict[str, dict[str, Any]] = {
            name: template.to_json()["Resources"] for name, template in self.templates.items()
        }

    def rules(self, env: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """Rule name -> (logical id, resource)."""
        found: dict[str, dict[str, Any]] = self.templates[env].find_resources("AWS::SES::ReceiptRule")  # type: ignore[assignment]
        return {
            resource["Properties"]["Rule"]["Name"]: (logical_id, resource) for logical_id, resource in found.items()
        }

    def rule(self, env: str, name: str) -> dict[str, Any]:
        rule: dict[str, Any] = self.rules(env)[name][1]["Properties"]["Rule"]
        return rule

    def id_of(self, env: str, path: str) -> str:
        """The logical id of the CloudFormation resource under the construct at ``path`` (``MailBucket/Key``)."""
        stack = self.stacks[env]
        assert isinstance(stack, cdk.Stack)
        construct: Any = stack
        for part in path.split("/"):
            construct = construct.node.find_child(part)
        while not isinstance(construct, cdk.CfnElement):
            assert construct.node.default_child is not None, construct.node.path
            construct = construct.node.default_child
        return stack.get_logical_id(construct)

    def activation(self, env: str) -> dict[str, Any]:
        (resource,) = self.templates[env].find_resources("Custom::SesReceiptRuleSetActivation").values()
        return dict(resource)


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def test_rules_chain_before_rules_then_mailboxes_then_after_rules(built: Built) -> None:
    rules = built.rules("prod")
    assert sorted(rules) == sorted(ORDER)
    chain = [name for name, (_, rule) in rules.items() if "After" not in rule["Properties"]]
    while len(chain) < len(rules):
        following = [name for name, (_, rule) in rules.items() if rule["Properties"].get("After") == chain[-1]]
        assert len(following) == 1, (chain, following)
        chain.extend(following)
    assert chain == ORDER
    for previous, name in itertools.pairwise(ORDER):
        assert rules[previous][0] in rules[name][1]["DependsOn"], name
    assert {rule["Properties"]["RuleSetName"] for _, rule in rules.values()} == {RULE_SET}


def test_mailbox_rules_store_under_the_mailbox_only(built: Built) -> None:
    """A mailbox rule stores; it never delivers to WorkMail (beside WorkMail the organization's own rule delivers
    every recipient, and a second WorkMail action would deliver twice)."""
    bucket_ref = {"Ref": built.id_of("prod", "MailBucket")}
    role_arn = {"Fn::GetAtt": [built.id_of("prod", MAIL_ROLE), "Arn"]}
    for box in ("info", "support"):
        rule = built.rule("prod", f"mailbox-{box}")
        assert rule["Recipients"] == [f"{box}@example.com"]
        assert (rule["Enabled"], rule["ScanEnabled"], rule["TlsPolicy"]) == (True, True, "Require")
        assert rule["Actions"] == [
            {"S3Action": {"BucketName": bucket_ref, "IamRoleArn": role_arn, "ObjectKeyPrefix": f"{box}/"}},
        ]


def _mail_bucket_statements(built: Built, env: str) -> list[dict[str, Any]]:
    bucket_id = built.id_of(env, "MailBucket")
    (policy,) = (
        built.templates[env]
        .find_resources("AWS::S3::BucketPolicy", {"Properties": {"Bucket": {"Ref": bucket_id}}})
        .values()
    )
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_mail_bucket_role_may_put_under_each_rule_s_prefix_only(built: Built) -> None:
    """CloudFormation S3Action ``IamRoleArn``: "If an IAM role ARN is provided, the role (and only the role) is used
    to access all the given resources"; so the bucket policy has no statement for SES, and the role's policy lists
    the prefixes of the set's rules that store there (SES developer guide, "Setting up IAM role permissions for
    Deliver to S3 bucket action", https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html)."""
    assert not [s for s in _mail_bucket_statements(built, "prod") if "ses.amazonaws.com" in str(s.get("Principal"))]
    bucket_arn = {"Fn::GetAtt": [built.id_of("prod", "MailBucket"), "Arn"]}
    role_id = built.id_of("prod", MAIL_ROLE)
    (policy,) = (
        built.templates["prod"]
        .find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
        .values()
    )
    put, key = policy["Properties"]["PolicyDocument"]["Statement"]
    assert put["Action"] == "s3:PutObject"
    assert put["Resource"] == [
        {"Fn::Join": ["", [bucket_arn, f"/{prefix}*"]]}
        for prefix in ("info/", "support/", "address-book/", "catchall/")
    ]
    assert key["Resource"] == {"Fn::GetAtt": [built.id_of("prod", "MailBucket/Key"), "Arn"]}


def test_rules_writing_to_the_mail_bucket_wait_for_its_role(built: Built) -> None:
    """The role is ordered by the rule's Fn::GetAtt of its ARN; its policy, which SES needs when it checks access at
    rule creation, by DependsOn (the role itself is not repeated there: cfn-lint W3005)."""
    role, policy = built.id_of("prod", MAIL_ROLE), built.id_of("prod", f"{MAIL_ROLE}/Policy")
    rules = built.rules("prod")
    for name in ("mailbox-info", "mailbox-support", "notify"):
        rule = rules[name][1]
        assert policy in rule["DependsOn"] and role not in rule["DependsOn"], name
        assert {"Fn::GetAtt": [role, "Arn"]} in [
            a.get("S3Action", {}).get("IamRoleArn") for a in rule["Properties"]["Rule"]["Actions"]
        ], name


def test_extra_rules_render_every_action_type(built: Built) -> None:
    block = built.rule("prod", "block")
    assert (block["Recipients"], block["ScanEnabled"], block["TlsPolicy"]) == (["spam@example.com"], False, "Require")
    assert block["Actions"] == [
        {"AddHeaderAction": {"HeaderName": "X-Blocked", "HeaderValue": "yes"}},
        {
            "BounceAction": {
                "SmtpReplyCode": "550",
                "StatusCode": "5.1.1",
                "Message": "No such user",
                "Sender": "postmaster@example.com",
            }
        },
        {"StopAction": {"Scope": "RuleSet"}},
    ]
    assert built.rule("prod", "archive")["Actions"] == [
        {
            "S3Action": {
                "BucketName": "central-archive",
                "IamRoleArn": {
                    "Fn::GetAtt": [built.id_of("prod", f"ReceiptRuleSet/S3Role-{RULE_SET}-ImportedBucket0"), "Arn"]
                },
                "ObjectKeyPrefix": "archive/",
                "KmsKeyArn": THEIR_KEY,
            }
        },
        {"LambdaAction": {"FunctionArn": OUR_FUNCTION, "InvocationType": "RequestResponse", "TopicArn": OUR_TOPIC}},
    ]
    assert built.rule("prod", "notify")["Actions"] == [
        {"SNSAction": {"TopicArn": THEIR_TOPIC, "Encoding": "Base64"}},
        {"LambdaAction": {"FunctionArn": THEIR_FUNCTION, "InvocationType": "Event"}},
        {"WorkmailAction": {"OrganizationArn": ORG_ARN}},
        {
            "S3Action": {
                "BucketName": {"Ref": built.id_of("prod", "MailBucket")},
                "IamRoleArn": {"Fn::GetAtt": [built.id_of("prod", MAIL_ROLE), "Arn"]},
                "ObjectKeyPrefix": "catchall/",
            }
        },
    ]
    assert built.rule("prod", "last")["Actions"] == [{"StopAction": {"Scope": "RuleSet", "TopicArn": OUR_TOPIC}}]
    assert "Recipients" not in built.rule("prod", "notify")


def test_same_account_function_gets_a_permission_scoped_to_its_rule(built: Built) -> None:
    permissions = built.templates["prod"].find_resources(
        "AWS::Lambda::Permission", {"Properties": {"Principal": "ses.amazonaws.com"}}
    )
    assert [resource["Properties"] for resource in permissions.values()] == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": OUR_FUNCTION,
            "Principal": "ses.amazonaws.com",
            "SourceAccount": ACCOUNT,
            "SourceArn": RULE_ARN % "*",
        }
    ]
    # SES checks the permission when it creates the rule.
    assert next(iter(permissions)) in built.rules("prod")["archive"][1]["DependsOn"]


def _policy_warnings(built: Built, rule: str) -> list[str]:
    found = synth_warnings(built.stacks["prod"], f"/sesmail-prod/ReceiptRuleSet/Rule-{rule}")  # type: ignore[arg-type]
    return sorted(warning for warning in found if "cannot add SES's permission" in warning)


def test_other_accounts_function_and_topic_get_a_warning_with_the_statement(built: Built) -> None:
    function, topic = _policy_warnings(built, "notify")
    assert function.startswith(
        f"receipt rule 'notify': cannot add SES's permission to the imported function {THEIR_FUNCTION}"
    )
    assert '"Action": "lambda:InvokeFunction"' in function and f'"Resource": "{THEIR_FUNCTION}"' in function
    assert topic.startswith(f"receipt rule 'notify': cannot add SES's permission to the imported topic {THEIR_TOPIC}")
    assert '"Action": "sns:Publish"' in topic
    assert f'"aws:SourceArn": "{RULE_ARN % "*"}"' in function
    assert f'"aws:SourceArn": "{RULE_ARN % "notify"}"' in topic
    for warning in (function, topic):
        assert f'"aws:SourceAccount": "{ACCOUNT}"' in warning
    assert not built.templates["prod"].find_resources(
        "AWS::Lambda::Permission", {"Properties": {"FunctionName": THEIR_FUNCTION}}
    )


def test_imported_bucket_and_key_get_a_warning_with_the_statement(built: Built) -> None:
    bucket, key = _policy_warnings(built, "archive")
    assert bucket.startswith(
        "receipt rule 'archive': cannot add SES's permission to the imported bucket central-archive"
    )
    assert '"Resource": "arn:aws:s3:::central-archive/archive/*"' in bucket
    # The role, not SES, is the principal the owners must allow (IamRoleArn: "the role (and only the role) is used").
    assert "S3RoleprodinboundImportedBucket" in bucket and "S3RoleprodinboundImportedBucket" in key
    assert key.startswith(f"receipt rule 'archive': cannot add SES's permission to the imported key {THEIR_KEY}")
    assert '"kms:GenerateDataKey"' in key


def test_same_account_topic_and_function_need_no_warning(built: Built) -> None:
    assert _policy_warnings(built, "last") == []
    everything = synth_warnings(built.stacks["prod"])  # type: ignore[arg-type]
    assert not [warning for warning in everything if OUR_FUNCTION in warning or OUR_TOPIC in warning]
    for rule in ("block", "mailbox-info", "mailbox-support"):
        assert _policy_warnings(built, rule) == []


def test_activation_takes_over_as_configured_and_waits_for_every_rule(built: Built) -> None:
    for env, take_over, rule_set in (("prod", "true", RULE_SET), ("dev", "false", "sesmail-dev")):
        activation = built.activation(env)
        assert activation["Properties"]["RuleSetName"] == rule_set
        assert activation["Properties"]["TakeOverActiveRuleSet"] == take_over
        assert (
            activation["Properties"]["TakeOverHint"] == f"takeOverActiveRuleSet: true (environments.{env} in cdk.json)"
        )
        rule_ids = {logical_id for logical_id, _ in built.rules(env).values()}
        assert rule_ids and rule_ids <= set(activation["DependsOn"]), env


def test_without_workmail_no_workmail_action(built: Built) -> None:
    rules = built.rules("dev")
    # addresses-1: postmaster@ and abuse@, received by default (RFC 5321 4.5.1, RFC 2142).
    assert list(rules) == ["mailbox-info", "addresses-1"]
    assert built.rule("dev", "mailbox-info")["Actions"] == [
        {
            "S3Action": {
                "BucketName": {"Ref": built.id_of("dev", "MailBucket")},
                "IamRoleArn": {
                    "Fn::GetAtt": [built.id_of("dev", "ReceiptRuleSet/S3Role-sesmail-dev-MailBucket"), "Arn"]
                },
                "ObjectKeyPrefix": "info/",
            }
        }
    ]
    assert "WorkmailAction" not in str(built.resources["dev"])
    # The default rule set and a mail bucket that keeps mail forever.
    (rule_set,) = built.templates["dev"].find_resources("AWS::SES::ReceiptRuleSet").values()
    assert rule_set["Properties"] == {"RuleSetName": "sesmail-dev"}
    bucket = built.resources["dev"][built.id_of("dev", "MailBucket")]
    assert [rule["Id"] for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]] == [
        "AbortIncompleteUploads"
    ]
