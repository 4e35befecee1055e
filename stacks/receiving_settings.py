"""The ``receiving`` section of an environment: the rule set, the mail bucket's lifecycle, and extra rules.

Every value is checked here, before any construct exists, and each error names its full key path, e.g.
``environments.prod.receiving.rules[0].actions[1].smtpReplyCode: '250' is not a 5xx SMTP reply code``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sesmail.receiving import checks
from sesmail.receiving.names import MAX_RULES_PER_RULE_SET, check_recipients, check_rule_name, check_rule_set_name

from .reader import Reader, SettingsError

ACTION_TYPES = ("s3", "lambda", "sns", "workmail", "addHeader", "bounce", "stop")
RULE_POSITIONS = ("before", "after")


@dataclass(frozen=True)
class ActionSettings:
    """One receipt action of an extra rule; which fields apply depends on ``type`` (see README)."""

    type: str
    #: s3: objects go under this prefix of the mail bucket (or of ``bucket_name``).
    prefix: str = ""
    bucket_name: str | None = None
    kms_key_arn: str | None = None
    topic_arn: str | None = None
    function_arn: str | None = None
    invocation_type: str = "Event"
    encoding: str = "UTF-8"
    organization_arn: str | None = None
    header_name: str | None = None
    header_value: str | None = None
    smtp_reply_code: str | None = None
    status_code: str | None = None
    message: str | None = None
    sender: str | None = None


@dataclass(frozen=True)
class RuleSettings:
    """An extra receipt rule, placed before or after the mailbox rules."""

    name: str
    actions: tuple[ActionSettings, ...]
    recipients: tuple[str, ...] = ()
    enabled: bool = True
    scan_enabled: bool = True
    tls_required: bool = True
    position: str = "after"


@dataclass(frozen=True)
class MailBucketSettings:
    """Lifecycle of the mail bucket; every default keeps mail forever."""

    expire_after_days: int | None = None
    noncurrent_versions_expire_after_days: int | None = None
    infrequent_access_after_days: int | None = None
    #: keep SES's pre-role bucket and key grants for one migration deploy (MailBucket ``transitional_ses_grants``).
    transitional_ses_grants: bool = False


@dataclass(frozen=True)
class ReceivingSettings:
    """The rule set of one environment."""

    rule_set_name: str
    mail_bucket: MailBucketSettings = field(default_factory=MailBucketSettings)
    rules: tuple[RuleSettings, ...] = ()
    #: ``receiving.joinRuleSet``: the rules go into this existing, active set of someone else's (not created, not
    #: activated, nothing of it touched), at its start, or after its rule ``join_after_rule``.
    join: bool = False
    join_after_rule: str | None = None


def mailbox_rule_name(mailbox: str) -> str:
    """The default rule for one mailbox: ``mailbox-<local part>``, characters SES rule names lack replaced by ``-``."""
    return "mailbox-" + "".join(c if c.isascii() and (c.isalnum() or c in "_.-") else "-" for c in mailbox).strip("-.")


def _checked(reader: Reader, key: str, check: Callable[[str, Any], None], kind: type = str, **kw: Any) -> Any:
    value = reader.get(key, kind, **kw)
    return None if value is None else reader.check(key, check, value)


def _action(reader: Reader, workmail_organization_arn: str | None) -> ActionSettings:
    kind = reader.get("type", str, required=True)
    if kind not in ACTION_TYPES:
        raise SettingsError(f"{reader.key('type')}: {kind!r} is not one of {', '.join(ACTION_TYPES)}")
    # Every action but add-header can notify a topic; for add-header the key stays unread, so it is reported.
    topic = None if kind == "addHeader" else _checked(reader, "topicArn", lambda p, v: checks.check_arn(p, v, "sns"))
    result: ActionSettings
    if kind == "s3":
        result = ActionSettings(
            type=kind,
            prefix=_checked(reader, "prefix", checks.check_object_key_prefix, default="") or "",
            bucket_name=_checked(reader, "bucketName", checks.check_bucket_name),
            kms_key_arn=_checked(reader, "kmsKeyArn", lambda p, v: checks.check_arn(p, v, "kms")),
            topic_arn=topic,
        )
    elif kind == "lambda":
        result = ActionSettings(
            type=kind,
            function_arn=_checked(reader, "functionArn", lambda p, v: checks.check_arn(p, v, "lambda"), required=True),
            invocation_type=_checked(
                reader,
                "invocationType",
                lambda p, v: checks.check_one_of(p, v, checks.LAMBDA_INVOCATION_TYPES),
                default="Event",
            ),
            topic_arn=topic,
        )
    elif kind == "sns":
        if topic is None:
            raise SettingsError(f"{reader.key('topicArn')}: missing (required)")
        result = ActionSettings(
            type=kind,
            topic_arn=topic,
            encoding=_checked(
                reader, "encoding", lambda p, v: checks.check_one_of(p, v, checks.SNS_ENCODINGS), default="UTF-8"
            ),
        )
    elif kind == "workmail":
        organization = _checked(reader, "organizationArn", checks.check_workmail_organization_arn)
        organization = organization or workmail_organization_arn
        if organization is None:
            raise SettingsError(f"{reader.key('organizationArn')}: missing (required without a workmail section)")
        result = ActionSettings(type=kind, organization_arn=organization, topic_arn=topic)
    elif kind == "addHeader":
        result = ActionSettings(
            type=kind,
            header_name=_checked(reader, "name", checks.check_header_name, required=True),
            header_value=_checked(reader, "value", checks.check_header_value, required=True),
        )
    elif kind == "bounce":
        result = ActionSettings(
            type=kind,
            smtp_reply_code=_checked(reader, "smtpReplyCode", checks.check_smtp_reply_code, required=True),
            status_code=_checked(reader, "statusCode", checks.check_status_code),
            message=_checked(reader, "message", checks.check_bounce_message, required=True),
            sender=_checked(reader, "sender", checks.check_address, required=True),
            topic_arn=topic,
        )
    else:
        result = ActionSettings(type=kind, topic_arn=topic)
    reader.finish()
    return result


def _rule(reader: Reader, workmail_organization_arn: str | None) -> RuleSettings:
    name = _checked(reader, "name", check_rule_name, required=True)
    raw_actions = reader.get("actions", list, required=True)
    if not raw_actions:
        raise SettingsError(f"{reader.key('actions')}: [] must list at least one action")
    actions = tuple(
        _action(Reader(item, reader.key(f"actions[{i}]")), workmail_organization_arn)
        for i, item in enumerate(raw_actions)
    )
    recipients = reader.get("recipients", list, default=[])
    for i, recipient in enumerate(recipients):
        if not isinstance(recipient, str):
            raise SettingsError(f"{reader.key('recipients')}[{i}]: {recipient!r} is not a string")
    reader.check("recipients", check_recipients, recipients)
    position = reader.get("position", str, default="after")
    reader.check("position", lambda p, v: checks.check_one_of(p, v, RULE_POSITIONS), position)
    rule = RuleSettings(
        name=name,
        actions=actions,
        recipients=tuple(recipients),
        enabled=reader.get("enabled", bool, default=True),
        scan_enabled=reader.get("scanEnabled", bool, default=True),
        tls_required=reader.get("tlsRequired", bool, default=True),
        position=position,
    )
    reader.finish()
    return rule


def _days(reader: Reader, key: str, minimum: int) -> int | None:
    value = reader.get(key, int)
    if value is not None and value < minimum:
        raise SettingsError(f"{reader.key(key)}: {value!r} must be a number of days, at least {minimum}")
    return value


def _mail_bucket(reader: Reader) -> MailBucketSettings:
    raw = reader.get("mailBucket", dict)
    if raw is None:
        return MailBucketSettings()
    section = Reader(raw, reader.key("mailBucket"))
    settings = MailBucketSettings(
        expire_after_days=_days(section, "expireAfterDays", 1),
        noncurrent_versions_expire_after_days=_days(section, "noncurrentVersionsExpireAfterDays", 1),
        infrequent_access_after_days=_days(section, "infrequentAccessAfterDays", 30),
        transitional_ses_grants=section.get("transitionalSesGrants", bool, default=False),
    )
    expire, ia = settings.expire_after_days, settings.infrequent_access_after_days
    if expire is not None and ia is not None and ia >= expire:
        raise SettingsError(
            f"{section.key('infrequentAccessAfterDays')}: {ia!r} must be less than expireAfterDays ({expire!r})"
        )
    section.finish()
    return settings


#: Actions that end or divert delivery: beside WorkMail, a rule with one would keep WorkMail's own rule (later in
#: the set) from delivering, or deliver twice (a second WorkMail action).
_WORKMAIL_REFUSED = {
    "stop": "stops the rule set before WorkMail's own rule delivers",
    "bounce": "bounces recipients WorkMail accepts",
    "workmail": "delivers to WorkMail a second time (WorkMail's own rule already delivers every recipient)",
}


#: ReceiptRule TlsPolicy: "If this parameter is set to Require, Amazon SES bounces emails that are not received over
#: TLS" (SES API reference, ReceiptRule, https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html).
#: Beside WorkMail a rule of sesmail's that requires TLS would bounce mail WorkMail's own rule accepts.
_WORKMAIL_TLS = "bounces mail not received over TLS, which WorkMail's own rule accepts; leave tlsRequired out"


def _refuse_beside_workmail(
    section: Reader, raw_rules: list[Any], rules: tuple[RuleSettings, ...], where: str = "in a workmail environment"
) -> None:
    for i, rule in enumerate(rules):
        if isinstance(raw_rules[i], dict) and raw_rules[i].get("tlsRequired") is True:
            raise SettingsError(f"{section.key(f'rules[{i}]')}.tlsRequired: true {where} {_WORKMAIL_TLS}")
        for j, action in enumerate(rule.actions):
            key = section.key(f"rules[{i}].actions[{j}].type")
            reason = _WORKMAIL_REFUSED.get(action.type)
            if action.type == "lambda" and action.invocation_type == "RequestResponse":
                # A synchronous function may answer STOP_RULE_SET (SES Lambda action), ending delivery early.
                reason = "may stop the rule set (RequestResponse) before WorkMail's own rule delivers"
            if reason is not None:
                raise SettingsError(f"{key}: {action.type!r} {where} {reason}; remove the action")


def parse_receiving(
    reader: Reader,
    environment: str,
    mailbox_rule_names: tuple[str, ...],
    workmail_organization_arn: str | None,
    workmail_rule_set_name: str | None = None,
) -> ReceivingSettings:
    """The environment's ``receiving`` section (all optional): defaults give rule set ``sesmail-<environment>``.

    With ``workmail_rule_set_name`` (a WorkMail environment) the rules go into that existing set, and no rule may
    stop, bounce or deliver to WorkMail again.
    """
    raw = reader.get("receiving", dict, default={})
    section = Reader(raw, reader.key("receiving"))
    join = _join(section, workmail_rule_set_name is not None)
    join_after: str | None = None
    if workmail_rule_set_name is not None:
        rule_set_name = workmail_rule_set_name
    elif join is not None:
        rule_set_name, join_after = join
    else:
        rule_set_name = _checked(section, "ruleSetName", check_rule_set_name, default=f"sesmail-{environment}")
    raw_rules = section.get("rules", list, default=[])
    rules = tuple(
        _rule(Reader(item, section.key(f"rules[{i}]")), workmail_organization_arn) for i, item in enumerate(raw_rules)
    )
    if workmail_rule_set_name is not None or join is not None:
        where = "in a workmail environment" if join is None else "beside another set's rules (joinRuleSet)"
        _refuse_beside_workmail(section, raw_rules, rules, where)
        rules = tuple(dataclasses.replace(rule, tls_required=False) for rule in rules)
    names = list(mailbox_rule_names)
    for i, rule in enumerate(rules):
        if rule.name in names:
            raise SettingsError(f"{section.key(f'rules[{i}]')}.name: {rule.name!r} is already a rule of the set")
        names.append(rule.name)
    if len(names) > MAX_RULES_PER_RULE_SET:
        raise SettingsError(f"{section.key('rules')}: {len(names)} rules; SES allows {MAX_RULES_PER_RULE_SET}")
    settings = ReceivingSettings(
        rule_set_name=rule_set_name,
        mail_bucket=_mail_bucket(section),
        rules=rules,
        join=join is not None,
        join_after_rule=join_after,
    )
    section.finish()
    return settings


def _join(section: Reader, with_workmail: bool) -> tuple[str, str | None] | None:
    """``receiving.joinRuleSet``: ``{"name": <set>, "position": "first"}`` or ``{..., "position": "last",
    "afterRule": <that set's last rule>}``. SES's CreateReceiptRule ``After``: "The name of an existing rule after which
    the new rule is placed. If this parameter is null, the new rule is inserted at the beginning of the rule list"."""
    raw = section.get("joinRuleSet", dict)
    if raw is None:
        return None
    entry = Reader(raw, section.key("joinRuleSet"))
    if with_workmail:
        raise SettingsError(
            f"{section.key('joinRuleSet')}: with workmail the rules join WorkMail's set already; remove joinRuleSet"
        )
    if "ruleSetName" in section.raw:
        raise SettingsError(f"{section.key('ruleSetName')}: with joinRuleSet the set is joinRuleSet.name; remove it")
    name = _checked(entry, "name", check_rule_set_name, required=True)
    position = entry.get("position", str, default="first")
    entry.check("position", lambda p, v: checks.check_one_of(p, v, ("first", "last")), position)
    after = _checked(entry, "afterRule", check_rule_name)
    if position == "last" and not after:
        raise SettingsError(
            f"{entry.key('afterRule')}: missing: position last needs the name of the set's last rule (SES places a "
            "rule after a named one, or first)"
        )
    if position == "first" and after:
        raise SettingsError(f"{entry.key('afterRule')}: {after!r} with position first; remove it or use position last")
    entry.finish()
    return name, after
