"""CloudFormation custom resource: an access key of an IAM user turned into SES SMTP credentials in Secrets Manager.

Properties: ``UserName`` (IAM user, the stack's own), ``SecretId`` (Secrets Manager secret, KMS encrypted), ``Region``
(SMTP region), ``RotationToken`` (any string; changing it rotates the key). Physical id: the access key id.
A person's resource (``KeepPreviousKey`` among its properties) differs: see the end of this docstring.

Where the current key is recorded: in the secret. Its ``AWSCURRENT`` version is
``{"username", "password", "endpoint", "port", "region", "iamUserName", "rotationToken"}``; ``username`` is the key id,
the last three say which properties it was made for. Secrets Manager keeps the version before as ``AWSPREVIOUS``,
which is what a rollback goes back to. IAM allows two access keys per user, so there is never a third.

Create / Update (converge on the properties)
    The current version was made for these properties and its key is live: nothing to do (a retried Create, a
    rollback Update after a failed rotation). Else the previous version was, and its key is live: it becomes current
    again (a rollback Update after a rotation that landed) and the key that was current is deleted. Else a new key:
    keys of the user that neither version names (left by a create whose response was lost) are deleted first, the
    key is created, the secret gets a version for it (``ClientRequestToken`` derived from the key, so a retried put
    is the same version), and its id is the new physical id; CloudFormation then sends Delete for the old id. If that
    fails, the new key is deleted again before the error is raised: the provider framework answers the Delete of a
    failed Create itself, and an IAM user with keys cannot be deleted by the stack's rollback.
Delete
    The key is deleted. If it is the current one and the previous version's key is still live (the rollback of a
    rotation: CloudFormation deletes the new key, the old resource stays), the previous version becomes current first,
    so the secret never names a deleted key. Keys neither version names are deleted too. Gone already: success.

Calls are retried on throttling; a lost response is retried where the call is idempotent (all but
``CreateAccessKey``, whose lost key is found and deleted as above). Secrets never appear in the response data, the
template or the logs (``NoEcho``).

A person's credentials (``sesmail.PeopleSmtpCredentials``; the resource has a ``KeepPreviousKey`` property, "true" or
"false") rotate without breaking the person's mail client: the physical id is the user name, so a rotation is an
Update in place and CloudFormation never deletes a key on its own. The handler converges on the properties:

Create / Update
    As above, the current version made for these properties with a live key is kept, and a rolled-back rotation
    makes the previous version current again and deletes the rotation's key. Else a rotation: every key but the
    current one is deleted FIRST (the older key of the previous rotation, or keys left by a lost create), so that
    IAM's two keys per user leave room for the new one, which becomes the secret's ``AWSCURRENT`` version; the key
    that was current stays live as ``AWSPREVIOUS``. Then the second step: with ``KeepPreviousKey`` "false", every key
    but the current one is deleted; with "true", only keys that neither version names are. A deleted key is not
    brought back by a rollback (IAM cannot restore a secret access key): the second step is meant to be deployed
    after every client has the new password.
Delete
    The person is gone (or the stack, or a Create is rolled back): every key of the user is deleted, so that
    CloudFormation can delete the user. The secret is CloudFormation's to delete.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from smtp_password import smtp_password

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

SMTP_PORT = 587
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})
MAX_ATTEMPTS = 5
_TOKEN_NAMESPACE = uuid.UUID("5e3a1c52-7d0b-4f0e-9a39-2f0d6c1b7e11")

#: The properties a key is made for: a change to any of them means a new key.
_KEY_PROPS = ("UserName", "SecretId", "Region", "RotationToken")

Sleep = Callable[[float], None]
_AWS_ERRORS = (ClientError, ConnectionError, HTTPClientError)


class CredentialsError(RuntimeError):
    """A failure CloudFormation shows to the user, naming AWS's error and what to do."""


def smtp_endpoint(region: str) -> str:
    return f"email-smtp.{region}.amazonaws.com"


def secret_document(
    access_key_id: str, secret_access_key: str, region: str, props: dict[str, Any] | None = None
) -> str:
    """The secret's JSON: SMTP username/password/endpoint/port, and what the key was made for."""
    props = props or {}
    return json.dumps(
        {
            "username": access_key_id,
            "password": smtp_password(secret_access_key, region),
            "endpoint": smtp_endpoint(region),
            "port": SMTP_PORT,
            "region": region,
            "iamUserName": props.get("UserName", ""),
            "rotationToken": props.get("RotationToken", ""),
        }
    )


def _call(operation: Callable[..., Any], sleep: Sleep, *, idempotent: bool = True, **params: Any) -> Any:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return operation(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] not in THROTTLING_CODES or attempt == MAX_ATTEMPTS:
                raise
        except (ConnectionError, HTTPClientError):
            if not idempotent or attempt == MAX_ATTEMPTS:
                raise
        sleep(min(0.5 * 2**attempt, 8.0))
    raise AssertionError("unreachable")


def _code(error: Exception) -> str:
    return error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""


def _aws_error(error: Exception) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', str(error))}"
    return f"{type(error).__name__}: {error}"


class Credentials:
    """The user's keys (IAM) and the secret's current and previous versions (Secrets Manager)."""

    def __init__(self, iam: Any, secrets: Any, props: dict[str, Any], sleep: Sleep) -> None:
        self.iam, self.secrets, self.props, self.sleep = iam, secrets, props, sleep
        self.user, self.secret_id = props["UserName"], props["SecretId"]

    def keys(self) -> set[str]:
        try:
            found = _call(self.iam.list_access_keys, self.sleep, UserName=self.user)["AccessKeyMetadata"]
        except ClientError as error:
            if _code(error) == "NoSuchEntity":
                return set()
            raise
        return {key["AccessKeyId"] for key in found}

    def version(self, stage: str) -> tuple[dict[str, Any] | None, str | None]:
        """The document and version id at ``stage``; ``(None, id)`` for a value that is not ours."""
        try:
            got = _call(self.secrets.get_secret_value, self.sleep, SecretId=self.secret_id, VersionStage=stage)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None, None
            raise
        try:
            document = json.loads(got.get("SecretString") or "")
        except ValueError:
            document = None
        return (document if isinstance(document, dict) else None), got.get("VersionId")

    def made_for_props(self, document: dict[str, Any] | None) -> bool:
        return document is not None and (
            document.get("iamUserName"),
            document.get("rotationToken"),
            document.get("region"),
        ) == (self.user, self.props.get("RotationToken", ""), self.props["Region"])

    def make_current(self, version_id: str, current_id: str | None) -> None:
        params: dict[str, Any] = {
            "SecretId": self.secret_id,
            "VersionStage": "AWSCURRENT",
            "MoveToVersionId": version_id,
        }
        if current_id:
            params["RemoveFromVersionId"] = current_id
        try:
            _call(self.secrets.update_secret_version_stage, self.sleep, **params)
        except ClientError as error:
            # A retry after a lost response finds the label moved already ("Version stage AWSCURRENT not found in
            # version ..."): done, if the label is where it was to go.
            if _code(error) != "InvalidParameterException" or self.version("AWSCURRENT")[1] != version_id:
                raise

    def delete_key(self, key_id: str) -> None:
        try:
            _call(self.iam.delete_access_key, self.sleep, UserName=self.user, AccessKeyId=key_id)
            LOG.info("deleted access key %s of %s", key_id, self.user)
        except ClientError as error:
            if _code(error) != "NoSuchEntity":
                raise

    def new_key(self) -> str:
        before = self.keys()
        try:
            key = _call(self.iam.create_access_key, self.sleep, idempotent=False, UserName=self.user)["AccessKey"]
        except (ConnectionError, HTTPClientError):
            # The key may exist, but its secret half was lost with the response: delete it and make another.
            for lost in self.keys() - before:
                self.delete_key(lost)
            key = _call(self.iam.create_access_key, self.sleep, idempotent=False, UserName=self.user)["AccessKey"]
        key_id = key["AccessKeyId"]
        try:
            _call(
                self.secrets.put_secret_value,
                self.sleep,
                SecretId=self.secret_id,
                # The same key always gives the same version: a retried put is answered, not repeated.
                ClientRequestToken=str(uuid.uuid5(_TOKEN_NAMESPACE, key_id)),
                SecretString=secret_document(key_id, key["SecretAccessKey"], self.props["Region"], self.props),
            )
        except _AWS_ERRORS:
            # Without a stored password the key is useless; never leave it live.
            self._undo_new_key(key_id)
            raise
        LOG.info("created access key %s for %s", key_id, self.user)
        return key_id

    def _undo_new_key(self, key_id: str) -> None:
        current, current_id = self.version("AWSCURRENT")
        if current is not None and current.get("username") == key_id:
            _, previous_id = self.version("AWSPREVIOUS")
            if previous_id:
                self.make_current(previous_id, current_id)
        self.delete_key(key_id)

    def unreferenced(self, keys: set[str], *also: str | None) -> set[str]:
        current, _ = self.version("AWSCURRENT")
        previous, _ = self.version("AWSPREVIOUS")
        named = {d.get("username") for d in (current, previous) if d is not None} | set(also)
        return keys - named


def converge(creds: Credentials, physical_id: str | None, unchanged: bool = False) -> str:
    """Make the secret's current version a live key made for the properties; returns its id.

    ``unchanged``: an Update that changes none of the key's properties; a secret written before the document said
    what it was made for (no ``iamUserName``) is then kept as it is, if it names the resource's live key.
    """
    keys = creds.keys()
    current, current_id = creds.version("AWSCURRENT")
    if creds.made_for_props(current) and current["username"] in keys:  # type: ignore[index]
        return str(current["username"])  # type: ignore[index]
    legacy = current is not None and "iamUserName" not in current and current.get("username") == physical_id
    if unchanged and legacy and physical_id in keys:
        return str(physical_id)
    previous, previous_id = creds.version("AWSPREVIOUS")
    if previous_id and creds.made_for_props(previous) and previous["username"] in keys:  # type: ignore[index]
        creds.make_current(previous_id, current_id)
        demoted = (current or {}).get("username")
        if demoted and demoted != physical_id and demoted in keys:
            creds.delete_key(demoted)  # the key of a rotation that is being rolled back
        return str(previous["username"])  # type: ignore[index]
    for orphan in creds.unreferenced(keys, physical_id):
        creds.delete_key(orphan)
    return creds.new_key()


def _create_or_update(creds: Credentials, event: dict[str, Any]) -> dict[str, Any]:
    request = event["RequestType"]
    physical_id = event.get("PhysicalResourceId") if request == "Update" else None
    old = event.get("OldResourceProperties", {})
    props = event["ResourceProperties"]
    unchanged = request == "Update" and all(old.get(k) == props.get(k) for k in _KEY_PROPS)
    try:
        key_id = converge(creds, physical_id, unchanged)
    except _AWS_ERRORS as error:
        if request == "Create":
            # The framework answers this Create's rollback Delete itself: leave the user without keys we made.
            try:
                for orphan in creds.unreferenced(creds.keys()):
                    creds.delete_key(orphan)
            except _AWS_ERRORS:
                LOG.exception("could not clean up the keys of %s", creds.user)
        raise CredentialsError(
            f"could not make SMTP credentials for IAM user {creds.user}: {_aws_error(error)}; {_advice(error, request)}"
        ) from error
    return {"PhysicalResourceId": key_id, "NoEcho": True}


def _advice(error: Exception, request: str) -> str:
    if "AccessDenied" in _code(error):
        return "the handler's role lacks this permission (was it changed outside the stack?); fix it and deploy again"
    if _code(error) == "LimitExceeded":
        return "the user already has two access keys (IAM's limit); delete the one the secret does not name"
    if request == "Update":
        return "CloudFormation's rollback returns to the previous key"
    return "nothing was left behind; deploy again"


def _delete(creds: Credentials, key_id: str) -> dict[str, Any]:
    try:
        keys = creds.keys()
        current, current_id = creds.version("AWSCURRENT")
        previous, previous_id = creds.version("AWSPREVIOUS")
        previous_key = (previous or {}).get("username")
        if (
            (current or {}).get("username") == key_id
            and previous_id
            and previous_key in keys
            and previous_key != key_id
            and (previous or {}).get("iamUserName") == creds.user
        ):
            creds.make_current(previous_id, current_id)  # a rotation rolled back: the old key is current again
        creds.delete_key(key_id)
        for orphan in creds.unreferenced(keys - {key_id}):
            creds.delete_key(orphan)
    except _AWS_ERRORS as error:
        raise CredentialsError(
            f"could not delete access key {key_id} of IAM user {creds.user}: {_aws_error(error)}; "
            f"{_advice(error, 'Delete')}"
        ) from error
    return {"PhysicalResourceId": key_id}


def on_event(event: dict[str, Any], iam: Any = None, secrets: Any = None, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """Entry point for ``custom_resources.Provider``: returns the key id as physical id, raises with a clear reason."""
    config = Config(retries={"mode": "standard", "max_attempts": 1})
    iam = iam or boto3.client("iam", config=config)
    secrets = secrets or boto3.client("secretsmanager", config=config)
    props = event["ResourceProperties"]
    request = event["RequestType"]
    LOG.info("%s for user %s", request, props.get("UserName"))
    creds = Credentials(iam, secrets, props, sleep)
    if "KeepPreviousKey" in props:
        return _on_person_event(creds, event)
    if request in ("Create", "Update"):
        return _create_or_update(creds, event)
    if request == "Delete":
        key_id = event["PhysicalResourceId"]
        if not key_id.startswith("AKIA"):
            return {"PhysicalResourceId": key_id}  # not a key of ours (a create that failed before it had one)
        return _delete(creds, key_id)
    raise ValueError(f"unknown RequestType {request!r}")


def _keep_previous(props: dict[str, Any]) -> bool:
    # CloudFormation passes a custom resource's boolean properties as the strings "true" and "false".
    return str(props.get("KeepPreviousKey", "true")).lower() == "true"


def converge_person(creds: Credentials, keep_previous: bool) -> str:
    """A person's key: make the secret's current version a live key made for the properties, keep the previous key
    if ``keep_previous``, delete every other key; returns the current key's id."""
    keys = creds.keys()
    current, current_id = creds.version("AWSCURRENT")
    previous, previous_id = creds.version("AWSPREVIOUS")
    ours = current is not None and current.get("iamUserName") == creds.user
    current_key = str(current["username"]) if ours and current is not None else None
    if creds.made_for_props(current) and current_key in keys:
        key = str(current_key)
    elif previous_id and creds.made_for_props(previous) and previous is not None and previous["username"] in keys:
        creds.make_current(previous_id, current_id)  # the rollback of a rotation that landed
        if current_key in keys:
            creds.delete_key(str(current_key))  # the rolled-back rotation's key: nobody was meant to have it yet
        key = str(previous["username"])
    else:
        # A rotation (or the first key). The older key goes first: IAM allows two keys per user, and the key that
        # is current now must keep working beside the new one.
        for older in keys - {current_key}:
            creds.delete_key(str(older))
        key = creds.new_key()
    kept = {key}
    if keep_previous:
        now_previous, _ = creds.version("AWSPREVIOUS")
        if now_previous is not None and now_previous.get("iamUserName") == creds.user:
            kept.add(str(now_previous.get("username")))
    for other in creds.keys() - kept:
        creds.delete_key(other)  # the explicit second step, or a key left by a lost create
    return key


def _on_person_event(creds: Credentials, event: dict[str, Any]) -> dict[str, Any]:
    request = event["RequestType"]
    props = event["ResourceProperties"]
    if request == "Delete":
        if event.get("PhysicalResourceId") != creds.user:
            return {"PhysicalResourceId": event.get("PhysicalResourceId")}  # not a resource this handler made
        try:
            for key_id in sorted(creds.keys()):
                creds.delete_key(key_id)
        except _AWS_ERRORS as error:
            raise CredentialsError(
                f"could not delete the access keys of IAM user {creds.user}: {_aws_error(error)}; "
                f"{_advice(error, 'Delete')}"
            ) from error
        return {"PhysicalResourceId": creds.user}
    if request not in ("Create", "Update"):
        raise ValueError(f"unknown RequestType {request!r}")
    try:
        converge_person(creds, _keep_previous(props))
    except _AWS_ERRORS as error:
        if request == "Create":
            # The framework answers this Create's rollback Delete itself: leave the new user without keys.
            try:
                for key_id in sorted(creds.keys()):
                    creds.delete_key(key_id)
            except _AWS_ERRORS:
                LOG.exception("could not clean up the keys of %s", creds.user)
        raise CredentialsError(
            f"could not make SMTP credentials for IAM user {creds.user}: {_aws_error(error)}; {_advice(error, request)}"
        ) from error
    # The user name, not the key: a rotation is an update in place, never a replacement whose cleanup would
    # delete the key that is still in use.
    return {"PhysicalResourceId": creds.user, "NoEcho": True}


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    return on_event(event)
