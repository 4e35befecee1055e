"""SMTP credentials custom resource: password derivation against independent computations; key lifecycle in moto."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess

import boto3
import pytest
from moto import mock_aws

from tests.conftest import load_handler

password_module = load_handler("smtp_credentials", "smtp_password")
index = load_handler("smtp_credentials")

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _expected_python(secret: str, region: str) -> str:
    # Written out step by step from the documented pseudocode, without the loop the code under test uses.
    k_date = hmac.new(("AWS4" + secret).encode(), b"11111111", hashlib.sha256).digest()
    k_region = hmac.new(k_date, region.encode(), hashlib.sha256).digest()
    k_service = hmac.new(k_region, b"ses", hashlib.sha256).digest()
    k_terminal = hmac.new(k_service, b"aws4_request", hashlib.sha256).digest()
    k_message = hmac.new(k_terminal, b"SendRawEmail", hashlib.sha256).digest()
    return base64.b64encode(bytes([4]) + k_message).decode()


def _expected_openssl(secret: str, region: str) -> str:
    key = ("AWS4" + secret).encode().hex()
    for text in ("11111111", region, "ses", "aws4_request", "SendRawEmail"):
        out = subprocess.run(
            ["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{key}", "-hex"],
            input=text.encode(),
            capture_output=True,
            check=True,
        ).stdout.decode()
        key = out.strip().split("= ")[-1]
    return base64.b64encode(b"\x04" + bytes.fromhex(key)).decode()


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_password_matches_step_by_step_derivation(region: str) -> None:
    assert password_module.smtp_password(SECRET, region) == _expected_python(SECRET, region)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_password_matches_openssl_hmac_chain() -> None:
    assert password_module.smtp_password(SECRET, "eu-central-1") == _expected_openssl(SECRET, "eu-central-1")


def test_password_depends_on_region_and_has_version_byte() -> None:
    east, west = (password_module.smtp_password(SECRET, r) for r in ("us-east-1", "us-west-2"))
    assert east != west
    raw = base64.b64decode(east)
    assert raw[0] == 4 and len(raw) == 33


def test_empty_inputs_rejected() -> None:
    with pytest.raises(ValueError):
        password_module.smtp_password("", "us-east-1")


@pytest.fixture
def aws():
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_user(UserName="smtp")
        secret = boto3.client("secretsmanager").create_secret(Name="smtp-creds")
        yield iam, secret["ARN"]


def _event(kind: str, arn: str, **extra) -> dict:
    props = {"UserName": "smtp", "SecretId": arn, "Region": "eu-west-1", "RotationToken": "1"}
    return {"RequestType": kind, "ResourceProperties": props, **extra}


def _keys(iam) -> list[str]:
    return [k["AccessKeyId"] for k in iam.list_access_keys(UserName="smtp")["AccessKeyMetadata"]]


def test_create_stores_derived_password_and_returns_only_the_key_id(aws) -> None:
    iam, arn = aws
    response = index.handler(_event("Create", arn))
    assert set(response) == {"PhysicalResourceId", "NoEcho"} and response["NoEcho"] is True
    assert _keys(iam) == [response["PhysicalResourceId"]]
    stored = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    assert stored["username"] == response["PhysicalResourceId"]
    assert stored["endpoint"] == "email-smtp.eu-west-1.amazonaws.com" and stored["port"] == 587
    assert base64.b64decode(stored["password"])[0] == 4


def test_rotation_makes_a_new_key_and_delete_removes_the_old(aws) -> None:
    iam, arn = aws
    first = index.handler(_event("Create", arn))["PhysicalResourceId"]
    event = _event("Update", arn, PhysicalResourceId=first)
    event["OldResourceProperties"] = dict(event["ResourceProperties"])
    assert index.handler(event)["PhysicalResourceId"] == first  # nothing rotating changed
    event["ResourceProperties"]["RotationToken"] = "2"
    second = index.handler(event)["PhysicalResourceId"]
    assert second != first and sorted(_keys(iam)) == sorted([first, second])
    index.handler(_event("Delete", arn, PhysicalResourceId=first))
    assert _keys(iam) == [second]
    stored = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    assert stored["username"] == second


def test_delete_of_missing_key_succeeds(aws) -> None:
    _, arn = aws
    assert index.handler(_event("Delete", arn, PhysicalResourceId="AKIADOESNOTEXIST0000"))


def test_failed_secret_write_leaves_no_orphan_key(aws) -> None:
    iam, _ = aws
    with pytest.raises(Exception):  # noqa: B017 - any AWS error is fine; the orphan check is the point
        index.handler(_event("Create", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"))
    assert _keys(iam) == []


def test_a_secret_from_before_the_document_said_what_it_was_made_for_is_kept_on_an_unrelated_update(aws) -> None:
    """Stacks deployed before ``iamUserName``/``rotationToken`` were recorded: no rotation on upgrade."""
    iam, arn = aws
    key = iam.create_access_key(UserName="smtp")["AccessKey"]
    legacy = {"username": key["AccessKeyId"], "password": "x", "endpoint": "email-smtp.eu-west-1.amazonaws.com"}
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps(legacy))
    event = _event("Update", arn, PhysicalResourceId=key["AccessKeyId"])
    event["OldResourceProperties"] = dict(event["ResourceProperties"])
    assert index.handler(event)["PhysicalResourceId"] == key["AccessKeyId"]
    assert _keys(iam) == [key["AccessKeyId"]]
