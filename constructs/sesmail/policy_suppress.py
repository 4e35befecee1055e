"""Suppress a ``sesmail lint`` finding from CDK code, with its reason, in the resource's template metadata.

It lives outside :mod:`sesmail.policy`, which must not import aws-cdk-lib. The lint reads the entry back from
``Metadata["sesmail-lint"]["suppress"]`` and prints the finding as ``SUPPRESSED (reason)``.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

from .policy.findings import RULES
from .policy.suppressions import METADATA_KEY


def suppress(construct: IConstruct, rule: str, reason: str, *, statement: str | None = None) -> None:
    """Suppress lint finding ``rule`` on ``construct``'s CloudFormation resource, for ``reason``.

    :param construct: a ``CfnResource``, or an L2 construct whose default child is one (``bucket.policy``, a role's
        ``default_policy``...).
    :param rule: the rule id, e.g. ``"SES010"``.
    :param reason: why the finding is acceptable; printed with the finding. Required.
    :param statement: only the statement with this Sid or index (as the finding prints it); default: every statement
        of the resource.
    """
    if rule not in RULES:
        raise ValueError(f"rule: {rule!r} is not a sesmail lint rule (known: {', '.join(RULES)})")
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"reason: {reason!r} is empty: say why the finding is acceptable")
    if statement is not None and (not isinstance(statement, str) or not statement):
        raise ValueError(f"statement: {statement!r} is not a Sid or index")
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise ValueError(
            f"construct: {construct.node.path!r} is not a CloudFormation resource and has none as default child"
        )
    existing: Any = resource.get_metadata(METADATA_KEY)
    entries = list(existing.get("suppress", [])) if isinstance(existing, dict) else []
    entry = {"rule": rule, "reason": reason.strip()}
    if statement is not None:
        entry["statement"] = statement
    if entry not in entries:
        entries.append(entry)
    resource.add_metadata(METADATA_KEY, {"suppress": entries})
