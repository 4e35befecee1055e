"""The AWS side of the WorkMail tools: clients from boto3's usual chain, paging, and AWS errors as one line.

Clients come from ``boto3.session.Session(region_name=...)``, so the credential chain (``AWS_PROFILE``, environment
keys, SSO, instance roles) and the endpoint settings boto3 honours (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_WORKMAIL``, ``AWS_ENDPOINT_URL_CLOUDFORMATION``...) apply unchanged. Tests pass their own factory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from ..regions import WORKMAIL_REGIONS

#: ``factory(service, region)`` -> a boto3 client.
ClientFactory = Callable[[str, str], Any]

#: WorkMail's organization id (the API model's pattern ``^m-[0-9a-f]{32}$``).
ORGANIZATION_ID = re.compile(r"^m-[0-9a-f]{32}$")

#: Exit status of the ``workmail`` commands (README of docs/leaving-workmail.md repeats them).
EXIT_OK = 0
#: export only: a mailbox is not exported yet (running, failed, or waiting for its 24 hours).
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
#: AWS refused or could not be reached: no credentials, access denied, no such organization, no endpoint.
EXIT_AWS = 3


class UsageError(ValueError):
    """A bad flag value: one line naming the flag, exit 2."""


class AwsError(RuntimeError):
    """AWS refused the call or could not be reached: one line, exit 3."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        #: The AWS error code (``AccessDeniedException``...), or a short name of the local failure.
        self.code = code


def default_factory(service: str, region: str) -> Any:
    """A boto3 client of ``service`` in ``region`` from the usual chain."""
    import boto3

    return boto3.session.Session(region_name=region).client(service)


def check_organization_id(value: str) -> str:
    """``--organization-id`` as WorkMail's API model accepts it."""
    if not ORGANIZATION_ID.match(value or ""):
        raise UsageError(f"--organization-id: {value!r} is not a WorkMail organization id (m- and 32 hex digits)")
    return value


def workmail_region(region: str | None) -> str:
    """``--region``, else boto3's default region; refused when WorkMail has no endpoint there.

    An endpoint override (``AWS_ENDPOINT_URL_WORKMAIL`` or ``AWS_ENDPOINT_URL``) lifts the region check: the
    override decides where the calls go.
    """
    if region is None:
        import boto3

        region = boto3.session.Session().region_name
        if not region:
            raise UsageError("--region: missing, and no default region (AWS_REGION, AWS_DEFAULT_REGION or profile)")
    overridden = os.environ.get("AWS_ENDPOINT_URL_WORKMAIL") or os.environ.get("AWS_ENDPOINT_URL")
    if region not in WORKMAIL_REGIONS and not overridden:
        offered = ", ".join(sorted(WORKMAIL_REGIONS))
        raise UsageError(f"--region: WorkMail is not offered in {region!r} (offered in: {offered})")
    return region


def pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of ``key`` over all pages of ``call`` (``NextToken`` until none)."""
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key) or []
        token = page.get("NextToken")
        if not token:
            return


def describe(error: Exception, what: str) -> AwsError:
    """``error`` of call ``what`` as one line."""
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = str(info.get("Code", ""))
        message = str(info.get("Message", "")).strip()
        hint = _HINTS.get(code, "")
        return AwsError(f"{what}: {code}: {message}{hint}".rstrip(": "), code)
    if isinstance(error, NoCredentialsError):
        return AwsError(
            f"{what}: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
            "NoCredentials",
        )
    if isinstance(error, NoRegionError):
        return AwsError(f"{what}: no region: pass --region", "NoRegion")
    return AwsError(f"{what}: {type(error).__name__}: {error}", type(error).__name__)


_HINTS = {
    "AccessDeniedException": " (the caller's IAM policy must allow this WorkMail read action)",
    "AccessDenied": " (the caller's IAM policy must allow this action)",
    "OrganizationNotFoundException": " (check --organization-id and --region: an organization lives in one region)",
    "UnrecognizedClientException": " (the credentials are not valid in this account or region)",
}

#: What :func:`describe` turns into one line.
AWS_FAILURES = (ClientError, BotoCoreError)
