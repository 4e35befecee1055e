"""Receiving checks: the active rule set, each expected rule in order, the mail bucket, its policy and its key.

SES applies one active receipt rule set per account and region and rejects recipients no rule matches; with WorkMail,
WorkMail's own rule set may stay active, and then it must still deliver every recipient of the environment. Beside an
existing WorkMail organization (no set of the stack's own), WorkMail's set must be the active one, with the stack's
rules ahead of WorkMail's rule, which delivers every mailbox.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from .checks import Check, compare, fail, ok, warn
from .expected import RuleSet, referenced, rule_set
from .live import Live, error_code
from .policies import describe_difference, difference

AREA = "receiving"
#: Properties of a rule compared as written (``Actions`` is compared action by action).
_RULE_FIELDS = ("Enabled", "Recipients", "TlsPolicy", "ScanEnabled")


def _recipients(rules: list[tuple[str, Mapping[str, Any]]]) -> list[str]:
    return [str(r) for _, rule in rules for r in rule.get("Recipients") or []]


def _matches(recipient: str, patterns: list[str]) -> bool:
    """SES's recipient match: an address, a domain (``example.com``) or a subdomain pattern (``.example.com``)."""
    recipient = recipient.lower()
    domain = recipient.rpartition("@")[2]
    for pattern in (p.lower() for p in patterns):
        if pattern in (recipient, domain) or (pattern.startswith(".") and domain.endswith(pattern)):
            return True
    return not patterns  # a rule without recipients matches every recipient of the account's verified domains


def _describe_active(live: Live, expected: RuleSet) -> Generator[Check, None, dict[str, Any] | None]:
    """The active set as SES describes it; ``None`` (after yielding the failure) when SES refuses to say."""
    try:
        active: dict[str, Any] = live.clients("ses").describe_active_receipt_rule_set()
    except ClientError as error:
        yield fail(AREA, "active rule set", expected.name, error_code(error), "grant ses:DescribeActiveReceiptRuleSet")
        return None
    return active


def _not_delivered(expected: RuleSet, live_rules: list[dict[str, Any]]) -> list[str]:
    """The stack's recipients that no enabled WorkMail rule of ``live_rules`` delivers."""
    delivering = [
        rule.get("Recipients") or []
        for rule in live_rules
        if rule.get("Enabled") and any("WorkmailAction" in a for a in rule.get("Actions") or [])
    ]
    return [r for r in _recipients(expected.rules) if not any(_matches(r, p) for p in delivering)]


def active_rule_set(live: Live, expected: RuleSet) -> Iterator[Check]:
    """The active rule set is the environment's, or WorkMail's still delivering every recipient."""
    active = yield from _describe_active(live, expected)
    if active is None:
        return
    name = (active.get("Metadata") or {}).get("Name")
    if name == expected.name:
        yield ok(AREA, "active rule set", expected.name, name)
        return
    found = name or "no active rule set (SES rejects all mail)"
    action = (
        f"activate {expected.name} (deploy {live.env.stack_name}; set takeOverActiveRuleSet if another set is active)"
    )
    if name and live.env.workmail_organization_arn:
        org = live.env.workmail_organization_arn
        lost = _not_delivered(expected, active.get("Rules") or [])
        if not lost:
            yield warn(
                AREA,
                "active rule set",
                expected.name,
                f"{name}, which delivers every recipient to WorkMail ({org})",
                action,
            )
            return
        found = f"{name}, which does not deliver {', '.join(lost)} to WorkMail"
    yield fail(AREA, "active rule set", expected.name, found, action)


def existing_rule_set(live: Live, expected: RuleSet) -> Iterator[Check]:
    """Beside WorkMail: the organization's set is active, the stack's rules come first, WorkMail delivers them all."""
    active = yield from _describe_active(live, expected)
    if active is None:
        return
    name = (active.get("Metadata") or {}).get("Name")
    want = f"{expected.name}, the stack's rules ahead of WorkMail's"
    if name != expected.name:
        found = name or "no active rule set (SES rejects all mail)"
        yield fail(
            AREA,
            "active rule set",
            want,
            found,
            f"activate {expected.name} (WorkMail's set; sesmail never activates a set beside WorkMail)",
        )
        return
    live_rules = active.get("Rules") or []
    order = [rule.get("Name") for rule in live_rules]
    workmail_at = [
        i for i, rule in enumerate(live_rules) if any("WorkmailAction" in a for a in rule.get("Actions") or [])
    ]
    ours = [order.index(rule.get("Name")) for _, rule in expected.rules if rule.get("Name") in order]
    if workmail_at and ours and max(ours) > workmail_at[0]:
        yield fail(
            AREA,
            "active rule set",
            want,
            f"{name}, with {order[workmail_at[0]]} before the stack's rules",
            f"redeploy {live.env.stack_name} (its first rule has no After: SES puts it at the start)",
        )
        return
    lost = _not_delivered(expected, live_rules)
    if lost:
        yield fail(
            AREA,
            "active rule set",
            want,
            f"{name}, whose WorkMail rule does not deliver {', '.join(lost)}",
            "add the address (or its domain) to WorkMail",
        )
        return
    yield ok(AREA, "active rule set", want, f"{name}: {' > '.join(map(str, order))}")


def _action_text(action: Mapping[str, Any]) -> str:
    return json.dumps(action, sort_keys=True)


def _action_matches(want: Mapping[str, Any], have: Mapping[str, Any]) -> bool:
    """Every property the template sets is the live one (SES fills in defaults such as ``InvocationType``)."""
    if set(want) != set(have):
        return False
    for kind, props in want.items():
        live_props = have.get(kind) or {}
        if any(live_props.get(k) != v for k, v in (props or {}).items()):
            return False
    return True


def rules(live: Live, expected: RuleSet) -> Iterator[Check]:
    """Each expected rule present with the synthesized properties and actions, and in the synthesized order."""
    try:
        described = live.clients("ses").describe_receipt_rule_set(RuleSetName=expected.name)
    except ClientError as error:
        yield fail(AREA, f"rule set {expected.name}", "exists", error_code(error), f"deploy {live.env.stack_name}")
        return
    found = {rule.get("Name"): rule for rule in described.get("Rules") or []}
    order = [rule.get("Name") for rule in described.get("Rules") or []]
    for _, rule in expected.rules:
        want = live.resolver.resolve(rule)
        name = want.get("Name")
        have = found.get(name)
        if have is None:
            yield fail(AREA, f"rule {name}", "present", "missing", f"deploy {live.env.stack_name}")
            continue
        diffs = [
            f"{field}: {have.get(field)!r} (synth {want.get(field)!r})"
            for field in _RULE_FIELDS
            if field in want and have.get(field) != want.get(field)
        ]
        want_actions, have_actions = want.get("Actions") or [], have.get("Actions") or []
        if len(want_actions) != len(have_actions) or not all(map(_action_matches, want_actions, have_actions)):
            diffs.append(
                f"Actions: {[_action_text(a) for a in have_actions]} (synth {[_action_text(a) for a in want_actions]})"
            )
        if diffs:
            yield fail(AREA, f"rule {name}", "as synthesized", "; ".join(diffs), f"redeploy {live.env.stack_name}")
        elif not have.get("Enabled"):
            yield fail(AREA, f"rule {name}", "enabled", "disabled", "enable the rule")
        else:
            yield ok(AREA, f"rule {name}", "present, enabled, as synthesized", "as synthesized")
    want_order = [rule.get("Name") for _, rule in expected.rules]
    have_order = [name for name in order if name in want_order]
    yield compare(
        AREA,
        f"rule order in {expected.name}",
        " > ".join(map(str, want_order)),
        " > ".join(map(str, have_order)),
        f"redeploy {live.env.stack_name} (rules apply in order; a stop action ends the evaluation)",
    )


def _bucket_ids(live: Live, expected: RuleSet) -> list[str]:
    ids: list[str] = []
    for _, rule in expected.rules:
        for action in rule.get("Actions") or []:
            lid = referenced((action.get("S3Action") or {}).get("BucketName"))
            if lid and lid not in ids:
                ids.append(lid)
    return ids


def bucket(live: Live, logical_id: str) -> Iterator[Check]:
    """The mail bucket exists, its policy is the synthesized one, it is encrypted with the synthesized key."""
    env, s3 = live.env, live.clients("s3")
    name = live.stack.physical.get(logical_id)
    if name is None:
        yield fail(AREA, f"bucket {logical_id}", "deployed", "not in the stack", f"deploy {env.stack_name}")
        return
    policy_ids = [lid for lid, p in env.of_type("AWS::S3::BucketPolicy") if referenced(p.get("Bucket")) == logical_id]
    for policy_id in policy_ids:
        want = live.resolver.resolve(env.resources[policy_id]["Properties"]["PolicyDocument"])
        try:
            have = s3.get_bucket_policy(Bucket=name)["Policy"]
        except ClientError as error:
            yield fail(AREA, f"bucket {name} policy", "as synthesized", error_code(error), f"redeploy {env.stack_name}")
            continue
        missing, unexpected = difference(want, have, env.partition)
        check = compare(
            AREA,
            f"bucket {name} policy",
            "as synthesized",
            describe_difference(missing, unexpected).replace("equal", "as synthesized"),
            f"redeploy {env.stack_name}; SES cannot store mail without its grant",
        )
        yield check
    props = env.resources[logical_id].get("Properties") or {}
    rules_ = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
    key_ref = next((r.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID") for r in rules_), None)
    key_id = referenced(key_ref)
    if key_ref is None or key_id is None:
        return
    want_key = str(live.resolver.resolve(key_ref))
    try:
        encryption = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        have_key = str(encryption[0]["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID"))
    except (ClientError, KeyError, IndexError) as error:
        have_key = f"unreadable ({error})"
    same = have_key == want_key or want_key.endswith("/" + have_key)
    yield compare(AREA, f"bucket {name} key", want_key, want_key if same else have_key, f"redeploy {env.stack_name}")
    yield from key(live, key_id)


def key(live: Live, logical_id: str) -> Iterator[Check]:
    """The KMS key is enabled and its key policy is the synthesized one."""
    env, kms = live.env, live.clients("kms")
    key_id = live.stack.physical.get(logical_id)
    if key_id is None:
        yield fail(AREA, f"key {logical_id}", "deployed", "not in the stack", f"deploy {env.stack_name}")
        return
    try:
        state = kms.describe_key(KeyId=key_id)["KeyMetadata"].get("KeyState")
        have = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    except ClientError as error:
        yield fail(AREA, f"key {key_id}", "readable", error_code(error), "grant kms:DescribeKey and kms:GetKeyPolicy")
        return
    yield compare(AREA, f"key {key_id} state", "Enabled", str(state), "enable the key (mail cannot be stored or read)")
    want = live.resolver.resolve((env.resources[logical_id].get("Properties") or {}).get("KeyPolicy"))
    missing, unexpected = difference(want, have, env.partition)
    yield compare(
        AREA,
        f"key {key_id} policy",
        "as synthesized",
        describe_difference(missing, unexpected).replace("equal", "as synthesized"),
        f"redeploy {env.stack_name}",
    )


def run(live: Live) -> list[Check]:
    """Every receiving check (none when the environment does not receive mail)."""
    expected = rule_set(live.env)
    if expected is None:
        return []
    checks: list[Check] = []
    if expected.existing:
        checks.extend(existing_rule_set(live, expected))
    elif expected.activated:
        checks.extend(active_rule_set(live, expected))
    checks.extend(rules(live, expected))
    for logical_id in _bucket_ids(live, expected):
        checks.extend(bucket(live, logical_id))
    return checks
