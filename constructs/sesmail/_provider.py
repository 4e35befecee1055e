"""Lambda and custom-resource plumbing shared by sesmail's constructs.

Every function gets its own role and log group (kept a year) instead of the AWS managed
``AWSLambdaBasicExecutionRole``, and every ``custom_resources.Provider`` gets its own framework role, whose only
wildcard (the handler's versions, ``:*``) is acknowledged for cdk-nag with that reason.
"""

from __future__ import annotations

import typing

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_logs as logs
import aws_cdk.custom_resources as cr
from constructs import Construct

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
    handler_id = cdk.Stack.of(scope).get_logical_id(typing.cast(cdk.CfnElement, handler.node.default_child))
    cdk.Validations.of(framework_role).acknowledge(
        cdk.Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::<{handler_id}.Arn>:*]",
            reason=f"The provider framework may invoke only {label}; ':*' covers its versions.",
        )
    )
    return provider
