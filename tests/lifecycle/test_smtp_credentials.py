"""The SMTP credentials handler through the lifecycle conformance suite.

IAM: "The number and size of IAM resources in an AWS account are limited ... Access keys assigned to an IAM user: 2"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), and a user with access keys cannot be
deleted: "you must delete the items attached to the user manually ... Access keys" before ``DeleteUser``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_users_remove.html) — so a failed Create that left a key would
block the stack's rollback. Secrets Manager: "If you don't include ``VersionStages`` ... Secrets Manager automatically
moves the staging label ``AWSCURRENT`` to this new version" and the label ``AWSPREVIOUS`` to the version it came from;
``ClientRequestToken`` makes ``PutSecretValue`` idempotent: "If a version with this value already exists and that
version's SecretString ... value are the same as those in the request, then the request is ignored"
(https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import boto3
import pytest

from tests.conftest import load_handler, no_sleep
from tests.lifecycle import harness
from tests.lifecycle.harness import (
    ACCOUNT,
    SEQUENCES,
    Contract,
    Policies,
    Props,
    Sequence,
    client,
    conform,
    role_policies_from_template,
    shared,
)
from tests.lifecycle.synth import cached, logical_id, template_of

index = load_handler("smtp_credentials")

USER, OTHER_USER, SECRET = "sesmail-smtp", "someone-else", "sesmail-smtp-secret"


# The contracts' observations of the account (access keys, the secret's versions) read moto's models, the state
# ListAccessKeys and GetSecretValue answer from: they are not calls of the handler's (nothing to fault or authorize)
# and each costs microseconds instead of a request (the matrices make thousands). The handler's calls, and the
# contract's own changes (setup, a removal by hand), go through the API.


def _live_keys(user: str) -> set[str]:
    """What ListAccessKeys answers for ``user``: its access key ids."""
    from moto.backends import get_backend

    return {key.access_key_id for key in get_backend("iam")[ACCOUNT]["aws"].list_access_keys(user)}


def _secret_string(secret_arn: str, stage: str) -> str | None:
    """What GetSecretValue(SecretId, VersionStage) answers as SecretString; ``None`` where it answers
    ResourceNotFoundException (no version has that stage)."""
    from moto.backends import get_backend
    from moto.secretsmanager.exceptions import ResourceNotFoundException, SecretNotFoundException

    backend = get_backend("secretsmanager")[ACCOUNT]["us-east-1"]
    try:
        # moto annotates version_id as str; GetSecretValue without a VersionId passes None.
        value: str | None = backend.get_secret_value(secret_arn, None, stage).get("SecretString")  # type: ignore[arg-type]
    except (ResourceNotFoundException, SecretNotFoundException):
        return None
    return value


@cached
def _template() -> tuple[dict[str, Any], dict[str, str]]:
    """The construct's template, and the logical ids of its handler role, IAM user and secret."""
    from sesmail import SmtpCredentials as Construct

    def build(stack: Any) -> dict[str, str]:
        creds = Construct(
            stack,
            "Smtp",
            identity_arn="arn:aws:ses:us-east-1:123456789012:identity/example.com",
            from_addresses=["info@example.com"],
        )
        return {
            "role": logical_id(creds.handler_role),
            "user": logical_id(creds.user),
            "secret": logical_id(creds.secret),
        }

    return template_of(build)


class SmtpCredentials(Contract):
    resource_type = "Custom::SesSmtpCredentials"
    backends = ("iam", "secretsmanager")

    def setup(self) -> None:
        self.iam = client("iam")
        self.secrets = client("secretsmanager")
        self.iam.create_user(UserName=USER)
        self.iam.create_user(UserName=OTHER_USER)
        self.iam.create_access_key(UserName=OTHER_USER)
        # CloudFormation creates the secret with a generated value (GenerateSecretString): not a document of ours.
        self.secret_arn = self.secrets.create_secret(Name=SECRET, SecretString="Zx8!generated-by-cloudformation")["ARN"]

    def props(self, version: int) -> Props:
        base = {"UserName": USER, "SecretId": self.secret_arn, "Region": "eu-west-1", "RotationToken": "1"}
        return [base, {**base, "Description": "changed"}, {**base, "RotationToken": "2"}][version]

    def role_policies(self, version: int) -> Policies:
        # One template for every version: the properties that change (RotationToken) are not in the role's policy.
        template, ids = _template()
        physical = {
            ids["user"]: {"Ref": USER, "Arn": f"arn:aws:iam::{ACCOUNT}:user/{USER}"},
            ids["secret"]: {"Ref": self.secret_arn},
        }
        return role_policies_from_template(template, ids["role"], physical)

    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        # The handler's own clients, made once per matrix after the harness hooked boto3 (client creation is slow).
        clients = shared("handler:smtp_credentials", lambda: (boto3.client("iam"), boto3.client("secretsmanager")))
        return index.on_event(event, *clients, sleep=no_sleep)

    def keys(self, user: str = USER) -> set[str]:
        return _live_keys(user)

    def check_declared(self, props: Props | None, physical_id: str | None) -> None:
        if props is None:
            assert self.keys() == set(), f"access keys left behind: {self.keys()}"
            return
        assert self.keys() == {physical_id}, f"live keys {self.keys()}, declared {physical_id}"
        # AWS returns AWSCURRENT when no stage is given; moto 5.2 then returns its first version after
        # UpdateSecretVersionStage, so the stage is named here.
        current = _secret_string(self.secret_arn, "AWSCURRENT")
        assert current is not None, "the secret has no current version"
        document = json.loads(current)
        assert document["username"] == physical_id, "the secret names another key than the one declared"
        assert (document["iamUserName"], document["rotationToken"]) == (USER, props["RotationToken"])
        assert document["endpoint"] == "email-smtp.eu-west-1.amazonaws.com" and document["password"]

    def others(self) -> Any:
        return self.keys(OTHER_USER)

    def remove_by_hand(self, props: Props, physical_id: str) -> None:
        self.iam.delete_access_key(UserName=USER, AccessKeyId=physical_id)


@pytest.mark.parametrize("sequence", SEQUENCES, ids=lambda s: s.name)
def test_smtp_credentials_conform(sequence: Sequence) -> None:
    conform(SmtpCredentials, sequence)


# -- a person's credentials (sesmail.PeopleSmtpCredentials): rotation in place, the previous key kept ---------------

#: Template versions of a person: (rotation token, keep the previous key). 0-2 are the harness's three versions.
PERSON_VERSIONS = [("1", True), ("2", True), ("2", False), ("3", True), ("4", False)]


@dataclass(frozen=True)
class _People:
    """What the synthesized ``PeopleSmtpCredentials`` says of its one person, jane."""

    template: dict[str, Any]
    #: Logical ids (in the nested stack) of the handler's role, jane's user, her secret and the KMS key.
    role: str
    user: str
    secret: str
    key: str
    #: jane's IAM user name and path, and the tags of her user and secret, as the template declares them.
    user_name: str
    path: str
    user_tags: dict[str, str]
    secret_tags: dict[str, str]


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


@cached
def _people_template() -> _People:
    """The people construct's nested template (one person), read as the suite enforces it."""
    from sesmail import PeopleSmtpCredentials as Construct
    from sesmail import Person

    def build(stack: Any) -> Any:
        return Construct(
            stack,
            "People",
            people=[Person(name="jane", send_as=["jane@example.com"])],
            identity="arn:aws:ses:us-east-1:123456789012:identity/example.com",
        )

    template, people = template_of(build, nested=lambda people: people.nested_stack)
    user, secret = people.users["jane"], people.secrets["jane"]
    ids = {
        "role": logical_id(people.handler_role),
        "user": logical_id(user),
        "secret": logical_id(secret),
        "key": logical_id(people.key),
    }
    resources = template["Resources"]
    user_props = resources[ids["user"]]["Properties"]
    return _People(
        template,
        **ids,
        user_name=user_props["UserName"],
        path=user_props["Path"],
        user_tags=_tags(resources[ids["user"]]),
        secret_tags=_tags(resources[ids["secret"]]),
    )


class PersonCredentials(SmtpCredentials):
    """One person's user: ``props(1)`` rotates keeping the old key, ``props(2)`` rotates and deletes it at once.

    The physical id is the user name, so CloudFormation never sends a Delete for a key: every update is in place.
    The person's user and secret are made as the people construct's template declares them (the user under the
    construct's IAM path, the secret with its tags), and the handler is held to that template's role policies,
    which name the users by path and the secrets by tag, not one by one.
    """

    resource_type = "Custom::SesPersonSmtpCredentials"
    #: The person's IAM path and secret tags; ``None``: as the template declares them (tests of the harness change
    #: them to see IAM refuse).
    user_path: str | None = None
    secret_tags: ClassVar[dict[str, str] | None] = None

    def setup(self) -> None:
        super().setup()  # the shared user and its secret stay: they belong to someone else here
        people = _people_template()
        self.user = people.user_name
        self.iam.create_user(
            UserName=self.user,
            Path=self.user_path or people.path,
            Tags=[{"Key": k, "Value": v} for k, v in people.user_tags.items()],
        )
        self.user_arn = self.iam.get_user(UserName=self.user)["User"]["Arn"]
        tags = people.secret_tags if self.secret_tags is None else self.secret_tags
        self.secret_arn = self.secrets.create_secret(
            Name=f"{self.user}-secret",
            SecretString="Zx8!generated-by-cloudformation",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["ARN"]

    def role_policies(self, version: int) -> Policies:
        # One template for every version: the rotation token and KeepPreviousKey are not in the role's policy.
        people = _people_template()
        physical = {
            people.user: {"Ref": self.user, "Arn": self.user_arn},
            people.secret: {"Ref": self.secret_arn},
            people.key: {"Arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"},
        }
        return role_policies_from_template(people.template, people.role, physical)

    def props(self, version: int) -> Props:
        token, keep = PERSON_VERSIONS[version]
        return {
            "UserName": self.user,
            "SecretId": self.secret_arn,
            "Region": "eu-west-1",
            "RotationToken": token,
            # CloudFormation hands a custom resource's booleans over as strings.
            "KeepPreviousKey": "true" if keep else "false",
        }

    def document(self, stage: str) -> dict[str, Any] | None:
        text = _secret_string(self.secret_arn, stage)
        if text is None:
            return None
        try:
            document = json.loads(text)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None

    def check_declared(self, props: Props | None, physical_id: str | None) -> None:
        keys = self.keys(self.user)
        if props is None:
            assert keys == set(), f"access keys left behind: {keys}"
            return
        assert physical_id == self.user, f"physical id {physical_id!r} is not the user name"
        current = self.document("AWSCURRENT")
        assert current is not None, "the secret holds no credentials"
        assert (current["iamUserName"], current["rotationToken"]) == (self.user, props["RotationToken"])
        assert current["username"] in keys, f"the secret names {current['username']}, live keys are {keys}"
        assert current["endpoint"] == "email-smtp.eu-west-1.amazonaws.com" and current["password"]
        previous = self.document("AWSPREVIOUS") or {}
        allowed = {current["username"]}
        if props["KeepPreviousKey"] == "true":
            allowed.add(previous.get("username"))
        assert keys <= allowed, f"live keys {keys}; the secret's versions name only {allowed}"
        assert self.keys() == set(), "the shared user's keys were touched"

    def remove_by_hand(self, props: Props, physical_id: str) -> None:
        for key in self.keys(self.user):
            self.iam.delete_access_key(UserName=self.user, AccessKeyId=key)


def _person_sequence(name: str, versions: tuple[int, ...], later_fails: bool) -> Sequence:
    """Create at version 0, update through ``versions`` without a fault, then to the last one with the fault."""

    *before, last = versions

    def prefix(stack: Any, c: Contract) -> None:
        assert harness._create(stack, c, None)
        for version in before:
            harness._update(stack, c, version, None, later_fails=False)

    def step(stack: Any, c: Contract, fault: Any) -> None:
        harness._update(stack, c, last, fault, later_fails=later_fails)

    return Sequence(name, step, prefix)


PERSON_SEQUENCES = (
    *SEQUENCES,
    # The second step: the previous key kept by a rotation is deleted by deploying keepPreviousKey false.
    _person_sequence("rotate-then-second-step", (1, 2), later_fails=False),
    _person_sequence("rotate-then-second-step-rolled-back", (1, 2), later_fails=True),
    # The next rotation: the older key goes first, within IAM's two keys per user.
    _person_sequence("rotate-twice", (1, 3), later_fails=False),
    _person_sequence("rotate-twice-rolled-back", (1, 3), later_fails=True),
    # A leaked key: rotate and delete the previous key in one deploy, after a rotation that kept one.
    _person_sequence("rotate-and-delete-at-once", (1, 4), later_fails=False),
)


@pytest.mark.parametrize("sequence", PERSON_SEQUENCES, ids=lambda s: s.name)
def test_person_credentials_conform(sequence: Sequence) -> None:
    conform(PersonCredentials, sequence)


def test_a_rotation_keeps_the_previous_key_until_the_second_step_or_the_next_rotation() -> None:
    """IAM: "Access keys assigned to an IAM user: 2" (reference_iam-quotas.html, cited above); Secrets Manager keeps
    the version that was current as ``AWSPREVIOUS`` when ``PutSecretValue`` moves ``AWSCURRENT``
    (API_PutSecretValue, cited above)."""
    from moto import mock_aws

    with mock_aws():
        person = PersonCredentials()
        harness.reset_shared()  # clients of an earlier test's injector would bypass this one's checks
        person.setup()
        stack = harness.Stack(person, harness.FaultInjector())
        try:
            assert harness._create(stack, person, None)
            first = person.document("AWSCURRENT")["username"]  # type: ignore[index]
            harness._update(stack, person, 1, None, later_fails=False)  # rotate, keep the previous key
            second = person.document("AWSCURRENT")["username"]  # type: ignore[index]
            assert person.keys(person.user) == {first, second}, "the previous key must keep working"
            previous = person.document("AWSPREVIOUS")
            assert previous is not None and previous["username"] == first and previous["password"]
            harness._update(stack, person, 3, None, later_fails=False)  # the next rotation: the older key goes
            third = person.document("AWSCURRENT")["username"]  # type: ignore[index]
            assert person.keys(person.user) == {second, third}
            harness._update(stack, person, 4, None, later_fails=False)  # rotate and delete the previous at once
            fourth = person.document("AWSCURRENT")["username"]  # type: ignore[index]
            assert person.keys(person.user) == {fourth}
            assert stack.physical_id == person.user, "every update was in place"
        finally:
            stack.injector.close()


def _denied_create(contract: PersonCredentials) -> str:
    from moto import mock_aws

    with mock_aws():
        harness.reset_shared()  # clients made under an earlier test's injector would bypass this one's checks
        contract.setup()
        stack = harness.Stack(contract, harness.FaultInjector())
        try:
            with pytest.raises(AssertionError, match="IAM denies Create") as denied:
                harness._create(stack, contract, None)
        finally:
            stack.injector.close()
            harness.reset_shared()
    return str(denied.value)


def test_iam_authorizes_a_users_calls_on_its_arn_with_its_path() -> None:
    """IAM identifiers, "IAM ARNs": a user with a path is ``arn:aws:iam::123456789012:user/division_abc/
    subdivision_xyz/Bob`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html). The people's
    handler may touch users under its construct's path only: the same user name at the root path is refused."""

    class Misplaced(PersonCredentials):
        user_path = "/"

    message = _denied_create(Misplaced())
    user = _people_template().user_name
    assert f"iam:ListAccessKeys on arn:aws:iam::{ACCOUNT}:user/{user} " in message


def test_iam_compares_a_secrets_tags_with_the_resource_tag_condition() -> None:
    """Service Authorization Reference, Secrets Manager: ``aws:ResourceTag/${TagKey}`` is a condition key of
    GetSecretValue, PutSecretValue and UpdateSecretVersionStage on a secret
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html). The people's
    handler may read and write only secrets tagged with its construct's label: another label is refused."""

    class Untagged(PersonCredentials):
        secret_tags: ClassVar[dict[str, str] | None] = {"sesmail:people": "00000000"}

    message = _denied_create(Untagged())
    assert "secretsmanager:GetSecretValue on arn:aws:secretsmanager:" in message
    assert "tagged {'sesmail:people': '00000000'}" in message
