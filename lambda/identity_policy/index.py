"""CloudFormation custom resource: one SES identity (sending-authorization) policy.

Properties: ``Identity`` (domain or address), ``PolicyName``, ``Policy`` (JSON document whose ``Id`` marks it as ours),
``Partition`` and ``NormalizeAwsPrincipals`` ("true" rewrites every ``Principal.AWS`` to its account root).
Physical id: ``<identity>|<policy name>``. A changed identity or name yields a new physical id; CloudFormation then
sends Delete for the old one, so the previous policy is removed only after the new one is in place.
The handler never overwrites or deletes a policy whose ``Id`` is not the one in its own properties.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from principals import normalize_aws_principals

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

THROTTLING_CODES = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
MAX_ATTEMPTS = 6


class PolicyError(RuntimeError):
    """A failure CloudFormation shows to the user; the message carries SES's own error text."""


def _client() -> Any:
    # Throttling is retried below, where tests can see it; botocore retries only connection errors.
    return boto3.client("sesv2", config=Config(retries={"mode": "standard", "max_attempts": 1}))


def _call(operation: Callable[..., Any], sleep: Callable[[float], None], **params: Any) -> Any:
    """Call with retries on throttling and on a lost response (every call made through here is idempotent)."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return operation(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] not in THROTTLING_CODES or attempt == MAX_ATTEMPTS:
                raise
        except (ConnectionError, HTTPClientError):
            if attempt == MAX_ATTEMPTS:
                raise
        sleep(min(0.5 * 2**attempt, 8.0))
    raise AssertionError("unreachable")


def _error_text(error: Exception) -> str:
    if not isinstance(error, ClientError):
        return f"{type(error).__name__}: {error}"
    err = error.response.get("Error", {})
    return f"{err.get('Code', 'Error')}: {err.get('Message', str(error))}"


def _advice(error: Exception) -> str:
    code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
    if "AccessDenied" in code:
        return "the handler's role lacks this permission (was it changed outside the stack?); fix it and deploy again"
    if code == "NotFoundException":
        return "the identity does not exist in this account and region; create or verify it first"
    return "deploy again; CloudFormation's rollback keeps the previous policy"


def physical_id(identity: str, policy_name: str) -> str:
    return f"{identity}|{policy_name}"


def render_policy(props: dict[str, Any]) -> str:
    """The policy text to put: the document, with legacy principals fixed up to account roots when asked."""
    document = json.loads(props["Policy"])
    if str(props.get("NormalizeAwsPrincipals", "false")).lower() == "true":
        document = normalize_aws_principals(document, props.get("Partition", "aws"))
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def _owner_id(policy_text: str) -> str | None:
    try:
        return json.loads(policy_text).get("Id")
    except (ValueError, AttributeError):
        return None


def _existing(ses: Any, identity: str, sleep: Callable[[float], None]) -> dict[str, str]:
    return _call(ses.get_email_identity_policies, sleep, EmailIdentity=identity).get("Policies", {})


def put_policy(ses: Any, props: dict[str, Any], sleep: Callable[[float], None]) -> str:
    identity, name = props["Identity"], props["PolicyName"]
    policy = render_policy(props)
    owner = _owner_id(policy)
    try:
        current = _existing(ses, identity, sleep)
        if name in current:
            if _owner_id(current[name]) != owner:
                raise PolicyError(
                    f"identity {identity} already has a policy named {name!r} that this stack did not create; "
                    "refusing to overwrite it (rename ours or remove theirs)"
                )
            _call(ses.update_email_identity_policy, sleep, EmailIdentity=identity, PolicyName=name, Policy=policy)
        else:
            try:
                _call(ses.create_email_identity_policy, sleep, EmailIdentity=identity, PolicyName=name, Policy=policy)
            except ClientError as error:
                # A retry after a lost response finds the policy the first attempt created: ours, so update it.
                if error.response["Error"]["Code"] != "AlreadyExistsException":
                    raise
                if _owner_id(_existing(ses, identity, sleep).get(name, "{}")) != owner:
                    raise
                _call(ses.update_email_identity_policy, sleep, EmailIdentity=identity, PolicyName=name, Policy=policy)
    except (ClientError, ConnectionError, HTTPClientError) as error:
        raise PolicyError(
            f"SES rejected policy {name!r} on {identity}: {_error_text(error)}; {_advice(error)}"
        ) from error
    LOG.info("put identity policy %s on %s", name, identity)
    return physical_id(identity, name)


def delete_policy(ses: Any, props: dict[str, Any], resource_id: str, sleep: Callable[[float], None]) -> None:
    identity, _, name = resource_id.partition("|")
    if not name:  # a create that failed before it had an id of ours: nothing of ours exists
        return
    owner = _owner_id(props.get("Policy", "{}"))
    try:
        current = _existing(ses, identity, sleep)
        if name not in current:
            return
        if _owner_id(current[name]) != owner:
            LOG.warning("policy %s on %s is no longer ours; leaving it", name, identity)
            return
        _call(ses.delete_email_identity_policy, sleep, EmailIdentity=identity, PolicyName=name)
    except (ClientError, ConnectionError, HTTPClientError) as error:
        if isinstance(error, ClientError) and error.response["Error"]["Code"] == "NotFoundException":
            return  # the identity, and with it the policy, is already gone
        raise PolicyError(
            f"SES could not delete policy {name!r} on {identity}: {_error_text(error)}; {_advice(error)}"
        ) from error
    LOG.info("deleted identity policy %s on %s", name, identity)


def on_event(event: dict[str, Any], ses: Any = None, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Entry point for ``custom_resources.Provider``: returns the physical id, raises with SES's error text."""
    ses = ses or _client()
    request = event["RequestType"]
    props = event["ResourceProperties"]
    if request == "Create":
        try:
            return {"PhysicalResourceId": put_policy(ses, props, sleep)}
        except PolicyError as error:
            if isinstance(error.__cause__, ClientError):
                raise  # SES refused the call: nothing of this request landed
            # A response was lost: the policy may exist. The framework answers this Create's rollback Delete
            # itself, so remove it here.
            try:
                delete_policy(ses, props, physical_id(props["Identity"], props["PolicyName"]), sleep)
            except PolicyError:
                LOG.exception("could not remove policy %s after the failed create", props["PolicyName"])
            raise
    if request == "Update":
        return {"PhysicalResourceId": put_policy(ses, props, sleep)}
    if request == "Delete":
        delete_policy(ses, props, event["PhysicalResourceId"], sleep)
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    raise PolicyError(f"unknown request type {request!r}")


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return on_event(event)
