"""Action and resource rules: SES004 (unscopable resource), SES005 (SES ARNs), SES008 (identity policy wider than
sending), SES009 (wildcard actions), SES010 (Resource "*"), SES014 (unknown action)."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator

from . import iamdb
from .findings import Finding
from .intrinsics import is_unresolved
from .statements import Statement, as_list, glob_match

#: The actions an SES identity (sending-authorization) policy is for.
SEND_ACTIONS = frozenset(
    a.lower()
    for a in (
        "ses:SendEmail",
        "ses:SendRawEmail",
        "ses:SendTemplatedEmail",
        "ses:SendBulkTemplatedEmail",
        "ses:SendBulkEmail",
        "ses:SendBounce",
    )
)

_SES_ARN = re.compile(r"^arn:(?P<partition>[^:]*):ses:(?P<region>[^:]*):(?P<account>[^:]*):(?P<rest>.*)$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ACCOUNT = re.compile(r"^\d{12}$")


def check(statement: Statement) -> Iterator[Finding]:
    """SES004, SES005, SES008, SES009, SES010 and SES014 for one statement."""
    yield from _unknown_actions(statement)
    yield from _wildcards(statement)
    yield from _identity_policy_actions(statement)
    yield from _unscopable(statement)
    yield from _star_resource(statement)
    yield from _ses_arns(statement)


def _known(entry: str) -> bool:
    return entry == "*" or is_unresolved(entry) or bool(iamdb.expand(entry))


def _unknown_actions(statement: Statement) -> Iterator[Finding]:
    for entry in [*statement.actions, *(str(a) for a in as_list(statement.raw.get("NotAction")))]:
        if _known(entry):
            continue
        prefix, _, name = entry.partition(":")
        data = iamdb.service(prefix)
        if data is None:
            yield Finding.at(statement, "SES014", f"unknown action {entry}: IAM has no service prefix {prefix!r}")
            continue
        names = {n.lower(): n for n in data["privileges"]}
        close = difflib.get_close_matches(name.lower(), list(names), n=1, cutoff=0.75)
        hint = f" (did you mean {data['prefix']}:{names[close[0]]}?)" if close else ""
        yield Finding.at(statement, "SES014", f"unknown action {entry}{hint}: the statement never applies to it")


def _is_default_key_policy(statement: Statement) -> bool:
    # CDK's (and the console's) default key policy lets the account's root manage the key: it delegates to IAM.
    if statement.policy.resource_type != "AWS::KMS::Key":
        return False
    account = statement.policy.context.account
    partition = statement.policy.context.partition
    roots = {account, f"arn:{partition}:iam::{account}:root"}
    aws = statement.principals.get("AWS", [])
    return bool(aws) and all(p in roots for p in aws) and set(statement.principals) == {"AWS"}


def _wildcards(statement: Statement) -> Iterator[Finding]:
    if statement.effect != "Allow" or _is_default_key_policy(statement):
        return
    if "NotAction" in statement.raw:
        yield Finding.at(
            statement, "SES009", "NotAction in an Allow allows every other action of every service: list the actions"
        )
    for entry in statement.actions:
        if entry == "*":
            yield Finding.at(statement, "SES009", 'Action "*" allows every action of every service: list the actions')
        elif entry.endswith(":*") and iamdb.service(entry[:-2]) is not None:
            count = len(iamdb.expand(entry))
            yield Finding.at(
                statement, "SES009", f"Action {entry} allows all {count} {entry[:-2]} actions: list the ones needed"
            )


def _identity_policy_actions(statement: Statement) -> Iterator[Finding]:
    if statement.policy.resource_type != "Custom::SesIdentityPolicy" or statement.effect != "Allow":
        return
    wider = []
    for entry in statement.actions:
        if entry == "*":
            wider.append(entry)
            continue
        covered = iamdb.expand(entry)
        if any(a.name.lower() not in SEND_ACTIONS for a in covered):
            wider.append(entry)
    if wider or "NotAction" in statement.raw:
        yield Finding.at(
            statement,
            "SES008",
            f"an SES identity policy is for sending as the identity; {', '.join(wider) or 'NotAction'} allows more "
            "than ses:SendEmail, ses:SendRawEmail, ses:SendTemplatedEmail, ses:SendBulkTemplatedEmail, "
            "ses:SendBulkEmail, ses:SendBounce",
        )


def _resource_matches(resource: str, resource_type: iamdb.ResourceType, partition: str) -> bool:
    """Whether some ARN of ``resource_type`` fits the Resource entry (both may hold wildcards)."""
    if not resource_type.arn_format:
        return True
    arn_format = resource_type.arn_format.replace("${Partition}", partition)
    return _globs_intersect(re.sub(r"\$\{[^}]+\}", "*", arn_format).lower(), resource.lower())


@functools.lru_cache(maxsize=4096)
def _globs_intersect(left: str, right: str) -> bool:
    """Whether one string matches both IAM wildcard patterns (``*`` any run, ``?`` one character)."""

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(left) and j == len(right):
            return True
        if i < len(left) and left[i] == "*":
            return meet(i + 1, j) or (j < len(right) and meet(i, j + 1))
        if j < len(right) and right[j] == "*":
            return meet(i, j + 1) or (i < len(left) and meet(i + 1, j))
        if i < len(left) and j < len(right) and (left[i] == right[j] or "?" in (left[i], right[j])):
            return meet(i + 1, j + 1)
        return False

    return meet(0, 0)


def _applies_to_some(action: iamdb.Action, resources: list[str], partition: str) -> bool:
    if "*" in resources or not action.details_known:
        return True
    if not action.resource_types:
        return False
    return any(_resource_matches(r, t, partition) for r in resources for t in action.resource_types)


def _unscopable(statement: Statement) -> Iterator[Finding]:
    resources = statement.resources
    if not resources or any(is_unresolved(r) for r in resources):
        return
    partition = statement.policy.context.partition
    for entry in statement.actions:
        covered = iamdb.expand(entry)
        if not covered or any(_applies_to_some(a, resources, partition) for a in covered):
            continue
        if all(not a.resource_types for a in covered):
            why = f'{entry} cannot be scoped to a resource (its Resource must be "*")'
        else:
            types = sorted({t.name for a in covered for t in a.resource_types})
            why = f"{entry} acts only on {', '.join(types)} resources, and none of the Resource entries is one"
        yield Finding.at(statement, "SES004", f"{why}: the statement never applies to it")


def _star_resource(statement: Statement) -> Iterator[Finding]:
    if statement.policy.kind != "identity" or statement.effect != "Allow" or "*" not in statement.resources:
        return
    scopable = []
    for entry in statement.actions:
        if entry == "*" or entry.endswith(":*"):
            continue  # SES009 reports these
        if any(a.resource_types for a in iamdb.expand(entry)):
            scopable.append(entry)
    if scopable:
        yield Finding.at(
            statement,
            "SES010",
            f'Resource "*" for {", ".join(scopable)}, which can be scoped to resources: name the ARNs '
            "(e.g. the SES identity arn:<partition>:ses:<region>:<account>:identity/<domain>)",
        )


def _ses_arns(statement: Statement) -> Iterator[Finding]:
    policy = statement.policy
    ctx = policy.context
    for resource in statement.resources:
        if is_unresolved(resource) or not resource.lower().startswith("arn:") or ":ses:" not in resource.lower():
            continue
        match = _SES_ARN.match(resource)
        if not match:
            yield Finding.at(statement, "SES005", f"malformed SES ARN {resource}: the statement never matches it")
            continue
        problem = _ses_arn_problem(match, ctx.partition, ctx.region, ctx.account)
        if problem:
            yield Finding.at(statement, "SES005", f"{resource}: {problem}, so the statement never matches it")
            continue
        if policy.resource_type == "Custom::SesIdentityPolicy" and policy.resource_arns:
            attached = policy.resource_arns[0]
            if not is_unresolved(attached) and not glob_match(attached, resource, ignore_case=True):
                yield Finding.at(
                    statement,
                    "SES005",
                    f"this policy is attached to {attached}; a statement for {resource} never matches",
                )


def _ses_arn_problem(match: re.Match[str], partition: str, region: str, account: str) -> str | None:
    rest = match["rest"]
    if match["partition"] not in ("aws", "aws-cn", "aws-us-gov", "*"):
        return f"unknown partition {match['partition']!r}"
    if not (match["region"] == "*" or _REGION.match(match["region"])):
        return f"malformed region {match['region']!r}"
    if not (match["account"] == "*" or _ACCOUNT.match(match["account"])):
        return f"malformed account {match['account']!r} (12 digits)"
    formats = [r.get("arn", "") for r in ((iamdb.service("ses") or {}).get("resources") or {}).values()]
    kinds = {f.split(":", 5)[5].split("/")[0] for f in formats if f.count(":") >= 5}
    kind, slash, name = rest.partition("/")
    if rest != "*" and "*" not in kind and (kind not in kinds or not slash or not name):
        if kind == "identity" and slash:
            return "the identity name is missing (identity/<domain or address>)"
        return f"{rest!r} is not an SES resource (expected identity/<domain or address>, configuration-set/<name>...)"
    for field, expected in (("partition", partition), ("region", region), ("account", account)):
        value = match[field]
        if value != "*" and not is_unresolved(expected) and value != expected:
            return f"{field} {value} is not the stack's {field} {expected}"
    return None
