"""Failures that stop ``sesmail doctor`` as a whole: no credentials, expired ones, a read refused, AWS unreachable.

Each becomes one line on stderr (and, with ``--json``, an ``{"error": ...}`` object on stdout) and its own exit status,
instead of a traceback or a report in which every check fails for the same reason:

===  ===================  =======================================================================================
 3   ``credentials``      no AWS credentials found, or they expired (an SSO session, a role's temporary credentials)
 4   ``access-denied``    AWS refused a read the doctor makes (its action named): the caller lacks read access
 5   ``unreachable``      no answer from the service's endpoint in the region: the region does not offer the service
                          (no endpoint there), or the network or endpoint timed out
===  ===================  =======================================================================================
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)

CREDENTIALS, ACCESS_DENIED, UNREACHABLE = 3, 4, 5

#: Error codes AWS answers when the caller's credentials expired or are not (any more) valid.
EXPIRED_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
    }
)
#: Error codes of a request IAM refused.
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation"})

_HOW_TO_LOG_IN = (
    "provide credentials the usual way: AWS_PROFILE (after `aws sso login --profile NAME` for SSO), or "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)"
)


class Stop(Exception):
    """Stops the run: ``kind`` and ``message`` for the one line, ``status`` for the exit."""

    def __init__(self, kind: str, message: str, status: int) -> None:
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status

    def __str__(self) -> str:
        return self.message


def from_response(code: str, message: str, action: str, region: str) -> Stop | None:
    """The stop for an AWS error answer (``None``: the checks handle it)."""
    if code in EXPIRED_CODES:
        return Stop(
            "credentials",
            f"{action} in {region}: {code}: {message} -- the credentials expired or are not valid; {_HOW_TO_LOG_IN}",
            CREDENTIALS,
        )
    if code in DENIED_CODES:
        return Stop(
            "access-denied",
            f"{action} in {region}: {code}: {message} -- the doctor needs read access (the permissions in the "
            "README's doctor section); grant them to the caller, or use a profile that has them",
            ACCESS_DENIED,
        )
    return None


def from_exception(error: BaseException, region: str) -> Stop | None:
    """The stop for an exception raised by botocore before any answer (``None``: not one of these)."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return Stop("credentials", f"no AWS credentials found ({error}); {_HOW_TO_LOG_IN}", CREDENTIALS)
    if isinstance(error, TokenRetrievalError | SSOError | CredentialRetrievalError):
        return Stop(
            "credentials", f"the AWS credentials expired or cannot be loaded ({error}); {_HOW_TO_LOG_IN}", CREDENTIALS
        )
    if isinstance(error, ConnectTimeoutError | ReadTimeoutError):
        return Stop(
            "unreachable",
            f"{error}: the endpoint did not answer in time; check the network (proxy, VPC endpoint, AWS_ENDPOINT_URL) "
            "and run the doctor again",
            UNREACHABLE,
        )
    if isinstance(error, EndpointConnectionError | ConnectionClosedError):
        return Stop(
            "unreachable",
            f"{error}: no endpoint answers there; is the service offered in {region} (AWS's service endpoints "
            "page lists where SES is)? Otherwise check the network and run the doctor again",
            UNREACHABLE,
        )
    return None


def install(client: Any, region: str) -> Any:
    """Make an expired-credentials or access-denied answer of any of ``client``'s calls stop the run.

    botocore emits ``after-call`` with the parsed answer before it raises the ``ClientError``, so the stop is raised
    there, past the checks' own ``except ClientError`` (which turn a missing resource into a failed check).
    """
    service = client.meta.service_model.service_name

    def after_call(parsed: Any, model: Any, **_: Any) -> None:
        error = (parsed or {}).get("Error") or {}
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        stop = from_response(code, message, f"{service}:{model.name}", region)
        if stop is not None:
            raise stop

    client.meta.events.register("after-call", after_call, unique_id="sesmail-doctor-stop")
    return client
