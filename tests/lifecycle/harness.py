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

IAM is enforced: every AWS call a handler makes is evaluated, with the project's own evaluator
(``sesmail.policy.evaluate``), against the identity policies the synthesized template attaches to the handler's role
(:meth:`Contract.role_policies`); a call they do not allow is answered with AccessDenied, as AWS would, and fails the
run with the action and resource named. Which template's policies are in force follows CloudFormation's order: "if
the properties of resource A use a !Ref to resource B ... Resource B is created before resource A ... Resource B is
updated before resource A" (DependsOn attribute; a custom resource depends on its role's policies), and resources the
new template no longer has are removed only after the update, in its cleanup phase (stack status
UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, after the resources' updates). So an Update sees the new
template's policies plus those only the old one has. A rollback restores changed policies in an order the suite does
not assume: each of its calls must be allowed both before and after the restore.

The resource a call is authorized on is the one the account holds, not only the one the request names: a request
names an IAM user by its name, but IAM authorizes the user's ARN, which carries its path (IAM identifiers, "IAM ARNs":
a user with a path is ``arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob``,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html); and a policy's
``aws:ResourceTag/${TagKey}`` condition (listed for the Secrets Manager actions on a secret and for IAM's actions on a
user in the Service Authorization Reference, list_awssecretsmanager.html and list_identityandaccessmanagement.html) is
compared with the tags the resource has. :data:`RESOURCE_FACTS` reads both from moto's backend models, just before each
call: the state the API would answer from, without an API call (so the lookups are neither counted nor faulted, and
cost microseconds instead of a request through botocore and moto's HTTP layer).

The matrix is enumerated, not sampled: CloudFormation's sequences are a short, known list and a single fault at each
call index of each step covers every place a call can fail; a stateful property-based search would sample the same
space at random and could miss an index. :data:`SEQUENCES` lists them; :func:`run` plays one; :func:`conform`
plays a sequence's fault-free prefix once and starts every run of its matrix from the account as that prefix left it
(:class:`AccountSnapshot`), then plays the step under test for real.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import boto3
from botocore.exceptions import ReadTimeoutError

from sesmail.policy.evaluate import PolicySource, Request, evaluate

CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
FAULT_KINDS = ("throttle", "denied", "lost")
#: The step under test, played without a fault (index 0 matches no call): counts the step's calls.
NO_FAULT = (0, "none")
ACCOUNT, REGION = "123456789012", "us-east-1"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/sesmail-test/11111111-2222-3333-4444-555555555555"
#: The handler's role, as IAM sees the caller (the evaluator derives aws:PrincipalArn etc. from it).
HANDLER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sesmail-test-Handler"

#: Role policies in force: logical id of the policy (and its name) -> document.
Policies = dict[str, Any]


def _parameter_arn(params: dict[str, Any]) -> str:
    # SSM: "arn:aws:ssm:region:account-id:parameter/parameter-name" with the name's leading slash dropped
    # (Service Authorization Reference, AWS Systems Manager, resource type parameter).
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{params['Name'].lstrip('/')}"


def _secret_arn(params: dict[str, Any]) -> str:
    secret = params["SecretId"]
    return secret if secret.startswith("arn:") else f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}"


#: The resource each API call acts on, as IAM authorizes it (Service Authorization Reference: the operation's
#: resource type; "*" where it lists none). A handler calling anything else fails the run until it is added here.
CALL_RESOURCES: dict[str, Callable[[dict[str, Any]], str]] = {
    "ses:DescribeActiveReceiptRuleSet": lambda p: "*",
    "ses:SetActiveReceiptRuleSet": lambda p: "*",
    "ses:DescribeReceiptRuleSet": lambda p: f"arn:aws:ses:{REGION}:{ACCOUNT}:receipt-rule-set/{p['RuleSetName']}",
    "cloudformation:DescribeStacks": lambda p: p["StackName"],
    "ssm:GetParameter": _parameter_arn,
    "ssm:PutParameter": _parameter_arn,
    "ssm:DeleteParameter": _parameter_arn,
    **{
        f"sesv2:{op}": (lambda p: f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{p['EmailIdentity']}")
        for op in (
            "GetEmailIdentityPolicies",
            "CreateEmailIdentityPolicy",
            "UpdateEmailIdentityPolicy",
            "DeleteEmailIdentityPolicy",
        )
    },
    **{
        f"iam:{op}": (lambda p: f"arn:aws:iam::{ACCOUNT}:user/{p['UserName']}")
        for op in ("CreateAccessKey", "DeleteAccessKey", "ListAccessKeys", "UpdateAccessKey", "GetUser")
    },
    **{
        f"secretsmanager:{op}": _secret_arn
        for op in ("GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage", "DescribeSecret")
    },
}


@dataclass(frozen=True)
class Facts:
    """What the account holds for a call's resource: its ARN as IAM authorizes it, and its tags."""

    arn: str
    tags: dict[str, str] = field(default_factory=dict)


def _iam_user_facts(arn: str) -> Facts:
    # The request names the user; IAM authorizes its ARN, path included, and its tags (aws:ResourceTag).
    from moto.backends import get_backend
    from moto.iam.exceptions import NoSuchEntity

    name = arn.rsplit("/", 1)[1]
    try:
        user = get_backend("iam")[ACCOUNT]["aws"].get_user(name)
    except NoSuchEntity:
        return Facts(arn)  # no such user: the call fails on its own, authorized on the name it gave
    return Facts(user.arn, {t["Key"]: t["Value"] for t in user.tags or []})


def _secret_facts(arn: str) -> Facts:
    # A secret named by name or partial ARN is authorized on its full ARN (with the random suffix), and its tags.
    from moto.backends import get_backend
    from moto.secretsmanager.exceptions import SecretNotFoundException

    backend = get_backend("secretsmanager")[ACCOUNT][REGION]
    # The request gave the full ARN, or a name that CALL_RESOURCES made into an ARN without the suffix.
    for secret_id in (arn, arn.split(":secret:", 1)[1]):
        try:
            found = backend.describe_secret(secret_id).to_dict()  # what DescribeSecret answers
        except SecretNotFoundException:
            continue
        return Facts(found["ARN"], {t["Key"]: t["Value"] for t in found.get("Tags") or []})
    return Facts(arn)


#: ARN prefix (after ``arn:aws:``) -> how the account's own view of such a resource is read; other resources are
#: authorized on the ARN the request names, without tags.
RESOURCE_FACTS: dict[str, Callable[[str], Facts]] = {
    f"iam::{ACCOUNT}:user/": _iam_user_facts,
    f"secretsmanager:{REGION}:{ACCOUNT}:secret:": _secret_facts,
}


def resource_facts(arn: str) -> Facts:
    """The ARN IAM authorizes for the resource a request names as ``arn``, and the resource's tags."""
    for prefix, read in RESOURCE_FACTS.items():
        if arn.startswith(f"arn:aws:{prefix}"):
            return read(arn)
    return Facts(arn)


def tag_context(service_prefix: str, tags: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """The request context keys a resource's tags fill: ``aws:ResourceTag/<key>`` and the service's own
    ``<prefix>:ResourceTag/<key>`` (both listed in the Service Authorization Reference for secrets and users)."""
    context: dict[str, tuple[str, ...]] = {}
    for key, value in tags.items():
        context[f"aws:ResourceTag/{key}"] = (value,)
        context[f"{service_prefix}:ResourceTag/{key}"] = (value,)
    return context


#: role_policies_from_template's results: (id of the template, role, physical as JSON) -> (the template, policies).
#: The template is held so that its id is never reused by another object while the entry lives.
_ROLE_POLICIES: dict[tuple[int, str, str], tuple[dict[str, Any], Policies]] = {}


def role_policies_from_template(template: dict[str, Any], role_logical_id: str, physical: dict[str, Any]) -> Policies:
    """The identity policies a synthesized template attaches to one role, as the suite enforces them.

    ``physical`` maps a logical id to what the account holds for it (``{"Ref": ..., "Arn": ...}``, any attribute): the
    template's ``Ref``/``Fn::GetAtt`` of those resources are replaced by them, so that the policy names the very
    user, secret or identity the contract created in moto. Keys: ``<policy logical id>/<policy name>``.

    A pure function of its arguments (templates are synthesized once and never changed), so its result is kept: the
    matrices ask for the same policies at every step of every run. Callers get a dict of their own; the documents are
    shared and only read.
    """
    import json

    key = (id(template), role_logical_id, json.dumps(physical, sort_keys=True))
    if key not in _ROLE_POLICIES:
        _ROLE_POLICIES[key] = (template, _role_policies(template, role_logical_id, physical))
    return dict(_ROLE_POLICIES[key][1])


def _role_policies(template: dict[str, Any], role_logical_id: str, physical: dict[str, Any]) -> Policies:
    import json
    import tempfile
    from pathlib import Path

    from sesmail.policy.intrinsics import StackContext
    from sesmail.policy.templates import extract_policies

    def substitute(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in physical:
                return physical[value["Ref"]]["Ref"]
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in physical:
                return physical[value["Fn::GetAtt"][0]][value["Fn::GetAtt"][1]]
            return {k: substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [substitute(v) for v in value]
        return value

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stack.template.json"
        path.write_text(json.dumps(substitute(template)))
        found = extract_policies([path], defaults=StackContext(account=ACCOUNT, region=REGION))
    policies = {
        f"{p.logical_id}/{p.name or ''}": p.document
        for p in found
        if p.kind == "identity" and role_logical_id in p.attached_to
    }
    assert policies, f"the template attaches no policy to {role_logical_id}"
    return policies


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
    """Counts the AWS calls made through boto3's default session and injects one fault at a chosen call.

    One is registered at a time (a new one closes the one before): a client copies the session's hooks when it is
    made, so two registered injectors would both see its calls. Outside :meth:`step` the hooks do nothing.
    """

    #: The injector registered on boto3's default session, if any.
    _live: ClassVar[FaultInjector | None] = None

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.armed = False
        self._plan: tuple[int, str] | None = None
        self.injected: str | None = None
        #: The role policies in force, one set per order CloudFormation may apply them in (``None``: IAM not enforced).
        self.iam: list[Policies] | None = None
        #: Calls the role's policies did not allow, in the step: "<action> on <resource>".
        self.denials: list[str] = []
        if FaultInjector._live is not None:
            FaultInjector._live.close()
        session = boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
        assert session is not None
        events = session._session.get_component("event_emitter")
        events.register("before-call", self._before_call, unique_id="sesmail-lifecycle-before")
        events.register("after-call", self._after_call, unique_id="sesmail-lifecycle-after")
        events.register("before-parameter-build", self._params, unique_id="sesmail-lifecycle-params")
        self.session: boto3.session.Session | None = session
        self._events = events
        FaultInjector._live = self
        _SHARED.clear()  # clients made before this injector do not call it

    @classmethod
    def current(cls) -> FaultInjector:
        """Inside ``mock_aws``: the injector of an earlier matrix, with its boto3 session made the default session
        again, or a new one on the default session. (moto starts each mock without a default session, so that no
        session keeps credentials from outside; the injector's session was made inside an earlier mock and holds
        moto's fake ones. When the mock stops, moto puts back the default session it found.)"""
        live = cls._live
        if live is not None and live.session is not None:
            boto3.DEFAULT_SESSION = live.session
            return live
        return cls()

    def close(self) -> None:
        if self.session is None:
            return
        self._events.unregister("before-parameter-build", unique_id="sesmail-lifecycle-params")
        self._events.unregister("before-call", unique_id="sesmail-lifecycle-before")
        self._events.unregister("after-call", unique_id="sesmail-lifecycle-after")
        self.session = None
        if FaultInjector._live is self:
            FaultInjector._live = None
            _SHARED.clear()  # the shared clients call this injector, which no longer counts or checks anything

    @contextmanager
    def step(self, fault: tuple[int, str] | None = None) -> Iterator[None]:
        """Count (and possibly break) the calls made inside the block; harness observations stay outside."""
        self.calls, self._plan, self.injected, self.armed = [], fault, None, True
        try:
            yield
        finally:
            self.armed = False

    def _params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self.armed:
            context["sesmail_api_params"] = copy.deepcopy(params)

    def _authorize(self, model: Any, params: dict[str, Any]) -> str | None:
        """``None`` if every policy set in force allows the call, else "<action> on <resource>"."""
        if self.iam is None:
            return None
        call = f"{model.service_model.service_name}:{model.name}"
        if call not in CALL_RESOURCES:
            raise AssertionError(f"the suite does not know which resource {call} acts on: add it to CALL_RESOURCES")
        # The IAM prefix is the signing name (SES v2's actions are ses:...).
        prefix = model.service_model.signing_name
        action = f"{prefix}:{model.name}"
        facts = resource_facts(CALL_RESOURCES[call](params))
        resource = facts.arn
        context = tag_context(prefix, facts.tags)
        for policies in self.iam:
            sources = [PolicySource(name, doc, "identity") for name, doc in policies.items()]
            decision = evaluate(
                Request(HANDLER_ROLE, action, resource, context),
                identity_policies=sources,
                resource_policies=[],
                resource_account=ACCOUNT,
            )
            if not (decision.allowed and decision.definite):
                tags = f" tagged {facts.tags}" if facts.tags else ""
                return f"{action} on {resource}{tags} (role policies {sorted(policies)})"
        return None

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        if not self.armed:
            return None
        self.calls.append(f"{model.service_model.service_name}:{model.name}")
        denial = self._authorize(model, context.get("sesmail_api_params", {}))
        if denial is not None:
            self.denials.append(denial)
            protocol = model.service_model.protocol
            family = "json" if protocol in ("json", "rest-json") else protocol
            code = _DENIED.get(family, "AccessDeniedException")
            parsed = {
                "Error": {"Code": code, "Message": f"not authorized to perform {denial}"},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            }
            return _FakeHttp(403), parsed
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

    Each run of a matrix plays a shallow copy of the contract made after the sequence's prefix: its instance attributes
    must be immutable values (names, ARNs, flags, rebound when they change) or boto3 clients; :func:`conform` refuses
    anything else.
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

    @abc.abstractmethod
    def role_policies(self, version: int) -> Policies:
        """The identity policies template version ``version`` attaches to the handler's role (synthesized, usually
        through :func:`role_policies_from_template`): the suite lets the handler make only the calls they allow."""

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
    #: The template version the resource is at (its ``props`` are ``contract.props(version)``).
    version: int | None = None
    log: list[str] = field(default_factory=list)
    #: AWS calls the step under test made (its invocation that was given the fault plan).
    step_calls: int = 0
    #: The next request's number (request ids are unique within a run).
    next_request: int = 0

    def event(self, request: str, props: Props, physical_id: str | None = None, old: Props | None = None) -> dict:
        self.next_request += 1
        event: dict[str, Any] = {
            "RequestType": request,
            "RequestId": f"request-{self.next_request - 1}",
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

    def policies_during(self, source: int, target: int | None = None, *, rollback: bool = False) -> list[Policies]:
        """The role policies in force while CloudFormation moves the resource from template ``source`` to ``target``
        (``None``: a create or delete at ``source``): the target template's policies and those only the source has
        (removed in a later cleanup). A rollback (``source`` the failed version, ``target`` the one restored) may run
        before or after the policies are restored: both states are returned, and a call must be allowed in each."""
        if target is None:
            return [self.contract.role_policies(source)]
        old, new = self.contract.role_policies(source), self.contract.role_policies(target)
        after = {**{k: v for k, v in old.items() if k not in new}, **new}
        if not rollback:
            return [after]
        before = {**{k: v for k, v in new.items() if k not in old}, **old}
        return [after] if after == before else [after, before]

    def invoke(self, event: dict, fault: tuple[int, str] | None = None, *, iam: list[Policies]) -> dict[str, Any]:
        """One invocation of the handler under the role policies ``iam``; a raise becomes :class:`StepFailed`."""
        self.log.append(f"{event['RequestType']} {event.get('PhysicalResourceId', '')} fault={fault}")
        self.injector.iam = iam
        try:
            with self.injector.step(fault):
                answer = self.contract.on_event(copy.deepcopy(event))
        except Exception as error:  # the framework reports any exception as FAILED
            raise StepFailed(f"{type(error).__name__}: {error}") from error
        finally:
            if fault is not None:
                self.step_calls = len(self.injector.calls)
            if self.injector.denials:
                denied, self.injector.denials = self.injector.denials, []
                raise AssertionError(f"IAM denies {event['RequestType']}: " + "; ".join(denied))
        physical_id = answer.get("PhysicalResourceId") if isinstance(answer, dict) else None
        if event["RequestType"] == "Delete" and physical_id not in (None, event["PhysicalResourceId"]):
            # The framework refuses this itself ("DELETE: cannot change the physical resource ID").
            raise AssertionError(f"Delete changed the physical id to {physical_id!r}")
        if event["RequestType"] == "Create" and not physical_id:
            raise AssertionError("Create returned no physical id (the framework would use the request id)")
        return answer

    def must_complete(self, event: dict, *, iam: list[Policies]) -> dict[str, Any]:
        """A rollback, cleanup or delete: if it fails the operator retries it once (continue rollback / delete)."""
        try:
            return self.invoke(event, iam=iam)
        except StepFailed:
            return self.invoke(event, iam=iam)


def _no_prefix(stack: Stack, c: Contract) -> None:
    """Nothing before the step under test."""


@dataclass(frozen=True)
class Sequence:
    """One of CloudFormation's sequences: ``prefix`` plays its fault-free steps (the create, earlier updates, someone's
    change by hand), then ``step`` plays the step under test with the fault and whatever CloudFormation does after it
    (rollback, cleanup, the operator's retry)."""

    name: str
    step: Callable[[Stack, Contract, tuple[int, str] | None], None]
    prefix: Callable[[Stack, Contract], None] = _no_prefix

    def play(self, stack: Stack, c: Contract, fault: tuple[int, str] | None) -> None:
        self.prefix(stack, c)
        self.step(stack, c, fault)


def _create(stack: Stack, c: Contract, fault: tuple[int, str] | None, *, retried: bool = False) -> bool:
    """Create; if it fails, the framework answers the rollback's Delete itself. Returns whether it succeeded."""
    event = stack.event("Create", c.props(0))
    iam = stack.policies_during(0)
    try:
        answer = stack.invoke(event, fault, iam=iam)
        if retried:  # the answer was lost on the way to CloudFormation; the same request comes again
            answer = stack.invoke(event, iam=iam)
    except StepFailed as failure:
        if retried:
            # The second attempt of a create whose first attempt failed: CloudFormation sees this one.
            try:
                answer = stack.invoke(event, iam=iam)
            except StepFailed:
                stack.physical_id, stack.props = None, None
                _check_failure(stack, c, fault, failure)
                return False
        else:
            stack.physical_id, stack.props = None, None  # Delete(CREATE_FAILED) never reaches the handler
            _check_failure(stack, c, fault, failure)
            return False
    stack.physical_id, stack.props, stack.version = answer["PhysicalResourceId"], c.props(0), 0
    return True


def _check_failure(stack: Stack, c: Contract, fault: tuple[int, str] | None, failure: StepFailed) -> None:
    if fault is None or fault == NO_FAULT:
        raise AssertionError(f"the step failed without a fault: {failure}")
    words = c.expected_error_words(fault[1])
    assert any(word in str(failure) for word in words), f"error {failure} names none of {words}"


def _update(stack: Stack, c: Contract, version: int, fault: tuple[int, str] | None, *, later_fails: bool) -> None:
    """Update to ``version``; then, if it failed or ``later_fails``, CloudFormation's rollback; else its cleanup."""
    assert stack.physical_id is not None and stack.props is not None and stack.version is not None
    old_id, old_props, new_props = stack.physical_id, stack.props, c.props(version)
    forward = stack.policies_during(stack.version, version)
    rollback = stack.policies_during(version, stack.version, rollback=True)
    try:
        answer = stack.invoke(stack.event("Update", new_props, old_id, old_props), fault, iam=forward)
    except StepFailed as failure:
        _check_failure(stack, c, fault, failure)
        # The framework answered FAILED with the old id; CloudFormation rolls back to the old properties.
        stack.must_complete(stack.event("Update", old_props, old_id, new_props), iam=rollback)
        return
    new_id = answer["PhysicalResourceId"]
    if later_fails:
        if new_id != old_id:  # the replacement is deleted; the old resource was never touched by CloudFormation
            stack.must_complete(stack.event("Delete", new_props, new_id), iam=rollback)
        else:
            stack.must_complete(stack.event("Update", old_props, old_id, new_props), iam=rollback)
        return
    if new_id != old_id:  # cleanup phase: the old resource goes, before the policies only the old template has
        stack.must_complete(stack.event("Delete", old_props, old_id), iam=forward)
    stack.physical_id, stack.props, stack.version = new_id, new_props, version


def _delete(stack: Stack, c: Contract, fault: tuple[int, str] | None, *, retried: bool = False) -> None:
    assert stack.physical_id is not None and stack.props is not None and stack.version is not None
    event = stack.event("Delete", stack.props, stack.physical_id)
    # The resource is deleted before the policies it depends on.
    iam = stack.policies_during(stack.version)
    try:
        stack.invoke(event, fault, iam=iam)
    except StepFailed as failure:
        _check_failure(stack, c, fault, failure)
        stack.invoke(event, iam=iam)  # DELETE_FAILED; the operator deletes the stack again
    if retried:
        stack.invoke(event, iam=iam)
    stack.physical_id, stack.props, stack.version = None, None, None


def _then_delete(stack: Stack, c: Contract) -> None:
    """The stack's eventual delete, after the sequence: must clean up whatever the sequence left declared."""
    if stack.physical_id is not None and stack.props is not None and stack.version is not None:
        iam = stack.policies_during(stack.version)
        stack.must_complete(stack.event("Delete", stack.props, stack.physical_id), iam=iam)
        stack.physical_id, stack.props, stack.version = None, None, None


def _created(stack: Stack, c: Contract) -> None:
    assert _create(stack, c, None)


def _created_then_removed_by_hand(stack: Stack, c: Contract) -> None:
    assert _create(stack, c, None)
    assert stack.props is not None and stack.physical_id is not None
    c.remove_by_hand(stack.props, stack.physical_id)


def _created_then_updated_in_place(stack: Stack, c: Contract) -> None:
    assert _create(stack, c, None)
    _update(stack, c, 1, None, later_fails=False)


def _updater(version: int, later_fails: bool) -> Callable[[Stack, Contract, Any], None]:
    def step(stack: Stack, c: Contract, fault: Any) -> None:
        _update(stack, c, version, fault, later_fails=later_fails)

    return step


def _step_create(stack: Stack, c: Contract, fault: Any) -> None:
    _create(stack, c, fault)


def _step_create_retried(stack: Stack, c: Contract, fault: Any) -> None:
    _create(stack, c, fault, retried=True)


def _step_delete(stack: Stack, c: Contract, fault: Any) -> None:
    _delete(stack, c, fault)


def _step_delete_retried(stack: Stack, c: Contract, fault: Any) -> None:
    _delete(stack, c, fault, retried=True)


SEQUENCES = (
    Sequence("create", _step_create),
    Sequence("create-retried", _step_create_retried),
    Sequence("update-in-place", _updater(1, later_fails=False), _created),
    Sequence("update-in-place-then-rollback", _updater(1, later_fails=True), _created),
    Sequence("update-replacing", _updater(2, later_fails=False), _created),
    Sequence("update-replacing-then-rollback", _updater(2, later_fails=True), _created),
    # An in-place update, then a replacing one that is rolled back: the stack must be back at version 1.
    Sequence("update-then-replacing-rollback", _updater(2, later_fails=True), _created_then_updated_in_place),
    Sequence("delete", _step_delete, _created),
    Sequence("delete-retried", _step_delete_retried, _created),
    Sequence("delete-after-removed-by-hand", _step_delete, _created_then_removed_by_hand),
)


_SHARED: dict[str, Any] = {}


def shared(key: str, make: Callable[[], Any]) -> Any:
    """``make()``'s result, made once while the same :class:`FaultInjector` is registered (usually once per test
    process): boto3 clients, whose creation costs more than the requests of a whole run. Clients hold no account
    state (moto's backends do, and are reset before each run); each one calls the injector registered when it was
    made, and a new injector forgets them all. ``key`` names what is made across the whole suite (one key per
    handler module: another module's contract would get the wrong handler clients)."""
    if key not in _SHARED:
        _SHARED[key] = make()
    return _SHARED[key]


def reset_shared() -> None:
    """Forget the shared clients (making a :class:`FaultInjector` does it too): a run outside :func:`conform` with an
    injector of its own needs clients made after that injector (a client keeps the hooks of the injector it was made
    under)."""
    _SHARED.clear()


def client(service: str, region: str = "us-east-1") -> Any:
    """A boto3 client shared by the runs of one matrix (see :func:`shared`), for a contract's observations."""
    return shared(f"client:{service}:{region}", lambda: boto3.client(service, region_name=region))


def run(contract: Contract, sequence: Sequence, fault: tuple[int, str], injector: FaultInjector | None = None) -> int:
    """Play ``sequence`` with ``fault`` on a fresh account; check every invariant; return the step's AWS calls.

    The caller provides a fresh moto account (``mock_aws``) and a new contract for each run, and may provide the
    injector; without one, the run registers its own.
    """
    own_injector = injector is None
    injector = injector or FaultInjector()
    contract.setup()
    try:
        before = contract.others()
        stack = Stack(contract, injector)
        sequence.prefix(stack, contract)
        return _finish(stack, contract, sequence, fault, before)
    finally:
        if own_injector:
            injector.close()


def _finish(stack: Stack, contract: Contract, sequence: Sequence, fault: tuple[int, str], before: Any) -> int:
    """The step under test with ``fault``, then every invariant; returns the step's AWS calls."""
    sequence.step(stack, contract, fault)
    contract.check_declared(stack.props, stack.physical_id)
    assert contract.others() == before, "something that belongs to someone else changed"
    _then_delete(stack, contract)
    contract.check_declared(None, None)
    assert contract.others() == before, "the stack's delete changed something that belongs to someone else"
    return stack.step_calls


def fault_plans(step_calls: int) -> list[tuple[int, str]]:
    """Each kind of fault at each call index of the step under test."""
    return [(n, kind) for n in range(1, step_calls + 1) for kind in FAULT_KINDS]


def _reduce_defaultdict_subclass(obj: Any) -> tuple[Any, ...]:
    # defaultdict's own __reduce__ drops the instance's attributes (a subclass's): keep them.
    return (_new_defaultdict, (type(obj), obj.default_factory), dict(vars(obj)), None, iter(dict.items(obj)))


def _new_defaultdict(cls: Any, factory: Any) -> Any:
    new = cls.__new__(cls)
    new.default_factory = factory
    return new


class AccountSnapshot:
    """The state of every moto backend of the suite's account, to play the same account again.

    Taken once per matrix after the sequence's fault-free prefix (the account's setup, the create, earlier updates):
    each run then starts from a copy of that state instead of replaying the prefix with API calls. It is the same
    account state the replay would build (only moto's random ids are the same in every run instead of new ones),
    and the step under test, its rollback or cleanup, the checks and the stack's delete are played for real.

    The state is copied with :func:`copy.deepcopy`, the backend objects themselves kept (moto's models and others
    look them up, and references to them inside the state stay references). A class whose own ``__reduce__`` would
    lose an instance's attributes in the copy fails the snapshot, naming it, unless it is a ``defaultdict`` subclass
    (moto's SSM parameters), which is copied with its attributes.
    """

    def __init__(self) -> None:
        self._backends = self._live()
        self._state = self._copy({key: backend.__dict__ for key, backend in self._backends.items()}, check=True)

    @staticmethod
    def _live() -> dict[tuple[str, str], Any]:
        from moto.core.base_backend import BackendDict

        found = {}
        instances: list[Any] = BackendDict._instances  # type: ignore[misc]
        for backend_dict in instances:
            if ACCOUNT in backend_dict:
                for region, backend in backend_dict[ACCOUNT].items():
                    found[(backend_dict.service_name, region)] = backend
        return found

    def _copy(self, state: Any, *, check: bool = False) -> Any:
        if check:
            _check_copyable(state, set(map(id, self._backends.values())))
        memo = {id(backend): backend for backend in self._backends.values()}
        return copy.deepcopy(state, memo)

    def restore(self) -> None:
        """Put the account back as it was when the snapshot was taken."""
        for key, backend in self._live().items():
            if key not in self._backends:
                backend.reset()  # made after the snapshot: it held nothing then
        state = self._copy(self._state)
        for key, backend in self._backends.items():
            backend.__dict__ = state[key]


def _check_copyable(root: Any, skip: set[int]) -> None:
    """Walk the state: register the defaultdict subclasses' reducer, refuse other classes deepcopy would truncate."""
    import copyreg
    from collections import defaultdict

    seen: set[int] = set(skip)
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None), type)):
            continue
        seen.add(id(obj))
        cls = type(obj)
        attrs = getattr(obj, "__dict__", None)
        if isinstance(obj, defaultdict) and cls is not defaultdict and attrs:
            copyreg.pickle(cls, _reduce_defaultdict_subclass)
        elif attrs and cls not in copyreg.dispatch_table and not hasattr(obj, "__deepcopy__"):
            owner = next(k for k in cls.__mro__ if "__reduce_ex__" in vars(k) or "__reduce__" in vars(k))
            assert owner is object, (
                f"AccountSnapshot: {cls.__qualname__} reduces itself ({owner.__qualname__}): teach it"
            )
        if isinstance(obj, dict):
            todo.extend(obj.keys())
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo.extend(obj)
        if attrs:
            todo.extend(attrs.values())


#: Instance attributes a contract may hold and the suite may share between copies of it (see :func:`_copy_contract`).
_IMMUTABLE = (str, bytes, int, float, bool, type(None), tuple, frozenset)


def _copy_contract(contract: Contract) -> Contract:
    """A copy of the contract for one run: its clients shared, its own attributes (set by setup, the prefix and
    the step: names, ARNs, flags) immutable values, so that one run's changes never reach another's."""
    from botocore.client import BaseClient

    for name, value in vars(contract).items():
        assert isinstance(value, (*_IMMUTABLE, BaseClient)), (
            f"{type(contract).__name__}.{name} is a {type(value).__name__}: a contract's attributes must be immutable "
            "or clients (each run plays a copy of the contract)"
        )
    return copy.copy(contract)


def conform(contract_factory: Callable[[], Contract], sequence: Sequence) -> None:
    """The whole matrix for one sequence: without a fault, then every fault at every call; all failures reported.

    The account is set up and the sequence's fault-free prefix played once; every run then starts from that account
    (:class:`AccountSnapshot`), a copy of the contract and of CloudFormation's view of the stack, and plays the step
    under test with its fault. One moto mock serves the matrix, and the process's fault injector and boto3 clients
    (:func:`shared`) serve every matrix (reusing a client is far cheaper than making one).
    """
    from moto import mock_aws
    from moto.backends import get_backend

    failures: list[str] = []

    with mock_aws():
        injector = FaultInjector.current()  # the shared clients were made under it
        contract = contract_factory()
        for backend in contract.backends:
            get_backend(backend).reset()  # type: ignore[call-overload]
        contract.setup()
        before = contract.others()
        played = Stack(contract, injector)
        sequence.prefix(played, contract)
        snapshot = AccountSnapshot()
        as_left = _declares(contract, played)

        def one(fault: tuple[int, str], *, check_restore: bool = False) -> int:
            snapshot.restore()
            run_contract = _copy_contract(contract)
            stack = dataclasses.replace(played, contract=run_contract, log=list(played.log))
            try:
                # The first run after the fault-free one starts from an account that run changed: the restore must
                # have brought back the prefix's account (what it declared, or the removal by hand), or every run
                # after it would test another account than the sequence says.
                assert not check_restore or _declares(run_contract, stack) == as_left, (
                    "AccountSnapshot.restore did not bring back the account the prefix left"
                )
                return _finish(stack, run_contract, sequence, fault, before)
            except (AssertionError, StepFailed) as error:
                failures.append(f"{sequence.name} fault={fault}: {type(error).__name__}: {error}")
                return 0

        calls = one(NO_FAULT)
        assert calls or failures, f"{sequence.name}: the step under test made no AWS call"
        for number, fault in enumerate(fault_plans(calls)):
            one(fault, check_restore=number == 0)
    assert not failures, "\n".join(failures)


def _declares(contract: Contract, stack: Stack) -> bool:
    """Whether the account holds what CloudFormation believes the stack declares (its props and physical id)."""
    try:
        contract.check_declared(stack.props, stack.physical_id)
    except AssertionError:
        return False
    return True
