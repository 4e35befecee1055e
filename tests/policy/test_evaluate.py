"""Table-driven tests of the offline IAM evaluation engine (sesmail.policy.evaluate).

Many cases take the example policies of seed 004 (SES and IAM: From address, recipients, display name, feedback
address, API version, time window) and ask for requests that must be allowed and requests that must be denied.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sesmail.policy.evaluate import (
    Decision,
    PolicySource,
    Request,
    evaluate,
    parse_principal,
    statement_applies,
)

ACCT = "123456789012"
OTHER = "111122223333"
REGION = "us-east-1"
IDENTITY = f"arn:aws:ses:{REGION}:{ACCT}:identity/example.com"
USER = f"arn:aws:iam::{ACCT}:user/app"
ROLE = f"arn:aws:iam::{ACCT}:role/service/App"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/App/i-0abc"
OTHER_USER = f"arn:aws:iam::{OTHER}:user/partner"
WORKMAIL = f"workmail.{REGION}.amazonaws.com"
ORG = f"arn:aws:workmail:{REGION}:{ACCT}:organization/m-0123456789abcdef0123456789abcdef"
OTHER_ORG = f"arn:aws:workmail:{REGION}:{OTHER}:organization/m-ffffffffffffffffffffffffffffffff"
SEND = ["ses:SendEmail", "ses:SendRawEmail"]


def stmt(effect: str = "Allow", action: Any = "ses:SendRawEmail", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    """One statement; ``extra`` adds Condition, Principal, NotAction...; a None value leaves the key out."""
    s: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": resource, **extra}
    return {key: value for key, value in s.items() if value is not None}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# Seed 004's example policies, as written there.
FULL_ACCESS = doc(stmt(action=["ses:*"]))
API_V2_ONLY = doc(stmt(action=["ses:*"], Condition={"StringEquals": {"ses:ApiVersion": "2"}}))
SEND_ONLY = doc(stmt(action=SEND))
SEPTEMBER_2018 = doc(
    stmt(
        action=SEND,
        Condition={
            "DateGreaterThan": {"aws:CurrentTime": "2018-08-31T12:00Z"},
            "DateLessThan": {"aws:CurrentTime": "2018-10-01T12:00Z"},
        },
    )
)
RECIPIENTS = doc(stmt(action=SEND, Condition={"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com"]}}))
FROM_MARKETING = doc(stmt(action=SEND, Condition={"StringEquals": {"ses:FromAddress": "marketing@example.com"}}))
BOUNCE_FROM = doc(
    stmt(action=["ses:SendBounce"], Condition={"StringEquals": {"ses:FromAddress": "bounce@example.com"}})
)
DISPLAY_NAME = doc(stmt(action=SEND, Condition={"StringLike": {"ses:FromDisplayName": "Marketing"}}))
FEEDBACK = doc(stmt(action=SEND, Condition={"StringEquals": {"ses:FeedbackAddress": "feedback@example.com"}}))

# The project's WorkMail identity policy (service form) and the seed's hand-made one.
WORKMAIL_POLICY = doc(
    stmt(
        action=SEND,
        resource=IDENTITY,
        Sid="WorkMailSend",
        Principal={"Service": WORKMAIL},
        Condition={"StringEquals": {"aws:SourceAccount": ACCT}, "ArnLike": {"aws:SourceArn": ORG}},
    )
)
SEED_POLICY = doc(
    stmt(
        action=["SES:SendEmail", "SES:SendRawEmail"],
        resource=IDENTITY,
        Sid="AuthorizeFromAddress",
        Principal={"AWS": f"arn:aws:iam::{ACCT}:user/amazon-workmail-us-east-1"},
    )
)


def case(
    case_id: str,
    *,
    allowed: bool,
    reason: str | None = None,
    identity: tuple[dict[str, Any], ...] = (),
    resource: tuple[dict[str, Any], ...] = (),
    principal: str = USER,
    action: str = "ses:SendRawEmail",
    arn: str = IDENTITY,
    context: dict[str, Any] | None = None,
    account: str | None = ACCT,
) -> Any:
    ctx = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in (context or {}).items()}
    return pytest.param(Request(principal, action, arn, ctx), identity, resource, account, allowed, reason, id=case_id)


def op_case(case_id: str, condition: dict[str, Any], context: dict[str, Any] | None, allowed: bool) -> Any:
    """An identity policy allowing SendRawEmail under ``condition``, asked with ``context``."""
    return case(case_id, allowed=allowed, identity=(doc(stmt(Condition=condition)),), context=context)


CASES = [
    # --- seed 004: full access, API version, send-only ---
    case("004-full-access-send", allowed=True, reason="allowed", identity=(FULL_ACCESS,)),
    case("004-full-access-stats", allowed=True, identity=(FULL_ACCESS,), action="ses:GetSendStatistics", arn="*"),
    case(
        "004-full-access-not-s3", allowed=False, reason="implicit-deny", identity=(FULL_ACCESS,), action="s3:GetObject"
    ),
    case("004-apiv2-v2", allowed=True, identity=(API_V2_ONLY,), context={"ses:ApiVersion": "2"}),
    case("004-apiv2-v1", allowed=False, identity=(API_V2_ONLY,), context={"ses:ApiVersion": "1"}),
    case("004-apiv2-absent", allowed=False, reason="implicit-deny", identity=(API_V2_ONLY,)),
    case("004-send-only-sendemail", allowed=True, identity=(SEND_ONLY,), action="ses:SendEmail"),
    case("004-send-only-stats", allowed=False, identity=(SEND_ONLY,), action="ses:GetSendStatistics", arn="*"),
    case("004-send-only-bulk", allowed=False, identity=(SEND_ONLY,), action="ses:SendBulkEmail"),
    # --- seed 004: time window (September 2018) ---
    case(
        "004-window-inside",
        allowed=True,
        identity=(SEPTEMBER_2018,),
        context={"aws:CurrentTime": "2018-09-15T00:00:00Z"},
    ),
    case(
        "004-window-after",
        allowed=False,
        identity=(SEPTEMBER_2018,),
        context={"aws:CurrentTime": "2018-10-02T00:00:00Z"},
    ),
    case(
        "004-window-before", allowed=False, identity=(SEPTEMBER_2018,), context={"aws:CurrentTime": "2018-08-31T11:59Z"}
    ),
    case("004-window-epoch", allowed=True, identity=(SEPTEMBER_2018,), context={"aws:CurrentTime": "1536969600"}),
    case(
        "004-window-offset-before-end",
        allowed=True,
        identity=(SEPTEMBER_2018,),
        context={"aws:CurrentTime": "2018-10-01T20:00+09:00"},
    ),
    case(
        "004-window-offset-after-end",
        allowed=False,
        identity=(SEPTEMBER_2018,),
        context={"aws:CurrentTime": "2018-10-01T21:30+09:00"},
    ),
    case("004-window-no-time", allowed=False, identity=(SEPTEMBER_2018,)),
    # --- seed 004: recipients (ForAllValues:StringLike) ---
    case(
        "004-recipients-all-inside",
        allowed=True,
        identity=(RECIPIENTS,),
        context={"ses:Recipients": ["a@example.com", "b@example.com"]},
    ),
    case(
        "004-recipients-one-outside",
        allowed=False,
        identity=(RECIPIENTS,),
        context={"ses:Recipients": ["a@example.com", "x@evil.test"]},
    ),
    case(
        "004-recipients-case-sensitive",
        allowed=False,
        identity=(RECIPIENTS,),
        context={"ses:Recipients": ["A@EXAMPLE.COM"]},
    ),
    case("004-recipients-empty-set-is-true", allowed=True, identity=(RECIPIENTS,), context={"ses:Recipients": []}),
    case("004-recipients-absent-is-true", allowed=True, identity=(RECIPIENTS,)),
    case(
        "004-recipients-subdomain",
        allowed=False,
        identity=(RECIPIENTS,),
        context={"ses:Recipients": ["a@mail.example.com"]},
    ),
    # --- seed 004: From address, SendBounce, display name, feedback address ---
    case(
        "004-from-marketing",
        allowed=True,
        identity=(FROM_MARKETING,),
        context={"ses:FromAddress": "marketing@example.com"},
    ),
    case("004-from-other", allowed=False, identity=(FROM_MARKETING,), context={"ses:FromAddress": "info@example.com"}),
    case(
        "004-from-case", allowed=False, identity=(FROM_MARKETING,), context={"ses:FromAddress": "Marketing@example.com"}
    ),
    case("004-from-absent", allowed=False, identity=(FROM_MARKETING,)),
    case(
        "004-from-key-name-case",
        allowed=True,
        identity=(FROM_MARKETING,),
        context={"SES:FROMADDRESS": "marketing@example.com"},
    ),
    case(
        "004-bounce-from",
        allowed=True,
        identity=(BOUNCE_FROM,),
        action="ses:SendBounce",
        context={"ses:FromAddress": "bounce@example.com"},
    ),
    case(
        "004-bounce-policy-not-send",
        allowed=False,
        identity=(BOUNCE_FROM,),
        action="ses:SendEmail",
        context={"ses:FromAddress": "bounce@example.com"},
    ),
    case(
        "004-display-name-exact", allowed=True, identity=(DISPLAY_NAME,), context={"ses:FromDisplayName": "Marketing"}
    ),
    case(
        "004-display-name-longer",
        allowed=False,
        identity=(DISPLAY_NAME,),
        context={"ses:FromDisplayName": "Marketing Team"},
    ),
    case(
        "004-display-name-lower", allowed=False, identity=(DISPLAY_NAME,), context={"ses:FromDisplayName": "marketing"}
    ),
    case("004-feedback", allowed=True, identity=(FEEDBACK,), context={"ses:FeedbackAddress": "feedback@example.com"}),
    case(
        "004-feedback-other",
        allowed=False,
        identity=(FEEDBACK,),
        context={"ses:FeedbackAddress": "bounces@example.com"},
    ),
    # --- string operators ---
    op_case(
        "string-not-equals-other",
        {"StringNotEquals": {"ses:FromAddress": "ceo@example.com"}},
        {"ses:FromAddress": "info@example.com"},
        True,
    ),
    op_case(
        "string-not-equals-listed",
        {"StringNotEquals": {"ses:FromAddress": ["ceo@example.com", "cfo@example.com"]}},
        {"ses:FromAddress": "cfo@example.com"},
        False,
    ),
    op_case(
        "string-not-equals-absent-is-true", {"StringNotEquals": {"ses:FromAddress": "ceo@example.com"}}, None, True
    ),
    op_case(
        "string-equals-values-ored",
        {"StringEquals": {"ses:FromAddress": ["info@example.com", "support@example.com"]}},
        {"ses:FromAddress": "support@example.com"},
        True,
    ),
    op_case(
        "string-equals-keys-anded",
        {"StringEquals": {"ses:FromAddress": "info@example.com", "ses:FeedbackAddress": "fb@example.com"}},
        {"ses:FromAddress": "info@example.com"},
        False,
    ),
    op_case(
        "string-equals-ignore-case",
        {"StringEqualsIgnoreCase": {"ses:FromAddress": "INFO@Example.com"}},
        {"ses:FromAddress": "info@example.com"},
        True,
    ),
    op_case(
        "string-not-equals-ignore-case",
        {"StringNotEqualsIgnoreCase": {"ses:FromAddress": "INFO@Example.com"}},
        {"ses:FromAddress": "info@example.com"},
        False,
    ),
    op_case(
        "string-like-question-mark",
        {"StringLike": {"ses:FromAddress": "info?@example.com"}},
        {"ses:FromAddress": "info1@example.com"},
        True,
    ),
    op_case(
        "string-not-like",
        {"StringNotLike": {"ses:FromAddress": "*@example.com"}},
        {"ses:FromAddress": "x@evil.test"},
        True,
    ),
    op_case(
        "string-not-like-matching",
        {"StringNotLike": {"ses:FromAddress": "*@example.com"}},
        {"ses:FromAddress": "x@example.com"},
        False,
    ),
    op_case(
        "string-equals-multivalued-any",
        {"StringEquals": {"ses:Recipients": "a@example.com"}},
        {"ses:Recipients": ["z@x.test", "a@example.com"]},
        True,
    ),
    op_case(
        "operators-anded",
        {"StringEquals": {"ses:FromAddress": "info@example.com"}, "Bool": {"aws:SecureTransport": "true"}},
        {"ses:FromAddress": "info@example.com", "aws:SecureTransport": "false"},
        False,
    ),
    # --- ARN operators ---
    op_case(
        "arn-like-org",
        {"ArnLike": {"aws:SourceArn": f"arn:aws:workmail:{REGION}:{ACCT}:organization/*"}},
        {"aws:SourceArn": ORG},
        True,
    ),
    op_case(
        "arn-like-other-account",
        {"ArnLike": {"aws:SourceArn": f"arn:aws:workmail:{REGION}:{ACCT}:organization/*"}},
        {"aws:SourceArn": OTHER_ORG},
        False,
    ),
    op_case(
        "arn-equals-region-wildcard",
        {"ArnEquals": {"aws:SourceArn": f"arn:aws:workmail:us-*:{ACCT}:organization/*"}},
        {"aws:SourceArn": ORG},
        True,
    ),
    op_case(
        "arn-segment-wildcard",
        {"ArnLike": {"aws:SourceArn": f"arn:aws:*:{REGION}:{ACCT}:organization/*"}},
        {"aws:SourceArn": ORG},
        True,
    ),
    op_case(
        "arn-segment-wildcard-does-not-span",
        {"ArnLike": {"aws:SourceArn": f"arn:aws:*:{REGION}:{ACCT}:organization/*"}},
        {"aws:SourceArn": f"arn:aws:workmail:eu-west-1:{REGION}:{ACCT}:organization/m-1"},
        False,
    ),
    op_case("arn-like-not-an-arn", {"ArnLike": {"aws:SourceArn": "*"}}, {"aws:SourceArn": "example.com"}, False),
    op_case("arn-not-like-absent-is-true", {"ArnNotLike": {"aws:SourceArn": OTHER_ORG}}, None, True),
    # --- numeric, date, bool, IP, binary, null ---
    op_case("numeric-lte-inside", {"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
    op_case("numeric-lte-over", {"NumericLessThanEquals": {"s3:max-keys": 10}}, {"s3:max-keys": "11"}, False),
    op_case("numeric-not-a-number", {"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"}, False),
    op_case("numeric-greater-than-decimal", {"NumericGreaterThan": {"s3:max-keys": "1.5"}}, {"s3:max-keys": "2"}, True),
    op_case("numeric-not-equals-absent", {"NumericNotEquals": {"s3:max-keys": "1"}}, None, True),
    op_case(
        "date-gte-epoch-policy",
        {"DateGreaterThanEquals": {"aws:EpochTime": "1535716800"}},
        {"aws:EpochTime": "1535716800"},
        True,
    ),
    op_case(
        "date-equals-iso",
        {"DateEquals": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2026-01-01"},
        True,
    ),
    op_case(
        "date-not-equals",
        {"DateNotEquals": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2026-01-02"},
        True,
    ),
    op_case("bool-json-true", {"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"}, True),
    op_case("bool-mismatch", {"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"}, False),
    op_case("bool-absent-is-false", {"Bool": {"aws:SecureTransport": "true"}}, None, False),
    op_case("ip-in-cidr", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.7"}, True),
    op_case(
        "ip-outside-cidr",
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}},
        {"aws:SourceIp": "198.51.100.1"},
        False,
    ),
    op_case(
        "ip-v6",
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}},
        {"aws:SourceIp": "2001:db8::5"},
        True,
    ),
    op_case(
        "not-ip-address", {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.9"}, False
    ),
    op_case("binary-equals", {"BinaryEquals": {"ses:Key": "aGVsbG8="}}, {"ses:Key": "aGVsbG8="}, True),
    op_case("null-true-absent", {"Null": {"ses:FromAddress": "true"}}, None, True),
    op_case("null-true-present", {"Null": {"ses:FromAddress": "true"}}, {"ses:FromAddress": "a@example.com"}, False),
    op_case("null-false-present", {"Null": {"ses:FromAddress": "false"}}, {"ses:FromAddress": "a@example.com"}, True),
    # --- IfExists and set qualifiers ---
    op_case("if-exists-absent", {"StringEqualsIfExists": {"ses:FromAddress": "info@example.com"}}, None, True),
    op_case(
        "if-exists-present-mismatch",
        {"StringEqualsIfExists": {"ses:FromAddress": "info@example.com"}},
        {"ses:FromAddress": "x@example.com"},
        False,
    ),
    op_case("numeric-if-exists-absent", {"NumericLessThanIfExists": {"s3:max-keys": "5"}}, None, True),
    op_case(
        "for-any-value-absent-is-false", {"ForAnyValue:StringLike": {"ses:Recipients": "*@example.com"}}, None, False
    ),
    op_case(
        "for-any-value-empty-is-false",
        {"ForAnyValue:StringLike": {"ses:Recipients": "*@example.com"}},
        {"ses:Recipients": []},
        False,
    ),
    op_case(
        "for-any-value-one-match",
        {"ForAnyValue:StringLike": {"ses:Recipients": "*@example.com"}},
        {"ses:Recipients": ["x@evil.test", "a@example.com"]},
        True,
    ),
    op_case(
        "for-all-values-guarded-empty",
        {"ForAllValues:StringLike": {"ses:Recipients": "*@example.com"}, "Null": {"ses:Recipients": "false"}},
        {"ses:Recipients": []},
        False,
    ),
    op_case(
        "for-all-values-guarded-inside",
        {"ForAllValues:StringLike": {"ses:Recipients": "*@example.com"}, "Null": {"ses:Recipients": "false"}},
        {"ses:Recipients": ["a@example.com"]},
        True,
    ),
    op_case(
        "for-all-values-not-equals",
        {"ForAllValues:StringNotEquals": {"ses:Recipients": "ceo@example.com"}},
        {"ses:Recipients": ["a@example.com", "ceo@example.com"]},
        False,
    ),
    op_case(
        "for-any-value-not-equals",
        {"ForAnyValue:StringNotEquals": {"ses:Recipients": "ceo@example.com"}},
        {"ses:Recipients": ["a@example.com", "ceo@example.com"]},
        True,
    ),
    op_case(
        "unknown-operator-never-matches",
        {"StringEqualz": {"ses:FromAddress": "info@example.com"}},
        {"ses:FromAddress": "info@example.com"},
        False,
    ),
    # --- explicit deny, NotAction, NotResource, wildcards, variables ---
    case(
        "deny-beats-allow",
        allowed=False,
        reason="explicit-deny",
        identity=(
            FULL_ACCESS,
            doc(stmt("Deny", "ses:Send*", Condition={"StringNotLike": {"ses:FromAddress": "*@example.com"}})),
        ),
        context={"ses:FromAddress": "x@evil.test"},
    ),
    case(
        "deny-condition-not-met",
        allowed=True,
        identity=(
            FULL_ACCESS,
            doc(stmt("Deny", "ses:Send*", Condition={"StringNotLike": {"ses:FromAddress": "*@example.com"}})),
        ),
        context={"ses:FromAddress": "info@example.com"},
    ),
    case(
        "resource-deny-beats-identity-allow",
        allowed=False,
        reason="explicit-deny",
        identity=(SEND_ONLY,),
        resource=(
            doc(stmt("Deny", SEND, IDENTITY, Principal="*", Condition={"Bool": {"aws:SecureTransport": False}})),
        ),
        context={"aws:SecureTransport": "false"},
    ),
    case(
        "not-action-deny",
        allowed=False,
        reason="explicit-deny",
        identity=(FULL_ACCESS, doc(stmt("Deny", None, NotAction=SEND))),
        action="ses:DeleteIdentity",
    ),
    case(
        "not-action-deny-spares-send",
        allowed=True,
        identity=(FULL_ACCESS, doc(stmt("Deny", None, NotAction=SEND))),
        action="ses:SendEmail",
    ),
    case(
        "not-resource-allow",
        allowed=True,
        identity=(doc(stmt(resource=None, NotResource=f"arn:aws:ses:*:{ACCT}:identity/secret.example.com")),),
    ),
    case("not-resource-excluded", allowed=False, identity=(doc(stmt(resource=None, NotResource=IDENTITY)),)),
    case("action-case-insensitive", allowed=True, identity=(doc(stmt(action="SES:sendrawemail")),)),
    case(
        "action-wildcard-prefix",
        allowed=True,
        identity=(doc(stmt(action="ses:Send*Email")),),
        action="ses:SendTemplatedEmail",
    ),
    case(
        "resource-case-sensitive",
        allowed=False,
        identity=(doc(stmt(resource=IDENTITY)),),
        arn=IDENTITY.replace("example", "Example"),
    ),
    case(
        "resource-identity-wildcard",
        allowed=True,
        identity=(doc(stmt(resource=f"arn:aws:ses:{REGION}:{ACCT}:identity/*")),),
    ),
    case(
        "resource-other-region-never-matches",
        allowed=False,
        identity=(doc(stmt(resource=IDENTITY.replace(REGION, "eu-west-1"))),),
    ),
    case(
        "policy-variable-own-prefix",
        allowed=True,
        identity=(doc(stmt(action="s3:GetObject", resource="arn:aws:s3:::mail/${aws:username}/*")),),
        action="s3:GetObject",
        arn="arn:aws:s3:::mail/app/1.eml",
    ),
    case(
        "policy-variable-other-prefix",
        allowed=False,
        identity=(doc(stmt(action="s3:GetObject", resource="arn:aws:s3:::mail/${aws:username}/*")),),
        action="s3:GetObject",
        arn="arn:aws:s3:::mail/bob/1.eml",
    ),
    case(
        "unresolved-not-resource-never-applies",
        allowed=False,
        identity=(doc(stmt(resource=None, NotResource='${Unresolved:{"Ref":"Secret"}}')),),
    ),
    case(
        "unresolved-resource-never-matches",
        allowed=False,
        identity=(doc(stmt(resource='${Unresolved:{"Ref":"Identity"}}')),),
    ),
    # --- principals, resource policies, cross-account ---
    case("resource-policy-names-user", allowed=True, resource=(doc(stmt(resource=IDENTITY, Principal={"AWS": USER})),)),
    case(
        "resource-policy-names-account-delegates",
        allowed=False,
        reason="implicit-deny",
        resource=(doc(stmt(resource=IDENTITY, Principal={"AWS": ACCT})),),
    ),
    case(
        "resource-policy-account-plus-identity",
        allowed=True,
        identity=(SEND_ONLY,),
        resource=(doc(stmt(resource=IDENTITY, Principal={"AWS": f"arn:aws:iam::{ACCT}:root"})),),
    ),
    case(
        "resource-policy-role-covers-session",
        allowed=True,
        principal=SESSION,
        resource=(doc(stmt(resource=IDENTITY, Principal={"AWS": ROLE})),),
    ),
    case(
        "resource-policy-other-user",
        allowed=False,
        resource=(doc(stmt(resource=IDENTITY, Principal={"AWS": f"arn:aws:iam::{ACCT}:user/bob"})),),
    ),
    case(
        "not-principal-deny-others",
        allowed=False,
        reason="explicit-deny",
        principal=f"arn:aws:iam::{ACCT}:user/bob",
        identity=(SEND_ONLY,),
        resource=(doc(stmt("Deny", resource=IDENTITY, NotPrincipal={"AWS": [USER, f"arn:aws:iam::{ACCT}:root"]})),),
    ),
    case(
        "not-principal-spares-listed",
        allowed=True,
        identity=(SEND_ONLY,),
        resource=(doc(stmt("Deny", resource=IDENTITY, NotPrincipal={"AWS": [USER, f"arn:aws:iam::{ACCT}:root"]})),),
    ),
    case(
        "cross-account-identity-only",
        allowed=False,
        reason="cross-account-needs-both",
        principal=OTHER_USER,
        identity=(SEND_ONLY,),
    ),
    case(
        "cross-account-resource-only",
        allowed=False,
        reason="cross-account-needs-both",
        principal=OTHER_USER,
        resource=(doc(stmt(resource=IDENTITY, Principal={"AWS": OTHER})),),
    ),
    case(
        "cross-account-both",
        allowed=True,
        reason="allowed",
        principal=OTHER_USER,
        identity=(SEND_ONLY,),
        resource=(doc(stmt(resource=IDENTITY, Principal={"AWS": OTHER})),),
    ),
    case(
        "cross-account-root-needs-resource-only",
        allowed=True,
        principal=f"arn:aws:iam::{OTHER}:root",
        resource=(doc(stmt(resource=IDENTITY, Principal={"AWS": f"arn:aws:iam::{OTHER}:root"})),),
    ),
    case("cross-account-neither", allowed=False, reason="implicit-deny", principal=OTHER_USER),
    # --- WorkMail: the project's service-principal policy and the seed's user principal ---
    case(
        "workmail-own-org",
        allowed=True,
        reason="allowed",
        principal=WORKMAIL,
        resource=(WORKMAIL_POLICY,),
        context={"aws:SourceAccount": ACCT, "aws:SourceArn": ORG},
    ),
    case(
        "workmail-confused-deputy",
        allowed=False,
        reason="implicit-deny",
        principal=WORKMAIL,
        resource=(WORKMAIL_POLICY,),
        context={"aws:SourceAccount": OTHER, "aws:SourceArn": OTHER_ORG},
    ),
    case("workmail-no-source-context", allowed=False, principal=WORKMAIL, resource=(WORKMAIL_POLICY,)),
    case(
        "workmail-other-region-service",
        allowed=False,
        principal="workmail.eu-west-1.amazonaws.com",
        resource=(WORKMAIL_POLICY,),
        context={"aws:SourceAccount": ACCT, "aws:SourceArn": ORG},
    ),
    case(
        "workmail-identity-policies-ignored",
        allowed=False,
        principal=WORKMAIL,
        identity=(FULL_ACCESS,),
        context={"aws:SourceAccount": ACCT, "aws:SourceArn": ORG},
    ),
    case(
        "seed-user-principal-denies-workmail",
        allowed=False,
        reason="implicit-deny",
        principal=WORKMAIL,
        resource=(SEED_POLICY,),
        context={"aws:SourceAccount": ACCT, "aws:SourceArn": ORG},
    ),
    case(
        "seed-user-principal-allows-that-user",
        allowed=True,
        principal=f"arn:aws:iam::{ACCT}:user/amazon-workmail-us-east-1",
        resource=(SEED_POLICY,),
    ),
    case(
        "derived-principal-account-key",
        allowed=True,
        identity=(doc(stmt(Condition={"StringEquals": {"aws:PrincipalAccount": ACCT, "aws:PrincipalType": "User"}})),),
    ),
    case(
        "derived-principal-arn-key-role",
        allowed=True,
        principal=SESSION,
        identity=(doc(stmt(Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:role/App"}})),),
    ),
]


@pytest.mark.parametrize(("request_", "identity", "resource", "account", "allowed", "reason"), CASES)
def test_evaluation_table(
    request_: Request,
    identity: tuple[dict[str, Any], ...],
    resource: tuple[dict[str, Any], ...],
    account: str | None,
    allowed: bool,
    reason: str | None,
) -> None:
    decision = evaluate(
        request_,
        identity_policies=[PolicySource(f"id{i}", d, "identity") for i, d in enumerate(identity)],
        resource_policies=[PolicySource(f"res{i}", d, "resource") for i, d in enumerate(resource)],
        resource_account=account,
    )
    assert decision.allowed is allowed, decision
    if reason is not None:
        assert decision.reason == reason, decision
    if allowed:
        assert decision.reason == "allowed"
        assert decision.deciding or parse_principal(request_.principal).kind == "account"
        assert all(m.effect == "Allow" for m in decision.deciding)
    elif decision.reason == "explicit-deny":
        assert decision.deciding and all(m.effect == "Deny" for m in decision.deciding)


def test_table_has_at_least_60_cases() -> None:
    assert len(CASES) >= 60
    assert sum(1 for c in CASES if c.id.startswith("004-")) >= 25


def test_deciding_statements_are_labelled_by_sid_or_index() -> None:
    identity = PolicySource("app.template.json:AppPolicy", doc(stmt(action="s3:*"), stmt(action=SEND)), "identity")
    resource = PolicySource("app.template.json:Identity", WORKMAIL_POLICY, "resource")
    decision = evaluate(
        Request(USER, "ses:SendEmail", IDENTITY),
        identity_policies=[identity],
        resource_policies=[resource],
        resource_account=ACCT,
    )
    assert [m.label for m in decision.deciding] == ["app.template.json:AppPolicy:1"]
    denied = evaluate(
        Request(WORKMAIL, "ses:SendEmail", IDENTITY, {"aws:SourceAccount": (ACCT,), "aws:SourceArn": (ORG,)}),
        identity_policies=[],
        resource_policies=[resource],
        resource_account=ACCT,
    )
    assert [m.label for m in denied.deciding] == ["app.template.json:Identity:WorkMailSend"]


def test_to_json_round_trips_and_carries_notes() -> None:
    policy = doc(stmt(Condition={"StringEqualz": {"ses:FromAddress": "a@example.com"}}))
    decision = evaluate(
        Request(USER, "ses:SendRawEmail", IDENTITY, {"ses:FromAddress": ("a@example.com",)}),
        identity_policies=[PolicySource("t:P", policy, "identity")],
        resource_policies=[],
        resource_account=ACCT,
    )
    data = json.loads(json.dumps(decision.to_json()))
    assert data["decision"] == "DENY"
    assert data["reason"] == "implicit-deny"
    assert any("StringEqualz" in note for note in data["notes"])
    allowed = evaluate(
        Request(USER, "ses:SendRawEmail", IDENTITY),
        identity_policies=[PolicySource("t:P", SEND_ONLY, "identity")],
        resource_policies=[],
        resource_account=ACCT,
    ).to_json()
    assert allowed["decision"] == "ALLOW"
    assert allowed["deciding"][0]["label"] == "t:P:0"
    assert allowed["deciding"][0]["statement"]["Action"] == SEND


def test_cross_account_decision_says_which_side_is_missing() -> None:
    decision = evaluate(
        Request(OTHER_USER, "ses:SendRawEmail", IDENTITY),
        identity_policies=[PolicySource("t:P", SEND_ONLY, "identity")],
        resource_policies=[],
        resource_account=ACCT,
    )
    assert isinstance(decision, Decision)
    assert decision.reason == "cross-account-needs-both"
    assert [m.label for m in decision.deciding] == ["t:P:0"]
    assert any("no resource-policy allow" in note for note in decision.notes)


def test_unknown_resource_account_is_judged_as_same_account() -> None:
    decision = evaluate(
        Request(OTHER_USER, "ses:SendRawEmail", IDENTITY),
        identity_policies=[PolicySource("t:P", SEND_ONLY, "identity")],
        resource_policies=[],
        resource_account=None,
    )
    assert decision.allowed


@pytest.mark.parametrize(
    ("principal", "kind", "account"),
    [
        (USER, "user", ACCT),
        (ROLE, "role", ACCT),
        (SESSION, "assumed-role", ACCT),
        (f"arn:aws:iam::{OTHER}:root", "account", OTHER),
        (OTHER, "account", OTHER),
        (WORKMAIL, "service", None),
        (f"arn:aws-cn:iam::{ACCT}:user/a", "user", ACCT),
    ],
)
def test_parse_principal(principal: str, kind: str, account: str | None) -> None:
    parsed = parse_principal(principal)
    assert (parsed.kind, parsed.account) == (kind, account)


@pytest.mark.parametrize("bad", ["", "app", "arn:aws:s3:::bucket", "arn:aws:iam::12345:user/x", "workmail"])
def test_parse_principal_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="principal"):
        parse_principal(bad)


def test_statement_applies_ignores_effect_and_checks_principal() -> None:
    request = Request(WORKMAIL, "ses:SendRawEmail", IDENTITY, {"aws:SourceAccount": (ACCT,), "aws:SourceArn": (ORG,)})
    statement = WORKMAIL_POLICY["Statement"][0]
    assert statement_applies(statement, request)
    assert statement_applies({**statement, "Effect": "Deny"}, request)
    assert not statement_applies(SEED_POLICY["Statement"][0], request)
    assert not statement_applies(statement, Request(WORKMAIL, "ses:SendRawEmail", IDENTITY))
