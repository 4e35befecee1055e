"""Reproduce the seed's 403 offline, and show that the project's own identity policy fixes it without a confused deputy.

Seed 000: WorkMail's sends failed with ``403 AccessDenied ... not authorized to perform ses:SendRawEmail on resource
arn:aws:ses:...:identity/example.com``. Today WorkMail calls SES as the service principal
``workmail.<region>.amazonaws.com`` with ``aws:SourceAccount``/``aws:SourceArn`` of its organization. An identity policy
whose principal is the IAM *user* from the error text does not name that caller, so ``sesmail check`` must say DENY;
the project's policy (service principal scoped to the configured organization) must say ALLOW for that organization
and DENY for any other organization's ARN.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

ACCT = "123456789012"
REGION = "us-east-1"
IDENTITY = f"arn:aws:ses:{REGION}:{ACCT}:identity/example.com"
ORG = f"arn:aws:workmail:{REGION}:{ACCT}:organization/m-0123456789abcdef0123456789abcdef"
OTHER_ORG = "arn:aws:workmail:us-east-1:444455556666:organization/m-fedcba9876543210fedcba9876543210"
WORKMAIL = f"workmail.{REGION}.amazonaws.com"
WORKMAIL_USER = f"arn:aws:iam::{ACCT}:user/amazon-workmail-{REGION}"


def seed_template(principal: str) -> dict[str, Any]:
    """The seed's identity policy (as its article shows it, region and account filled in) in the identity-policy
    custom resource, with ``principal`` as its AWS principal and no deploy-time rewrite to the account root."""
    policy = {
        "Id": "ExamplePolicy",
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AuthorizeFromAddress",
                "Effect": "Allow",
                "Resource": IDENTITY,
                "Principal": {"AWS": principal},
                "Action": ["SES:SendEmail", "SES:SendRawEmail"],
            }
        ],
    }
    return {
        "Resources": {
            "SeedIdentityPolicy": {
                "Type": "Custom::SesIdentityPolicy",
                "Properties": {
                    "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCT}:function:provider",
                    "Identity": "example.com",
                    "PolicyName": "ExamplePolicy",
                    "Policy": json.dumps(policy),
                    "NormalizeAwsPrincipals": "false",
                },
            }
        }
    }


def sesmail(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the ``sesmail`` command line in-process: (exit status, stdout, stderr)."""
    from sesmail.policy.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def workmail_sends(path: Path | str, source_arn: str, *extra: str) -> list[str]:
    source_account = source_arn.split(":")[4]
    return [
        "check",
        str(path),
        "--principal",
        WORKMAIL,
        "--action",
        "ses:SendRawEmail",
        "--resource",
        IDENTITY,
        "--context",
        f"aws:SourceAccount={source_account}",
        "--context",
        f"aws:SourceArn={source_arn}",
        *extra,
    ]


@pytest.fixture
def seed_policy_template(tmp_path: Path) -> Path:
    path = tmp_path / "seed.template.json"
    path.write_text(json.dumps(seed_template(WORKMAIL_USER)))
    return path


def test_seed_policy_with_workmail_user_principal_denies_workmail(
    seed_policy_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = sesmail(workmail_sends(seed_policy_template, ORG, "--account", ACCT, "--region", REGION), capsys)
    assert code == 1, err
    assert out.startswith(f"DENY (implicit-deny): {WORKMAIL} ses:SendRawEmail on {IDENTITY}")
    assert "evaluated 0 identity and 1 resource policies" in out


def test_seed_policy_json_names_no_deciding_statement(
    seed_policy_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = workmail_sends(seed_policy_template, ORG, "--account", ACCT, "--region", REGION, "--json")
    code, out, _ = sesmail(argv, capsys)
    data = json.loads(out)
    assert code == 1
    assert (data["decision"], data["reason"], data["deciding"]) == ("DENY", "implicit-deny", [])
    assert data["resource_policies"] == [f"{seed_policy_template}:SeedIdentityPolicy"]


def test_seed_policy_allows_only_the_user_it_names(
    seed_policy_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The statement is not dead: it allows the IAM user it names, which is not who WorkMail calls SES as.
    argv = ["check", str(seed_policy_template), "--principal", WORKMAIL_USER, "--action", "ses:SendRawEmail"]
    code, out, _ = sesmail([*argv, "--resource", IDENTITY, "--account", ACCT, "--region", REGION], capsys)
    assert code == 0
    assert "SeedIdentityPolicy:AuthorizeFromAddress" in out


@pytest.fixture(scope="module")
def assembly_dir(project_app: cdk.App) -> str:
    return project_app.synth().directory


def test_project_policy_allows_workmail_of_the_configured_organization(
    assembly_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = sesmail(workmail_sends(assembly_dir, ORG), capsys)
    assert code == 0, out + err
    assert out.startswith(f"ALLOW (allowed): {WORKMAIL} ses:SendRawEmail on {IDENTITY}")
    assert "sesmail-example-workmail.template.json:WorkMailSending" in out


def test_project_policy_denies_another_organization(assembly_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sesmail(workmail_sends(assembly_dir, OTHER_ORG), capsys)
    assert code == 1
    assert out.startswith("DENY (implicit-deny)")


def test_project_policy_denies_own_account_with_a_forged_organization(
    assembly_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Right account, wrong organization: aws:SourceArn alone must stop it.
    forged = ORG.replace("m-0123456789abcdef0123456789abcdef", "m-ffffffffffffffffffffffffffffffff")
    code, _, _ = sesmail(workmail_sends(assembly_dir, forged), capsys)
    assert code == 1


def test_project_policy_allows_workmail_only_the_send_actions(
    assembly_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = workmail_sends(assembly_dir, ORG)
    argv[argv.index("ses:SendRawEmail")] = "ses:DeleteEmailIdentity"
    code, _, _ = sesmail(argv, capsys)
    assert code == 1
