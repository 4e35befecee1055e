"""CloudFormation custom resource: make the stack's SES receipt rule set the active one, and undo that on delete.

SES evaluates exactly one receipt rule set per account and region (the *active* one), and CloudFormation cannot choose
it. This handler does, and keeps a record of what it did so that a retried, failed or rolled-back request can be
undone exactly.

Properties: ``RuleSetName``; ``TakeOverActiveRuleSet`` ("true"/"false"); optional ``TakeOverHint``, the words that tell
the user how to allow a takeover (the app passes ``takeOverActiveRuleSet: true (environments.<env>)``); optional
``TakeOverOnly``, the one set a takeover may replace (a WorkMail cutover: ``INBOUND_MAIL``; any other active set is
refused); optional ``RestoreOnDelete`` ("false": never restore the previous set, see Delete).

The record: an SSM parameter ``/sesmail/receipt-rule-set-activation/<rule set>`` (String) holding
``{"stackId", "logicalResourceId", "previous"}``: which stack's resource activated the set, and the set that was
active before it (empty: none), to restore on delete. It is written *before* the set is activated, so a request whose
response was lost, retried, finds it; it follows the set on a rename; it is deleted with the activation. Another
stack's record is never changed or deleted, and names that stack when its set is the active one.

Physical id: the rule set's name at create, never changed by an update (so CloudFormation never sends a Delete for an
"old" activation while the new one is live). Ids of the earlier form ``<set>|previous=<set>`` are kept as they are;
their previous set is used when no record exists yet.

Create / Update (converge on the properties)
    A record of the set left by a stack that no longer exists (DescribeStacks says DELETE_COMPLETE, or knows no
    such stack) is stale: it is replaced, as if absent. A record of a live stack is refused.
    An Update finding another set active although this resource holds the set's record (someone activated it
    since, or this is the rollback of an update refused for that reason) changes nothing and succeeds.
    The active set is ours (the new name, or this resource's old name on update): keep the recorded previous set.
    Nothing active: previous is empty. Another set active: refused, naming it (and the sesmail stack that activated
    it, if one did), unless ``TakeOverActiveRuleSet`` is "true"; then it becomes the previous set. The record is
    written, the set activated, the old name's record (after a rename) deleted. A retried request finds the record
    and the set active, and answers the same. A Create that fails after it changed anything undoes it before failing
    (restores the previous set, deletes the record): the provider framework answers the Delete of a failed Create
    itself, so the handler would never get another chance. A failed Update is undone by CloudFormation's rollback
    Update, which converges back to the old properties.
Delete
    Ours still active: restore the previous set, or deactivate receiving if there was none (or it no longer exists).
    Another set active (someone changed it since): left alone. Then the record is deleted. A retried Delete finds
    nothing to do. ``RestoreOnDelete`` "false" (optional property; default "true"): the previous set is never
    restored (WorkMail's set once its organization is deleted). Leaving no set active never fails the Delete; the
    handler logs a warning saying SES now rejects all mail in the region.

AWS calls are retried on throttling and on a lost response (a read timeout), which every call here tolerates because
each is idempotent: ``DescribeActiveReceiptRuleSet``, ``SetActiveReceiptRuleSet``, SSM ``GetParameter``,
``PutParameter`` (overwrite) and ``DeleteParameter`` (``ParameterNotFound`` is success). Other errors fail the request
with AWS's own error code and text and what to do.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})
MAX_ATTEMPTS = 6
RECORD_PREFIX = "/sesmail/receipt-rule-set-activation/"
_LEGACY_PREVIOUS = "|previous="
_DEFAULT_HINT = "take_over_active_rule_set=True"

Sleep = Callable[[float], None]


class ActivationError(RuntimeError):
    """A failure CloudFormation shows to the user; AWS errors carry AWS's own code and text."""


def _clients() -> tuple[Any, Any]:
    # Retries are done below, where tests can see them; botocore's own would hide a lost response.
    config = Config(retries={"mode": "standard", "max_attempts": 1})
    return boto3.client("ses", config=config), boto3.client("ssm", config=config)


def _call(operation: Callable[..., Any], sleep: Sleep, **params: Any) -> Any:
    """Call an idempotent operation, retrying throttling and lost responses with backoff."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return operation(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] not in THROTTLING_CODES or attempt == MAX_ATTEMPTS:
                raise
        except (ConnectionError, HTTPClientError):
            if attempt == MAX_ATTEMPTS:
                raise
        # SES allows these calls about once a second: start at one second.
        sleep(min(0.5 * 2**attempt, 8.0))
    raise AssertionError("unreachable")


def _aws_error(error: Exception) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', str(error))}"
    return f"{type(error).__name__}: {error}"


def _advice(error: Exception) -> str:
    code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
    if "AccessDenied" in code:
        return "the handler's role lacks this permission (was it changed outside the stack?); fix it and retry"
    if code in THROTTLING_CODES:
        return "SES kept throttling; retry the deploy in a minute"
    return "retry the deploy; if it persists, check the SES console for the account's receipt rule sets"


@dataclass(frozen=True)
class Record:
    """Which resource activated a set, and the set to restore when it is deleted."""

    stack_id: str
    logical_id: str
    previous: str

    def owned_by(self, event: dict[str, Any]) -> bool:
        return (self.stack_id, self.logical_id) == (event.get("StackId", ""), event.get("LogicalResourceId", ""))


class Account:
    """The account's receiving state, through SES and SSM."""

    def __init__(self, ses: Any, ssm: Any, sleep: Sleep, cloudformation: Any = None) -> None:
        self.ses, self.ssm, self.sleep = ses, ssm, sleep
        self._cloudformation = cloudformation

    @property
    def cloudformation(self) -> Any:
        # Made on first use: only a record left by another stack needs it.
        if self._cloudformation is None:
            config = Config(retries={"mode": "standard", "max_attempts": 1})
            self._cloudformation = boto3.client("cloudformation", config=config)
        return self._cloudformation

    def active(self) -> str | None:
        response = _call(self.ses.describe_active_receipt_rule_set, self.sleep)
        return response.get("Metadata", {}).get("Name") or None

    def set_active(self, name: str | None) -> None:
        # Without RuleSetName, SES deactivates receiving altogether.
        _call(self.ses.set_active_receipt_rule_set, self.sleep, **({"RuleSetName": name} if name else {}))

    def stack_gone(self, stack_id: str) -> bool:
        """Whether the stack is deleted. DescribeStacks' StackName: "Deleted stacks: You must specify the unique stack
        ID" (API reference), which a record holds; such a stack answers with DELETE_COMPLETE. An id CloudFormation
        does not know at all (``ValidationError`` "does not exist") is gone too."""
        try:
            stacks = _call(self.cloudformation.describe_stacks, self.sleep, StackName=stack_id)["Stacks"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ValidationError" and "does not exist" in str(error):
                return True
            raise
        return all(stack.get("StackStatus") == "DELETE_COMPLETE" for stack in stacks)

    def record(self, name: str) -> Record | None:
        try:
            value = _call(self.ssm.get_parameter, self.sleep, Name=RECORD_PREFIX + name)["Parameter"]["Value"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise
        try:
            data = json.loads(value)
            return Record(str(data["stackId"]), str(data["logicalResourceId"]), str(data.get("previous") or ""))
        except (ValueError, KeyError, TypeError):
            return Record("", "", "")  # not a record of ours: treated as someone else's

    def write_record(self, name: str, event: dict[str, Any], previous: str) -> None:
        value = json.dumps(
            {"stackId": event["StackId"], "logicalResourceId": event["LogicalResourceId"], "previous": previous}
        )
        _call(
            self.ssm.put_parameter,
            self.sleep,
            Name=RECORD_PREFIX + name,
            Value=value,
            Type="String",
            Overwrite=True,
            Description="sesmail: which stack activated this SES receipt rule set, and the set to restore",
        )

    def delete_record(self, name: str) -> None:
        try:
            _call(self.ssm.delete_parameter, self.sleep, Name=RECORD_PREFIX + name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ParameterNotFound":
                raise


def legacy_previous(physical_id: str) -> str | None:
    """The previous set recorded in an id of the earlier ``<set>|previous=<set>`` form, else ``None``."""
    name, sep, previous = physical_id.partition(_LEGACY_PREVIOUS)
    return previous if sep and name else None


def _foreign(account: Account, active: str, event: dict[str, Any], hint: str) -> ActivationError:
    record = account.record(active)
    if record is not None and record.stack_id and not record.owned_by(event):
        return ActivationError(
            f"receipt rule set {active!r} is active in this account and region, activated by sesmail stack "
            f"{record.stack_id} ({record.logical_id}); two stacks cannot both receive here: remove receiving from "
            f"one of them, or set {hint} to take over (restored when this stack is deleted)"
        )
    return ActivationError(
        f"receipt rule set {active!r} is active in this account and region and was not activated by sesmail; "
        f"set {hint} to replace it (it is restored when this stack is deleted)"
    )


def converge(account: Account, event: dict[str, Any], attempted: set[str] | None = None) -> str:
    """Create or Update: make ``RuleSetName`` active and recorded; returns the set to restore on delete.

    ``attempted`` collects the changes tried (``"record"``, ``"activate"``), which may have landed even if they failed.
    """
    attempted = set() if attempted is None else attempted
    props = event["ResourceProperties"]
    name = props["RuleSetName"]
    take_over = str(props.get("TakeOverActiveRuleSet", "false")).lower() == "true"
    hint = props.get("TakeOverHint") or _DEFAULT_HINT
    old_name = event.get("OldResourceProperties", {}).get("RuleSetName") if event["RequestType"] == "Update" else None

    own = account.record(name)
    stale: Record | None = None
    if own is not None and not own.owned_by(event):
        if not own.stack_id or not account.stack_gone(own.stack_id):
            raise ActivationError(
                f"receipt rule set {name!r} is already recorded as activated by {own.stack_id or 'something else'} "
                f"({RECORD_PREFIX}{name}); give this stack's rule set another name"
            )
        # Left by a stack that no longer exists (its failed Create could not undo, or the undo's answer was lost):
        # not anyone's record any more; its previous set still counts if its activation is still in place.
        LOG.warning("record %s%s of deleted stack %s is stale; replacing it", RECORD_PREFIX, name, own.stack_id)
        stale, own = own, None
    old = account.record(old_name) if old_name and old_name != name else None
    old = old if old is not None and old.owned_by(event) else None
    legacy = legacy_previous(event.get("PhysicalResourceId", ""))
    previous = own.previous if own else old.previous if old else legacy or ""

    active = account.active()
    if stale is not None and active == name:
        previous = stale.previous
    if active is not None and active not in (name, old_name):
        if own is not None and old is None and event["RequestType"] == "Update":
            # This resource holds the set's record, so it activated the set, and someone activated another one since:
            # there is nothing of ours to converge. This is, for one, the rollback of an update that was refused for
            # that other set: refusing it again would leave the stack UPDATE_ROLLBACK_FAILED with nothing to undo.
            # The other set is left active, as a Delete leaves it.
            LOG.warning("receipt rule set %s was activated since; %s stays inactive, as it was", active, name)
            return own.previous
        if not take_over:
            raise _foreign(account, active, event, hint)
        _check_take_over_only(props, active)
        LOG.warning("taking over from active receipt rule set %s; it is restored on delete", active)
        previous = active
    if own is None:
        attempted.add("record")
    account.write_record(name, event, previous)
    if active != name:
        attempted.add("activate")
        account.set_active(name)
    if old_name and old_name != name:
        account.delete_record(old_name)
    LOG.info("receipt rule set %s is active (was: %s; restored on delete: %s)", name, active, previous or "none")
    return previous


def undo(account: Account, event: dict[str, Any], name: str) -> None:
    """Delete: if ``name`` is still active, restore the recorded previous set (or deactivate); drop the record."""
    record = account.record(name)
    if record is not None and not record.owned_by(event):
        LOG.warning("receipt rule set %s is recorded by %s; leaving it and its record alone", name, record.stack_id)
        return
    previous = record.previous if record else legacy_previous(event.get("PhysicalResourceId", "")) or ""
    previous = _restorable(event, previous)
    active = account.active()
    if active == name:
        restored = False
        if previous:
            try:
                account.set_active(previous)
                restored = True
                LOG.info("restored receipt rule set %s in place of %s", previous, name)
            except ClientError as error:
                if error.response["Error"]["Code"] != "RuleSetDoesNotExist":
                    raise
                LOG.warning("previous receipt rule set %s no longer exists; deactivating receiving instead", previous)
        if not restored:
            account.set_active(None)
            _warn_none_active(name)
    else:
        LOG.warning("receipt rule set %s is not active (active: %s); leaving the active set alone", name, active)
    if record is not None:
        account.delete_record(name)


def _check_take_over_only(props: dict[str, Any], active: str) -> None:
    """``TakeOverOnly`` (optional): the one set a takeover may replace (WorkMail's, at a cutover); refuse another."""
    only = props.get("TakeOverOnly")
    if only and active != only:
        raise ActivationError(
            f"receipt rule set {active!r} is active in this account and region, not {only!r} (the set this cutover "
            f"replaces); nothing was changed: find out who activated {active!r} before cutting over"
        )


def _restorable(event: dict[str, Any], previous: str) -> str:
    """``previous``, or ``""`` when the resource says never to restore it (``RestoreOnDelete`` "false")."""
    keep = str(event.get("ResourceProperties", {}).get("RestoreOnDelete", "true")).lower() != "false"
    if previous and not keep:
        LOG.warning("RestoreOnDelete is false: receipt rule set %s is not restored", previous)
        return ""
    return previous


def _warn_none_active(name: str) -> None:
    """Say, where a person reading the handler's log sees it, that the region now receives nothing."""
    LOG.warning(
        "deactivated receipt rule set %s: no receipt rule set is active in this region now, so SES rejects all mail "
        "for this account's domains here until one is activated (SES console, or SetActiveReceiptRuleSet)",
        name,
    )


def _create(account: Account, event: dict[str, Any]) -> dict[str, Any]:
    name = event["ResourceProperties"]["RuleSetName"]
    attempted: set[str] = set()
    try:
        previous = converge(account, event, attempted)
    except ActivationError:
        raise  # refused before anything changed
    except (ClientError, ConnectionError, HTTPClientError) as error:
        # The framework answers this Create's rollback Delete itself: undo here whatever of ours may have landed.
        try:
            _undo_attempted(account, event, name, attempted)
        except (ClientError, ConnectionError, HTTPClientError) as undo_error:
            raise ActivationError(
                f"could not activate receipt rule set {name!r} ({_aws_error(error)}), nor undo it "
                f"({_aws_error(undo_error)}): check which set is active in the SES console, restore the one you "
                f"want, and delete the SSM parameter {RECORD_PREFIX}{name}"
            ) from error
        raise ActivationError(
            f"could not activate receipt rule set {name!r}: {_aws_error(error)}; nothing was changed; {_advice(error)}"
        ) from error
    return _result(name, previous, name)


def _undo_attempted(account: Account, event: dict[str, Any], name: str, attempted: set[str]) -> None:
    """Undo a failed Create's changes: only those it tried, so a set that was active before stays active."""
    if "activate" in attempted and account.active() == name:
        record = account.record(name)
        previous = record.previous if record is not None and record.owned_by(event) else ""
        account.set_active(previous or None)
    if "record" in attempted:
        record = account.record(name)
        if record is not None and record.owned_by(event):
            account.delete_record(name)


def _update(account: Account, event: dict[str, Any]) -> dict[str, Any]:
    name = event["ResourceProperties"]["RuleSetName"]
    try:
        previous = converge(account, event)
    except (ClientError, ConnectionError, HTTPClientError) as error:
        raise ActivationError(
            f"could not activate receipt rule set {name!r}: {_aws_error(error)}; CloudFormation's rollback restores "
            f"the previous one; {_advice(error)}"
        ) from error
    return _result(name, previous, event["PhysicalResourceId"])


def _delete(account: Account, event: dict[str, Any]) -> dict[str, Any]:
    resource_id = event["PhysicalResourceId"]
    name = event.get("ResourceProperties", {}).get("RuleSetName") or resource_id.partition(_LEGACY_PREVIOUS)[0]
    try:
        undo(account, event, name)
    except (ClientError, ConnectionError, HTTPClientError) as error:
        raise ActivationError(
            f"could not deactivate receipt rule set {name!r}: {_aws_error(error)}; {_advice(error)}"
        ) from error
    return {"PhysicalResourceId": resource_id}


def _result(name: str, previous: str, resource_id: str) -> dict[str, Any]:
    return {"PhysicalResourceId": resource_id, "Data": {"RuleSetName": name, "PreviousRuleSetName": previous}}


def on_event(
    event: dict[str, Any], ses: Any = None, ssm: Any = None, sleep: Sleep = time.sleep, cloudformation: Any = None
) -> dict[str, Any]:
    """Entry point for ``custom_resources.Provider``: returns the physical id and data, raises with a clear reason."""
    if ses is None or ssm is None:
        default_ses, default_ssm = _clients()
        ses, ssm = ses or default_ses, ssm or default_ssm
    account = Account(ses, ssm, sleep, cloudformation)
    request = event["RequestType"]
    if request == "Create":
        return _create(account, event)
    if request == "Update":
        return _update(account, event)
    if request == "Delete":
        return _delete(account, event)
    raise ActivationError(f"unknown request type {request!r}")


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point."""
    return on_event(event)
