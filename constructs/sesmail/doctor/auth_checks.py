"""Authorization checks: the identity policies on each identity are the declared ones, and WorkMail may send.

The WorkMail check evaluates ``ses:SendRawEmail`` by ``workmail.<region>.amazonaws.com`` with the
organization's ``aws:SourceAccount``/``aws:SourceArn`` against the *live* identity policies, through the engine behind
``sesmail check`` (:func:`sesmail.policy.evaluate.evaluate`): a DENY there is the seed's 403.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sesmail.policy.evaluate import PolicySource, Request, evaluate

from .checks import Check, fail, ok, warn
from .expected import email_identities, identity_policies
from .live import Live
from .policies import describe_difference, difference

AREA = "authorization"


def _declared(live: Live) -> dict[str, dict[str, Any]]:
    """identity -> policy name -> resolved document, as the stack declares them."""
    declared: dict[str, dict[str, Any]] = {}
    for _, props in identity_policies(live.env):
        identity = str(live.resolver.resolve(props.get("Identity")))
        name = str(live.resolver.resolve(props.get("PolicyName")))
        try:
            document = live.resolver.resolve_json_string(props.get("Policy"))
        except ValueError:
            document = {}
        declared.setdefault(identity, {})[name] = document
    return declared


def policies(live: Live, identity: str, declared: dict[str, Any]) -> Iterator[Check]:
    """Each declared policy present and equal on ``identity``; undeclared ones reported."""
    found = live.email_identity(identity)
    if found is None:
        return  # the ses checks report the missing identity
    have = found.get("Policies") or {}
    for name, document in declared.items():
        subject = f"{identity} identity policy {name}"
        if name not in have:
            yield fail(AREA, subject, "present", "missing", f"redeploy {live.env.stack_name}")
            continue
        missing, unexpected = difference(document, have[name], live.env.partition)
        if missing or unexpected:
            yield fail(
                AREA,
                subject,
                "as declared",
                describe_difference(missing, unexpected),
                f"redeploy {live.env.stack_name}",
            )
        else:
            yield ok(AREA, subject, "as declared", "as declared")
    extra = sorted(set(have) - set(declared))
    if extra:
        yield warn(
            AREA,
            f"{identity} other identity policies",
            "only the declared ones",
            ", ".join(extra),
            "review them: they grant sending as the domain",
        )


def workmail_send(live: Live, identity: str, *, now: datetime | None = None) -> Check:
    """Would WorkMail's ``ses:SendRawEmail`` on ``identity`` be allowed by the live identity policies?"""
    env = live.env
    org = env.workmail_organization_arn or ""
    principal = f"workmail.{env.region}.amazonaws.com"
    found = live.email_identity(identity)
    live_policies = (found or {}).get("Policies") or {}
    moment = now or datetime.now(UTC)
    request = Request(
        principal,
        "ses:SendRawEmail",
        env.identity_arn(identity),
        {
            "aws:SourceAccount": (env.account,),
            "aws:SourceArn": (org,),
            "aws:CurrentTime": (moment.strftime("%Y-%m-%dT%H:%M:%SZ"),),
            "aws:EpochTime": (str(int(moment.timestamp())),),
            "aws:SecureTransport": ("true",),
        },
    )
    sources = [
        PolicySource(f"{identity}:{name}", json.loads(text) if isinstance(text, str) else text, "resource")
        for name, text in sorted(live_policies.items())
    ]
    decision = evaluate(request, identity_policies=[], resource_policies=sources, resource_account=env.account)
    subject = f"{identity} WorkMail may send"
    expected = f"ALLOW {principal} ses:SendRawEmail (aws:SourceArn {org})"
    if decision.allowed:
        return ok(AREA, subject, expected, f"ALLOW by {', '.join(m.label for m in decision.deciding)}")
    return fail(
        AREA,
        subject,
        expected,
        f"DENY ({decision.reason}): WorkMail's sends would fail with 403 AccessDenied",
        f"redeploy {env.stack_name} so the identity policy names {principal} for this organization",
    )


def run(live: Live) -> list[Check]:
    """Every authorization check."""
    declared = _declared(live)
    checks: list[Check] = []
    for identity, documents in declared.items():
        checks.extend(policies(live, identity, documents))
    if live.env.workmail_organization_arn:
        for _, props in email_identities(live.env):
            identity = str(props.get("EmailIdentity"))
            if live.email_identity(identity) is not None:
                checks.append(workmail_send(live, identity))
    return checks
