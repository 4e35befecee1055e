"""CloudFormation custom resource: an access key of an IAM user turned into SES SMTP credentials in Secrets Manager.

Properties: ``UserName`` (IAM user), ``SecretId`` (Secrets Manager secret, KMS encrypted), ``Region`` (SMTP region),
``RotationToken`` (any string; changing it rotates the key). Physical id: the access key id.
Create makes a key and stores ``{"username", "password", "endpoint", "port"}`` in the secret. An Update that changes
``UserName``, ``RotationToken``, ``SecretId`` or ``Region`` makes a new key and returns its id as the new physical id;
CloudFormation then sends Delete for the old id, which deletes the old key only after the secret holds the new one.
Other updates change nothing. Secrets never appear in the response data, the template or the logs (``NoEcho``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.exceptions import ClientError
from smtp_password import smtp_password

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

SMTP_PORT = 587
_ROTATING_PROPS = ("UserName", "RotationToken")


def smtp_endpoint(region: str) -> str:
    return f"email-smtp.{region}.amazonaws.com"


def secret_document(access_key_id: str, secret_access_key: str, region: str) -> str:
    return json.dumps(
        {
            "username": access_key_id,
            "password": smtp_password(secret_access_key, region),
            "endpoint": smtp_endpoint(region),
            "port": SMTP_PORT,
        }
    )


def _create(props: dict[str, Any]) -> dict[str, Any]:
    iam = boto3.client("iam")
    key = iam.create_access_key(UserName=props["UserName"])["AccessKey"]
    try:
        boto3.client("secretsmanager").put_secret_value(
            SecretId=props["SecretId"],
            SecretString=secret_document(key["AccessKeyId"], key["SecretAccessKey"], props["Region"]),
        )
    except ClientError:
        # Without a stored password the key is useless; do not leave an orphan behind.
        iam.delete_access_key(UserName=props["UserName"], AccessKeyId=key["AccessKeyId"])
        raise
    LOG.info("created access key %s for %s", key["AccessKeyId"], props["UserName"])
    return {"PhysicalResourceId": key["AccessKeyId"], "NoEcho": True}


def _delete(props: dict[str, Any], access_key_id: str) -> dict[str, Any]:
    try:
        boto3.client("iam").delete_access_key(UserName=props["UserName"], AccessKeyId=access_key_id)
        LOG.info("deleted access key %s of %s", access_key_id, props["UserName"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
    return {"PhysicalResourceId": access_key_id}


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    props = event["ResourceProperties"]
    request = event["RequestType"]
    LOG.info("%s for user %s", request, props.get("UserName"))
    if request == "Create":
        return _create(props)
    if request == "Update":
        old = event.get("OldResourceProperties", {})
        if any(old.get(name) != props.get(name) for name in (*_ROTATING_PROPS, "SecretId", "Region")):
            return _create(props)
        return {"PhysicalResourceId": event["PhysicalResourceId"], "NoEcho": True}
    if request == "Delete":
        return _delete(props, event["PhysicalResourceId"])
    raise ValueError(f"unknown RequestType {request!r}")
