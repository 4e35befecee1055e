"""``sesmail check`` (sesmail.policy.check) on small hand-written templates: selection of the identity and resource
policies, context parsing, output, exit codes and usage errors."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sesmail.policy import check
from sesmail.policy.templates import scan_templates

ACCT = "123456789012"
OTHER = "111122223333"
IDENTITY = f"arn:aws:ses:us-east-1:{ACCT}:identity/example.com"
ORG = f"arn:aws:workmail:us-east-1:{ACCT}:organization/m-0123456789abcdef0123456789abcdef"
RULE = f"arn:aws:ses:us-east-1:{ACCT}:receipt-rule-set/mail:receipt-rule/info"

APP_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "SendAsInfo",
            "Effect": "Allow",
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/example.com"},
            "Condition": {
                "StringEquals": {"ses:FromAddress": "info@example.com"},
                "ForAllValues:StringLike": {"ses:Recipients": "*@example.com"},
            },
        }
    ],
}
WORKMAIL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowWorkMailToSendAsDomain",
            "Effect": "Allow",
            "Principal": {"Service": "workmail.us-east-1.amazonaws.com"},
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": IDENTITY,
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCT}, "ArnEquals": {"aws:SourceArn": ORG}},
        }
    ],
}


def template() -> dict[str, Any]:
    """A role with an identity policy, an SES identity policy, and a bucket policy for SES receiving."""
    return {
        "Resources": {
            "AppRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "App",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                },
            },
            "AppRolePolicy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyName": "send", "PolicyDocument": APP_POLICY, "Roles": [{"Ref": "AppRole"}]},
            },
            "IdentityPolicy": {
                "Type": "Custom::SesIdentityPolicy",
                "Properties": {
                    "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
                    "Identity": "example.com",
                    "PolicyName": "sesmail-workmail-send",
                    "Policy": json.dumps(WORKMAIL_POLICY),
                },
            },
            "MailBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "mail-bucket"}},
            "MailBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "MailBucket"},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Action": "s3:*",
                                "Resource": [
                                    {"Fn::GetAtt": ["MailBucket", "Arn"]},
                                    {"Fn::Join": ["", [{"Fn::GetAtt": ["MailBucket", "Arn"]}, "/*"]]},
                                ],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            },
                            {
                                "Sid": "AllowSesPut",
                                "Effect": "Allow",
                                "Principal": {"Service": "ses.amazonaws.com"},
                                "Action": "s3:PutObject",
                                "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["MailBucket", "Arn"]}, "/info/*"]]},
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": ACCT},
                                    "ArnEquals": {"aws:SourceArn": RULE},
                                },
                            },
                        ],
                    },
                },
            },
        }
    }


@pytest.fixture
def assembly(tmp_path: Path) -> Path:
    """A minimal cloud assembly: the template and a manifest that gives its account and region."""
    (tmp_path / "mail.template.json").write_text(json.dumps(template()))
    manifest = {
        "artifacts": {
            "mail": {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://{ACCT}/us-east-1",
                "properties": {"templateFile": "mail.template.json", "stackName": "mail"},
            }
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sesmail check")
    check.add_arguments(parser)
    return parser.parse_args(argv)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = check.run(parse(argv))
    out, err = capsys.readouterr()
    return code, out, err


def send_as(assembly: Path, *extra: str) -> list[str]:
    return [
        str(assembly),
        "--principal",
        "logical:AppRole",
        "--action",
        "ses:SendRawEmail",
        "--resource",
        IDENTITY,
        *extra,
    ]


def test_logical_principal_allowed_by_its_identity_policy(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        send_as(assembly, "--context", "ses:FromAddress=info@example.com", "--context", "ses:Recipients=a@example.com"),
        capsys,
    )
    assert code == 0, err
    assert out.startswith("ALLOW (allowed): arn:aws:iam::123456789012:role/App ses:SendRawEmail")
    assert "allowed by " in out and "mail.template.json:AppRolePolicy:SendAsInfo" in out


def test_other_from_address_is_implicitly_denied(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(send_as(assembly, "--context", "ses:FromAddress=ceo@example.com"), capsys)
    assert code == 1
    assert out.startswith("DENY (implicit-deny)")
    assert "no statement allows the request" in out


def test_repeated_context_key_is_multi_valued(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--context", "ses:FromAddress=info@example.com", "--context", "ses:Recipients=a@example.com"]
    code, _, _ = run(send_as(assembly, *base, "--context", "ses:Recipients=x@evil.test"), capsys)
    assert code == 1  # ForAllValues: one recipient outside example.com fails the whole set
    code, _, _ = run(send_as(assembly, *base, "--context", "SES:Recipients=b@example.com"), capsys)
    assert code == 0


def test_arn_principal_finds_its_role_in_the_template(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = send_as(assembly, "--context", "ses:FromAddress=info@example.com")
    argv[argv.index("logical:AppRole")] = f"arn:aws:sts::{ACCT}:assumed-role/App/session-1"
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert "evaluated 1 identity and 1 resource policies" in out


def test_workmail_json_output(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(assembly), "--principal", "workmail.us-east-1.amazonaws.com", "--action", "ses:SendRawEmail"]
    argv += ["--resource", IDENTITY, "--context", f"aws:SourceAccount={ACCT}", "--context", f"aws:SourceArn={ORG}"]
    code, out, _ = run([*argv, "--json"], capsys)
    data = json.loads(out)
    assert code == 0
    assert data["decision"] == "ALLOW" and data["reason"] == "allowed"
    assert [m["label"] for m in data["deciding"]] == [
        f"{assembly}/mail.template.json:IdentityPolicy:AllowWorkMailToSendAsDomain"
    ]
    assert data["request"]["context"]["aws:SourceArn"] == [ORG]
    assert data["identity_policies"] == []
    other_org = ORG.replace(ACCT, OTHER)
    code, out, _ = run([*argv[:-1], f"aws:SourceArn={other_org}", "--json"], capsys)
    assert code == 1
    assert json.loads(out)["decision"] == "DENY"


def test_bucket_policy_covers_objects_for_ses_receiving(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(assembly), "--principal", "ses.amazonaws.com", "--action", "s3:PutObject"]
    ctx = ["--context", f"aws:SourceAccount={ACCT}", "--context", f"aws:SourceArn={RULE}"]
    code, out, _ = run([*argv, "--resource", "arn:aws:s3:::mail-bucket/info/msg-1", *ctx], capsys)
    assert code == 0, out
    assert "MailBucketPolicy:AllowSesPut" in out
    code, _, _ = run([*argv, "--resource", "arn:aws:s3:::mail-bucket/support/msg-1", *ctx], capsys)
    assert code == 1
    code, out, _ = run(
        [*argv, "--resource", "arn:aws:s3:::mail-bucket/info/msg-1", *ctx, "--context", "aws:SecureTransport=false"],
        capsys,
    )
    assert code == 1
    assert out.startswith("DENY (explicit-deny)")
    assert "denied by " in out and "MailBucketPolicy:0" in out


def test_cross_account_principal_needs_both_sides(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(assembly), "--principal", f"arn:aws:iam::{OTHER}:user/partner", "--action", "ses:SendRawEmail"]
    code, out, _ = run([*argv, "--resource", IDENTITY], capsys)
    assert code == 1
    assert out.startswith("DENY (implicit-deny)")


def test_trust_policy_answers_assume_role(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(assembly), "--principal", "lambda.amazonaws.com", "--action", "sts:AssumeRole"]
    code, out, _ = run([*argv, "--resource", f"arn:aws:iam::{ACCT}:role/App"], capsys)
    assert code == 0, out


def test_template_file_outside_an_assembly_takes_account_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "loose.template.json"
    path.write_text(json.dumps(template()))
    argv = [str(path), "--principal", "logical:AppRole", "--action", "ses:SendEmail", "--resource", IDENTITY]
    argv += ["--context", "ses:FromAddress=info@example.com"]
    code, _, _ = run([*argv, "--account", ACCT, "--region", "us-east-1"], capsys)
    assert code == 0
    # Without the account the role's ARN cannot be known, which is a usage error that says what to pass.
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "cannot be resolved offline" in err and "pass --account and --region" in err


def test_parse_context() -> None:
    assert check.parse_context(["a:b=1", "A:B=2", "c:d=x=y", "e:f="]) == {
        "a:b": ("1", "2"),
        "c:d": ("x=y",),
        "e:f": ("",),
    }


def test_default_context_fills_time_and_tls_unless_given(assembly: Path) -> None:
    now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    request, _, _ = check.check(parse(send_as(assembly)), now=now)
    assert request.context["aws:CurrentTime"] == ("2026-11-25T06:00:00Z",)
    assert request.context["aws:EpochTime"] == (str(int(now.timestamp())),)
    assert request.context["aws:SecureTransport"] == ("true",)
    request, _, _ = check.check(parse(send_as(assembly, "--context", "aws:securetransport=false")), now=now)
    assert "aws:SecureTransport" not in request.context
    assert request.context["aws:securetransport"] == ("false",)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--context", "no-equals-sign"], "--context: 'no-equals-sign' is not KEY=VALUE"),
        (["--principal", "somebody"], "--principal: 'somebody' is not an IAM ARN"),
        (["--principal", "logical:Nope"], "no AWS::IAM::Role or AWS::IAM::User 'Nope'"),
        (["--action", "ses:Send*"], "is not service:Action"),
        (["--resource-account", "12"], "--resource-account: '12' is not a 12-digit account id"),
    ],
)
def test_usage_errors_are_one_line(
    assembly: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run([*send_as(assembly), *argv], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("sesmail check: ")
    assert message in err


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(send_as(tmp_path / "nowhere"), capsys)
    assert code == 2
    assert "no such file or directory" in err and err.count("\n") == 1


def test_unknown_action_is_a_usage_error(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = send_as(assembly)
    argv[argv.index("ses:SendRawEmail")] = "ses:SendRawMail"
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "'ses:SendRawMail'" in err and "no such action" in err


def test_unsupported_context_key_is_noted(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(send_as(assembly, "--context", "ses:FromAdress=info@example.com"), capsys)
    assert code == 1
    assert "note: --context ses:FromAdress: ses:SendRawEmail does not support this key" in out


def receipt_requests(assembly_dir: str) -> list[tuple[str, list[str], list[str]]]:
    """What SES does for each S3/Lambda action of each AWS::SES::ReceiptRule in the synthesized app: (label, argv
    for its own rule, argv for a foreign rule's SourceArn)."""
    from sesmail.policy.templates import scan_templates

    requests = []
    for scan in scan_templates([assembly_dir]):
        ctx = scan.context
        for logical_id, resource in scan.template["Resources"].items():
            if resource.get("Type") != "AWS::SES::ReceiptRule":
                continue
            props = scan.resolver.resolve(resource["Properties"])
            rule = f"arn:{ctx.partition}:ses:{ctx.region}:{ctx.account}:receipt-rule-set/{props['RuleSetName']}"
            rule += f":receipt-rule/{props['Rule']['Name']}"
            # Another rule set's rule: the grants are scoped to this set (the S3 role's trust and the Lambda
            # permission match the set's rules by pattern, so another rule of the same set is allowed by design).
            foreign = f"arn:{ctx.partition}:ses:{ctx.region}:{ctx.account}:receipt-rule-set/somebody-elses-set"
            foreign += ":receipt-rule/somebody-elses-rule"
            for action in props["Rule"].get("Actions", []):
                if "S3Action" in action and action["S3Action"].get("IamRoleArn"):
                    # SES assumes the action's role (trust policy), and the role puts the object (its policy).
                    s3 = action["S3Action"]
                    role = str(scan.resolver.resolve(s3["IamRoleArn"]))
                    assume = [assembly_dir, "--principal", "ses.amazonaws.com", "--action", "sts:AssumeRole"]
                    assume += ["--resource", role, "--context", f"aws:SourceAccount={ctx.account}"]
                    requests.append(
                        (
                            f"{logical_id}:sts:AssumeRole",
                            [*assume, "--context", f"aws:SourceArn={rule}"],
                            [*assume, "--context", f"aws:SourceArn={foreign}"],
                        )
                    )
                    bucket = f"arn:{ctx.partition}:s3:::{s3['BucketName']}"
                    put = [assembly_dir, "--principal", role, "--action", "s3:PutObject", "--resource"]
                    requests.append(
                        (
                            f"{logical_id}:s3:PutObject",
                            [*put, f"{bucket}/{s3.get('ObjectKeyPrefix', '')}m1"],
                            [*put, f"{bucket}/somebody-elses-prefix/m1"],
                        )
                    )
                    continue
                if "S3Action" in action:
                    s3 = action["S3Action"]
                    target = [
                        "s3:PutObject",
                        f"arn:{ctx.partition}:s3:::{s3['BucketName']}/{s3.get('ObjectKeyPrefix', '')}m1",
                    ]
                elif "LambdaAction" in action:
                    target = ["lambda:InvokeFunction", action["LambdaAction"]["FunctionArn"]]
                else:
                    continue
                argv = [
                    assembly_dir,
                    "--principal",
                    "ses.amazonaws.com",
                    "--action",
                    target[0],
                    "--resource",
                    target[1],
                ]
                argv += ["--context", f"aws:SourceAccount={ctx.account}"]
                requests.append(
                    (
                        f"{logical_id}:{target[0]}",
                        [*argv, "--context", f"aws:SourceArn={rule}"],
                        [*argv, "--context", f"aws:SourceArn={foreign}"],
                    )
                )
    return requests


def test_receipt_rule_actions_of_the_app_are_allowed_only_for_their_rule(
    project_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    requests = receipt_requests(project_app.synth().directory)
    if not requests:
        pytest.skip("the example app has no S3/Lambda receipt actions")
    for label, own, foreign in requests:
        code, out, _ = run(own, capsys)
        assert code == 0, f"{label}: {out}"
        code, out, _ = run(foreign, capsys)
        assert code == 1, f"{label}: {out}"


def _key_assembly(tmp_path: Path, key_statements: list[dict[str, Any]]) -> Path:
    """A role whose identity policy allows kms:Decrypt on a key, and that key with ``key_statements``."""
    resources = template()["Resources"]
    resources["AppRolePolicy"]["Properties"]["PolicyDocument"] = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}},
            {
                "Sid": "NotOutsideTheMailPrefix",
                "Effect": "Deny",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"kms:ViaService": {"Fn::ImportValue": "MailService"}}},
            },
        ],
    }
    resources["Key"] = {
        "Type": "AWS::KMS::Key",
        "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": key_statements}},
    }
    (tmp_path / "mail.template.json").write_text(json.dumps({"Resources": resources}))
    manifest = {
        "artifacts": {
            "mail": {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://{ACCT}/us-east-1",
                "properties": {"templateFile": "mail.template.json", "stackName": "mail"},
            }
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def _decrypt(assembly_dir: Path, *extra: str) -> list[str]:
    decision_args = [str(assembly_dir), "--principal", "logical:AppRole", "--action", "kms:Decrypt"]
    # The key's ARN as the extraction resolves it (GetAtt of a key without a physical id).
    key_arn = str(scan_templates([str(assembly_dir)])[0].resolver.get_att("Key", "Arn"))
    return [*decision_args, "--resource", key_arn, "--context", "kms:ViaService=s3.us-east-1.amazonaws.com", *extra]


def test_a_key_policy_that_does_not_delegate_denies_an_identity_allow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """KMS Developer Guide, "Key policies in AWS KMS": "Unless the key policy explicitly allows it, you cannot use IAM
    policies to allow access to a KMS key. Without permission from the key policy, IAM policies that allow
    permissions have no effect." """
    other_admin = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/Admin"},
        "Action": "kms:*",
        "Resource": "*",
    }
    code, out, _ = run(_decrypt(_key_assembly(tmp_path, [other_admin])), capsys)
    assert code == 1 and out.startswith("DENY (implicit-deny")
    assert "no statement of the key policy allows the principal or its account" in out
    assert "assumes: not modelled: SCPs and RCPs" in out


def test_a_delegating_key_policy_allows_and_an_unresolved_deny_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default key policy's root statement delegates to IAM; the identity policy's Deny rests on an import that
    cannot be resolved offline, so the ALLOW is not definite and says which Deny may apply."""
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "kms:*", "Resource": "*"}
    assembly_dir = _key_assembly(tmp_path, [root])
    code, out, _ = run(_decrypt(assembly_dir), capsys)
    assert code == 0 and out.startswith("ALLOW (allowed, not definite)")
    assert "may be denied by " in out and "AppRolePolicy:NotOutsideTheMailPrefix (unresolved)" in out
    assert "could make this DENY" in out
    code, out, _ = run([*_decrypt(assembly_dir), "--json"], capsys)
    data = json.loads(out)
    assert data["decision"] == "ALLOW" and data["definite"] is False
    assert [m["sid"] for m in data["uncertain"]] == ["NotOutsideTheMailPrefix"]
    assert any(a.startswith("not modelled:") for a in data["assumptions"])
