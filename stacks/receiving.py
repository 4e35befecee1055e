"""One environment's receiving: the mail bucket, one rule per mailbox of every receiving domain, the extra rules
from cdk.json, and activation (or, beside WorkMail, the rules at the start of WorkMail's own active set)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_sns as sns
from constructs import Construct

from sesmail.receiving import (
    AddHeaderAction,
    BounceAction,
    LambdaAction,
    MailBucket,
    ReceiptAction,
    ReceiptRule,
    ReceiptRuleSet,
    S3Action,
    SnsAction,
    StopAction,
    WorkMailAction,
)

from .receiving_settings import ActionSettings, ReceivingSettings, RuleSettings
from .settings import EnvironmentSettings


@dataclass(frozen=True)
class Receiving:
    """What the stack's other parts (parser, forwarder) attach to."""

    rule_set: ReceiptRuleSet
    mail_bucket: MailBucket
    #: one rule per mailbox, in the order of ``mailboxes``
    mailbox_rules: tuple[ReceiptRule, ...]
    #: the S3 prefix each mailbox rule stores under, in the same order
    mailbox_prefixes: tuple[str, ...]
    #: the address each mailbox rule receives for, in the same order
    mailbox_addresses: tuple[str, ...] = ()
    #: the address book's rules (postmaster@, abuse@, entries, aliases; or the whole domain with ``store``)
    book_rules: tuple[ReceiptRule, ...] = ()
    #: the S3 prefix each of the address book's rules stores under, in the same order
    book_prefixes: tuple[str, ...] = ()


def build_receiving(
    scope: Construct,
    settings: EnvironmentSettings,
    receiving: ReceivingSettings,
) -> Receiving:
    """The rule set: ``before`` extra rules, one rule per mailbox of each receiving domain, then ``after`` extra rules.

    Each mailbox rule stores under its prefix (``<mailbox>/`` for the first domain, ``<domain>/<mailbox>/`` for
    later ones). Without WorkMail the stack creates and activates its own set. With WorkMail (an existing
    organization) the rules go at the start of the organization's active set (``workmail.ruleSetName``) and only
    store: WorkMail's own rule, after them, still delivers every recipient, so a WorkMail action here would deliver
    twice.
    """
    lifecycle = receiving.mail_bucket
    mail_bucket = MailBucket(
        scope,
        "MailBucket",
        expire_after_days=lifecycle.expire_after_days,
        noncurrent_versions_expire_after_days=lifecycle.noncurrent_versions_expire_after_days,
        infrequent_access_after_days=lifecycle.infrequent_access_after_days,
        transitional_ses_grants=lifecycle.transitional_ses_grants,
    )
    workmail = settings.workmail
    beside = (workmail is not None and workmail.beside) or receiving.join
    if beside:
        # WorkMail's set, or another active set named by receiving.joinRuleSet: joined, never created or activated.
        rule_set = ReceiptRuleSet.from_existing(
            scope, "ReceiptRuleSet", rule_set_name=receiving.rule_set_name, after_rule=receiving.join_after_rule
        )
    elif workmail is not None:
        # The cutover: SetActiveReceiptRuleSet switches from WorkMail's set to this one in one call, so a set is
        # active at every moment; WorkMail's set is recorded and restored when the activation is deleted (the
        # rollback, workmail.cutover: false), unless the organization is gone (nothing of it to restore).
        rule_set = ReceiptRuleSet(
            scope,
            "ReceiptRuleSet",
            rule_set_name=receiving.rule_set_name,
            take_over_active_rule_set=True,
            restore_on_delete=not workmail.organization_deleted,
            take_over_only=workmail.rule_set_name,
        )
    else:
        rule_set = ReceiptRuleSet(
            scope,
            "ReceiptRuleSet",
            rule_set_name=receiving.rule_set_name,
            take_over_active_rule_set=settings.take_over_active_rule_set,
            take_over_hint=f"takeOverActiveRuleSet: true (environments.{settings.name} in cdk.json)",
        )
    imports = _Imports(scope)
    for rule in (r for r in receiving.rules if r.position == "before"):
        _add_extra_rule(rule_set, rule, mail_bucket, imports)
    mailbox_rules = []
    prefixes: list[str] = []
    addresses: list[str] = []
    for domain in settings.receiving_domains:
        for mailbox, address in zip(domain.mailboxes, domain.addresses(), strict=True):
            prefix = domain.prefix(mailbox)
            actions: list[ReceiptAction] = [S3Action(bucket=mail_bucket.bucket, object_key_prefix=prefix)]
            # Beside WorkMail or another set's rules, requiring TLS would bounce what their rules accept
            # (receiving_settings).
            mailbox_rule = rule_set.add_rule(
                domain.rule_name(mailbox),
                recipients=[address],
                actions=actions,
                tls_required=not beside,
            )
            mailbox_rules.append(mailbox_rule)
            prefixes.append(prefix)
            addresses.append(address)
    # After every mailbox rule, so the mailbox rules keep their place (their After) in the set.
    book_rules: list[ReceiptRule] = []
    book_prefixes: list[str] = []
    # Preparing a cutover (workmail.inventory without cutover), the book is checked but WorkMail still receives.
    book = settings.address_book if workmail is None or workmail.cutover else None
    for routing in book.domains if book is not None else ():
        for rule_name, recipients in routing.rules:
            book_rules.append(
                rule_set.add_rule(
                    rule_name,
                    recipients=recipients,
                    actions=[S3Action(bucket=mail_bucket.bucket, object_key_prefix=routing.prefix)],
                    # Never Require here: these rules hold postmaster@ and abuse@, which a mail domain must accept
                    # (RFC 5321 4.5.1), and RFC 3207 section 4: "A publicly-referenced SMTP server MUST NOT require
                    # use of the STARTTLS extension in order to deliver mail locally". With Require, "Amazon SES
                    # bounces emails that are not received over TLS" (SES API reference, ReceiptRule, TlsPolicy).
                    tls_required=False,
                )
            )
            book_prefixes.append(routing.prefix)
    for rule in (r for r in receiving.rules if r.position == "after"):
        _add_extra_rule(rule_set, rule, mail_bucket, imports)
    return Receiving(
        rule_set=rule_set,
        mail_bucket=mail_bucket,
        mailbox_rules=tuple(mailbox_rules),
        mailbox_prefixes=tuple(prefixes),
        mailbox_addresses=tuple(addresses),
        book_rules=tuple(book_rules),
        book_prefixes=tuple(book_prefixes),
    )


class _Imports:
    """Existing buckets, keys, topics and functions named by ARN in cdk.json, imported once each."""

    def __init__(self, scope: Construct) -> None:
        self._scope = Construct(scope, "Imported")
        self._cache: dict[str, object] = {}

    def _get(self, kind: str, name: str) -> object:
        key = f"{kind}:{name}"
        if key not in self._cache:
            construct_id = f"{kind}{len(self._cache)}"
            if kind == "Bucket":
                self._cache[key] = s3.Bucket.from_bucket_name(self._scope, construct_id, name)
            elif kind == "Key":
                self._cache[key] = kms.Key.from_key_arn(self._scope, construct_id, name)
            elif kind == "Topic":
                self._cache[key] = sns.Topic.from_topic_arn(self._scope, construct_id, name)
            else:
                self._cache[key] = lambda_.Function.from_function_attributes(
                    self._scope, construct_id, function_arn=name, same_environment=_same_account(self._scope, name)
                )
        return self._cache[key]

    def bucket(self, name: str) -> s3.IBucket:
        return self._get("Bucket", name)  # type: ignore[return-value]

    def key(self, arn: str | None) -> kms.IKey | None:
        return None if arn is None else self._get("Key", arn)  # type: ignore[return-value]

    def topic(self, arn: str | None) -> sns.ITopic | None:
        return None if arn is None else self._get("Topic", arn)  # type: ignore[return-value]

    def function(self, arn: str) -> lambda_.IFunction:
        return self._get("Function", arn)  # type: ignore[return-value]


def _same_account(scope: Construct, arn: str) -> bool:
    # A permission can be added to a function of this account only; another account's owner must add it.
    return arn.split(":")[4] == cdk.Stack.of(scope).account


def _action(settings: ActionSettings, mail_bucket: MailBucket, imports: _Imports) -> ReceiptAction:
    topic = imports.topic(settings.topic_arn)
    if settings.type == "s3":
        bucket = mail_bucket.bucket if settings.bucket_name is None else imports.bucket(settings.bucket_name)
        return S3Action(
            bucket=bucket,
            object_key_prefix=settings.prefix,
            kms_key=imports.key(settings.kms_key_arn),
            topic=topic,
        )
    if settings.type == "lambda":
        assert settings.function_arn is not None
        return LambdaAction(
            function=imports.function(settings.function_arn), invocation_type=settings.invocation_type, topic=topic
        )
    if settings.type == "sns":
        assert topic is not None
        return SnsAction(topic=topic, encoding=settings.encoding)
    if settings.type == "workmail":
        assert settings.organization_arn is not None
        return WorkMailAction(organization_arn=settings.organization_arn, topic=topic)
    if settings.type == "addHeader":
        assert settings.header_name is not None and settings.header_value is not None
        return AddHeaderAction(header_name=settings.header_name, header_value=settings.header_value)
    if settings.type == "bounce":
        assert settings.smtp_reply_code and settings.message and settings.sender
        return BounceAction(
            smtp_reply_code=settings.smtp_reply_code,
            message=settings.message,
            sender=settings.sender,
            status_code=settings.status_code,
            topic=topic,
        )
    return StopAction(topic=topic)


def _add_extra_rule(rule_set: ReceiptRuleSet, rule: RuleSettings, mail_bucket: MailBucket, imports: _Imports) -> None:
    rule_set.add_rule(
        rule.name,
        actions=[_action(action, mail_bucket, imports) for action in rule.actions],
        recipients=rule.recipients,
        enabled=rule.enabled,
        scan_enabled=rule.scan_enabled,
        tls_required=rule.tls_required,
    )
