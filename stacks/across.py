"""Checks across environments: what SES holds once per account and region, named by two environments, fails synth.

SES receives through one active receipt rule set per account and region, and rejects every recipient no rule of it
matches; rule sets, templates and configuration sets are named per account and region. Each check raises
:class:`SettingsError` with one line naming both environments and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .reader import SettingsError

if TYPE_CHECKING:  # annotations only: settings calls check_across, so this module sits below it
    from .settings import EnvironmentSettings

#: SES quota "Maximum number of receipt rule sets per AWS account": 40, not adjustable; SES quotas are "for each
#: AWS Region that you use in your AWS account" (https://docs.aws.amazon.com/ses/latest/dg/quotas.html).
MAX_RULE_SETS_PER_ACCOUNT = 40


def _place(env: EnvironmentSettings) -> tuple[str, str]:
    return (env.account, env.region)


def _where(env: EnvironmentSettings) -> str:
    return f"account {env.account} region {env.region}"


def _unique(
    environments: Iterable[EnvironmentSettings],
    key: str,
    values: Callable[[EnvironmentSettings], Iterable[str]],
    what: str,
) -> None:
    """Refuse a value of ``values`` held by two environments in one account and region."""
    seen: dict[tuple[str, str, str], EnvironmentSettings] = {}
    for env in environments:
        for value in values(env):
            slot = (*_place(env), value.lower())
            earlier = seen.get(slot)
            if earlier is not None and earlier.name != env.name:
                raise SettingsError(
                    f"environments.{env.name}.{key}: {value!r} is also environments.{earlier.name}'s {what} in "
                    f"{_where(env)}; SES holds one per account and region"
                )
            seen.setdefault(slot, env)


def signup_template_name(environment: str) -> str:
    """``sesmail-<environment>-signup``: unique per environment, at most 55 of SES's 64 characters."""
    return f"sesmail-{environment}-signup"


def signup_template_names(env: EnvironmentSettings) -> list[str]:
    """The SES templates the environment's stack creates (the example sign-up mail when it has ``register``)."""
    return [signup_template_name(env.name)] if "register" in env.mailboxes else []


def own_rule_sets(env: EnvironmentSettings) -> list[str]:
    """The receipt rule sets the environment's stack creates (none beside WorkMail, none without receiving)."""
    if not env.receives or env.workmail is not None or env.receiving is None:
        return []
    return [env.receiving.rule_set_name]


def check_across(environments: tuple[EnvironmentSettings, ...]) -> None:
    """Every cross-environment check, in the order they are reported."""
    _unique(environments, "domain", lambda e: [d.domain for d in e.mail_domains], "domain")
    _unique(
        environments,
        "receiving.ruleSetName",
        lambda e: [e.receiving.rule_set_name] if e.receives and e.receiving is not None else [],
        "receipt rule set",
    )
    _unique(environments, "signup template", signup_template_names, "template name")
    _unique(environments, "configuration set", lambda e: [f"sesmail-{e.name}"], "configuration set")
    check_rule_set_quota(environments)
    _one_receiver(environments)
    _one_record_set_per_name(environments)


def zone_records(env: EnvironmentSettings) -> list[tuple[str, str, str, str, str]]:
    """``(zone id, record name, type, the setting that makes it, how to avoid it)`` per record the stack puts in a zone.

    DKIM CNAMEs are left out: their names carry the identity's own tokens, different in every region.
    """
    records = []
    for i, domain in enumerate(env.mail_domains):
        if domain.hosted_zone is None:
            continue
        zone = domain.hosted_zone.zone_id
        key = f"domains[{i}]." if env.domains else ""
        if not domain.send_only:
            records.append((zone, domain.domain, "MX", f"{key}domain", "make one of them sendOnly"))
        if not domain.existing_identity:
            mail_from = f"{domain.mail_from_subdomain}.{domain.domain}"
            for kind in ("MX", "TXT"):
                records.append((zone, mail_from, kind, f"{key}mailFromSubdomain", "give one another mailFromSubdomain"))
        if domain.dmarc_record:
            dmarc = f"_dmarc.{domain.domain}"
            records.append((zone, dmarc, "TXT", f"{key}dmarcRecord", "set dmarcRecord: false in one of them"))
    return records


def _one_record_set_per_name(environments: tuple[EnvironmentSettings, ...]) -> None:
    """Route 53 holds one record set per name and type in a zone: a second stack creating it fails its deploy."""
    seen: dict[tuple[str, str, str], EnvironmentSettings] = {}
    for env in environments:
        for zone, name, kind, key, hint in zone_records(env):
            slot = (zone, name.lower(), kind)
            earlier = seen.get(slot)
            if earlier is not None and earlier.name != env.name:
                raise SettingsError(
                    f"environments.{env.name}.{key}: the {kind} record {name} in hosted zone {zone} is also created by "
                    f"environments.{earlier.name}; Route 53 holds one record set per name and type: {hint}"
                )
            seen.setdefault(slot, env)


def check_rule_set_quota(environments: tuple[EnvironmentSettings, ...]) -> None:
    """Refuse more rule sets in one account and region than SES allows (counting those sesmail creates)."""
    counts: dict[tuple[str, str], list[EnvironmentSettings]] = {}
    for env in environments:
        for _ in own_rule_sets(env):
            counts.setdefault(_place(env), []).append(env)
    for envs in counts.values():
        if len(envs) > MAX_RULE_SETS_PER_ACCOUNT:
            first, last = envs[0], envs[-1]
            raise SettingsError(
                f"environments.{last.name}.receiving: {len(envs)} receipt rule sets in {_where(last)} (from "
                f"environments.{first.name} on); SES allows {MAX_RULE_SETS_PER_ACCOUNT} per account and region"
            )


def _one_receiver(environments: tuple[EnvironmentSettings, ...]) -> None:
    """Two environments that receive in one account and region would fight over its one active rule set."""
    receivers: dict[tuple[str, str], EnvironmentSettings] = {}
    for env in environments:
        if not env.receives:
            continue
        earlier = receivers.get(_place(env))
        if earlier is not None:
            key = "domains" if len(env.mail_domains) > 1 else "domain"
            raise SettingsError(
                f"environments.{env.name}.{key}: receives mail in {_where(env)} like environments.{earlier.name}; "
                "SES applies one active receipt rule set per account and region, so the second deploy would take "
                "receiving from the first: put both domains in one environment (domains) or make one sendOnly"
            )
        receivers[_place(env)] = env
