"""CloudFormation custom resource: make the stack's SES receipt rule set the active one, and undo that on delete.

SES evaluates exactly one receipt rule set per account and region (the *active* one), and CloudFormation cannot choose
it. This handler does, politely:

Properties: ``RuleSetName``; ``TakeOverActiveRuleSet`` ("true"/"false"); optional ``TakeOverHint``, the words that tell
the user how to allow a takeover (the app passes ``takeOverActiveRuleSet: true (environments.<env>)``).

Physical id: ``<rule set>|previous=<the set active before, or empty>``. Delete events carry only the physical id and
the properties, so the set to restore travels in the id. ``Data`` repeats it: ``RuleSetName``, ``PreviousRuleSetName``.

Create
    Nothing active: activate ours, previous is empty. Ours already active (a retried create, or activated by hand):
    succeed without a call, previous is empty. Another set active: fail, naming it, unless ``TakeOverActiveRuleSet``
    is "true"; then activate ours and record the other set as previous.
Update
    The original previous set is kept: it comes from the old physical id, never the old set of ours (which
    CloudFormation deletes next). A renamed set is activated and gets a new physical id; CloudFormation then sends
    Delete for the old id, which finds the new set active, not the old one, and so leaves it alone. An unchanged name
    keeps the same physical id, because a Delete for an old id naming the same set would otherwise restore the
    previous set over ours. A foreign set found active is refused or taken over as on create; taken over under an
    unchanged name, the original previous set stays the one restored (logged).
Delete
    Ours still active: restore the previous set, or deactivate receiving if there was none. A previous set deleted in
    the meantime cannot be restored: receiving is deactivated and the log says so. Another set active (someone
    changed it since): left alone. Nothing active: nothing to do. A second Delete finds ours inactive: nothing to do.

Only ``DescribeActiveReceiptRuleSet`` and ``SetActiveReceiptRuleSet`` are called: whether the previous set still exists
is learnt from SES's ``RuleSetDoesNotExist`` answer to the restore itself. Throttling is retried with backoff;
other SES errors fail the request with SES's own text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})
MAX_ATTEMPTS = 6
_PREVIOUS = "|previous="
_DEFAULT_HINT = "take_over_active_rule_set=True"


class ActivationError(RuntimeError):
    """A failure CloudFormation shows to the user; SES errors carry SES's own text."""


def _client() -> Any:
    # Throttling is retried below, where tests can see it; botocore retries only connection errors.
    return boto3.client("ses", config=Config(retries={"mode": "standard", "max_attempts": 1}))


def _call(operation: Callable[..., Any], sleep: Callable[[float], None], **params: Any) -> Any:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return operation(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] not in THROTTLING_CODES or attempt == MAX_ATTEMPTS:
                raise
            # SES allows these calls about once a second: start at one second.
            sleep(min(0.5 * 2**attempt, 8.0))
    raise AssertionError("unreachable")


def _error_text(error: ClientError) -> str:
    err = error.response.get("Error", {})
    return f"{err.get('Code', 'Error')}: {err.get('Message', str(error))}"


def physical_id(rule_set: str, previous: str) -> str:
    """The physical id that records our set and the one to restore when it is deleted."""
    return f"{rule_set}{_PREVIOUS}{previous}"


def parse_physical_id(resource_id: str) -> tuple[str, str] | None:
    """``(rule set, previous)`` from a physical id of ours; ``None`` for any other id (a create that failed)."""
    name, sep, previous = resource_id.partition(_PREVIOUS)
    return (name, previous) if sep and name else None


def _active(ses: Any, sleep: Callable[[float], None]) -> str | None:
    response = _call(ses.describe_active_receipt_rule_set, sleep)
    name = response.get("Metadata", {}).get("Name")
    return name or None


def _set_active(ses: Any, name: str | None, sleep: Callable[[float], None]) -> None:
    # Without RuleSetName, SES deactivates receiving altogether.
    params = {"RuleSetName": name} if name else {}
    _call(ses.set_active_receipt_rule_set, sleep, **params)


def _refusal(active: str, hint: str) -> ActivationError:
    return ActivationError(
        f"receipt rule set {active!r} is active in this account and region and was not activated by sesmail; "
        f"set {hint} to replace it (it is restored when this stack is deleted)"
    )


def activate(
    ses: Any,
    name: str,
    *,
    take_over: bool,
    ours: frozenset[str],
    previous: str,
    hint: str,
    sleep: Callable[[float], None],
) -> str:
    """Make ``name`` the active set; returns the set to restore on delete.

    ``ours`` are the names this resource activated (on update: the old and the new one); any other active set is
    foreign and is replaced only with ``take_over``, becoming the new previous set.
    """
    try:
        active = _active(ses, sleep)
        if active == name:
            LOG.info("receipt rule set %s is already active", name)
            return previous
        if active is not None and active not in ours:
            if not take_over:
                raise _refusal(active, hint)
            LOG.warning("taking over from active receipt rule set %s; it is restored on delete", active)
            previous = active
        _set_active(ses, name, sleep)
    except ClientError as error:
        raise ActivationError(f"SES could not activate receipt rule set {name!r}: {_error_text(error)}") from error
    LOG.info("activated receipt rule set %s (previously active: %s)", name, active or "none")
    return previous


def deactivate(ses: Any, resource_id: str, sleep: Callable[[float], None]) -> None:
    """Undo our activation if ours is still the active set: restore the previous set, or deactivate receiving."""
    parsed = parse_physical_id(resource_id)
    if parsed is None:
        LOG.info("physical id %r is not an activation of ours; nothing to undo", resource_id)
        return
    name, previous = parsed
    try:
        active = _active(ses, sleep)
        if active != name:
            LOG.warning(
                "receipt rule set %s is no longer active (active: %s); leaving the active set alone",
                name,
                active or "none",
            )
            return
        if previous:
            try:
                _set_active(ses, previous, sleep)
                LOG.info("restored receipt rule set %s in place of %s", previous, name)
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "RuleSetDoesNotExist":
                    raise
                LOG.warning("previous receipt rule set %s no longer exists; deactivating receiving instead", previous)
        _set_active(ses, None, sleep)
        LOG.info("deactivated receipt rule set %s; no receipt rule set is active", name)
    except ClientError as error:
        raise ActivationError(f"SES could not deactivate receipt rule set {name!r}: {_error_text(error)}") from error


def _result(name: str, previous: str, resource_id: str | None = None) -> dict[str, Any]:
    return {
        "PhysicalResourceId": resource_id or physical_id(name, previous),
        "Data": {"RuleSetName": name, "PreviousRuleSetName": previous},
    }


def on_event(event: dict[str, Any], ses: Any = None, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Entry point for ``custom_resources.Provider``: returns the physical id and data, raises with a clear reason."""
    ses = ses or _client()
    request = event["RequestType"]
    props = event["ResourceProperties"]
    if request == "Delete":
        deactivate(ses, event["PhysicalResourceId"], sleep)
        return {"PhysicalResourceId": event["PhysicalResourceId"]}

    name = props["RuleSetName"]
    take_over = str(props.get("TakeOverActiveRuleSet", "false")).lower() == "true"
    hint = props.get("TakeOverHint") or _DEFAULT_HINT
    if request == "Create":
        previous = activate(ses, name, take_over=take_over, ours=frozenset({name}), previous="", hint=hint, sleep=sleep)
        return _result(name, previous)
    if request == "Update":
        old_id = event["PhysicalResourceId"]
        old_props = event.get("OldResourceProperties", {})
        old_name, original = parse_physical_id(old_id) or (old_props.get("RuleSetName"), "")
        ours = frozenset(n for n in (name, old_name) if n)
        previous = activate(ses, name, take_over=take_over, ours=ours, previous=original, hint=hint, sleep=sleep)
        if name == old_name:
            if previous != original:
                LOG.warning("took over from %s under the same physical id; delete restores %s", previous, original)
            return _result(name, original, old_id)
        # The previous set must never be our own set: restoring it on delete would reactivate a deleted set.
        return _result(name, "" if previous == name else previous)
    raise ActivationError(f"unknown request type {request!r}")


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point."""
    return on_event(event)
