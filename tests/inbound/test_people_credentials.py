"""sesmail.PeopleSmtpCredentials: one IAM user and secret per person, each allowed to send only as that person's
addresses; one nested stack; the shared handler's policy the same size for any number of people; `sesmail check` on
the synthesized templates.

IAM: "Access keys assigned to an IAM user | 2" and "User policy size can't exceed 2,048 characters"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). SES: ``ses:FromAddress`` "Restricts the
'From' address", and "The SES SMTP interface uses the SES API version 2 of ses:SendRawEmail"
(https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html). IAM user ARNs carry the user's path:
``arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/JaneDoe``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from sesmail import PeopleSmtpCredentials, Person
from sesmail.inbound.people import MAX_PEOPLE_PER_STACK
from sesmail.policy.cli import main as sesmail_main
from tests.inbound.people_app import build

ACCOUNT, REGION = "123456789012", "eu-west-1"
COM = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.com"
JP = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.co.jp"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PeopleSmtpCredentials, dict[str, Any]]:
    """The test app with jane, bob and person2, synthesized once into a cloud assembly."""
    outdir = tmp_path_factory.mktemp("people")
    app, _stack, credentials = build(3, outdir)
    app.synth()
    (nested,) = outdir.glob("*.nested.template.json")
    return outdir, credentials, json.loads(nested.read_text())


def _resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _user(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in _resources(template, "AWS::IAM::User").items()
        if {"Key": "sesmail:person", "Value": name} in v["Properties"]["Tags"]
    ]
    return found


def test_each_person_may_send_only_as_their_own_addresses_through_their_own_domains(
    synthesized: tuple[Path, PeopleSmtpCredentials, dict[str, Any]],
) -> None:
    _, credentials, template = synthesized
    _, jane = _user(template, "jane")
    assert jane["UserName"] == f"sesmail-jane-{credentials.label}"
    assert jane["Path"] == f"/sesmail/people/{credentials.label}/"
    assert jane["Policies"] == [
        {
            "PolicyName": "SendAs",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "ses:SendRawEmail",
                        "Resource": [JP, COM],
                        "Condition": {
                            "StringEquals": {
                                "ses:FromAddress": ["jane@example.com", "info@example.com", "sales@example.co.jp"]
                            }
                        },
                    }
                ],
            },
        }
    ]
    _, bob = _user(template, "bob")
    # bob sends as example.com only: his policy names no other identity.
    (statement,) = bob["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == COM
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": ["bob@example.com"]}}
    # No managed policy, no AWS::IAM::Policy per person: the policy is the user's own.
    assert not [p for p in _resources(template, "AWS::IAM::Policy").values() if p["Properties"].get("Users")]


def test_one_secret_and_one_key_resource_per_person_and_no_key_in_the_template(
    synthesized: tuple[Path, PeopleSmtpCredentials, dict[str, Any]],
) -> None:
    _, credentials, template = synthesized
    assert len(_resources(template, "AWS::IAM::User")) == 3
    assert len(_resources(template, "AWS::SecretsManager::Secret")) == 3
    keys = _resources(template, "Custom::SesPersonSmtpCredentials")
    assert len(keys) == 3
    assert not _resources(template, "AWS::IAM::AccessKey"), "CloudFormation would hold the secret access key"
    user_id, _ = _user(template, "jane")
    (jane_key,) = [v["Properties"] for v in keys.values() if v["Properties"]["UserName"] == {"Ref": user_id}]
    assert {k: v for k, v in jane_key.items() if k not in ("ServiceToken", "SecretId")} == {
        "UserName": {"Ref": user_id},
        "Region": REGION,
        "RotationToken": "1",
        "KeepPreviousKey": "true",
    }
    for secret in _resources(template, "AWS::SecretsManager::Secret").values():
        assert {"Key": "sesmail:people", "Value": credentials.label} in secret["Properties"]["Tags"]
        assert "KmsKeyId" in secret["Properties"]
    assert "Outputs" not in template or not any("AccessKey" in json.dumps(o) for o in template["Outputs"].values())


def test_the_handler_may_touch_only_this_constructs_users_and_secrets(
    synthesized: tuple[Path, PeopleSmtpCredentials, dict[str, Any]],
) -> None:
    """The secrets' statement rests on ``aws:ResourceTag/${TagKey}``, which the Service Authorization Reference
    lists for each of these Secrets Manager actions (read here from the IAM reference data sesmail ships)."""
    from sesmail.policy import iamdb

    for action in ("GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage"):
        found = iamdb.action(f"secretsmanager:{action}")
        assert found is not None and found.supports_key("aws:ResourceTag/sesmail:people"), action
    _, credentials, template = synthesized
    # The handler's role policy is the one that names iam:CreateAccessKey; after it, its log group's statement.
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in _resources(template, "AWS::IAM::Policy").values()
        if "iam:CreateAccessKey" in json.dumps(p)
    ]
    assert policy[1:] == [
        {
            "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"],
            "Effect": "Allow",
            "Resource": f"arn:aws:iam::{ACCOUNT}:user/sesmail/people/{credentials.label}/*",
        },
        {
            "Action": [
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Condition": {"StringEquals": {"aws:ResourceTag/sesmail:people": credentials.label}},
            "Effect": "Allow",
            "Resource": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*",
        },
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [next(iter(_resources(template, "AWS::KMS::Key"))), "Arn"]},
        },
    ]


def _check(outdir: Path, user_id: str, address: str, identity: str, capsys: pytest.CaptureFixture[str]) -> int:
    code = sesmail_main(
        [
            "check",
            str(outdir),
            "--principal",
            f"logical:{user_id}",
            "--action",
            "ses:SendRawEmail",
            "--resource",
            identity,
            "--context",
            f"ses:FromAddress={address}",
        ]
    )
    capsys.readouterr()
    return code


def test_sesmail_check_jane_may_send_as_jane_and_info_not_as_bob(
    synthesized: tuple[Path, PeopleSmtpCredentials, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """From the synthesized templates alone (the nested stack's account and region come from its parent)."""
    outdir, _, template = synthesized
    jane, _ = _user(template, "jane")
    bob, _ = _user(template, "bob")
    assert _check(outdir, jane, "jane@example.com", COM, capsys) == 0
    assert _check(outdir, jane, "info@example.com", COM, capsys) == 0
    assert _check(outdir, jane, "sales@example.co.jp", JP, capsys) == 0
    assert _check(outdir, jane, "bob@example.com", COM, capsys) == 1
    assert _check(outdir, bob, "bob@example.com", COM, capsys) == 0
    assert _check(outdir, bob, "info@example.com", COM, capsys) == 1
    assert _check(outdir, bob, "bob@example.co.jp", JP, capsys) == 1


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "T", env=cdk.Environment(account=ACCOUNT, region=REGION))


@pytest.mark.parametrize(
    ("people", "words"),
    [
        ([], "people: [] must name at least one person"),
        ([Person(name="jane", send_as=[])], "people[0].send_as"),
        ([Person(name="jane", send_as="jane@example.com")], "people[0].send_as"),
        ([Person(name="jane", send_as=["jane"])], "people[0].send_as: 'jane' is not a full e-mail address"),
        ([Person(name="ja ne", send_as=["jane@example.com"])], "people[0].name: 'ja ne'"),
        ([Person(name="a,b", send_as=["jane@example.com"])], "people[0].name: 'a,b'"),
        ([Person(name="x" * 48, send_as=["jane@example.com"])], "people[0].name"),
        (
            [Person(name="jane", send_as=["jane@example.com"]), Person(name="Jane", send_as=["info@example.com"])],
            "people[1].name: 'Jane' is given twice",
        ),
        ([Person(name="jane", send_as=["jane@other.example"])], "no identity of other.example"),
        ([Person(name="jane", send_as=["jane@example.com"], rotation_token="")], "people[0].rotation_token"),
    ],
)
def test_bad_people_are_refused_in_one_line(people: list[Person], words: str) -> None:
    with pytest.raises(ValueError, match=None) as raised:
        PeopleSmtpCredentials(_stack(), "People", people=people, identity=[COM])
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_two_people_may_both_send_as_info() -> None:
    stack = _stack()
    both = [Person(name=n, send_as=[f"{n}@example.com", "info@example.com"]) for n in ("jane", "bob")]
    credentials = PeopleSmtpCredentials(stack, "People", people=both, identity=[COM])
    assert set(credentials.users) == set(credentials.secrets) == {"jane", "bob"}


def test_capacity_of_one_nested_stack() -> None:
    """CloudFormation: "Resources | ... | 500 resources" per template (cloudformation-limits.html)."""
    assert MAX_PEOPLE_PER_STACK >= 100
    assert MAX_PEOPLE_PER_STACK * 3 + 9 <= 500 < (MAX_PEOPLE_PER_STACK + 1) * 3 + 9


def test_a_mail_domains_default_configuration_set_is_in_its_peoples_policies() -> None:
    """SES authorizes a send on the configuration set it uses too (see sesmail.identities)."""
    from aws_cdk import assertions

    from sesmail import MailConfigurationSet, MailDomain

    stack = _stack()
    configuration_set = MailConfigurationSet(stack, "Set", configuration_set_name="sesmail-people")
    domain = MailDomain(stack, "Com", domain_name="example.com", configuration_set=configuration_set)
    credentials = PeopleSmtpCredentials(
        stack, "People", people=[Person(name="jane", send_as=["jane@example.com"])], identity=domain
    )
    template = assertions.Template.from_stack(credentials.nested_stack)
    (user,) = template.find_resources("AWS::IAM::User").values()
    (statement,) = user["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    identity, configuration_set_arn = (json.dumps(r) for r in statement["Resource"])
    assert identity.endswith(f':ses:{REGION}:{ACCOUNT}:identity/example.com"]]}}')
    assert configuration_set_arn.endswith(f':ses:{REGION}:{ACCOUNT}:configuration-set/sesmail-people"]]}}')


def test_adding_or_removing_a_person_leaves_everybody_else_as_they_were() -> None:
    """Each person's resources are named by the person (logical ids and user name), in the same nested stack for
    any number of people: a person added or removed changes no other person's resource."""
    from aws_cdk import assertions

    def resources(names: list[str]) -> dict[str, Any]:
        people = [Person(name=n, send_as=[f"{n}@example.com", "info@example.com"]) for n in names]
        credentials = PeopleSmtpCredentials(_stack(), "People", people=people, identity=[COM])
        return dict(assertions.Template.from_stack(credentials.nested_stack).to_json()["Resources"])

    before, after = resources(["jane", "bob"]), resources(["amy", "bob"])
    bobs = {k: v for k, v in before.items() if k.startswith("Personbob")}
    assert len(bobs) == 3
    assert {k: after[k] for k in bobs} == bobs
    assert not [k for k in after if k.startswith("Personjane")]


def test_the_user_names_do_not_depend_on_token_numbering() -> None:
    """An environment-agnostic stack's region is a token whose text depends on what else the app built: the
    user names (and so the people's keys) must not change when another construct is added before them."""

    def label(extra: bool) -> str:
        stack = cdk.Stack(cdk.App(), "Agnostic")
        if extra:
            cdk.CfnOutput(stack, "Before", value=cdk.Aws.REGION)
        credentials = PeopleSmtpCredentials(
            stack, "People", people=[Person(name="jane", send_as=["jane@example.com"])], identity=[COM]
        )
        return credentials.label

    assert label(False) == label(True)
