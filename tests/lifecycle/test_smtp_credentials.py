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
from typing import Any

import boto3
import pytest

from tests.conftest import load_handler, no_sleep
from tests.lifecycle.harness import SEQUENCES, Contract, Props, Sequence, client, conform, shared

index = load_handler("smtp_credentials")

USER, OTHER_USER, SECRET = "sesmail-smtp", "someone-else", "sesmail-smtp-secret"


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

    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        # The handler's own clients, made once per matrix after the harness hooked boto3 (client creation is slow).
        clients = shared("handler", lambda: (boto3.client("iam"), boto3.client("secretsmanager")))
        return index.on_event(event, *clients, sleep=no_sleep)

    def keys(self, user: str = USER) -> set[str]:
        return {k["AccessKeyId"] for k in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}

    def check_declared(self, props: Props | None, physical_id: str | None) -> None:
        if props is None:
            assert self.keys() == set(), f"access keys left behind: {self.keys()}"
            return
        assert self.keys() == {physical_id}, f"live keys {self.keys()}, declared {physical_id}"
        # AWS returns AWSCURRENT when no stage is given; moto 5.2 then returns its first version after
        # UpdateSecretVersionStage, so the stage is named here.
        current = self.secrets.get_secret_value(SecretId=self.secret_arn, VersionStage="AWSCURRENT")
        document = json.loads(current["SecretString"])
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
