"""The lifecycle conformance suite: CloudFormation's custom-resource sequences, replayed against a handler.

A handler passes when, after every sequence below with a fault injected at every AWS call it makes, the account is in
the state the last successful template declares, nothing is left behind, nothing of anyone else's changed, every
rollback and delete completed, and every failure CloudFormation would show names the AWS error.

What the sequences rest on (AWS's and aws-cdk-lib's own words):

- "The value returned for a PhysicalResourceId can change custom resource update operations. If the value returned is
  the same, it is considered a normal update. If the value returned is different, AWS CloudFormation recognizes the
  update as a replacement and sends a delete request to the old resource."
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes-update.html). The old
  resource's Delete comes in the cleanup phase, after the whole update succeeded; if the update fails and rolls back,
  the *new* physical id gets the Delete instead, and the old resource is left as it was.
- An Update that fails, or that succeeded when another resource of the stack then fails, is rolled back with another
  Update whose ``ResourceProperties`` are the old ones and ``OldResourceProperties`` the new ones (the same
  crpg-ref-requesttypes-update page defines both fields: "The new resource property values that are declared by the
  template developer in the updated CloudFormation template" / "The resource property values that were previously
  declared"). A rollback or delete that fails leaves the stack ``UPDATE_ROLLBACK_FAILED`` / ``DELETE_FAILED``; the
  operator then continues the rollback or deletes again, which sends the same request once more.
- aws-cdk-lib's provider framework (``custom-resources/lib/provider-framework/runtime/cfn-response.js``, read in the
  installed aws-cdk-lib 2.275): when ``on_event`` fails on Create it answers FAILED with the physical id
  ``AWSCDK::CustomResourceProviderFramework::CREATE_FAILED``, and it answers the Delete that CloudFormation sends for
  that id itself, "ignoring DELETE event caused by a failed CREATE event": the handler never sees it, so a failed
  Create must leave nothing behind on its own.
- The framework invokes the handler synchronously (``outbound.js``: on an error from ``Invoke`` it waits for the
  function and invokes again), and CloudFormation invokes the framework asynchronously, which Lambda retries: "If the
  function returns an error, by default Lambda attempts to run it two more times"
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). So the same request can reach
  the handler twice, after the first one's effects landed.

Faults, one per run, at the n-th AWS call of the step under test (botocore's ``before-call`` / ``after-call`` events
of every client, so requests still reach moto and are validated against the real API model):

- ``throttle``: the call is refused with the service's throttling error, nothing applied;
- ``denied``: refused with AccessDenied, nothing applied;
- ``lost``: the call is applied, then its response is lost (``ReadTimeoutError``), as when a connection drops.

The matrix is enumerated, not sampled: CloudFormation's sequences are a short, known list and a single fault at each
call index of each step covers every place a call can fail; a stateful property-based search would sample the same
space at random and could miss an index. ``sequences()`` lists them; ``run()`` plays one.
"""

from __future__ import annotations

import abc
import copy
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ReadTimeoutError

CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
FAULT_KINDS = ("throttle", "denied", "lost")
#: The step under test, played without a fault (index 0 matches no call): counts the step's calls.
NO_FAULT = (0, "none")
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/sesmail-test/11111111-2222-3333-4444-555555555555"

# The error codes each protocol's services use; the JSON services add "Exception".
_THROTTLE = {"query": "Throttling", "rest-xml": "SlowDown", "json": "ThrottlingException"}
_DENIED = {"query": "AccessDenied", "rest-xml": "AccessDenied", "json": "AccessDeniedException"}
_SERVICE_THROTTLE = {"sesv2": "TooManyRequestsException"}


@dataclass
class _FakeHttp:
    """The part of an HTTP response botocore reads after a ``before-call`` handler answered for the service."""

    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""


class FaultInjector:
    """Counts the AWS calls made through boto3's default session and injects one fault at a chosen call."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.armed = False
        self._plan: tuple[int, str] | None = None
        self.injected: str | None = None
        session = boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
        assert session is not None
        events = session._session.get_component("event_emitter")
        events.register("before-call", self._before_call, unique_id="sesmail-lifecycle-before")
        events.register("after-call", self._after_call, unique_id="sesmail-lifecycle-after")
        self._events = events

    def close(self) -> None:
        self._events.unregister("before-call", unique_id="sesmail-lifecycle-before")
        self._events.unregister("after-call", unique_id="sesmail-lifecycle-after")

    @contextmanager
    def step(self, fault: tuple[int, str] | None = None) -> Iterator[None]:
        """Count (and possibly break) the calls made inside the block; harness observations stay outside."""
        self.calls, self._plan, self.injected, self.armed = [], fault, None, True
        try:
            yield
        finally:
            self.armed = False

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        if not self.armed:
            return None
        self.calls.append(f"{model.service_model.service_name}:{model.name}")
        if self._plan is None or self._plan[0] != len(self.calls):
            return None
        kind = self._plan[1]
        self.injected = f"{kind}@{self.calls[-1]}"
        if kind == "lost":
            context["sesmail_lose_response"] = True
            return None
        protocol = model.service_model.protocol
        family = "json" if protocol in ("json", "rest-json") else protocol
        service = model.service_model.service_name
        if kind == "throttle":
            code, status = _SERVICE_THROTTLE.get(service, _THROTTLE.get(family, "ThrottlingException")), 400
        else:
            code, status = _DENIED.get(family, "AccessDeniedException"), 403
        parsed = {
            "Error": {"Code": code, "Message": f"injected {kind} at {model.name}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return _FakeHttp(status), parsed

    def _after_call(self, context: dict[str, Any], **_: Any) -> None:
        if context.pop("sesmail_lose_response", False):
            raise ReadTimeoutError(endpoint_url="https://injected.amazonaws.com/")


Props = dict[str, Any]


class Contract(abc.ABC):
    """One custom resource as the suite sees it: its handler, the properties of three template versions, and the
    account state each declares.

    ``props(0)`` is the first template; ``props(1)`` an update the handler makes in place (same physical id) and
    ``props(2)`` one that changes what the resource is (a new physical id, if the handler replaces on it).
    """

    resource_type = "Custom::Resource"
    #: moto backends the resource's account uses; reset before every run.
    backends: tuple[str, ...] = ()

    @abc.abstractmethod
    def setup(self) -> None:
        """Create the account the resource lands in (inside moto): the stack's other resources, and others' things."""

    @abc.abstractmethod
    def props(self, version: int) -> Props:
        """The resource's properties in template version 0, 1 or 2."""

    @abc.abstractmethod
    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Call the handler as the provider framework does; return its answer or raise."""

    @abc.abstractmethod
    def check_declared(self, props: Props | None, physical_id: str | None) -> None:
        """Assert the account holds what ``props`` declares (``None``: the resource does not exist), nothing more."""

    @abc.abstractmethod
    def others(self) -> Any:
        """A snapshot of what belongs to someone else and must never change."""

    def remove_by_hand(self, props: Props, physical_id: str) -> None:  # noqa: B027 - optional
        """Undo the resource's effect outside CloudFormation (someone cleaning up in the console)."""

    def expected_error_words(self, fault: str) -> tuple[str, ...]:
        """Words the error CloudFormation shows must contain for an injected fault that was not recovered."""
        return {
            "denied": ("AccessDenied",),
            "throttle": ("Throttl", "TooManyRequests"),
            "lost": ("Read timeout", "timed out"),
        }[fault]


class StepFailed(Exception):
    """A step's handler raised: what CloudFormation shows as the resource's status reason."""


@dataclass
class Stack:
    """CloudFormation's view of the one custom resource: its physical id and properties, or absent."""

    contract: Contract
    injector: FaultInjector
    physical_id: str | None = None
    props: Props | None = None
    log: list[str] = field(default_factory=list)
    #: AWS calls the step under test made (its invocation that was given the fault plan).
    step_calls: int = 0
    _requests: Iterator[int] = field(default_factory=itertools.count)

    def event(self, request: str, props: Props, physical_id: str | None = None, old: Props | None = None) -> dict:
        event: dict[str, Any] = {
            "RequestType": request,
            "RequestId": f"request-{next(self._requests)}",
            "StackId": STACK_ID,
            "LogicalResourceId": "Resource",
            "ResourceType": self.contract.resource_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:framework-onEvent",
            "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/...",
            "ResourceProperties": copy.deepcopy(props),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old is not None:
            event["OldResourceProperties"] = copy.deepcopy(old)
        return event

    def invoke(self, event: dict, fault: tuple[int, str] | None = None) -> dict[str, Any]:
        """One invocation of the handler; a raise becomes :class:`StepFailed` with the handler's message."""
        self.log.append(f"{event['RequestType']} {event.get('PhysicalResourceId', '')} fault={fault}")
        try:
            with self.injector.step(fault):
                answer = self.contract.on_event(copy.deepcopy(event))
        except Exception as error:  # the framework reports any exception as FAILED
            raise StepFailed(f"{type(error).__name__}: {error}") from error
        finally:
            if fault is not None:
                self.step_calls = len(self.injector.calls)
        physical_id = answer.get("PhysicalResourceId") if isinstance(answer, dict) else None
        if event["RequestType"] == "Delete" and physical_id not in (None, event["PhysicalResourceId"]):
            # The framework refuses this itself ("DELETE: cannot change the physical resource ID").
            raise AssertionError(f"Delete changed the physical id to {physical_id!r}")
        if event["RequestType"] == "Create" and not physical_id:
            raise AssertionError("Create returned no physical id (the framework would use the request id)")
        return answer

    def must_complete(self, event: dict) -> dict[str, Any]:
        """A rollback, cleanup or delete: if it fails the operator retries it once (continue rollback / delete)."""
        try:
            return self.invoke(event)
        except StepFailed:
            return self.invoke(event)


@dataclass(frozen=True)
class Sequence:
    """One of CloudFormation's sequences; ``step`` is the index (in ``play``'s order) where the fault goes."""

    name: str
    play: Callable[[Stack, Contract, tuple[int, str] | None], None]


def _create(stack: Stack, c: Contract, fault: tuple[int, str] | None, *, retried: bool = False) -> bool:
    """Create; if it fails, the framework answers the rollback's Delete itself. Returns whether it succeeded."""
    event = stack.event("Create", c.props(0))
    try:
        answer = stack.invoke(event, fault)
        if retried:  # the answer was lost on the way to CloudFormation; the same request comes again
            answer = stack.invoke(event)
    except StepFailed as failure:
        if retried:
            # The second attempt of a create whose first attempt failed: CloudFormation sees this one.
            try:
                answer = stack.invoke(event)
            except StepFailed:
                stack.physical_id, stack.props = None, None
                _check_failure(stack, c, fault, failure)
                return False
        else:
            stack.physical_id, stack.props = None, None  # Delete(CREATE_FAILED) never reaches the handler
            _check_failure(stack, c, fault, failure)
            return False
    stack.physical_id, stack.props = answer["PhysicalResourceId"], c.props(0)
    return True


def _check_failure(stack: Stack, c: Contract, fault: tuple[int, str] | None, failure: StepFailed) -> None:
    if fault is None or fault == NO_FAULT:
        raise AssertionError(f"the step failed without a fault: {failure}")
    words = c.expected_error_words(fault[1])
    assert any(word in str(failure) for word in words), f"error {failure} names none of {words}"


def _update(stack: Stack, c: Contract, version: int, fault: tuple[int, str] | None, *, later_fails: bool) -> None:
    """Update to ``version``; then, if it failed or ``later_fails``, CloudFormation's rollback; else its cleanup."""
    assert stack.physical_id is not None and stack.props is not None
    old_id, old_props, new_props = stack.physical_id, stack.props, c.props(version)
    try:
        answer = stack.invoke(stack.event("Update", new_props, old_id, old_props), fault)
    except StepFailed as failure:
        _check_failure(stack, c, fault, failure)
        # The framework answered FAILED with the old id; CloudFormation rolls back to the old properties.
        stack.must_complete(stack.event("Update", old_props, old_id, new_props))
        return
    new_id = answer["PhysicalResourceId"]
    if later_fails:
        if new_id != old_id:  # the replacement is deleted; the old resource was never touched by CloudFormation
            stack.must_complete(stack.event("Delete", new_props, new_id))
        else:
            stack.must_complete(stack.event("Update", old_props, old_id, new_props))
        return
    if new_id != old_id:  # cleanup phase: the old resource goes
        stack.must_complete(stack.event("Delete", old_props, old_id))
    stack.physical_id, stack.props = new_id, new_props


def _delete(stack: Stack, c: Contract, fault: tuple[int, str] | None, *, retried: bool = False) -> None:
    assert stack.physical_id is not None and stack.props is not None
    event = stack.event("Delete", stack.props, stack.physical_id)
    try:
        stack.invoke(event, fault)
    except StepFailed as failure:
        _check_failure(stack, c, fault, failure)
        stack.invoke(event)  # DELETE_FAILED; the operator deletes the stack again
    if retried:
        stack.invoke(event)
    stack.physical_id, stack.props = None, None


def _then_delete(stack: Stack, c: Contract) -> None:
    """The stack's eventual delete, after the sequence: must clean up whatever the sequence left declared."""
    if stack.physical_id is not None and stack.props is not None:
        stack.must_complete(stack.event("Delete", stack.props, stack.physical_id))
        stack.physical_id, stack.props = None, None


def _seq_create(stack: Stack, c: Contract, fault: Any) -> None:
    _create(stack, c, fault)


def _seq_create_retried(stack: Stack, c: Contract, fault: Any) -> None:
    _create(stack, c, fault, retried=True)


def _updater(version: int, later_fails: bool) -> Callable[[Stack, Contract, Any], None]:
    def play(stack: Stack, c: Contract, fault: Any) -> None:
        assert _create(stack, c, None)
        _update(stack, c, version, fault, later_fails=later_fails)

    return play


def _seq_delete(stack: Stack, c: Contract, fault: Any) -> None:
    assert _create(stack, c, None)
    _delete(stack, c, fault)


def _seq_delete_retried(stack: Stack, c: Contract, fault: Any) -> None:
    assert _create(stack, c, None)
    _delete(stack, c, fault, retried=True)


def _seq_delete_after_removed_by_hand(stack: Stack, c: Contract, fault: Any) -> None:
    assert _create(stack, c, None)
    assert stack.props is not None and stack.physical_id is not None
    c.remove_by_hand(stack.props, stack.physical_id)
    _delete(stack, c, fault)


def _seq_update_twice_with_rollback(stack: Stack, c: Contract, fault: Any) -> None:
    """An in-place update, then a replacing one that is rolled back: the stack must be back at version 1."""
    assert _create(stack, c, None)
    _update(stack, c, 1, None, later_fails=False)
    _update(stack, c, 2, fault, later_fails=True)


SEQUENCES = (
    Sequence("create", _seq_create),
    Sequence("create-retried", _seq_create_retried),
    Sequence("update-in-place", _updater(1, later_fails=False)),
    Sequence("update-in-place-then-rollback", _updater(1, later_fails=True)),
    Sequence("update-replacing", _updater(2, later_fails=False)),
    Sequence("update-replacing-then-rollback", _updater(2, later_fails=True)),
    Sequence("update-then-replacing-rollback", _seq_update_twice_with_rollback),
    Sequence("delete", _seq_delete),
    Sequence("delete-retried", _seq_delete_retried),
    Sequence("delete-after-removed-by-hand", _seq_delete_after_removed_by_hand),
)


_SHARED: dict[str, Any] = {}


def shared(key: str, make: Callable[[], Any]) -> Any:
    """``make()``'s result, made once per matrix (:func:`conform`): boto3 clients, whose creation costs more than the
    requests of a whole run. Clients hold no account state (moto's backends do, and are reset before each run), and
    those made inside :func:`conform` see its fault injector, which is registered before any of them."""
    if key not in _SHARED:
        _SHARED[key] = make()
    return _SHARED[key]


def client(service: str, region: str = "us-east-1") -> Any:
    """A boto3 client shared by the runs of one matrix (see :func:`shared`), for a contract's observations."""
    return shared(f"client:{service}:{region}", lambda: boto3.client(service, region_name=region))


def run(contract: Contract, sequence: Sequence, fault: tuple[int, str], injector: FaultInjector | None = None) -> int:
    """Play ``sequence`` with ``fault`` on a fresh account; check every invariant; return the step's AWS calls.

    The caller provides a fresh moto account (``mock_aws``) and a new contract for each run, and may provide the
    injector (one per matrix); without one, the run registers its own.
    """
    own_injector = injector is None
    injector = injector or FaultInjector()
    contract.setup()
    try:
        before = contract.others()
        stack = Stack(contract, injector)
        sequence.play(stack, contract, fault)
        contract.check_declared(stack.props, stack.physical_id)
        assert contract.others() == before, "something that belongs to someone else changed"
        _then_delete(stack, contract)
        contract.check_declared(None, None)
        assert contract.others() == before, "the stack's delete changed something that belongs to someone else"
        return stack.step_calls
    finally:
        if own_injector:
            injector.close()


def fault_plans(step_calls: int) -> list[tuple[int, str]]:
    """Each kind of fault at each call index of the step under test."""
    return [(n, kind) for n in range(1, step_calls + 1) for kind in FAULT_KINDS]


def conform(contract_factory: Callable[[], Contract], sequence: Sequence) -> None:
    """The whole matrix for one sequence: without a fault, then every fault at every call; all failures reported.

    One moto mock, one fault injector and one set of boto3 clients (:func:`shared`) serve the matrix; before each run
    the backends the contract uses are reset, so every run starts from an empty account (resetting a backend is far
    cheaper than starting moto again, and reusing a client than making one).
    """
    from moto import mock_aws
    from moto.backends import get_backend

    failures: list[str] = []

    def one(fault: tuple[int, str]) -> int:
        contract = contract_factory()
        for backend in contract.backends:
            get_backend(backend).reset()  # type: ignore[call-overload]
        try:
            return run(contract, sequence, fault, injector)
        except (AssertionError, StepFailed) as error:
            failures.append(f"{sequence.name} fault={fault}: {type(error).__name__}: {error}")
            return 0

    with mock_aws():
        _SHARED.clear()
        injector = FaultInjector()  # before any shared client is made, so that each of them sees it
        try:
            calls = one(NO_FAULT)
            assert calls or failures, f"{sequence.name}: the step under test made no AWS call"
            for fault in fault_plans(calls):
                one(fault)
        finally:
            injector.close()
            _SHARED.clear()
    assert not failures, "\n".join(failures)
