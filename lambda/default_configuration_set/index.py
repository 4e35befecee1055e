"""CloudFormation custom resource: let a retained identity outlive its default configuration set.

SES: "If you delete a configuration set that's designated as the default configuration set for an identity, and then
attempt to send email through that identity, your call to Amazon SES fails with a 'bad request' error" (SES Developer
Guide, "Default configuration sets"). A sesmail domain identity is retained when its stack is deleted, its default
configuration set is not: so, on delete, this resource first removes the set from the identity, and the identity keeps
sending (WorkMail, people's clients, other apps) without it.

Properties: ``Identity`` (the domain) and ``ConfigurationSetName`` (its default set, as the template declares it).
Physical id: ``<identity>|<configuration set>``; a change of either is a replacement, and the old one's Delete comes
after the identity was updated to the new set, so it finds another set and changes nothing.

Create / Update: nothing to do (the identity's ``ConfigurationSetAttributes`` set the default).
Delete: if the identity's default set is still ``ConfigurationSetName``, remove it: "You can use the
PutEmailIdentityConfigurationSetAttributes operation to add or remove a default configuration set from an existing
email identity", removing it by giving no configuration set name (SES Developer Guide, "Edit an identity to use a
default configuration set using the SES API"). Another set (someone changed it) or no identity: left alone. Every
call is idempotent and retried on throttling and on a lost response.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

THROTTLING_CODES = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
MAX_ATTEMPTS = 6

Sleep = Callable[[float], None]


class ReleaseError(RuntimeError):
    """A failure CloudFormation shows to the user, with SES's own error text."""


def _client() -> Any:
    # Retries are done below, where tests can see them.
    return boto3.client("sesv2", config=Config(retries={"mode": "standard", "max_attempts": 1}))


def _call(operation: Callable[..., Any], sleep: Sleep, **params: Any) -> Any:
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


def physical_id(props: dict[str, Any]) -> str:
    return f"{props['Identity']}|{props['ConfigurationSetName']}"


def release(ses: Any, identity: str, configuration_set: str, sleep: Sleep) -> bool:
    """Remove ``configuration_set`` as ``identity``'s default if it still is; returns whether it was removed."""
    try:
        found = _call(ses.get_email_identity, sleep, EmailIdentity=identity)
    except ClientError as error:
        if error.response["Error"]["Code"] == "NotFoundException":
            LOG.info("identity %s does not exist; nothing to release", identity)
            return False
        raise
    current = (found.get("ConfigurationSetName") or "").strip()
    if current != configuration_set:
        LOG.info("identity %s's default set is %r, not %s: left alone", identity, current, configuration_set)
        return False
    _call(ses.put_email_identity_configuration_set_attributes, sleep, EmailIdentity=identity)
    LOG.info("removed default configuration set %s from identity %s", configuration_set, identity)
    return True


def on_event(event: dict[str, Any], ses: Any = None, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """Entry point for ``custom_resources.Provider``."""
    props = event["ResourceProperties"]
    request = event["RequestType"]
    if request in ("Create", "Update"):
        return {"PhysicalResourceId": physical_id(props)}
    if request != "Delete":
        raise ReleaseError(f"unknown request type {request!r}")
    ses = ses or _client()
    try:
        release(ses, props["Identity"], props["ConfigurationSetName"], sleep)
    except (ClientError, ConnectionError, HTTPClientError) as error:
        raise ReleaseError(
            f"could not remove default configuration set {props['ConfigurationSetName']!r} from identity "
            f"{props['Identity']!r} ({_error_text(error)}); without this, the retained identity could not send once "
            "the set is deleted: retry the delete"
        ) from error
    return {"PhysicalResourceId": event["PhysicalResourceId"]}


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point."""
    return on_event(event)
