"""Whole-template snapshots of every environment in cdk.json, for reviewing change.

Asset hashes are masked so a snapshot changes only when the template does, not when a handler's source does.
Update with `pytest tests/test_snapshots.py --snapshot-update` after reading the diff.
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import cdk_json_context

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def mask_asset_hashes(value: Any) -> Any:
    """The template with every 64-hex asset hash replaced by a fixed marker."""
    if isinstance(value, dict):
        return {key: mask_asset_hashes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_asset_hashes(item) for item in value]
    if isinstance(value, str):
        return _ASSET_HASH.sub("<asset-hash>", value)
    return value


@pytest.fixture()
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("environment", sorted(cdk_json_context()["environments"]))
def test_environment_template(environment: str, project_app: cdk.App, snapshot_json: SnapshotAssertion) -> None:
    stack = project_app.node.find_child(f"sesmail-{environment}")
    template = Template.from_stack(stack).to_json()  # type: ignore[arg-type]
    assert mask_asset_hashes(template) == snapshot_json


def test_masking_hides_only_hashes() -> None:
    key = "a" * 64
    template = {"Code": {"S3Key": f"{key}.zip"}, "Name": "example.com"}
    assert mask_asset_hashes(template) == {"Code": {"S3Key": "<asset-hash>.zip"}, "Name": "example.com"}
