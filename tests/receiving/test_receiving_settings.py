"""cdk.json ``receiving`` and ``takeOverActiveRuleSet``: defaults, every action type, one-line errors with key paths."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stacks.receiving_settings import ActionSettings, MailBucketSettings, RuleSettings, mailbox_rule_name
from stacks.settings import SettingsError, parse_environment
from tests.conftest import ROOT, cdk_json_context
from tests.test_settings import GOOD

ORG_ARN = "arn:aws:workmail:eu-west-1:111122223333:organization/m-0123456789abcdef0123456789abcdef"
OTHER_ORG_ARN = "arn:aws:workmail:eu-west-1:111122223333:organization/m-fedcba9876543210fedcba9876543210"
TOPIC_ARN = "arn:aws:sns:eu-west-1:111122223333:mail-events"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:triage"
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RULE = "environments.prod.receiving.rules[0]"
ACTION = f"{RULE}.actions[0]"
BUCKET = "environments.prod.receiving.mailBucket"


#: GOOD without its WorkMail organization: beside WorkMail, rules that stop, bounce or deliver to WorkMail again are
#: refused (tests/test_workmail_coexistence.py), so the rule-set features are read in a WorkMail-free environment.
WITHOUT_WORKMAIL = {key: value for key, value in GOOD.items() if key != "workmail"}


def environment(receiving: Any = ..., *, drop: tuple[str, ...] = (), **top: Any) -> dict[str, Any]:
    """WITHOUT_WORKMAIL with ``receiving`` set (unless ``...``), keys in ``top`` set and those in ``drop`` removed."""
    raw = copy.deepcopy(WITHOUT_WORKMAIL)
    if receiving is not ...:
        raw["receiving"] = receiving
    raw.update(top)
    for key in drop:
        raw.pop(key, None)
    return raw


def one_rule(*actions: dict[str, Any], **rule: Any) -> dict[str, Any]:
    """A ``receiving`` section with one extra rule named ``r`` (unless ``rule`` overrides it)."""
    return {"rules": [{"name": "r", "actions": list(actions), **rule}]}


def parse_actions(*actions: dict[str, Any], **top: Any) -> tuple[ActionSettings, ...]:
    settings = parse_environment("prod", environment(one_rule(*actions), **top))
    assert settings.receiving is not None
    return settings.receiving.rules[0].actions


def test_defaults_rule_set_per_environment_no_rules_keep_mail_forever_no_takeover() -> None:
    settings = parse_environment("prod", environment())
    assert settings.receiving is not None
    assert settings.receiving.rule_set_name == "sesmail-prod"
    assert settings.receiving.rules == ()
    assert settings.receiving.mail_bucket == MailBucketSettings(None, None, None)
    assert settings.take_over_active_rule_set is False


def test_empty_receiving_section_is_the_default() -> None:
    assert parse_environment("prod", environment({})) == parse_environment("prod", environment())
    assert parse_environment("prod", {**GOOD, "receiving": {}}) == parse_environment("prod", GOOD)


def test_rule_set_name_lifecycle_and_takeover_are_read() -> None:
    receiving = {
        "ruleSetName": "inbound_Mail-2",
        "mailBucket": {
            "expireAfterDays": 400,
            "noncurrentVersionsExpireAfterDays": 1,
            "infrequentAccessAfterDays": 30,
        },
    }
    settings = parse_environment("prod", environment(receiving, takeOverActiveRuleSet=True))
    assert settings.receiving is not None
    assert settings.receiving.rule_set_name == "inbound_Mail-2"
    assert settings.receiving.mail_bucket == MailBucketSettings(
        expire_after_days=400, noncurrent_versions_expire_after_days=1, infrequent_access_after_days=30
    )
    assert settings.take_over_active_rule_set is True


def test_rule_defaults_and_explicit_flags() -> None:
    receiving = {
        "rules": [
            {"name": "plain", "actions": [{"type": "stop"}]},
            {
                "name": "all.set_1",
                "actions": [{"type": "stop"}],
                "recipients": ["a@example.com", "example.org", ".example.net"],
                "enabled": False,
                "scanEnabled": False,
                "tlsRequired": False,
                "position": "before",
            },
        ]
    }
    settings = parse_environment("prod", environment(receiving))
    assert settings.receiving is not None
    plain, flagged = settings.receiving.rules
    assert plain == RuleSettings(name="plain", actions=(ActionSettings(type="stop"),))
    assert (plain.recipients, plain.enabled, plain.scan_enabled, plain.tls_required, plain.position) == (
        (),
        True,
        True,
        True,
        "after",
    )
    assert flagged == RuleSettings(
        name="all.set_1",
        actions=(ActionSettings(type="stop"),),
        recipients=("a@example.com", "example.org", ".example.net"),
        enabled=False,
        scan_enabled=False,
        tls_required=False,
        position="before",
    )


def test_every_action_type_is_parsed_with_its_fields() -> None:
    actions = parse_actions(
        {"type": "s3"},
        {"type": "s3", "prefix": "archive/", "bucketName": "central-mail", "kmsKeyArn": KEY_ARN, "topicArn": TOPIC_ARN},
        {"type": "lambda", "functionArn": FUNCTION_ARN},
        {"type": "lambda", "functionArn": FUNCTION_ARN, "invocationType": "RequestResponse", "topicArn": TOPIC_ARN},
        {"type": "sns", "topicArn": TOPIC_ARN},
        {"type": "sns", "topicArn": TOPIC_ARN, "encoding": "Base64"},
        {"type": "workmail", "organizationArn": ORG_ARN},
        {"type": "workmail", "organizationArn": OTHER_ORG_ARN, "topicArn": TOPIC_ARN},
        {"type": "addHeader", "name": "X-Sesmail", "value": "triaged; by=rule"},
        {"type": "bounce", "smtpReplyCode": "550", "message": "No such user", "sender": "postmaster@example.com"},
        {
            "type": "bounce",
            "smtpReplyCode": "554",
            "statusCode": "5.7.1",
            "message": "Rejected",
            "sender": "postmaster@example.com",
            "topicArn": TOPIC_ARN,
        },
        {"type": "stop"},
        {"type": "stop", "topicArn": TOPIC_ARN},
    )
    assert actions == (
        ActionSettings(type="s3"),
        ActionSettings(
            type="s3", prefix="archive/", bucket_name="central-mail", kms_key_arn=KEY_ARN, topic_arn=TOPIC_ARN
        ),
        ActionSettings(type="lambda", function_arn=FUNCTION_ARN, invocation_type="Event"),
        ActionSettings(
            type="lambda", function_arn=FUNCTION_ARN, invocation_type="RequestResponse", topic_arn=TOPIC_ARN
        ),
        ActionSettings(type="sns", topic_arn=TOPIC_ARN, encoding="UTF-8"),
        ActionSettings(type="sns", topic_arn=TOPIC_ARN, encoding="Base64"),
        ActionSettings(type="workmail", organization_arn=ORG_ARN),
        ActionSettings(type="workmail", organization_arn=OTHER_ORG_ARN, topic_arn=TOPIC_ARN),
        ActionSettings(type="addHeader", header_name="X-Sesmail", header_value="triaged; by=rule"),
        ActionSettings(type="bounce", smtp_reply_code="550", message="No such user", sender="postmaster@example.com"),
        ActionSettings(
            type="bounce",
            smtp_reply_code="554",
            status_code="5.7.1",
            message="Rejected",
            sender="postmaster@example.com",
            topic_arn=TOPIC_ARN,
        ),
        ActionSettings(type="stop"),
        ActionSettings(type="stop", topic_arn=TOPIC_ARN),
    )


def test_workmail_action_without_workmail_section_needs_organization_arn() -> None:
    (action,) = parse_actions({"type": "workmail", "organizationArn": OTHER_ORG_ARN})
    assert action.organization_arn == OTHER_ORG_ARN
    # Beside the environment's own organization a WorkMail action would deliver a second time: refused.
    with pytest.raises(SettingsError, match=r"'workmail' in a workmail environment delivers to WorkMail a second"):
        parse_environment("prod", environment(one_rule({"type": "workmail"}), workmail=GOOD["workmail"]))


def test_mailbox_rule_names() -> None:
    assert mailbox_rule_name("info") == "mailbox-info"
    assert mailbox_rule_name("first.last") == "mailbox-first.last"
    # Characters SES rule names lack become '-', and the name still ends with a letter or digit.
    assert mailbox_rule_name("a+b") == "mailbox-a-b"
    assert mailbox_rule_name("sales+") == "mailbox-sales"


def test_rule_may_reuse_a_mailbox_rule_name_of_a_mailbox_that_is_not_configured() -> None:
    settings = parse_environment("prod", environment(one_rule({"type": "stop"}, name="mailbox-info"), mailboxes=["x"]))
    assert settings.receiving is not None and settings.receiving.rules[0].name == "mailbox-info"


def _rules(count: int) -> dict[str, Any]:
    return {"rules": [{"name": f"r{i}", "actions": [{"type": "stop"}]} for i in range(count)]}


def test_rule_count_includes_the_mailbox_rules() -> None:
    # Three default mailboxes and the address book's rule (postmaster@, abuse@) take four of SES's 200 rules per set.
    settings = parse_environment("prod", environment(_rules(196)))
    assert settings.receiving is not None and len(settings.receiving.rules) == 196
    with pytest.raises(SettingsError) as error:
        parse_environment("prod", environment(_rules(197)))
    assert str(error.value) == "environments.prod.receiving.rules: 201 rules; SES allows 200"


def _stop(**extra: Any) -> dict[str, Any]:
    return one_rule({"type": "stop"}, **extra)


def _bounce(**extra: Any) -> dict[str, Any]:
    action = {"type": "bounce", "smtpReplyCode": "550", "message": "m", "sender": "postmaster@example.com", **extra}
    return one_rule({key: value for key, value in action.items() if value is not ...})


def _add_header(**extra: Any) -> dict[str, Any]:
    action = {"type": "addHeader", "name": "X-A", "value": "v", **extra}
    return one_rule({key: value for key, value in action.items() if value is not ...})


NO_WORKMAIL = ("workmail",)

BAD: list[tuple[Any, tuple[str, ...], dict[str, Any], str]] = [
    # (receiving, top-level keys dropped, top-level keys set, message prefix)
    ("x", (), {}, "environments.prod.receiving: 'x' is not an object"),
    ({"rulesets": []}, (), {}, "environments.prod.receiving.rulesets: unknown setting"),
    ({"ruleSetName": "bad name"}, (), {}, "environments.prod.receiving.ruleSetName: 'bad name' is not a receipt rule"),
    ({"ruleSetName": "a.b"}, (), {}, "environments.prod.receiving.ruleSetName: 'a.b' is not a receipt rule set name"),
    ({"rules": {"name": "r"}}, (), {}, "environments.prod.receiving.rules: {'name': 'r'} is not a list"),
    ({"rules": ["r"]}, (), {}, f"{RULE}: expected an object, got 'r'"),
    # unknown action type and typos
    (one_rule({"type": "forward"}), (), {}, f"{ACTION}.type: 'forward' is not one of s3, lambda, sns, workmail, "),
    (one_rule({"type": "S3"}), (), {}, f"{ACTION}.type: 'S3' is not one of "),
    (one_rule({"prefix": "x/"}), (), {}, f"{ACTION}.type: missing (required)"),
    (one_rule({"type": "s3", "prefx": "x/"}), (), {}, f"{ACTION}.prefx: unknown setting"),
    (one_rule({"type": "sns", "topicArn": TOPIC_ARN, "encodng": "Base64"}), (), {}, f"{ACTION}.encodng: unknown"),
    (one_rule({"type": "stop", "prefix": "x/"}), (), {}, f"{ACTION}.prefix: unknown setting"),
    (one_rule({"type": "lambda", "functionArn": FUNCTION_ARN, "encoding": "Base64"}), (), {}, f"{ACTION}.encoding: "),
    (_stop(recipent=["a@example.com"]), (), {}, f"{RULE}.recipent: unknown setting"),
    (_stop(tlsRequire=True), (), {}, f"{RULE}.tlsRequire: unknown setting"),
    ({"mailBucket": {"expireAfterDay": 30}}, (), {}, f"{BUCKET}.expireAfterDay: unknown setting"),
    ({"mailBucket": []}, (), {}, f"{BUCKET}: [] is not an object"),
    # missing required keys, per type
    (one_rule({"type": "lambda"}), (), {}, f"{ACTION}.functionArn: missing (required)"),
    (one_rule({"type": "lambda", "invocationType": "Event"}), (), {}, f"{ACTION}.functionArn: missing (required)"),
    (one_rule({"type": "sns"}), (), {}, f"{ACTION}.topicArn: missing (required)"),
    (one_rule({"type": "sns", "encoding": "Base64"}), (), {}, f"{ACTION}.topicArn: missing (required)"),
    (_add_header(name=...), (), {}, f"{ACTION}.name: missing (required)"),
    (_add_header(value=...), (), {}, f"{ACTION}.value: missing (required)"),
    (_bounce(smtpReplyCode=...), (), {}, f"{ACTION}.smtpReplyCode: missing (required)"),
    (_bounce(message=...), (), {}, f"{ACTION}.message: missing (required)"),
    (_bounce(sender=...), (), {}, f"{ACTION}.sender: missing (required)"),
    ({"rules": [{"actions": [{"type": "stop"}]}]}, (), {}, f"{RULE}.name: missing (required)"),
    ({"rules": [{"name": "r"}]}, (), {}, f"{RULE}.actions: missing (required)"),
    (one_rule(), (), {}, f"{RULE}.actions: [] must list at least one action"),
    (one_rule({"type": "workmail"}), NO_WORKMAIL, {}, f"{ACTION}.organizationArn: missing (required without a workm"),
    # ARNs of the wrong service or shape
    (
        one_rule({"type": "lambda", "functionArn": TOPIC_ARN}),
        (),
        {},
        f"{ACTION}.functionArn: {TOPIC_ARN!r} is not an ARN of lambda",
    ),
    (one_rule({"type": "lambda", "functionArn": "triage"}), (), {}, f"{ACTION}.functionArn: 'triage' is not an ARN "),
    (one_rule({"type": "sns", "topicArn": FUNCTION_ARN}), (), {}, f"{ACTION}.topicArn: {FUNCTION_ARN!r} is not an AR"),
    (
        one_rule({"type": "stop", "topicArn": "arn:aws:sns:eu-west-1:1234:t"}),
        (),
        {},
        f"{ACTION}.topicArn: 'arn:aws:sns:eu-west-1:1234:t' is not an ARN of sns",
    ),
    (
        one_rule({"type": "s3", "kmsKeyArn": TOPIC_ARN}),
        (),
        {},
        f"{ACTION}.kmsKeyArn: {TOPIC_ARN!r} is not an ARN of kms",
    ),
    (
        one_rule({"type": "workmail", "organizationArn": "arn:aws:workmail:eu-west-1:111122223333:organization/x"}),
        (),
        {},
        f"{ACTION}.organizationArn: 'arn:aws:workmail:eu-west-1:111122223333:organization/x' is not a WorkMail organ",
    ),
    # values outside SES's sets
    (
        one_rule({"type": "lambda", "functionArn": FUNCTION_ARN, "invocationType": "Async"}),
        (),
        {},
        f"{ACTION}.invocationType: 'Async' is not one of Event, RequestResponse",
    ),
    (
        one_rule({"type": "sns", "topicArn": TOPIC_ARN, "encoding": "utf-8"}),
        (),
        {},
        f"{ACTION}.encoding: 'utf-8' is not one of UTF-8, Base64",
    ),
    (_stop(position="first"), (), {}, f"{RULE}.position: 'first' is not one of before, after"),
    (one_rule({"type": "s3", "prefix": "/abs/"}), (), {}, f"{ACTION}.prefix: '/abs/' must be at most 1024 characters"),
    (_bounce(smtpReplyCode="250"), (), {}, f"{ACTION}.smtpReplyCode: '250' is not a 5xx SMTP reply code"),
    (_bounce(smtpReplyCode=550), (), {}, f"{ACTION}.smtpReplyCode: 550 is not a string"),
    (_bounce(statusCode="4.1.1"), (), {}, f"{ACTION}.statusCode: '4.1.1' is not an enhanced status code 5.x.y"),
    (_bounce(message=" "), (), {}, f"{ACTION}.message: ' ' must be one non-empty line"),
    (_bounce(sender="postmaster"), (), {}, f"{ACTION}.sender: 'postmaster' is not an e-mail address"),
    (_add_header(name="X Bad"), (), {}, f"{ACTION}.name: 'X Bad' must be 1-49 letters, digits or '-'"),
    (_add_header(value="a\nb"), (), {}, f"{ACTION}.value: 'a\\nb' must be at most 2048 characters, no line breaks"),
    # rule names
    (_stop(name="bad/name"), (), {}, f"{RULE}.name: 'bad/name' is not a receipt rule name"),
    (_stop(name="-r"), (), {}, f"{RULE}.name: '-r' is not a receipt rule name"),
    (_stop(name="r" * 65), (), {}, f"{RULE}.name: '{'r' * 65}' is not a receipt rule name"),
    (_stop(name=""), (), {}, f"{RULE}.name: '' is not a receipt rule name"),
    (
        {"rules": [{"name": "dup", "actions": [{"type": "stop"}]}, {"name": "dup", "actions": [{"type": "stop"}]}]},
        (),
        {},
        "environments.prod.receiving.rules[1].name: 'dup' is already a rule of the set",
    ),
    (_stop(name="mailbox-info"), (), {}, f"{RULE}.name: 'mailbox-info' is already a rule of the set"),
    (_stop(name="mailbox-sales"), (), {"mailboxes": ["sales"]}, f"{RULE}.name: 'mailbox-sales' is already a rule of"),
    # recipients
    (_stop(recipients=["a b@example.com"]), (), {}, f"{RULE}.recipients[0]: 'a b' is not a valid e-mail local part"),
    (_stop(recipients=["ok@example.com", "exa mple.com"]), (), {}, f"{RULE}.recipients[1]: 'exa mple.com' is not a"),
    (_stop(recipients=["example.com", "EXAMPLE.com"]), (), {}, f"{RULE}.recipients[1]: 'EXAMPLE.com' is listed twice"),
    (_stop(recipients=[""]), (), {}, f"{RULE}.recipients[0]: '' is not an address or domain"),
    (_stop(recipients=[5]), (), {}, f"{RULE}.recipients[0]: 5 is not a string"),
    (_stop(recipients="info@example.com"), (), {}, f"{RULE}.recipients: 'info@example.com' is not a list"),
    (
        _stop(recipients=[f"u{i}@example.com" for i in range(101)]),
        (),
        {},
        f"{RULE}.recipients: 101 recipients; SES allows 100 per rule",
    ),
    # mail bucket lifecycle
    (
        {"mailBucket": {"expireAfterDays": 0}},
        (),
        {},
        f"{BUCKET}.expireAfterDays: 0 must be a number of days, at least 1",
    ),
    (
        {"mailBucket": {"expireAfterDays": -5}},
        (),
        {},
        f"{BUCKET}.expireAfterDays: -5 must be a number of days, at least 1",
    ),
    ({"mailBucket": {"expireAfterDays": 1.5}}, (), {}, f"{BUCKET}.expireAfterDays: 1.5 is not a whole number"),
    (
        {"mailBucket": {"noncurrentVersionsExpireAfterDays": 0}},
        (),
        {},
        f"{BUCKET}.noncurrentVersionsExpireAfterDays: 0 must be a number of days, at least 1",
    ),
    (
        {"mailBucket": {"infrequentAccessAfterDays": 29}},
        (),
        {},
        f"{BUCKET}.infrequentAccessAfterDays: 29 must be a number of days, at least 30",
    ),
    (
        {"mailBucket": {"infrequentAccessAfterDays": 90, "expireAfterDays": 90}},
        (),
        {},
        f"{BUCKET}.infrequentAccessAfterDays: 90 must be less than expireAfterDays (90)",
    ),
    (
        {"mailBucket": {"infrequentAccessAfterDays": 91, "expireAfterDays": 90}},
        (),
        {},
        f"{BUCKET}.infrequentAccessAfterDays: 91 must be less than expireAfterDays (90)",
    ),
    # booleans given as strings (or numbers)
    ({}, (), {"takeOverActiveRuleSet": "true"}, "environments.prod.takeOverActiveRuleSet: 'true' is not true or false"),
    ({}, (), {"takeOverActiveRuleSet": 1}, "environments.prod.takeOverActiveRuleSet: 1 is not true or false"),
    (_stop(enabled="false"), (), {}, f"{RULE}.enabled: 'false' is not true or false"),
    (_stop(scanEnabled="true"), (), {}, f"{RULE}.scanEnabled: 'true' is not true or false"),
    (_stop(tlsRequired=0), (), {}, f"{RULE}.tlsRequired: 0 is not true or false"),
    ({"mailBucket": {"expireAfterDays": True}}, (), {}, f"{BUCKET}.expireAfterDays: True is not a whole number"),
    ({"mailBucket": {"expireAfterDays": "30"}}, (), {}, f"{BUCKET}.expireAfterDays: '30' is not a whole number"),
]


@pytest.mark.parametrize(("receiving", "drop", "top", "message"), BAD)
def test_bad_receiving_value_is_one_line_naming_the_key_path(
    receiving: Any, drop: tuple[str, ...], top: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError) as error:
        parse_environment("prod", environment(receiving, drop=drop, **top))
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)


def test_topic_on_add_header_is_an_unknown_setting() -> None:
    with pytest.raises(SettingsError) as error:
        parse_environment("prod", environment(_add_header(topicArn=TOPIC_ARN)))
    assert str(error.value).startswith(f"{ACTION}.topicArn: unknown setting")


def test_bad_bucket_name_is_rejected() -> None:
    with pytest.raises(SettingsError) as error:
        parse_environment("prod", environment(one_rule({"type": "s3", "bucketName": "Bad Bucket"})))
    assert str(error.value).startswith(f"{ACTION}.bucketName: 'Bad Bucket'")


def test_app_prints_one_line_and_exits_nonzero_on_bad_receiving_setting(tmp_path: Path) -> None:
    """app.py as `cdk synth` runs it: a bad receiving value is one line on stderr, exit 1, no traceback, no output."""
    example = cdk_json_context()["environments"]["example"]
    bad_rule = {
        "name": "reject",
        "actions": [{"type": "bounce", "smtpReplyCode": "250", "message": "m", "sender": "a@b.co"}],
    }
    bad = {"example": {**example, "receiving": {"rules": [bad_rule]}}}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"environments": bad}), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and "!!" not in line]
    assert lines == [
        "sesmail: bad setting: environments.example.receiving.rules[0].actions[0].smtpReplyCode: "
        "'250' is not a 5xx SMTP reply code"
    ]
    assert not list(tmp_path.glob("*.template.json"))
