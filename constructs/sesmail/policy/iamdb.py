"""IAM's actions, resource types and condition keys, from a snapshot of AWS's Service Authorization Reference.

The snapshot ships in the package as ``data/iam_reference.json.gz`` (every service's actions, the resource types each
action can be scoped to with their ARN formats, and the condition keys with their types), built by
``tools/refresh_iam_data.py``; :func:`data_info` says where it came from and of which day. Loading it takes about
0.2 s, so it happens on first use, not at import. The global ``aws:`` keys are not in the reference:
:data:`GLOBAL_KEYS` lists them (IAM User Guide, "AWS global condition context keys").
"""

from __future__ import annotations

import datetime
import fnmatch
import functools
import gzip
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

#: The data file inside the package.
DATA_FILE = "data/iam_reference.json.gz"
#: ``sesmail lint`` notes data older than this many days.
STALE_AFTER_DAYS = 180

#: Global condition keys (lower-case -> canonical spelling). Tag keys take a suffix (``aws:ResourceTag/Owner``).
GLOBAL_KEYS: dict[str, str] = {
    key.lower(): key
    for key in (
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:FederatedProvider",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:Referer",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpcArn",
        "aws:SourceVpce",
        "aws:TagKeys",
        "aws:TokenIssueTime",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:ViaAWSService",
        "aws:VpcSourceIp",
        "aws:VpceAccount",
        "aws:VpceOrgID",
        "aws:VpceOrgPaths",
        "aws:Ec2InstanceSourceVpc",
        "aws:Ec2InstanceSourcePrivateIPv4",
        "aws:IsMcpServiceAction",
        "aws:AssumedRoot",
        "aws:ChatbotSourceArn",
    )
}
#: Global keys with a free-form suffix.
GLOBAL_KEY_PREFIXES = ("aws:RequestTag/", "aws:ResourceTag/", "aws:PrincipalTag/")
GLOBAL_KEY_PREFIXES_LOWER = tuple(p.lower() for p in GLOBAL_KEY_PREFIXES)
#: Global keys that hold a set of values.
GLOBAL_MULTIVALUED = frozenset(
    k.lower()
    for k in (
        "aws:TagKeys",
        "aws:CalledVia",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceNamesList",
        "aws:ResourceOrgPaths",
        "aws:SourceOrgPaths",
        "aws:VpceOrgPaths",
    )
)


@dataclass(frozen=True)
class ResourceType:
    """A resource type an action can be scoped to."""

    name: str
    required: bool
    arn_format: str  # e.g. arn:${Partition}:ses:${Region}:${Account}:identity/${IdentityName}
    condition_keys: tuple[str, ...]


@dataclass(frozen=True)
class Action:
    """One IAM action with what it can be scoped to and the condition keys it supports."""

    name: str  # canonical spelling, e.g. ses:SendRawEmail
    resource_types: tuple[ResourceType, ...]  # empty: the action supports only Resource "*"
    condition_keys: tuple[str, ...]  # service-specific keys, canonical spelling, may contain ${...} templates
    #: False for an action known only by name (documented after the snapshot): its resource types and keys are
    #: unknown, so callers must not conclude from them.
    details_known: bool = True

    def supports_key(self, key: str) -> bool:
        """Whether the service-specific ``key`` (any case) is one this action supports (True when unknown)."""
        return not self.details_known or any(_key_pattern(k).fullmatch(key) for k in self.condition_keys)


@dataclass(frozen=True)
class DataInfo:
    """Where the IAM data came from."""

    source: str
    #: The day the source data was taken.
    date: datetime.date
    #: Entries added from AWS pages newer than the snapshot, each with its page.
    supplement: tuple[str, ...]

    def age_days(self, today: datetime.date | None = None) -> int:
        """Days between the data's date and ``today`` (default: the current UTC day)."""
        return ((today or datetime.datetime.now(datetime.UTC).date()) - self.date).days


@functools.cache
def _document() -> Mapping[str, Any]:
    raw = resources.files(__package__).joinpath(DATA_FILE).read_bytes()
    document = json.loads(gzip.decompress(raw))
    for data in document["services"].values():
        data["privileges_lower_name"] = {name.lower(): name for name in data["privileges"]}
    return document


def _definition() -> Mapping[str, Any]:
    return _document()["services"]


def data_info() -> DataInfo:
    """The source and date of the IAM data."""
    document = _document()
    return DataInfo(
        str(document["source"]),
        datetime.date.fromisoformat(document["data_date"]),
        tuple(document.get("supplement") or ()),
    )


def staleness_note(today: datetime.date | None = None) -> str | None:
    """A one-line note when the IAM data is older than :data:`STALE_AFTER_DAYS`, else ``None``."""
    info = data_info()
    age = info.age_days(today)
    if age <= STALE_AFTER_DAYS:
        return None
    return (
        f"the IAM data is {age} days old (of {info.date.isoformat()}, from {info.source}): actions, resource types "
        "and condition keys AWS added since are reported as unknown; refresh it with tools/refresh_iam_data.py"
    )


def service(prefix: str) -> Mapping[str, Any] | None:
    """The reference's data for a service prefix (``ses``), or ``None`` when IAM has no such service."""
    data = _definition().get(prefix.lower())
    return data if isinstance(data, Mapping) else None


@functools.cache
def action(name: str) -> Action | None:
    """The action ``service:Name`` (any case), or ``None`` when IAM defines no such action."""
    prefix, _, short = name.partition(":")
    data = service(prefix)
    if not data or not short:
        return None
    canonical = data["privileges_lower_name"].get(short.lower())
    if canonical is None:
        return None
    privilege = data["privileges"][canonical]
    resources = data.get("resources") or {}
    types: list[ResourceType] = []
    keys: list[str] = []
    for type_name, entry in privilege["resource_types"].items():
        keys.extend(entry.get("condition_keys") or [])
        if not type_name:
            continue
        # A name with a trailing * (e.g. "object*") only marks a required type in the reference.
        resource = resources.get(type_name.rstrip("*")) or {}
        keys.extend(resource.get("condition_keys") or [])
        types.append(
            ResourceType(
                name=type_name.rstrip("*"),
                required=bool(entry.get("required")) or type_name.endswith("*"),
                arn_format=resource.get("arn", ""),
                condition_keys=tuple(resource.get("condition_keys") or ()),
            )
        )
    return Action(
        name=f"{data['prefix']}:{canonical}",
        resource_types=tuple(types),
        condition_keys=tuple(dict.fromkeys(keys)),
        details_known=not privilege.get("details_unknown"),
    )


@functools.cache
def expand(pattern: str) -> tuple[Action, ...]:
    """Every action an ``Action`` entry (which may hold ``*``/``?`` wildcards) covers; empty when none."""
    if pattern == "*":
        return ()  # every action of every service: callers treat "*" on its own
    prefix, _, short = pattern.partition(":")
    if "*" not in short and "?" not in short:
        found = action(pattern)
        return (found,) if found else ()
    data = service(prefix)
    if not data:
        return ()
    matches = fnmatch.filter(data["privileges_lower_name"], short.lower())
    return tuple(a for a in (action(f"{prefix}:{m}") for m in sorted(matches)) if a)


def service_condition_keys(prefix: str) -> dict[str, str]:
    """A service's condition keys, lower-case -> canonical (templates such as ``${TagKey}`` included as they are)."""
    data = service(prefix)
    return {key.lower(): key for key in (data or {}).get("conditions", {})}


def key_type(key: str) -> str | None:
    """The declared type of a condition key (``String``, ``ArrayOfString``...), ``None`` when unknown."""
    prefix = key.partition(":")[0]
    conditions = (service(prefix) or {}).get("conditions") or {}
    for name, entry in conditions.items():
        if _key_pattern(name).fullmatch(key):
            return str(entry.get("type") or "") or None
    return None


def is_multivalued(key: str) -> bool:
    """Whether a request can carry several values for ``key`` (a set: ``ses:Recipients``, ``aws:TagKeys``...)."""
    if key.lower() in GLOBAL_MULTIVALUED:
        return True
    kind = key_type(key) if not key.lower().startswith("aws:") else None
    return bool(kind and kind.startswith("ArrayOf"))


def canonical_global(key: str) -> str | None:
    """The canonical spelling of a global ``aws:`` key (any case), or ``None`` when there is no such key."""
    found = GLOBAL_KEYS.get(key.lower())
    if found:
        return found
    for prefix in GLOBAL_KEY_PREFIXES:
        if key.lower().startswith(prefix.lower()) and len(key) > len(prefix):
            return prefix + key[len(prefix) :]
    return None


def arn_pattern(arn_format: str) -> re.Pattern[str]:
    """A regex for the ARNs of a resource type's format; each ``${Variable}`` matches any non-empty text."""
    parts = re.split(r"\$\{[^}]+\}", arn_format)
    return re.compile(".+".join(re.escape(part) for part in parts), re.IGNORECASE)


@functools.cache
def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(".+".join(re.escape(part) for part in re.split(r"\$\{[^}]+\}", key)), re.IGNORECASE)
