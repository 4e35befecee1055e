"""cdk-nag's finding ids for a resource ARN, so a construct can acknowledge exactly the finding it expects.

Below ``receiving`` and ``inbound``, which both acknowledge findings on the objects they grant.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aws_cdk as cdk
from constructs import Construct


def _export_name(producer: cdk.Stack, reference: dict[str, Any]) -> str:
    """The name aws-cdk-lib gives the export behind a cross-stack ``Ref``/``Fn::GetAtt`` (``<stack>:ExportsOutput...``):
    ``makeUniqueId(["Exports", "Output" + JSON of the reference])``, the human part then the md5 of the path."""
    component = "Output" + json.dumps(reference, separators=(",", ":"))
    digest = hashlib.md5(f"Exports/{component}".encode(), usedforsecurity=False).hexdigest()[:8].upper()
    human = "Exports" + "".join(c for c in component if c.isalnum())
    return f"{producer.stack_name}:{human}{digest}"


def nag_resource(scope: Construct, value: str, producer: cdk.Stack | None = None) -> str:
    """``value`` (an ARN, possibly a token) as cdk-nag writes it in a finding id: ``<Logical.Arn>/prefix/*``.

    With ``producer``, another stack than ``scope``'s holding the referenced resource, the reference is written as
    the import aws-cdk-lib turns it into at synthesis (cdk-nag sees the ``Fn::ImportValue``).
    """
    cross = producer is not None and producer is not cdk.Stack.of(scope)

    def visit(node: Any) -> str:
        # The same flattening as cdk-nag's flattenCfnReference, so acknowledgement ids match its findings.
        if isinstance(node, str):
            return node.replace("${", "<").replace("}", ">")
        if isinstance(node, dict) and "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(visit(item) for item in items)
        if isinstance(node, dict) and "Fn::Sub" in node:
            return visit(node["Fn::Sub"])
        referenced = isinstance(node, dict) and ("Fn::GetAtt" in node or "Ref" in node)
        if cross and referenced and producer is not None and not str(node.get("Ref", "")).startswith("AWS::"):
            return _export_name(producer, node)
        if isinstance(node, dict) and "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{visit(resource)}.{visit(attribute)}>"
        if isinstance(node, dict) and "Fn::ImportValue" in node:
            return visit(node["Fn::ImportValue"])
        if isinstance(node, dict) and "Ref" in node:
            return f"<{visit(node['Ref'])}>"
        return cdk.Stack.of(scope).to_json_string(node)

    return visit(cdk.Stack.of(scope).resolve(value))
