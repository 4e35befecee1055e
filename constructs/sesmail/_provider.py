"""Lambda and custom-resource plumbing shared by sesmail's constructs.

Every function gets its own role and log group (kept a year) instead of the AWS managed
``AWSLambdaBasicExecutionRole``, and every ``custom_resources.Provider`` gets its own framework role, whose only
wildcard (the handler's versions, ``:*``) is acknowledged for cdk-nag with that reason.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_logs as logs
import aws_cdk.custom_resources as cr
import jsii
from constructs import Construct, IConstruct

_T = typing.TypeVar("_T", bound=Construct)


def stack_singleton(cls: type[_T], scope: Construct, construct_id: str) -> _T:
    """The stack's one ``cls`` child named ``construct_id``, created on first use (providers, the failure queue)."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child(construct_id)
    return existing if isinstance(existing, cls) else cls(stack, construct_id)


def lambda_role(scope: Construct, *, description: str) -> tuple[iam.Role, logs.LogGroup]:
    """A role for one function, allowed to write only to its own log group, and that group (children of ``scope``
    named ``Role`` and ``Logs``)."""
    log_group = logs.LogGroup(
        scope, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.DESTROY
    )
    role = iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description)
    log_group.grant_write(role)
    return role, log_group


@jsii.implements(cdk.IResolvable)
class _DependsOnWithoutRole:
    """The function's ``DependsOn`` as aws-cdk-lib renders it, less the role its ``Role: Fn::GetAtt`` already orders.

    aws-cdk-lib makes a function depend on its whole role construct (the role and its default policy, which must
    exist before the function runs); cfn-lint reports the role half as W3005, a dependency stated twice.
    """

    def __init__(self, function: cdk.CfnResource, role: cdk.CfnResource) -> None:
        self._function = function
        # aws-cdk-lib resolves this twice per synth (its references pass, then the template): what does not change
        # is read once, and constructs are told apart by their jsii references, not by reading their paths.
        self._stack = cdk.Stack.of(function)
        self._stack_ref, self._role_ref = _ref(self._stack), _ref(role)
        self.creation_stack: list[str] = []

    def resolve(self, _context: cdk.IResolveContext) -> Any:
        same_stack = [
            d
            for d in self._function.obtain_dependencies()
            if isinstance(d, cdk.CfnResource) and _ref(d.stack) == self._stack_ref
        ]
        # Never an empty DependsOn: with the role as the only dependency, keep it.
        kept = [d for d in same_stack if _ref(d) != self._role_ref] or same_stack
        return sorted(self._stack.resolve([d.logical_id for d in kept])) if kept else []

    def to_string(self) -> str:
        return "DependsOn without the role"


def _ref(construct: IConstruct) -> str:
    """The jsii reference of ``construct``: the same object whichever Python proxy of it jsii returned."""
    return str(construct.__jsii_ref__.ref)  # type: ignore[attr-defined]


def without_role_dependency(function: IConstruct, role: iam.IRole) -> None:
    """Drop the ``DependsOn`` on ``role`` that ``function`` (an L2 function, or a CfnResource of one) repeats."""
    cfn_function = function if isinstance(function, cdk.CfnResource) else function.node.default_child
    cfn_role = role.node.default_child
    if isinstance(cfn_function, cdk.CfnResource) and isinstance(cfn_role, cdk.CfnResource):
        cfn_function.add_override("DependsOn", _DependsOnWithoutRole(cfn_function, cfn_role))


_NAG_2_WARNED: set[str] = set()


def warn_if_cdk_nag_2(scope: Construct) -> None:
    """Warn once per stack when cdk-nag 2.x is installed: sesmail acknowledges findings the cdk-nag 3 way.

    cdk-nag 3 reads CDK's ``Validations`` acknowledgements; cdk-nag 2 (an Aspect) reads ``NagSuppressions`` metadata
    instead, so under it every finding sesmail acknowledged shows again.
    """
    import importlib.metadata

    try:
        version = importlib.metadata.version("cdk-nag")
    except importlib.metadata.PackageNotFoundError:
        return
    stack = cdk.Stack.of(scope)
    if version.split(".")[0] != "2" or stack.node.path in _NAG_2_WARNED:
        return
    _NAG_2_WARNED.add(stack.node.path)
    cdk.Annotations.of(stack).add_warning_v2(
        "sesmail:cdkNag2",
        f"cdk-nag {version} is installed: sesmail's acknowledgements are written for cdk-nag 3 "
        "(cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))), so cdk-nag 2 reports them again; "
        "use cdk-nag>=3",
    )


def handler_function(
    scope: Construct,
    construct_id: str,
    *,
    handler: str,
    role_description: str,
    description: str,
    timeout: cdk.Duration,
    extra_files: Mapping[str, str] | None = None,
    **props: Any,
) -> tuple[lambda_.Function, iam.Role]:
    """One of sesmail's handler functions (``lambda/<handler>``, Python 3.14), with its own role and log group.

    The role and group are children of ``scope`` named ``Role`` and ``Logs`` (see :func:`lambda_role`); the function
    is ``construct_id``. ``props`` are the rest of ``lambda_.Function``'s props (memory, retries, environment...).
    ``extra_files`` (file name -> text) ship beside the handler's sources (a routing table that must not grow the
    function's environment).
    """
    from ._assets import handler_code, handler_code_with  # function-level: loaded only where a function is built

    warn_if_cdk_nag_2(scope)
    role, log_group = lambda_role(scope, description=role_description)
    function = lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=handler_code_with(handler, extra_files) if extra_files else handler_code(handler),
        role=role,
        timeout=timeout,
        log_group=log_group,
        description=description,
        **props,
    )
    without_role_dependency(function, role)
    return function, role


def framework_provider(scope: Construct, *, handler: lambda_.IFunction, description: str, label: str) -> cr.Provider:
    """The custom-resource framework for ``handler``, with its own role and log group (children of ``scope`` named
    ``FrameworkLogs``, ``FrameworkRole`` and ``Provider``).

    :param description: the framework role's description.
    :param label: what the handler is, for the acknowledgement's reason (``the identity-policy handler``).
    """
    framework_logs = logs.LogGroup(
        scope, "FrameworkLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.DESTROY
    )
    framework_role = iam.Role(
        scope, "FrameworkRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
    )
    framework_logs.grant_write(framework_role)
    provider = cr.Provider(
        scope,
        "Provider",
        on_event_handler=handler,
        framework_on_event_role=framework_role,
        log_group=framework_logs,
    )
    without_role_dependency(provider.node.find_child("framework-onEvent"), framework_role)
    handler_id = cdk.Stack.of(scope).get_logical_id(typing.cast(cdk.CfnElement, handler.node.default_child))
    cdk.Validations.of(framework_role).acknowledge(
        cdk.Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::<{handler_id}.Arn>:*]",
            reason=f"The provider framework may invoke only {label}; ':*' covers its versions.",
        )
    )
    return provider
