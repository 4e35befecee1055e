"""Lint findings and the catalogue of rule ids (stable: suppressions and documentation refer to them)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .statements import Statement

#: Rule id -> what it reports. Ids are never reused or renumbered.
RULES: dict[str, str] = {
    "SES000": "a policy document that cannot be read (e.g. a Policy string that is not JSON)",
    "SES001": "a condition key that does not exist (misspelled, with the intended key named) or that the action "
    "does not support, or a global key SES does not provide",
    "SES002": "a multi-valued condition key (ses:Recipients, aws:TagKeys...) tested without "
    "ForAllValues:/ForAnyValue:, or a set operator on a single-valued key (ses:FromAddress...)",
    "SES003": "ForAllValues: in an Allow without a guard against an absent/empty key (it is then true)",
    "SES004": 'a Resource the action cannot be scoped to (it supports only "*", or no resource type matches)',
    "SES005": "an SES ARN that is malformed, or for another partition/region/account than the stack's, or an identity "
    "policy statement for another identity than the one the policy is attached to",
    "SES006": "a service principal granted access without both aws:SourceAccount and aws:SourceArn",
    "SES007": "an SES identity policy whose principal is an IAM user of another account (e.g. WorkMail's user from "
    "the 403 message) where the account root or the WorkMail service principal is meant",
    "SES008": "an SES identity policy that allows more than the send actions",
    "SES009": 'a whole-service or global wildcard Action ("*", "ses:*"), or NotAction, in an Allow',
    "SES010": 'Resource "*" in an IAM policy for an action that can be scoped to resources',
    "SES011": "a receipt rule's S3 action whose bucket policy does not let SES put the object",
    "SES012": "a receipt rule's Lambda action without a Lambda permission for SES to invoke the function",
    "SES013": "a receipt rule's S3 action encrypting with a KMS key whose key policy does not let SES use it",
    "SES014": "an Action that IAM does not define (misspelled action or service prefix)",
    "SES015": "NotPrincipal in an Allow (it grants every principal except those listed, anonymous callers included)",
    "SES016": 'Principal "*" (or {"AWS": "*"}) in a resource policy Allow without a condition that narrows who calls',
    "SES017": "a receipt rule action publishing to another account's SNS topic (or another region's), whose topic "
    "policy must let SES publish",
}

ERROR = "error"
NOTE = "note"  # printed, never fails the lint (e.g. a resource outside the template that cannot be checked)


@dataclass(frozen=True)
class Finding:
    """One lint finding at ``template:logical-id:statement``."""

    template: str
    logical_id: str
    statement: str  # the statement's Sid or index, or e.g. "Actions[0]" for a receipt rule action
    rule: str
    message: str
    severity: str = ERROR
    #: The reason of the suppression that covers this finding, else ``None``.
    suppressed: str | None = None
    #: Where that suppression was written (the config file, or the resource's metadata).
    suppressed_by: str | None = None

    @classmethod
    def at(cls, statement: Statement, rule: str, message: str, severity: str = ERROR) -> Finding:
        """A finding about one statement of an extracted policy."""
        policy = statement.policy
        return cls(policy.template, policy.logical_id, statement.label, rule, message, severity)

    @property
    def fails(self) -> bool:
        """Whether this finding makes the lint fail (an unsuppressed error)."""
        return self.severity == ERROR and self.suppressed is None

    def suppress(self, reason: str, origin: str) -> Finding:
        """This finding, marked suppressed for ``reason``."""
        return replace(self, suppressed=reason, suppressed_by=origin)

    def format(self) -> str:
        """``template:logical-id:statement: RULE-ID message`` (+ `` SUPPRESSED (reason)``), one line."""
        note = "note: " if self.severity == NOTE else ""
        line = f"{self.template}:{self.logical_id}:{self.statement}: {self.rule} {note}{self.message}"
        return f"{line} SUPPRESSED ({self.suppressed})" if self.suppressed is not None else line
