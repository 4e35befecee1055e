"""What should be: the environment from ``cdk.json`` and its synthesized template in ``cdk.out/`` (JSON only).

The stack of environment ``NAME`` is ``sesmail-NAME`` (the app's naming); its account, region and template file
come from
the cloud assembly's ``manifest.json``. The helpers below pick the resources the checks compare, still unresolved: the
physical names they refer to are known only once the stack is deployed (:mod:`sesmail.doctor.live`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sesmail.app_config import tool_config, tool_environments
from sesmail.policy.intrinsics import partition_of_region

_ACCOUNT = re.compile(r"^\d{12}$")
#: ``name. IN TYPE value`` as the MailDomain construct writes its ``DnsRecord...`` outputs.
_RECORD = re.compile(r"^(?P<name>\S+)\s+IN\s+(?P<type>[A-Z]+)\s+(?P<value>.+)$")
DNS_OUTPUT_PREFIX = "Add at your DNS provider:"


class UsageError(ValueError):
    """Bad command-line input or an app directory the doctor cannot read: one line, exit 2."""


@dataclass(frozen=True)
class Environment:
    """One environment: its settings, stack and synthesized template."""

    name: str
    stack_name: str
    account: str
    region: str
    partition: str
    #: The environment's entry in cdk.json's ``environments`` context.
    settings: Mapping[str, Any]
    template: Mapping[str, Any]
    template_path: Path

    @property
    def resources(self) -> Mapping[str, Any]:
        """The template's ``Resources``."""
        return self.template.get("Resources") or {}

    def of_type(self, resource_type: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(logical id, properties)`` of every resource of ``resource_type``, in template order."""
        for logical_id, resource in self.resources.items():
            if isinstance(resource, Mapping) and resource.get("Type") == resource_type:
                yield logical_id, resource.get("Properties") or {}

    @property
    def workmail_organization_arn(self) -> str | None:
        """The WorkMail organization's ARN when the environment uses WorkMail."""
        workmail = self.settings.get("workmail")
        if not isinstance(workmail, Mapping) or not workmail.get("organizationId"):
            return None
        region = workmail.get("region", self.region)
        return f"arn:{self.partition}:workmail:{region}:{self.account}:organization/{workmail['organizationId']}"

    def identity_arn(self, identity: str) -> str:
        """The SES identity's ARN."""
        return f"arn:{self.partition}:ses:{self.region}:{self.account}:identity/{identity}"


@dataclass(frozen=True)
class DnsRecord:
    """A DNS record the stack asks for (from its ``DnsRecord...`` outputs)."""

    output: str
    name: str
    type: str
    #: The value as the output writes it: ``10 host.`` for MX, the quoted text for TXT.
    value: str


@dataclass(frozen=True)
class RuleSet:
    """The receipt rule set the stack defines."""

    name: str
    #: ``(logical id, Rule properties)`` in the order SES applies them.
    rules: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    #: Whether the stack activates it (a ``Custom::SesReceiptRuleSetActivation``).
    activated: bool = False
    #: Whether the set exists outside the stack (beside WorkMail: the organization's active set, which the stack's
    #: rules start; no ``AWS::SES::ReceiptRuleSet`` in the template).
    existing: bool = False


def config_for(app_dir: Path, flag: Path | None = None) -> tuple[Path, str] | None:
    """:func:`sesmail.app_config.tool_config`, its one-line ``ValueError`` as a :class:`UsageError`."""
    try:
        return tool_config(app_dir, flag)
    except ValueError as error:
        raise UsageError(str(error)) from None


def load_environment(app_dir: Path, name: str, config: tuple[Path, str] | None = None) -> Environment:
    """Read environment ``name`` from the company's configuration file ``config`` (path, and the setting that named
    it) or else ``app_dir``'s cdk.json, and its template from ``app_dir``'s cdk.out; raises :class:`UsageError`."""
    try:
        environments, source = tool_environments(app_dir, config)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if name not in environments:
        known = ", ".join(sorted(environments)) or "none"
        raise UsageError(f"ENVIRONMENT: {name!r} is not in {source}'s environments (known: {known})")
    stack_name = f"sesmail-{name}"
    assembly = app_dir / "cdk.out"
    try:
        manifest = json.loads((assembly / "manifest.json").read_text())
    except FileNotFoundError:
        raise UsageError(
            f"--app-dir: no synthesized {assembly}/manifest.json: run `make synth` (in a project: `cdk synth`) first"
        ) from None
    artifact = (manifest.get("artifacts") or {}).get(stack_name)
    if not artifact or artifact.get("type") != "aws:cloudformation:stack":
        raise UsageError(f"{assembly}: no stack {stack_name!r}: synthesize again after changing the environments")
    environment = str(artifact.get("environment", ""))
    account, _, region = environment.removeprefix("aws://").partition("/")
    if not _ACCOUNT.match(account) or not region or region.startswith("unknown"):
        raise UsageError(f"{stack_name}: environment {environment!r} has no concrete account and region")
    template_path = assembly / str(
        (artifact.get("properties") or {}).get("templateFile", f"{stack_name}.template.json")
    )
    try:
        template = json.loads(template_path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"{template_path}: unreadable template ({error})") from None
    return Environment(
        name=name,
        stack_name=stack_name,
        account=account,
        region=region,
        partition=partition_of_region(region),
        settings=environments[name],
        template=template,
        template_path=template_path,
    )


def parse_record(output: str, text: str) -> DnsRecord | None:
    """A ``name. IN TYPE value`` output value as a :class:`DnsRecord` (``None`` when it is not one)."""
    match = _RECORD.match(text.strip())
    if not match:
        return None
    return DnsRecord(output, match["name"].rstrip(".").lower(), match["type"], match["value"].strip())


def dns_outputs(env: Environment) -> dict[str, Any]:
    """Output id -> the (possibly unresolved) value of every DNS record output."""
    outputs = env.template.get("Outputs") or {}
    return {
        output_id: output.get("Value")
        for output_id, output in outputs.items()
        if isinstance(output, Mapping) and str(output.get("Description", "")).startswith(DNS_OUTPUT_PREFIX)
    }


def email_identities(env: Environment) -> list[tuple[str, Mapping[str, Any]]]:
    """``(logical id, properties)`` of every ``AWS::SES::EmailIdentity``, then of each identity the stack references
    without creating it (``existingIdentity``; the default beside WorkMail) as ``("existing:<domain>",
    {"EmailIdentity": domain, "Existing": True})``: its DKIM and MAIL FROM are read from SES, not from the template."""
    found = list(env.of_type("AWS::SES::EmailIdentity"))
    created = {str(props.get("EmailIdentity", "")).lower() for _, props in found}
    for domain in referenced_identities(env):
        if domain not in created:
            found.append((f"existing:{domain}", {"EmailIdentity": domain, "Existing": True}))
    return found


def referenced_identities(env: Environment) -> list[str]:
    """The domains of the environment's settings (short form or ``domains``), lower case, in order."""
    domains = env.settings.get("domains")
    entries = domains if isinstance(domains, list) else [env.settings]
    return [str(d["domain"]).lower().rstrip(".") for d in entries if isinstance(d, Mapping) and d.get("domain")]


def rule_set(env: Environment) -> RuleSet | None:
    """The stack's receipt rule set and its rules in order (``After`` chains), or ``None`` without receiving."""
    sets = [props.get("RuleSetName") for _, props in env.of_type("AWS::SES::ReceiptRuleSet")]
    existing = not sets
    if existing:
        # Rules added to a set the stack does not create (ReceiptRuleSet.from_existing, beside WorkMail).
        sets = [props.get("RuleSetName") for _, props in env.of_type("AWS::SES::ReceiptRule")][:1]
    if not sets or not isinstance(sets[0], str):
        return None
    name = sets[0]
    rules = {
        (props.get("Rule") or {}).get("Name"): (lid, props)
        for lid, props in env.of_type("AWS::SES::ReceiptRule")
        if props.get("RuleSetName") == name
    }
    ordered: list[tuple[str, Mapping[str, Any]]] = []
    previous: str | None = None
    while len(ordered) < len(rules):
        following = [
            n for n, (_, props) in rules.items() if props.get("After") == previous and n not in _names(ordered)
        ]
        if not following:  # a chain the template does not close: keep the rest in template order
            following = [n for n in rules if n not in _names(ordered)]
        for rule_name in following[:1]:
            lid, props = rules[rule_name]
            ordered.append((lid, props.get("Rule") or {}))
            previous = rule_name
    activated = any(props.get("RuleSetName") == name for _, props in env.of_type("Custom::SesReceiptRuleSetActivation"))
    return RuleSet(name, ordered, activated, existing)


def _names(rules: list[tuple[str, Mapping[str, Any]]]) -> set[str]:
    return {str(rule.get("Name")) for _, rule in rules}


def identity_policies(env: Environment) -> list[tuple[str, Mapping[str, Any]]]:
    """``(logical id, properties)`` of every identity policy (``Custom::SesIdentityPolicy``)."""
    return list(env.of_type("Custom::SesIdentityPolicy"))


def failure_queues(env: Environment) -> list[str]:
    """Logical ids of the SQS queues that receive failed Lambda invocations (on-failure destinations, DLQs)."""
    queues = {lid for lid, _ in env.of_type("AWS::SQS::Queue")}
    found: list[str] = []
    for _, props in [*env.of_type("AWS::Lambda::EventInvokeConfig"), *env.of_type("AWS::Lambda::Function")]:
        targets = [
            ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
            (props.get("DeadLetterConfig") or {}).get("TargetArn"),
        ]
        for target in targets:
            lid = referenced(target)
            if lid in queues and lid not in found:
                found.append(lid)
    return found


def referenced(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at (``None`` for anything else)."""
    if isinstance(value, Mapping):
        if isinstance(value.get("Ref"), str):
            return value["Ref"]
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and att and isinstance(att[0], str):
            return att[0]
    return None
