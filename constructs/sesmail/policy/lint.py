"""``sesmail lint``: find policy mistakes in synthesized templates before deploy.

Every policy document in the templates (see :mod:`sesmail.policy.templates`) is checked statement by statement, and
every receipt rule against the resource policies SES needs. A finding prints as
``template:logical-id:statement: RULE-ID message`` (statement: the Sid, else the index; ``Actions[i]`` for a
receipt rule's action). Errors fail the lint; notes (``RULE-ID note: ...``) are printed only.

Rules (ids are stable):

SES000  A policy document that cannot be read, e.g. a ``Policy`` string that is not JSON.
SES001  A condition key that does not exist (``ses:FromAdress`` names ``ses:FromAddress``), that the action does not
        support (absent from its requests: the statement never applies to it, or an ``...IfExists`` is ignored), or a
        global key SES does not provide (seed 004: SES implements aws:CurrentTime, aws:EpochTime, aws:SecureTransport,
        aws:SourceIp, aws:SourceVpc, aws:SourceVpce, aws:UserAgent, aws:VpcSourceIp). A key that differs only in
        case (``SES:fromaddress``) is a note naming the canonical key: IAM matches key names case-insensitively.
SES002  A multi-valued key (``ses:Recipients``, ``aws:TagKeys``...) tested without ``ForAllValues:``/``ForAnyValue:``,
        or a set operator on a single-valued key (``ForAllValues:StringEquals`` on ``ses:FromAddress``).
SES003  ``ForAllValues:`` in an Allow without a guard: on an absent key it is true (seed 002). A guard is
        ``"Null": {"<key>": "false"}`` or a ``ForAnyValue:`` condition on the same key in the same statement.
SES004  A Resource the action cannot be scoped to: the action supports only ``"*"``, or none of the Resource
        entries has a resource type the action acts on. The statement never applies to that action.
SES005  An SES ARN that is malformed (no ``identity/``, a bad region or account), or for another partition, region or
        account than the stack's; in an SES identity policy, a statement for another identity than the policy's.
SES006  A service principal (ses, workmail, lambda, sns, s3...) granted without both ``aws:SourceAccount`` and
        ``aws:SourceArn`` (any operator). Role trust policies are exempt.
SES007  An SES identity policy whose principal is an IAM user of another account, such as the
        ``arn:aws:iam::...:user/amazon-workmail-...`` from WorkMail's 403 (the seed's mistake): name the WorkMail
        service principal or the account root.
SES008  An SES identity policy that allows more than the send actions (SendEmail, SendRawEmail, SendTemplatedEmail,
        SendBulkTemplatedEmail, SendBulkEmail, SendBounce).
SES009  ``Action: "*"``, a whole-service ``"<service>:*"``, or ``NotAction`` in an Allow (the default key policy
        statement that gives the account root ``kms:*`` is exempt: it delegates the key to IAM).
SES010  ``Resource: "*"`` in an IAM (identity) policy for an action that can be scoped to resources.
SES011  A receipt rule's S3 action whose bucket has no policy letting ses.amazonaws.com ``s3:PutObject`` under the
        prefix for this rule. SES rejects such a rule at deploy.
SES012  A receipt rule's Lambda action without an ``AWS::Lambda::Permission`` for ses.amazonaws.com for this rule.
SES013  A receipt rule's S3 action with a customer KMS key whose key policy does not let ses.amazonaws.com
        ``kms:Encrypt`` and ``kms:GenerateDataKey`` for this rule.
SES014  An Action IAM does not define (misspelled action or service prefix): the statement never applies to it.
SES015  ``NotPrincipal`` with ``Allow``: every principal except those listed is allowed, anonymous callers included.
SES016  ``Principal: "*"`` or ``{"AWS": "*"}`` in a resource-policy Allow with no positive condition on a key that
        narrows who calls (aws:PrincipalAccount, aws:PrincipalOrgID, aws:SourceArn, aws:SourceAccount, aws:SourceVpce,
        aws:SourceIp...).
SES017  A receipt rule action whose ``TopicArn`` is another account's topic: a topic policy in that account must let
        ses.amazonaws.com ``sns:Publish`` (a note when it is not in the templates; an error when the one in the
        templates does not allow it, or the topic is in another region than the rule set).

For SES011-SES013 and SES017, a bucket, function, key or topic outside the template gives a note (its policy lives
elsewhere); see :mod:`sesmail.policy.rules_receiving` for what is matched.
Suppressions: :mod:`sesmail.policy.suppressions`.

IAM's actions, resource types and condition keys come from the vendored Service Authorization Reference snapshot
(:mod:`.iamdb`); the lint notes when it is older than 180 days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import rules_actions, rules_conditions, rules_principals, rules_receiving
from .findings import RULES, Finding
from .statements import statements
from .suppressions import CONFIG_FILE, ConfigError, Suppression, from_metadata, load_config
from .templates import StackContext, TemplateScan, scan_templates

__all__ = ["CONFIG_FILE", "RULES", "ConfigError", "Finding", "LintReport", "lint", "lint_paths", "lint_scans"]

_STATEMENT_RULES = (rules_conditions.check, rules_actions.check, rules_principals.check)


@dataclass
class LintReport:
    """The outcome of a lint: every finding (suppressed ones marked) and the suppressions that matched nothing."""

    findings: list[Finding]
    unused: list[Suppression] = field(default_factory=list)
    templates: int = 0

    @property
    def failed(self) -> bool:
        """Whether any finding fails the lint (an unsuppressed error)."""
        return any(f.fails for f in self.findings)


def lint_scans(scans: Sequence[TemplateScan], suppressions: Iterable[Suppression] = ()) -> LintReport:
    """Run every rule over already loaded templates and apply ``suppressions`` plus those in resource metadata."""
    entries = list(suppressions)
    raw: list[Finding] = []
    for scan in scans:
        for logical_id, resource in sorted(scan.resolver.resources.items()):
            if isinstance(resource, dict):
                entries += from_metadata(str(scan.path), logical_id, resource.get("Metadata"))
        for policy in scan.policies:
            for problem in policy.problems:
                raw.append(Finding(policy.template, policy.logical_id, "-", "SES000", problem))
            for statement in statements(policy):
                for rule in _STATEMENT_RULES:
                    raw.extend(rule(statement))
        raw.extend(rules_receiving.check(scan))
    used: set[int] = set()
    findings = []
    for finding in raw:
        for index, entry in enumerate(entries):
            if entry.matches(finding):
                used.add(index)
                finding = finding.suppress(entry.reason, entry.origin)
                break
        findings.append(finding)
    findings.sort(key=lambda f: (f.template, f.logical_id))
    unused = [entry for index, entry in enumerate(entries) if index not in used]
    return LintReport(findings=findings, unused=unused, templates=len(scans))


def lint(
    paths: Sequence[str | Path],
    *,
    config: str | Path | None = None,
    defaults: StackContext | None = None,
) -> LintReport:
    """Lint the templates under ``paths`` (files or directories such as ``cdk.out``).

    ``config`` is a suppression file (see :mod:`.suppressions`); without it ``sesmail-lint.json`` in the working
    directory is used when present. Raises :class:`~sesmail.policy.templates.TemplateError` for unreadable input and
    :class:`ConfigError` for a bad suppression entry.
    """
    if config is None and Path(CONFIG_FILE).is_file():
        config = CONFIG_FILE
    suppressions = load_config(config) if config is not None else []
    return lint_scans(scan_templates(paths, defaults=defaults), suppressions)


def lint_paths(paths: Sequence[str | Path], **options: object) -> list[Finding]:
    """Every finding (suppressed ones included, marked) for the templates under ``paths``; see :func:`lint`."""
    return lint(paths, **options).findings  # type: ignore[arg-type]


def rule_ids() -> list[str]:
    """The rule ids, in order."""
    return list(RULES)
