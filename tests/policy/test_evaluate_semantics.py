"""More of IAM's documented evaluation rules, as a table (sesmail.policy.evaluate).

Each group of cases quotes the AWS sentence it rests on. Together with ``test_evaluate.CASES`` the evaluation table
holds at least 250 cases: ``test_the_evaluation_tables_hold_at_least_250_cases`` counts both lists (one case = one
request evaluated against its policies, with the expected ALLOW/DENY and, where it matters, reason and definiteness).
"""

from __future__ import annotations

from typing import Any

import pytest

from sesmail.policy.evaluate import NOT_MODELLED, PolicySource, Request, evaluate, explicit_resource_allow
from tests.policy import test_evaluate as base
from tests.policy.test_evaluate import ACCT, IDENTITY, OTHER, ROLE, SESSION, USER, doc, stmt

KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = KEY.replace(ACCT, OTHER)
ROOT = f"arn:aws:iam::{ACCT}:root"
OTHER_ROOT = f"arn:aws:iam::{OTHER}:root"
OTHER_ROLE = f"arn:aws:iam::{OTHER}:role/Partner"
TARGET_ROLE = f"arn:aws:iam::{ACCT}:role/Target"
UNRESOLVED = '${Unresolved:{"Ref":"Thing"}}'
BUCKET_OBJECT = "arn:aws:s3:::mail/app/1.eml"
TEAM = "${aws:PrincipalTag/Team}"


def case(
    case_id: str,
    *,
    allowed: bool,
    reason: str | None = None,
    definite: bool | None = None,
    identity: tuple[dict[str, Any], ...] = (),
    resource: tuple[dict[str, Any], ...] = (),
    principal: str = USER,
    action: str = "ses:SendRawEmail",
    arn: str = IDENTITY,
    context: dict[str, Any] | None = None,
    account: str | None = ACCT,
) -> Any:
    ctx = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in (context or {}).items()}
    request = Request(principal, action, arn, ctx)
    return pytest.param(request, identity, resource, account, allowed, reason, definite, id=case_id)


CASES: list[Any] = []

# --- policy variables with no value in conditions ----------------------------------------------------------------
# IAM User Guide, "IAM policy elements: Variables and tags", Policy variables with no value: "When you use a variable
# with no value in the condition element of an IAM policy, IAM JSON policy elements: Condition operators like
# StringEquals or StringLike do not match, and the policy statement does not take effect. Inverted condition operators
# like StringNotEquals or StringNotLike do match against a null value, as the value of the condition key they are
# testing against is not equal to or like the effectively null value."
_STRING_OPERATORS = {
    "StringEquals": False,
    "StringNotEquals": True,
    "StringEqualsIgnoreCase": False,
    "StringNotEqualsIgnoreCase": True,
    "StringLike": False,
    "StringNotLike": True,
}
_ARN_OPERATORS = {"ArnEquals": False, "ArnNotEquals": True, "ArnLike": False, "ArnNotLike": True}
_TAG = "s3:ExistingObjectTag/Team"
for _op, _negated in _STRING_OPERATORS.items():
    _cond = {_op: {_TAG: TEAM}}
    # Allow: the statement takes effect only for a negated operator.
    CASES.append(
        case(
            f"no-value-allow-{_op}",
            allowed=_negated,
            definite=True,
            identity=(doc(stmt(action="s3:GetObject", Condition=_cond)),),
            action="s3:GetObject",
            arn=BUCKET_OBJECT,
            context={_TAG: "mail"},
        )
    )
    # Deny (the guide's own example): a negated operator denies when the principal has no Team tag.
    CASES.append(
        case(
            f"no-value-deny-{_op}",
            allowed=not _negated,
            reason="explicit-deny" if _negated else "allowed",
            definite=True,
            identity=(doc(stmt(action="s3:GetObject")), doc(stmt("Deny", "s3:GetObject", Condition=_cond))),
            action="s3:GetObject",
            arn=BUCKET_OBJECT,
            context={_TAG: "mail"},
        )
    )
    # With a value, the variable is substituted: the tags agree, so only a positive operator matches.
    CASES.append(
        case(
            f"value-agrees-{_op}",
            allowed=not _negated,
            identity=(doc(stmt(action="s3:GetObject", Condition=_cond)),),
            action="s3:GetObject",
            arn=BUCKET_OBJECT,
            context={_TAG: "mail", "aws:PrincipalTag/Team": "mail"},
        )
    )
    CASES.append(
        case(
            f"value-differs-{_op}",
            allowed=_negated,
            identity=(doc(stmt(action="s3:GetObject", Condition=_cond)),),
            action="s3:GetObject",
            arn=BUCKET_OBJECT,
            context={_TAG: "mail", "aws:PrincipalTag/Team": "billing"},
        )
    )
_ORG_PATTERN = "arn:aws:workmail:us-east-1:${aws:PrincipalTag/Account}:organization/*"
for _op, _negated in _ARN_OPERATORS.items():
    _cond = {_op: {"aws:SourceArn": _ORG_PATTERN}}
    CASES.append(
        case(
            f"no-value-allow-{_op}",
            allowed=_negated,
            definite=True,
            identity=(doc(stmt(Condition=_cond)),),
            context={"aws:SourceArn": base.ORG},
        )
    )
    CASES.append(
        case(
            f"no-value-deny-{_op}",
            allowed=not _negated,
            definite=True,
            identity=(base.SEND_ONLY, doc(stmt("Deny", Condition=_cond))),
            context={"aws:SourceArn": base.ORG},
        )
    )
    CASES.append(
        case(
            f"value-agrees-{_op}",
            allowed=not _negated,
            identity=(doc(stmt(Condition=_cond)),),
            context={"aws:SourceArn": base.ORG, "aws:PrincipalTag/Account": ACCT},
        )
    )
# A default value stands in for the missing one (same page, "Specifying default values").
CASES += [
    case(
        "no-value-default-used",
        allowed=True,
        identity=(
            doc(stmt(action="s3:GetObject", Condition={"StringEquals": {_TAG: "${aws:PrincipalTag/Team, 'mail'}"}})),
        ),
        action="s3:GetObject",
        arn=BUCKET_OBJECT,
        context={_TAG: "mail"},
    ),
    case(
        "no-value-default-ignored-when-present",
        allowed=False,
        identity=(
            doc(stmt(action="s3:GetObject", Condition={"StringEquals": {_TAG: "${aws:PrincipalTag/Team, 'mail'}"}})),
        ),
        action="s3:GetObject",
        arn=BUCKET_OBJECT,
        context={_TAG: "mail", "aws:PrincipalTag/Team": "billing"},
    ),
    # A multi-valued key is no single value: IAM "cannot use multivalued context keys as policy variables".
    case(
        "no-value-multivalued-variable-negated-matches",
        allowed=False,
        reason="explicit-deny",
        identity=(
            base.SEND_ONLY,
            doc(stmt("Deny", Condition={"StringNotEquals": {"ses:FromAddress": "${ses:Recipients}"}})),
        ),
        context={"ses:FromAddress": "a@example.com", "ses:Recipients": ["a@example.com", "b@example.com"]},
    ),
]

# --- policy variables with no value in Resource / NotResource ----------------------------------------------------
# Same page: "If a variable that has no value in the authorization context is used as part of the Resource or
# NotResource element of a policy, the resource that includes a policy variable with no value will not match any
# resource."
_OWN_PREFIX = "arn:aws:s3:::mail/${aws:PrincipalTag/Team}/*"
_TEAM_OBJECT = "arn:aws:s3:::mail/sales/1.eml"
CASES += [
    case(
        "no-value-resource-allow-matches-nothing",
        allowed=False,
        identity=(doc(stmt(action="s3:GetObject", resource=_OWN_PREFIX)),),
        action="s3:GetObject",
        arn=_TEAM_OBJECT,
    ),
    case(
        "value-resource-allow-matches",
        allowed=True,
        identity=(doc(stmt(action="s3:GetObject", resource=_OWN_PREFIX)),),
        action="s3:GetObject",
        arn=_TEAM_OBJECT,
        context={"aws:PrincipalTag/Team": "sales"},
    ),
    case(
        "no-value-resource-deny-does-not-apply",
        allowed=True,
        definite=True,
        identity=(doc(stmt(action="s3:*")), doc(stmt("Deny", "s3:GetObject", _OWN_PREFIX))),
        action="s3:GetObject",
        arn=_TEAM_OBJECT,
    ),
    # The bug: an exclusion that cannot match excludes nothing, so the Deny applies.
    case(
        "no-value-not-resource-deny-applies",
        allowed=False,
        reason="explicit-deny",
        definite=True,
        identity=(doc(stmt(action="s3:*")), doc(stmt("Deny", "s3:GetObject", None, NotResource=_OWN_PREFIX))),
        action="s3:GetObject",
        arn=_TEAM_OBJECT,
    ),
    case(
        "value-not-resource-deny-spares-own-prefix",
        allowed=True,
        identity=(doc(stmt(action="s3:*")), doc(stmt("Deny", "s3:GetObject", None, NotResource=_OWN_PREFIX))),
        action="s3:GetObject",
        arn=_TEAM_OBJECT,
        context={"aws:PrincipalTag/Team": "sales"},
    ),
    case(
        "value-not-resource-deny-other-prefix",
        allowed=False,
        reason="explicit-deny",
        identity=(doc(stmt(action="s3:*")), doc(stmt("Deny", "s3:GetObject", None, NotResource=_OWN_PREFIX))),
        action="s3:GetObject",
        arn=_TEAM_OBJECT,
        context={"aws:PrincipalTag/Team": "billing"},
    ),
    case(
        "no-value-not-resource-allow-applies",
        allowed=True,
        identity=(doc(stmt(action="s3:GetObject", resource=None, NotResource=_OWN_PREFIX)),),
        action="s3:GetObject",
        arn=_TEAM_OBJECT,
    ),
    case(
        "no-value-one-of-two-resources",
        allowed=True,
        identity=(doc(stmt(action="s3:GetObject", resource=[_OWN_PREFIX, "arn:aws:s3:::mail/sales/*"])),),
        action="s3:GetObject",
        arn=_TEAM_OBJECT,
    ),
    case(
        "no-value-username-for-role-session",
        allowed=False,
        principal=SESSION,
        identity=(doc(stmt(action="s3:GetObject", resource="arn:aws:s3:::mail/${aws:username}/*")),),
        action="s3:GetObject",
        arn="arn:aws:s3:::mail/App/1.eml",
    ),
]

# --- unresolved values are unknown, not "no match" ---------------------------------------------------------------
# The template extraction writes ${Unresolved:...} for an intrinsic it cannot resolve offline; IAM would see a real
# value. The engine must not let such a value silently turn a Deny off (issue 13): the Deny is reported as uncertain
# and the ALLOW is not definite.
CASES += [
    case(
        "unresolved-deny-condition-allow-not-definite",
        allowed=True,
        definite=False,
        identity=(base.SEND_ONLY, doc(stmt("Deny", Condition={"StringNotEquals": {"ses:FromAddress": UNRESOLVED}}))),
        context={"ses:FromAddress": "a@example.com"},
    ),
    case(
        "unresolved-deny-positive-condition-not-definite",
        allowed=True,
        definite=False,
        identity=(base.SEND_ONLY, doc(stmt("Deny", Condition={"StringEquals": {"ses:FromAddress": UNRESOLVED}}))),
        context={"ses:FromAddress": "a@example.com"},
    ),
    case(
        "unresolved-deny-resource-not-definite",
        allowed=True,
        definite=False,
        identity=(base.SEND_ONLY, doc(stmt("Deny", resource=UNRESOLVED))),
    ),
    case(
        "unresolved-deny-not-resource-not-definite",
        allowed=True,
        definite=False,
        identity=(base.SEND_ONLY, doc(stmt("Deny", resource=None, NotResource=UNRESOLVED))),
    ),
    case(
        "unresolved-deny-principal-not-definite",
        allowed=True,
        definite=False,
        identity=(base.SEND_ONLY,),
        resource=(doc(stmt("Deny", resource=IDENTITY, Principal={"AWS": UNRESOLVED})),),
    ),
    case(
        "unresolved-allow-resource-deny-not-definite",
        allowed=False,
        definite=False,
        identity=(doc(stmt(resource=UNRESOLVED)),),
    ),
    case(
        "unresolved-allow-condition-deny-not-definite",
        allowed=False,
        definite=False,
        identity=(doc(stmt(Condition={"StringEquals": {"ses:FromAddress": UNRESOLVED}})),),
        context={"ses:FromAddress": "a@example.com"},
    ),
    case(
        "unresolved-beside-a-matching-value-is-definite",
        allowed=True,
        definite=True,
        identity=(doc(stmt(Condition={"StringEquals": {"ses:FromAddress": [UNRESOLVED, "a@example.com"]}})),),
        context={"ses:FromAddress": "a@example.com"},
    ),
    case(
        "unresolved-and-a-false-condition-is-definite",
        allowed=True,
        definite=True,
        identity=(
            base.SEND_ONLY,
            doc(
                stmt(
                    "Deny",
                    Condition={
                        "StringEquals": {"ses:FromAddress": UNRESOLVED},
                        "Bool": {"aws:SecureTransport": "false"},
                    },
                )
            ),
        ),
        context={"ses:FromAddress": "a@example.com", "aws:SecureTransport": "true"},
    ),
    case(
        "unresolved-deny-under-a-certain-deny-is-definite",
        allowed=False,
        reason="explicit-deny",
        definite=True,
        identity=(base.SEND_ONLY, doc(stmt("Deny")), doc(stmt("Deny", resource=UNRESOLVED))),
    ),
    case(
        "unresolved-numeric-deny-not-definite",
        allowed=True,
        definite=False,
        identity=(
            doc(stmt(action="s3:ListBucket", resource="arn:aws:s3:::mail")),
            doc(
                stmt(
                    "Deny",
                    "s3:ListBucket",
                    "arn:aws:s3:::mail",
                    Condition={"NumericGreaterThan": {"s3:max-keys": UNRESOLVED}},
                )
            ),
        ),
        action="s3:ListBucket",
        arn="arn:aws:s3:::mail",
        context={"s3:max-keys": "5"},
    ),
]

# --- KMS key policies must allow ---------------------------------------------------------------------------------
# KMS Developer Guide, "Key policies in AWS KMS": "Unless the key policy explicitly allows it, you cannot use IAM
# policies to allow access to a KMS key. Without permission from the key policy, IAM policies that allow permissions
# have no effect. (You can use an IAM policy to deny a permission to a KMS key without permission from a key policy.)"
# IAM User Guide, "Policy evaluation logic": "IAM role trust policies and KMS key policies are exceptions to this
# logic, because they must explicitly allow access for principals."
_KMS_ID = doc(stmt(action=["kms:Decrypt", "kms:Encrypt"], resource=KEY))
_DELEGATE = doc(stmt(action="kms:*", resource="*", Principal={"AWS": ROOT}, Sid="EnableIAM"))
_DELEGATE_BARE = doc(stmt(action="kms:*", resource="*", Principal={"AWS": ACCT}))
_KEY_ROLE = doc(stmt(action="kms:Decrypt", resource="*", Principal={"AWS": ROLE}))
_KEY_USER = doc(stmt(action="kms:Decrypt", resource="*", Principal={"AWS": USER}))
_KEY_OTHER_ACCOUNT = doc(stmt(action="kms:Decrypt", resource="*", Principal={"AWS": OTHER_ROOT}))


def _kms(case_id: str, **kwargs: Any) -> Any:
    return case(case_id, action=kwargs.pop("action", "kms:Decrypt"), arn=kwargs.pop("arn", KEY), **kwargs)


CASES += [
    _kms("kms-identity-allow-no-key-policy-seen", allowed=False, reason="implicit-deny", identity=(_KMS_ID,)),
    _kms("kms-identity-allow-key-policy-silent", allowed=False, identity=(_KMS_ID,), resource=(_KEY_ROLE,)),
    _kms("kms-key-policy-delegates-plus-identity", allowed=True, identity=(_KMS_ID,), resource=(_DELEGATE,)),
    _kms("kms-key-policy-delegates-bare-account", allowed=True, identity=(_KMS_ID,), resource=(_DELEGATE_BARE,)),
    _kms("kms-key-policy-delegates-no-identity", allowed=False, resource=(_DELEGATE,)),
    _kms("kms-key-policy-names-user-alone", allowed=True, resource=(_KEY_USER,)),
    _kms("kms-key-policy-names-role-session", allowed=True, principal=SESSION, resource=(_KEY_ROLE,)),
    _kms("kms-key-policy-names-other-user", allowed=False, identity=(_KMS_ID,), resource=(_KEY_ROLE,)),
    _kms(
        "kms-identity-deny-without-key-policy-permission",
        allowed=False,
        reason="explicit-deny",
        identity=(doc(stmt("Deny", "kms:Decrypt", KEY)),),
        resource=(_KEY_USER,),
    ),
    _kms(
        "kms-key-policy-deny",
        allowed=False,
        reason="explicit-deny",
        identity=(_KMS_ID,),
        resource=(
            doc(
                stmt(action="kms:*", resource="*", Principal={"AWS": ROOT}),
                stmt("Deny", "kms:Decrypt", "*", Principal="*"),
            ),
        ),
    ),
    _kms("kms-root-user-with-delegation", allowed=True, principal=ROOT, resource=(_DELEGATE,)),
    _kms("kms-root-user-without-key-policy", allowed=False, principal=ROOT),
    _kms(
        "kms-action-not-in-key-policy", allowed=False, action="kms:Encrypt", identity=(_KMS_ID,), resource=(_KEY_USER,)
    ),
    _kms(
        "kms-cross-account-both",
        allowed=True,
        principal=f"arn:aws:iam::{OTHER}:user/partner",
        identity=(doc(stmt(action="kms:Decrypt", resource=KEY)),),
        resource=(_KEY_OTHER_ACCOUNT,),
    ),
    _kms(
        "kms-cross-account-key-policy-only",
        allowed=False,
        reason="cross-account-needs-both",
        principal=f"arn:aws:iam::{OTHER}:user/partner",
        resource=(_KEY_OTHER_ACCOUNT,),
    ),
    _kms(
        "kms-cross-account-identity-only",
        allowed=False,
        reason="cross-account-needs-both",
        principal=f"arn:aws:iam::{OTHER}:user/partner",
        identity=(doc(stmt(action="kms:Decrypt", resource=KEY)),),
    ),
    _kms(
        "kms-service-principal-in-key-policy",
        allowed=True,
        principal="ses.amazonaws.com",
        resource=(
            doc(
                stmt(
                    action=["kms:GenerateDataKey*", "kms:Encrypt"],
                    resource="*",
                    Principal={"Service": "ses.amazonaws.com"},
                )
            ),
        ),
        action="kms:GenerateDataKey",
    ),
    _kms(
        "kms-star-principal-with-caller-account",
        allowed=True,
        resource=(
            doc(
                stmt(
                    action="kms:Decrypt",
                    resource="*",
                    Principal="*",
                    Condition={"StringEquals": {"kms:CallerAccount": ACCT}},
                )
            ),
        ),
        context={"kms:CallerAccount": ACCT},
    ),
    _kms(
        "kms-delegation-condition-not-met",
        allowed=False,
        identity=(_KMS_ID,),
        resource=(
            doc(
                stmt(
                    action="kms:*",
                    resource="*",
                    Principal={"AWS": ROOT},
                    Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
                )
            ),
        ),
    ),
    _kms(
        "kms-delegation-condition-met",
        allowed=True,
        identity=(_KMS_ID,),
        resource=(
            doc(
                stmt(
                    action="kms:*",
                    resource="*",
                    Principal={"AWS": ROOT},
                    Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
                )
            ),
        ),
        context={"kms:ViaService": "s3.us-east-1.amazonaws.com"},
    ),
    # An alias is not a key: the exception is about the key's own policy.
    case(
        "kms-alias-is-not-the-key",
        allowed=True,
        identity=(doc(stmt(action="kms:CreateAlias", resource=f"arn:aws:kms:us-east-1:{ACCT}:alias/mail")),),
        action="kms:CreateAlias",
        arn=f"arn:aws:kms:us-east-1:{ACCT}:alias/mail",
    ),
]

# --- role trust policies must allow ------------------------------------------------------------------------------
# IAM User Guide, "Policy evaluation logic": "IAM role trust policies and KMS key policies are exceptions to this logic,
# because they must explicitly allow access for principals."
_ASSUME = doc(stmt(action="sts:AssumeRole", resource=TARGET_ROLE))
_TRUST_ROOT = doc(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": ROOT}))
_TRUST_USER = doc(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": USER}))
_TRUST_OTHER = doc(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": OTHER_ROOT}))
_TRUST_SERVICE = doc(stmt(action="sts:AssumeRole", resource=None, Principal={"Service": "lambda.amazonaws.com"}))


def _trust(case_id: str, **kwargs: Any) -> Any:
    return case(case_id, action=kwargs.pop("action", "sts:AssumeRole"), arn=kwargs.pop("arn", TARGET_ROLE), **kwargs)


CASES += [
    _trust("trust-identity-allow-no-trust-policy", allowed=False, identity=(_ASSUME,)),
    _trust("trust-identity-allow-trust-names-service", allowed=False, identity=(_ASSUME,), resource=(_TRUST_SERVICE,)),
    _trust("trust-names-account-plus-identity", allowed=True, identity=(_ASSUME,), resource=(_TRUST_ROOT,)),
    _trust("trust-names-account-no-identity", allowed=False, resource=(_TRUST_ROOT,)),
    _trust("trust-names-user-alone", allowed=True, resource=(_TRUST_USER,)),
    _trust("trust-names-other-account-only", allowed=False, identity=(_ASSUME,), resource=(_TRUST_OTHER,)),
    _trust(
        "trust-cross-account-both",
        allowed=True,
        principal=OTHER_ROLE,
        identity=(_ASSUME,),
        resource=(_TRUST_OTHER,),
    ),
    _trust("trust-cross-account-trust-only", allowed=False, principal=OTHER_ROLE, resource=(_TRUST_OTHER,)),
    _trust("trust-service-principal", allowed=True, principal="lambda.amazonaws.com", resource=(_TRUST_SERVICE,)),
    _trust(
        "trust-external-id-missing",
        allowed=False,
        principal=OTHER_ROLE,
        identity=(_ASSUME,),
        resource=(
            doc(
                stmt(
                    action="sts:AssumeRole",
                    resource=None,
                    Principal={"AWS": OTHER_ROOT},
                    Condition={"StringEquals": {"sts:ExternalId": "mail-2026"}},
                )
            ),
        ),
    ),
    _trust(
        "trust-external-id-given",
        allowed=True,
        principal=OTHER_ROLE,
        identity=(_ASSUME,),
        resource=(
            doc(
                stmt(
                    action="sts:AssumeRole",
                    resource=None,
                    Principal={"AWS": OTHER_ROOT},
                    Condition={"StringEquals": {"sts:ExternalId": "mail-2026"}},
                )
            ),
        ),
        context={"sts:ExternalId": "mail-2026"},
    ),
    _trust(
        "trust-web-identity-needs-trust",
        allowed=False,
        action="sts:AssumeRoleWithWebIdentity",
        identity=(doc(stmt(action="sts:AssumeRole*", resource=TARGET_ROLE)),),
    ),
    # Other actions on a role are ordinary IAM actions: an identity-policy allow is enough in the same account.
    case(
        "role-get-role-identity-allow-is-enough",
        allowed=True,
        identity=(doc(stmt(action="iam:GetRole", resource=TARGET_ROLE)),),
        action="iam:GetRole",
        arn=TARGET_ROLE,
    ),
]

# --- ForAllValues / ForAnyValue over a null data set ---------------------------------------------------------------
# IAM User Guide, "Multivalued context key examples": "The ForAllValues set operator also returns true if there are no
# context keys in the request ... You can prevent missing context keys or context keys with empty values from
# evaluating to true by including a Null condition operator in your policy with a value of false to check if the
# context key in the request exists and its value is not null." (An empty string is such an empty value.)
_ALL_RECIPIENTS = {"ForAllValues:StringLike": {"ses:Recipients": "*@example.com"}}
_ANY_RECIPIENT = {"ForAnyValue:StringLike": {"ses:Recipients": "*@example.com"}}
_GUARD = {"Null": {"ses:Recipients": "false"}}
CASES += [
    case(
        "for-all-values-empty-string-is-true",
        allowed=True,
        identity=(doc(stmt(Condition=_ALL_RECIPIENTS)),),
        context={"ses:Recipients": [""]},
    ),
    case(
        "for-all-values-empty-strings-are-true",
        allowed=True,
        identity=(doc(stmt(Condition=_ALL_RECIPIENTS)),),
        context={"ses:Recipients": ["", ""]},
    ),
    case(
        "for-any-value-empty-string-is-false",
        allowed=False,
        identity=(doc(stmt(Condition=_ANY_RECIPIENT)),),
        context={"ses:Recipients": [""]},
    ),
    case(
        "for-all-values-negated-empty-string-is-true",
        allowed=False,
        reason="explicit-deny",
        identity=(
            base.SEND_ONLY,
            doc(stmt("Deny", Condition={"ForAllValues:StringNotLike": {"ses:Recipients": "*@example.com"}})),
        ),
        context={"ses:Recipients": [""]},
    ),
    case(
        "null-guard-stops-empty-string",
        allowed=False,
        identity=(doc(stmt(Condition={**_ALL_RECIPIENTS, **_GUARD})),),
        context={"ses:Recipients": [""]},
    ),
    case(
        "null-guard-passes-real-recipients",
        allowed=True,
        identity=(doc(stmt(Condition={**_ALL_RECIPIENTS, **_GUARD})),),
        context={"ses:Recipients": ["a@example.com"]},
    ),
    case(
        "null-true-on-empty-string",
        allowed=True,
        identity=(doc(stmt(Condition={"Null": {"ses:Recipients": "true"}})),),
        context={"ses:Recipients": [""]},
    ),
    case(
        "for-all-values-mixed-empty-and-outside",
        allowed=False,
        identity=(doc(stmt(Condition=_ALL_RECIPIENTS)),),
        context={"ses:Recipients": ["", "x@evil.test"]},
    ),
]

# --- IfExists and negated operators, per operator family ----------------------------------------------------------
# IAM User Guide, "IAM JSON policy elements: Condition operators": "...IfExists ... If the policy key is present in
# the context of the request, process the key as specified in the policy. If the key is not present, evaluate the
# condition element as true." and "If the key that you specify in a policy condition is not present in the request
# context, the values do not match" — so a negated operator over an absent key is true.
_FAMILIES = [
    ("NumericLessThan", "s3:max-keys", "10", "5", "50"),
    ("DateGreaterThan", "aws:CurrentTime", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "2025-06-01T00:00:00Z"),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", "203.0.113.9", "198.51.100.9"),
    ("StringEquals", "ses:FromAddress", "info@example.com", "info@example.com", "x@example.com"),
    ("ArnLike", "aws:SourceArn", "arn:aws:workmail:*:*:organization/*", base.ORG, "arn:aws:s3:::mail"),
    ("Bool", "aws:SecureTransport", "true", "true", "false"),
]
for _op, _key, _policy_value, _inside, _outside in _FAMILIES:
    _allow = doc(stmt(action="s3:ListBucket", resource="*", Condition={f"{_op}IfExists": {_key: _policy_value}}))
    _kw: dict[str, Any] = {"action": "s3:ListBucket", "arn": "arn:aws:s3:::mail"}
    CASES += [
        case(f"if-exists-{_op}-absent", allowed=True, identity=(_allow,), **_kw),
        case(f"if-exists-{_op}-inside", allowed=True, identity=(_allow,), context={_key: _inside}, **_kw),
        case(f"if-exists-{_op}-outside", allowed=False, identity=(_allow,), context={_key: _outside}, **_kw),
        case(
            f"plain-{_op}-absent",
            allowed=False,
            identity=(doc(stmt(action="s3:ListBucket", Condition={_op: {_key: _policy_value}})),),
            **_kw,
        ),
    ]
_NEGATED_FAMILIES = [
    ("NumericNotEquals", "s3:max-keys", "10", "10", "11"),
    ("DateNotEquals", "aws:CurrentTime", "2026-01-01T00:00:00Z", "2026-01-01", "2026-01-02"),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", "203.0.113.9", "198.51.100.9"),
    ("StringNotLike", "ses:FromAddress", "*@example.com", "a@example.com", "a@evil.test"),
    ("ArnNotEquals", "aws:SourceArn", base.ORG, base.ORG, base.OTHER_ORG),
]
for _op, _key, _policy_value, _excluded, _other in _NEGATED_FAMILIES:
    _deny = doc(stmt("Deny", "s3:ListBucket", "*", Condition={_op: {_key: _policy_value}}))
    _ok = doc(stmt(action="s3:ListBucket"))
    _kw = {"action": "s3:ListBucket", "arn": "arn:aws:s3:::mail"}
    CASES += [
        case(f"negated-deny-{_op}-absent-applies", allowed=False, reason="explicit-deny", identity=(_ok, _deny), **_kw),
        case(
            f"negated-deny-{_op}-excluded-value", allowed=True, identity=(_ok, _deny), context={_key: _excluded}, **_kw
        ),
        case(f"negated-deny-{_op}-other-value", allowed=False, identity=(_ok, _deny), context={_key: _other}, **_kw),
    ]

# --- the request's own shape ---------------------------------------------------------------------------------------
# IAM User Guide, "IAM JSON policy elements: Action": "Action ... values are case-insensitive"; "Resource": ARNs are
# case-sensitive and "you can use wildcard characters (* and ?) within any ARN segment"; a wildcard "cannot span
# segments".
CASES += [
    case("action-question-mark", allowed=True, identity=(doc(stmt(action="ses:SendRa?Email")),)),
    case("action-prefix-wildcard-other-service", allowed=False, identity=(doc(stmt(action="sesv2:*")),)),
    case("action-star-alone", allowed=True, identity=(doc(stmt(action="*")),)),
    case(
        "resource-region-wildcard",
        allowed=True,
        identity=(doc(stmt(resource="arn:aws:ses:*:123456789012:identity/*")),),
    ),
    case("resource-account-wildcard-other-service", allowed=False, identity=(doc(stmt(resource="arn:aws:sns:*:*:*")),)),
    case(
        "resource-question-mark",
        allowed=True,
        identity=(doc(stmt(resource="arn:aws:ses:us-east-1:123456789012:identity/exampl?.com")),),
    ),
    case(
        "resource-account-segment-wildcard",
        allowed=True,
        identity=(doc(stmt(resource="arn:aws:ses:us-east-1:*:identity/example.com")),),
    ),
    case("resource-list-second-matches", allowed=True, identity=(doc(stmt(resource=["arn:aws:s3:::mail", IDENTITY])),)),
    case("not-action-allow-other-action", allowed=True, identity=(doc(stmt("Allow", None, NotAction="ses:Delete*")),)),
    case("not-action-allow-listed-action", allowed=False, identity=(doc(stmt("Allow", None, NotAction="ses:Send*")),)),
    case(
        "deny-wildcard-action",
        allowed=False,
        reason="explicit-deny",
        identity=(base.SEND_ONLY, doc(stmt("Deny", "ses:*"))),
    ),
    case(
        "deny-other-resource",
        allowed=True,
        identity=(base.SEND_ONLY, doc(stmt("Deny", resource="arn:aws:ses:us-east-1:123456789012:identity/other.com"))),
    ),
    case("empty-identity-policy", allowed=False, reason="implicit-deny", identity=(doc(),)),
]


@pytest.mark.parametrize(("request_", "identity", "resource", "account", "allowed", "reason", "definite"), CASES)
def test_evaluation_semantics(
    request_: Request,
    identity: tuple[dict[str, Any], ...],
    resource: tuple[dict[str, Any], ...],
    account: str | None,
    allowed: bool,
    reason: str | None,
    definite: bool | None,
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
    if definite is not None:
        assert decision.definite is definite, decision
        if not definite:
            assert decision.uncertain and any("unresolved" in a for a in decision.assumptions), decision
    # Every decision names what it does not model.
    assert NOT_MODELLED in decision.assumptions
    assert decision.to_json()["assumptions"] == list(decision.assumptions)


def test_the_evaluation_tables_hold_at_least_250_cases() -> None:
    """One case = one parametrized request (test_evaluate.CASES + CASES here); the issue asks for >= 250."""
    assert len(base.CASES) + len(CASES) >= 250
    assert len({c.id for c in [*base.CASES, *CASES]}) == len(base.CASES) + len(CASES)


def test_an_uncertain_deny_is_named_in_the_notes_and_json() -> None:
    decision = evaluate(
        Request(USER, "ses:SendRawEmail", IDENTITY),
        identity_policies=[
            PolicySource("t:Allow", base.SEND_ONLY, "identity"),
            PolicySource("t:Guard", doc(stmt("Deny", resource=None, NotResource=UNRESOLVED, Sid="Guard")), "identity"),
        ],
        resource_policies=[],
        resource_account=ACCT,
    )
    assert decision.allowed and not decision.definite
    assert [m.label for m in decision.uncertain] == ["t:Guard:Guard"]
    assert any("Deny t:Guard:Guard may apply" in n for n in decision.notes)
    data = decision.to_json()
    assert data["definite"] is False and data["uncertain"][0]["label"] == "t:Guard:Guard"
    assert any("could make this DENY" in a for a in data["assumptions"])


def test_which_resources_need_their_own_policy_to_allow() -> None:
    assert explicit_resource_allow(Request(USER, "kms:Decrypt", KEY)) == "key policy"
    assert explicit_resource_allow(Request(USER, "sts:AssumeRole", TARGET_ROLE)) == "trust policy"
    assert explicit_resource_allow(Request(USER, "iam:GetRole", TARGET_ROLE)) is None
    assert explicit_resource_allow(Request(USER, "ses:SendEmail", IDENTITY)) is None
    assert explicit_resource_allow(Request(USER, "kms:Decrypt", OTHER_KEY)) == "key policy"
