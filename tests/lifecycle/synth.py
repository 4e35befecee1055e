"""Synthesize a custom resource's construct into a one-stack app, for the lifecycle suite's IAM enforcement.

Each contract builds its construct as a user's app would, in the suite's account and region, and reads back the
template (cached per set of construct props: synthesizing takes seconds, the matrix runs hundreds of times).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from tests.lifecycle.harness import ACCOUNT, REGION


def template_of(
    build: Callable[[cdk.Stack], Any], *, nested: Callable[[Any], cdk.Stack] | None = None
) -> tuple[dict[str, Any], Any]:
    """The template of a stack in which ``build`` adds the construct, and what ``build`` returned (logical ids).

    ``nested``: for a construct that puts its resources in a nested stack, which one (from what ``build`` returned);
    its template is read instead of the parent's.
    """
    app = cdk.App()
    stack = cdk.Stack(app, "LifecycleStack", env=cdk.Environment(account=ACCOUNT, region=REGION))
    found = build(stack)
    read = nested(found) if nested is not None else stack
    return dict(Template.from_stack(read).to_json()), found


def logical_id(construct: Any) -> str:
    """The logical id of a construct's CloudFormation resource (its default child, or itself)."""
    resource = construct.node.default_child or construct
    return str(cdk.Stack.of(resource).resolve(resource.logical_id))


cached = functools.cache
