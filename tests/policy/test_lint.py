"""The lint rules, each with a failing and a passing case, and suppressions (sesmail.policy.lint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sesmail.policy.findings import NOTE, RULES, Finding
from sesmail.policy.lint import ConfigError, lint, lint_paths

ACCOUNT = "123456789012"
REGION = "us-east-1"
IDENTITY = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.com"
RULE_ARN = f"arn:aws:ses:{REGION}:{ACCOUNT}:receipt-rule-set/mail:receipt-rule/inbox"
SOURCE = {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": RULE_ARN}}


def write(folder: Path, resources: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "Mail": {
                        "type": "aws:cloudformation:stack",
                        "environment": f"aws://{ACCOUNT}/{REGION}",
                        "properties": {"templateFile": "Mail.template.json"},
                    }
                }
            }
        )
    )
    (folder / "Mail.template.json").write_text(json.dumps({"Resources": resources}))
    return folder


def iam(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Role": {"Type": "AWS::IAM::Role"},
        "Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyDocument": {"Statement": list(statements)}, "Roles": [{"Ref": "Role"}]},
        },
    }


def identity_policy(*statements: dict[str, Any], **props: Any) -> dict[str, Any]:
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return {
        "Send": {
            "Type": "Custom::SesIdentityPolicy",
            "Properties": {"Identity": "example.com", "PolicyName": "p", "Policy": document, **props},
        }
    }


def send(condition: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": ["ses:SendEmail", "ses:SendRawEmail"],
        "Resource": IDENTITY,
    }
    if condition:
        statement["Condition"] = condition
    return {**statement, **overrides}


WORKMAIL = {"Service": f"workmail.{REGION}.amazonaws.com"}
WORKMAIL_SOURCE = {
    "StringEquals": {"aws:SourceAccount": ACCOUNT},
    "ArnEquals": {
        "aws:SourceArn": f"arn:aws:workmail:{REGION}:{ACCOUNT}:organization/m-0123456789abcdef0123456789abcdef"
    },
}


def bucket_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "MailBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": {"Ref": "MailBucket"}, "PolicyDocument": {"Statement": list(statements)}},
        }
    }


def ses_put(**overrides: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["MailBucket", "Arn"]}, "/inbox/*"]]},
        "Condition": SOURCE,
        **overrides,
    }


def receipt_rule(*actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "RuleSet": {"Type": "AWS::SES::ReceiptRuleSet", "Properties": {"RuleSetName": "mail"}},
        "Rule": {
            "Type": "AWS::SES::ReceiptRule",
            "Properties": {"RuleSetName": {"Ref": "RuleSet"}, "Rule": {"Name": "inbox", "Actions": list(actions)}},
        },
        "MailBucket": {"Type": "AWS::S3::Bucket"},
    }


S3_ACTION = {"S3Action": {"BucketName": {"Ref": "MailBucket"}, "ObjectKeyPrefix": "inbox/"}}
S3_KMS_ACTION = {"S3Action": {**S3_ACTION["S3Action"], "KmsKeyArn": {"Fn::GetAtt": ["Key", "Arn"]}}}
LAMBDA_ACTION = {"LambdaAction": {"FunctionArn": {"Fn::GetAtt": ["Fn", "Arn"]}}}


def key(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": list(statements)}}}}


def kms_for_ses(actions: list[str]) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": actions,
        "Resource": "*",
        "Condition": {
            **SOURCE,
            "Null": {
                "kms:EncryptionContext:aws:ses:rule-name": "false",
                "kms:EncryptionContext:aws:ses:message-id": "false",
            },
            "StringEquals": {"aws:SourceAccount": ACCOUNT, "kms:EncryptionContext:aws:ses:source-account": ACCOUNT},
        },
    }


def permission(**props: Any) -> dict[str, Any]:
    return {
        "Fn": {"Type": "AWS::Lambda::Function"},
        "Permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
                "Principal": "ses.amazonaws.com",
                "SourceAccount": ACCOUNT,
                **props,
            },
        },
    }


OTHER = "111122223333"
OTHER_TOPIC = f"arn:aws:sns:{REGION}:{OTHER}:mail-events"
SNS_ACTION = {"SNSAction": {"TopicArn": OTHER_TOPIC}}


def open_bucket(**statement: Any) -> dict[str, Any]:
    """A bucket and a bucket policy with one s3:GetObject statement (``statement`` sets Effect, Principal...)."""
    body = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["MailBucket", "Arn"]}, "/*"]]},
        **statement,
    }
    return {"MailBucket": {"Type": "AWS::S3::Bucket"}, **bucket_policy(body)}


def topic_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "TopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {"Topics": [OTHER_TOPIC], "PolicyDocument": {"Statement": list(statements)}},
        }
    }


def ses_publish(**overrides: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": "SNS:Publish",
        "Resource": OTHER_TOPIC,
        "Condition": SOURCE,
        **overrides,
    }


# (case id, rule, resources that must produce the rule, resources that must not, a piece of the message)
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    (
        "policy-string-not-json",
        "SES000",
        {"Send": {"Type": "Custom::SesIdentityPolicy", "Properties": {"Identity": "example.com", "Policy": "{x"}}},
        identity_policy(send(WORKMAIL_SOURCE, Principal=WORKMAIL)),
        "not valid JSON",
    ),
    (
        "misspelled-ses-key",
        "SES001",
        iam(send({"StringEquals": {"ses:FromAdress": "info@example.com"}})),
        iam(send({"StringEquals": {"ses:FromAddress": "info@example.com"}})),
        "did you mean ses:FromAddress?",
    ),
    (
        "misspelled-global-key",
        "SES001",
        iam(send({"DateLessThan": {"aws:CurentTime": "2030-01-01T00:00:00Z"}})),
        iam(send({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}})),
        "did you mean aws:CurrentTime?",
    ),
    (
        "key-the-action-does-not-support",
        "SES001",
        iam(
            {
                "Effect": "Allow",
                "Action": "ses:GetSendQuota",
                "Resource": "*",
                "Condition": {"StringEquals": {"ses:FromAddress": "a@example.com"}},
            }
        ),
        iam(
            {
                "Effect": "Allow",
                "Action": "ses:GetSendQuota",
                "Resource": "*",
                "Condition": {"StringEquals": {"ses:ApiVersion": "2"}},
            }
        ),
        "ses:GetSendQuota does not support the condition key ses:FromAddress",
    ),
    (
        "key-of-another-service",
        "SES001",
        iam(
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::m/*",
                "Condition": {"StringEquals": {"ses:FromAddress": "a@example.com"}},
            }
        ),
        iam(
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::m/*",
                "Condition": {"StringEquals": {"s3:x-amz-acl": "private"}},
            }
        ),
        "s3:PutObject does not support the condition key ses:FromAddress",
    ),
    (
        "global-key-ses-does-not-provide",
        "SES001",
        iam(send({"StringLike": {"aws:Referer": "https://example.com/*"}})),
        iam(send({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})),
        "SES does not put aws:Referer in its requests",
    ),
    (
        "recipients-without-set-operator",
        "SES002",
        iam(send({"StringLike": {"ses:Recipients": "*@example.com"}})),
        iam(
            send({"ForAllValues:StringLike": {"ses:Recipients": "*@example.com"}, "Null": {"ses:Recipients": "false"}})
        ),
        "ses:Recipients is multi-valued",
    ),
    (
        "set-operator-on-single-valued-key",
        "SES002",
        iam(
            send(
                {
                    "ForAllValues:StringEquals": {"ses:FromAddress": "info@example.com"},
                    "Null": {"ses:FromAddress": "false"},
                }
            )
        ),
        iam(send({"StringEquals": {"ses:FromAddress": "info@example.com"}})),
        "ses:FromAddress is single-valued but ForAllValues:StringEquals treats it as a set",
    ),
    (
        "forallvalues-without-guard",
        "SES003",
        iam(send({"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com"]}})),
        iam(
            send(
                {"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com"]}, "Null": {"ses:Recipients": "false"}}
            )
        ),
        '"Null": {"ses:Recipients": "false"}',
    ),
    (
        "action-only-supports-star",
        "SES004",
        iam({"Effect": "Allow", "Action": "ses:GetSendQuota", "Resource": IDENTITY}),
        iam({"Effect": "Allow", "Action": "ses:GetSendQuota", "Resource": "*"}),
        'ses:GetSendQuota cannot be scoped to a resource (its Resource must be "*")',
    ),
    (
        "object-action-on-bucket-arn",
        "SES004",
        iam({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::mail"}),
        iam({"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::mail", "arn:aws:s3:::mail/*"]}),
        "s3:GetObject acts only on accesspointobject, object resources",
    ),
    (
        "identity-in-another-region",
        "SES005",
        iam(send(Resource=f"arn:aws:ses:eu-west-1:{ACCOUNT}:identity/example.com")),
        iam(send()),
        "region eu-west-1 is not the stack's region us-east-1",
    ),
    (
        "malformed-identity-arn",
        "SES005",
        iam(send(Resource=f"arn:aws:ses:{REGION}:{ACCOUNT}:example.com")),
        iam(send(Resource=f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/*")),
        "is not an SES resource",
    ),
    (
        "identity-policy-for-another-identity",
        "SES005",
        identity_policy(
            send(WORKMAIL_SOURCE, Principal=WORKMAIL, Resource=f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/other.com")
        ),
        identity_policy(send(WORKMAIL_SOURCE, Principal=WORKMAIL)),
        f"this policy is attached to {IDENTITY}",
    ),
    (
        "service-principal-without-source-arn",
        "SES006",
        {
            **receipt_rule(S3_ACTION),
            **bucket_policy(ses_put(Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})),
        },
        {**receipt_rule(S3_ACTION), **bucket_policy(ses_put())},
        "without aws:SourceArn",
    ),
    (
        "workmail-without-source-conditions",
        "SES006",
        identity_policy(send(Principal=WORKMAIL)),
        identity_policy(send(WORKMAIL_SOURCE, Principal=WORKMAIL)),
        "without aws:SourceAccount and aws:SourceArn",
    ),
    (
        "the-seeds-workmail-user",
        "SES007",
        identity_policy(send(Principal={"AWS": "arn:aws:iam::210987654321:user/amazon-workmail-us-east-1"})),
        identity_policy(send(Principal={"AWS": "arn:aws:iam::210987654321:root"})),
        "workmail.us-east-1.amazonaws.com",
    ),
    (
        "identity-policy-wider-than-sending",
        "SES008",
        identity_policy(send(WORKMAIL_SOURCE, Principal=WORKMAIL, Action=["ses:SendRawEmail", "ses:DeleteIdentity"])),
        identity_policy(send(WORKMAIL_SOURCE, Principal=WORKMAIL, Action="ses:SendRawEmail")),
        "ses:DeleteIdentity allows more than",
    ),
    (
        "service-wildcard-action",
        "SES009",
        iam({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::mail/*"}),
        iam({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::mail/*"}),
        "Action s3:* allows all",
    ),
    (
        "star-resource-for-a-scopable-action",
        "SES010",
        iam(send(Resource="*")),
        iam({"Effect": "Allow", "Action": "ses:GetSendQuota", "Resource": "*"}),
        'Resource "*" for ses:SendEmail, ses:SendRawEmail',
    ),
    (
        "receipt-s3-without-bucket-policy",
        "SES011",
        receipt_rule(S3_ACTION),
        {**receipt_rule(S3_ACTION), **bucket_policy(ses_put())},
        "bucket MailBucket has no bucket policy",
    ),
    (
        "receipt-s3-policy-for-another-prefix",
        "SES011",
        {**receipt_rule(S3_ACTION), **bucket_policy(ses_put(Resource="arn:aws:s3:::MailBucket/other/*"))},
        {**receipt_rule(S3_ACTION), **bucket_policy(ses_put(Resource="arn:aws:s3:::MailBucket/*"))},
        "does not let ses.amazonaws.com s3:PutObject arn:aws:s3:::MailBucket/inbox/",
    ),
    (
        "receipt-s3-policy-for-another-rule",
        "SES011",
        {
            **receipt_rule(S3_ACTION),
            **bucket_policy(ses_put(Condition={**SOURCE, "ArnLike": {"aws:SourceArn": RULE_ARN + "2"}})),
        },
        {
            **receipt_rule(S3_ACTION),
            **bucket_policy(ses_put(Condition={**SOURCE, "ArnLike": {"aws:SourceArn": RULE_ARN[:-5] + "*"}})),
        },
        f"for this rule (aws:SourceArn {RULE_ARN})",
    ),
    (
        "receipt-lambda-without-permission",
        "SES012",
        {**receipt_rule(LAMBDA_ACTION), "Fn": {"Type": "AWS::Lambda::Function"}},
        {**receipt_rule(LAMBDA_ACTION), **permission(SourceArn=RULE_ARN)},
        "no AWS::Lambda::Permission lets ses.amazonaws.com invoke",
    ),
    (
        "receipt-lambda-permission-for-another-rule",
        "SES012",
        {**receipt_rule(LAMBDA_ACTION), **permission(SourceArn=RULE_ARN + "-old")},
        {**receipt_rule(LAMBDA_ACTION), **permission(SourceArn=RULE_ARN)},
        "no AWS::Lambda::Permission",
    ),
    (
        "receipt-kms-key-without-ses",
        "SES013",
        {**receipt_rule(S3_KMS_ACTION), **bucket_policy(ses_put()), **key(kms_for_ses(["kms:GenerateDataKey*"]))},
        {
            **receipt_rule(S3_KMS_ACTION),
            **bucket_policy(ses_put()),
            **key(kms_for_ses(["kms:Encrypt", "kms:GenerateDataKey*"])),
        },
        "does not let ses.amazonaws.com kms:Encrypt for this rule",
    ),
    (
        "misspelled-action",
        "SES014",
        iam(send(Action="ses:SendRawEmails")),
        iam(send(Action="ses:SendRawEmail")),
        "did you mean ses:SendRawEmail?",
    ),
    # IAM User Guide, "AWS JSON policy elements: NotPrincipal": "do not use NotPrincipal in the same policy statement
    # as "Effect": "Allow". Doing so allows all principals except the one named in the NotPrincipal element access to
    # your resources. By doing this, you might grant access to anonymous (unauthenticated) users."
    (
        "not-principal-with-allow",
        "SES015",
        open_bucket(Effect="Allow", NotPrincipal={"AWS": f"arn:aws:iam::{OTHER}:root"}),
        open_bucket(Effect="Deny", NotPrincipal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}),
        "NotPrincipal in an Allow grants every principal except",
    ),
    # IAM User Guide, "AWS JSON policy elements: Principal": "In resource-based policies ... you can use the wildcard
    # character (*) ... to grant access to all users ... We strongly recommend that you do not use a wildcard ... in
    # the Principal element ... without a Condition element" (and the condition must narrow who calls).
    (
        "principal-star-without-condition",
        "SES016",
        open_bucket(Principal="*"),
        open_bucket(Principal="*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
        'Principal "*" may s3:GetObject with no condition on who calls',
    ),
    (
        "principal-aws-star-negated-condition-does-not-narrow",
        "SES016",
        open_bucket(Principal={"AWS": "*"}, Condition={"StringNotEquals": {"aws:PrincipalAccount": OTHER}}),
        open_bucket(Principal={"AWS": "*"}, Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}),
        'Principal "*" may s3:GetObject',
    ),
    # SES Developer Guide, "Giving permissions to Amazon SES for email receiving": "To publish notifications to a topic
    # in a separate AWS account, you must attach a policy to the Amazon SNS topic."
    (
        "receipt-topic-of-another-account-not-allowed",
        "SES017",
        {
            **receipt_rule(SNS_ACTION),
            **topic_policy(ses_publish(Condition={**SOURCE, "ArnLike": {"aws:SourceArn": RULE_ARN + "-old"}})),
        },
        {**receipt_rule(SNS_ACTION), **topic_policy(ses_publish())},
        f"does not let ses.amazonaws.com sns:Publish for this rule (SourceAccount {ACCOUNT}",
    ),
    # Same page: "The SNS topic must be in the same Region as the domain and receipt rule set."
    (
        "receipt-topic-in-another-region",
        "SES017",
        receipt_rule({"SNSAction": {"TopicArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:mail"}}),
        receipt_rule({"SNSAction": {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:mail"}}),
        "SES publishes only to a topic in the rule set's region",
    ),
]


@pytest.mark.parametrize(("rule", "bad", "good", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_fails_and_passes(
    tmp_path: Path, rule: str, bad: dict[str, Any], good: dict[str, Any], message: str
) -> None:
    failing = [f for f in lint_paths([write(tmp_path / "bad", bad)]) if f.rule == rule and f.fails]
    assert failing, f"{rule} not reported"
    assert any(message in f.message for f in failing), [f.message for f in failing]
    passing = [f.format() for f in lint_paths([write(tmp_path / "good", good)]) if f.fails]
    assert passing == []


def test_every_rule_has_a_case() -> None:
    assert {c[1] for c in CASES} == set(RULES)


def test_a_key_that_differs_only_in_case_is_a_note_naming_the_canonical_key(tmp_path: Path) -> None:
    (finding,) = lint_paths([write(tmp_path, iam(send({"StringEquals": {"SES:fromaddress": "a@example.com"}})))])
    assert finding.severity == NOTE and not finding.fails
    assert finding.rule == "SES001" and "write ses:FromAddress" in finding.message


def test_default_key_policy_and_trust_policies_are_not_findings(tmp_path: Path) -> None:
    resources = {
        **key(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ),
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                }
            },
        },
    }
    assert lint_paths([write(tmp_path, resources)]) == []


def test_the_seeds_policy_gets_its_findings_with_location(tmp_path: Path) -> None:
    seed = identity_policy(
        {"Sid": "WorkMail", **send(Principal={"AWS": "arn:aws:iam::210987654321:user/amazon-workmail-us-east-1"})}
    )
    findings = lint_paths([write(tmp_path, seed)])
    assert [(f.logical_id, f.statement, f.rule) for f in findings] == [("Send", "WorkMail", "SES007")]
    assert findings[0].format().startswith(f"{tmp_path}/Mail.template.json:Send:WorkMail: SES007 ")


def test_resources_outside_the_template_give_notes_not_errors(tmp_path: Path) -> None:
    imported = {"S3Action": {"BucketName": "shared-mail", "KmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/abc"}}
    lambda_elsewhere = {"LambdaAction": {"FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:elsewhere"}}
    findings = lint_paths([write(tmp_path, receipt_rule(imported, lambda_elsewhere))])
    assert sorted((f.rule, f.statement, f.severity) for f in findings) == [
        ("SES011", "Actions[0]", NOTE),
        ("SES012", "Actions[1]", NOTE),
        ("SES013", "Actions[0]", NOTE),
    ]


def test_s3_action_with_a_role_or_the_managed_key_needs_no_resource_policy(tmp_path: Path) -> None:
    action = {"S3Action": {"BucketName": {"Ref": "MailBucket"}, "IamRoleArn": "arn:aws:iam::123456789012:role/x"}}
    managed = {"S3Action": {**S3_ACTION["S3Action"], "KmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/ses"}}
    assert lint_paths([write(tmp_path / "a", receipt_rule(action))]) == []
    assert lint_paths([write(tmp_path / "b", {**receipt_rule(managed), **bucket_policy(ses_put())})]) == []


def test_s3_action_with_a_role_and_a_customer_key_needs_no_key_policy_for_ses(tmp_path: Path) -> None:
    """SES013 false positive (issue 21). S3Action ``IamRoleArn`` (SES API reference, S3Action): "If an IAM role ARN is
    provided, the role (and only the role) is used to access all the given resources (Amazon S3 bucket, Amazon Web
    Services KMS customer managed key and Amazon SNS topic). Therefore, setting up individual resource access
    permissions is not required." A key whose policy does not name ses.amazonaws.com is then no finding."""
    role = {"IamRoleArn": "arn:aws:iam::123456789012:role/x"}
    action = {"S3Action": {**S3_KMS_ACTION["S3Action"], **role}}
    template = {**receipt_rule(action), **key(kms_for_ses(["kms:Decrypt"]))}
    assert [f for f in lint_paths([write(tmp_path, template)]) if f.rule == "SES013"] == []


def test_a_deny_that_surely_applies_stops_the_grant(tmp_path: Path) -> None:
    deny = ses_put(Effect="Deny", Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    findings = lint_paths([write(tmp_path, {**receipt_rule(S3_ACTION), **bucket_policy(ses_put(), deny)})])
    assert [f.rule for f in findings if f.fails] == ["SES011"]


# -- suppressions -------------------------------------------------------------------------------------------------

STAR = iam({"Sid": "Send", **send(Resource="*")})


def test_config_entry_suppresses_with_its_reason(tmp_path: Path) -> None:
    config = tmp_path / "sesmail-lint.json"
    entry = {
        "rule": "SES010",
        "template": "Mail.template.json",
        "logicalId": "Pol*",
        "statement": "Send",
        "reason": "demo",
    }
    config.write_text(json.dumps({"suppress": [entry]}))
    report = lint([write(tmp_path / "out", STAR)], config=config)
    (finding,) = report.findings
    assert finding.suppressed == "demo" and not finding.fails and not report.failed
    assert finding.format().endswith("SUPPRESSED (demo)")
    assert report.unused == []


def test_a_config_entry_that_matches_nothing_is_reported_unused(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"suppress": [{"rule": "SES010", "logicalId": "Other", "reason": "r"}]}))
    report = lint([write(tmp_path / "out", STAR)], config=config)
    assert report.failed and [u.logical_id for u in report.unused] == ["Other"]


def test_the_working_directorys_config_is_used_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = write(tmp_path / "out", STAR)
    (tmp_path / "sesmail-lint.json").write_text(
        json.dumps({"suppress": [{"rule": "SES010", "logicalId": "Policy", "reason": "r"}]})
    )
    monkeypatch.chdir(tmp_path)
    assert not lint([out]).failed


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"rule": "SES010", "logicalId": "Policy"}, "'reason' missing or empty"),
        ({"rule": "SES010", "logicalId": "Policy", "reason": "  "}, "'reason' missing or empty"),
        ({"rule": "SES999", "logicalId": "Policy", "reason": "r"}, "unknown rule 'SES999'"),
        ({"rule": "SES010", "reason": "r"}, "'logicalId' missing"),
        ({"rule": "SES010", "logicalId": "Policy", "reason": "r", "why": "x"}, "unknown field"),
    ],
)
def test_bad_config_entries_are_usage_errors(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"suppress": [entry]}))
    with pytest.raises(ConfigError, match=message):
        lint([write(tmp_path / "out", STAR)], config=config)


def test_metadata_suppresses_findings_on_its_resource_only(tmp_path: Path) -> None:
    resources = STAR | {"Other": {"Type": "AWS::IAM::Policy", "Properties": STAR["Policy"]["Properties"]}}
    resources["Policy"] = {
        **STAR["Policy"],
        "Metadata": {"sesmail-lint": {"suppress": [{"rule": "SES010", "reason": "sends as any identity"}]}},
    }
    findings = lint_paths([write(tmp_path, resources)])
    assert sorted((f.logical_id, f.suppressed) for f in findings) == [
        ("Other", None),
        ("Policy", "sends as any identity"),
    ]
    (suppressed,) = [f for f in findings if f.suppressed]
    assert suppressed.suppressed_by and suppressed.suppressed_by.endswith("Mail.template.json:Policy metadata")


def test_metadata_without_reason_is_a_usage_error(tmp_path: Path) -> None:
    resources = {**STAR, "Policy": {**STAR["Policy"], "Metadata": {"sesmail-lint": {"suppress": [{"rule": "SES010"}]}}}}
    with pytest.raises(ConfigError, match="reason"):
        lint_paths([write(tmp_path, resources)])


def test_finding_format() -> None:
    finding = Finding("cdk.out/x.template.json", "Pol", "0", "SES010", "msg")
    assert finding.format() == "cdk.out/x.template.json:Pol:0: SES010 msg"
    assert Finding("t", "L", "1", "SES011", "m", NOTE).format() == "t:L:1: SES011 note: m"


def test_another_accounts_topic_outside_the_templates_is_a_note(tmp_path: Path) -> None:
    """SES Developer Guide, "Giving permissions to Amazon SES for email receiving": "If the Amazon SNS topic you want to
    use is owned by the same AWS account you are using for Amazon SES, no setup is required"; another account's
    topic needs a topic policy, which lives in that account when it is not in the templates."""
    findings = [f for f in lint_paths([write(tmp_path, receipt_rule(SNS_ACTION))]) if f.rule == "SES017"]
    assert [(f.severity, f.fails) for f in findings] == [(NOTE, False)]
    assert OTHER in findings[0].message and RULE_ARN in findings[0].message
    own = receipt_rule({"SNSAction": {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:mail"}})
    assert [f for f in lint_paths([write(tmp_path / "own", own)]) if f.rule == "SES017"] == []
