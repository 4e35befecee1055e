"""Receipt-rule rules: SES011 (S3 bucket policy), SES012 (Lambda permission), SES013 (KMS key policy), SES017 (another
account's SNS topic).

SES checks at deploy that it may use what an ``AWS::SES::ReceiptRule`` names, and rejects the rule otherwise. For
each S3/Lambda action (and the S3 action's ``KmsKeyArn``) this looks for a statement in the template that lets
``ses.amazonaws.com`` do it for this rule: the request is built as SES makes it (``aws:SourceAccount`` = the stack's
account, ``aws:SourceArn`` = the rule's ARN ``arn:<p>:ses:<region>:<account>:receipt-rule-set/<set>:receipt-rule/
<rule>``, the ``aws:ses:*`` encryption context for KMS) and matched with a deliberately small evaluator: principal,
action and resource wildcards, and the String/Arn/Bool/Null operators on the keys above; a condition on any other
key is taken as met by an Allow and as not met by a Deny, so the rule reports only a grant that is surely missing.

Not checked, by design: a bucket, function or key that is not in the template (imported by ARN or name) gives a
note, because its policy is elsewhere; an S3 action with ``IamRoleArn`` (SES then writes as that role, so no bucket
policy is needed); ``alias/aws/ses`` (the AWS managed key needs no key policy); SNS topics of the stack's own account
(SES needs no topic policy for them) and WorkMail actions.

SES017: SES Developer Guide, "Giving permissions to Amazon SES for email receiving": "To publish notifications to a
topic in a separate AWS account, you must attach a policy to the Amazon SNS topic. The SNS topic must be in the same
Region as the domain and receipt rule set." Every action's ``TopicArn`` (SNS, S3, Lambda, Bounce, Stop, AddHeader,
WorkMail) is checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .findings import NOTE, Finding
from .intrinsics import is_unresolved
from .statements import Statement, as_list, glob_match, statements
from .templates import ExtractedPolicy, TemplateScan, lambda_function_arn

SES = "ses.amazonaws.com"
MESSAGE_ID = "o3vrnil0e2ic28trm7dfhrc2v0cnbeccl4nbp0g1"  # the shape of an SES message id, as an S3 key suffix


def check(scan: TemplateScan) -> Iterator[Finding]:
    """SES011, SES012 and SES013 for every receipt rule in one template."""
    resolver = scan.resolver
    ctx = scan.context
    for logical_id in sorted(resolver.resources):
        resource = resolver.resources[logical_id]
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::SES::ReceiptRule":
            continue
        props = resource.get("Properties") or {}
        rule_set = resolver.resolve(props.get("RuleSetName"))
        rule_name = resolver.name(logical_id)
        rule_arn = (
            f"arn:{ctx.partition}:ses:{ctx.region}:{ctx.account}:receipt-rule-set/{rule_set}:receipt-rule/{rule_name}"
        )
        context = {
            "aws:sourceaccount": ctx.account,
            "aws:sourcearn": rule_arn,
            "aws:referer": ctx.account,
            "aws:securetransport": "true",
        }
        for index, action in enumerate(as_list((props.get("Rule") or {}).get("Actions"))):
            if not isinstance(action, Mapping):
                continue
            where = (str(scan.path), logical_id, f"Actions[{index}]")
            if isinstance(action.get("S3Action"), Mapping):
                s3 = action["S3Action"]
                yield from _s3(scan, where, s3, context)
                # With IamRoleArn "the role (and only the role) is used to access all the given resources" (S3Action,
                # SES API reference): SES itself needs no place in the key policy, as it needs none in the bucket's.
                if "KmsKeyArn" in s3 and not s3.get("IamRoleArn"):
                    kms_context = {
                        **context,
                        "kms:encryptioncontext:aws:ses:source-account": ctx.account,
                        "kms:encryptioncontext:aws:ses:rule-name": rule_name,
                        "kms:encryptioncontext:aws:ses:message-id": MESSAGE_ID,
                    }
                    yield from _kms(scan, where, resolver.resolve(s3["KmsKeyArn"]), kms_context)
            if isinstance(action.get("LambdaAction"), Mapping):
                yield from _lambda(scan, where, action["LambdaAction"], context)
            for body in action.values():
                if isinstance(body, Mapping) and "TopicArn" in body:
                    yield from _topic(scan, where, resolver.resolve(body["TopicArn"]), context)


def _topic(scan: TemplateScan, where: tuple[str, str, str], topic: Any, context: dict[str, str]) -> Iterator[Finding]:
    """SES017 for one ``TopicArn``: another account's topic needs a topic policy letting SES publish."""
    ctx = scan.context
    parts = str(topic).split(":")
    if is_unresolved(topic) or len(parts) < 6 or parts[2] != "sns":
        return
    region, account = parts[3], parts[4]
    if not is_unresolved(ctx.region) and region != ctx.region:
        yield Finding(
            *where,
            "SES017",
            f"topic {topic} is in {region}, the rule set in {ctx.region}: SES publishes only to a topic in the "
            "rule set's region",
        )
        return
    if is_unresolved(ctx.account) or account == ctx.account:
        return
    policies = [
        p for p in scan.policies if p.resource_type == "AWS::SNS::TopicPolicy" and str(topic) in p.resource_arns
    ]
    if not policies:
        yield Finding(
            *where,
            "SES017",
            f"topic {topic} belongs to account {account}: its topic policy (not in this template, not checked) must "
            f"let {SES} sns:Publish with aws:SourceAccount {ctx.account} and aws:SourceArn {context['aws:sourcearn']}",
            NOTE,
        )
        return
    if not allowed(policies, "sns:Publish", str(topic), context):
        yield Finding(
            *where,
            "SES017",
            f"the topic policy of {topic} (account {account}) does not let {SES} sns:Publish for this rule "
            f"(SourceAccount {ctx.account}, SourceArn {context['aws:sourcearn']}), so SES cannot publish to it",
        )


def _s3(
    scan: TemplateScan, where: tuple[str, str, str], s3: Mapping[str, Any], context: dict[str, str]
) -> Iterator[Finding]:
    resolver = scan.resolver
    if s3.get("IamRoleArn"):
        return  # SES assumes that role to write; the role's policy, not the bucket's, must allow it
    bucket = resolver.resolve(s3.get("BucketName"))
    prefix = resolver.resolve(s3.get("ObjectKeyPrefix", ""))
    if not isinstance(bucket, str) or is_unresolved(bucket) or not isinstance(prefix, str) or is_unresolved(prefix):
        return
    buckets = {resolver.name(lid) for lid, r in resolver.resources.items() if _type(r) == "AWS::S3::Bucket"}
    if bucket not in buckets:
        yield Finding(
            *where,
            "SES011",
            f"bucket {bucket} is not in this template: make sure its policy lets "
            f"{SES} s3:PutObject under {prefix or '/'} (not checked)",
            NOTE,
        )
        return
    bucket_arn = f"arn:{scan.context.partition}:s3:::{bucket}"
    policies = [
        p for p in scan.policies if p.resource_type == "AWS::S3::BucketPolicy" and bucket_arn in p.resource_arns
    ]
    obj = f"{bucket_arn}/{prefix}{MESSAGE_ID}"
    if not policies:
        yield Finding(
            *where,
            "SES011",
            f"bucket {bucket} has no bucket policy, so SES cannot put mail into it and "
            "rejects the rule: allow ses.amazonaws.com s3:PutObject on "
            f"{bucket_arn}/{prefix}* with aws:SourceAccount and aws:SourceArn (the rule's ARN)",
        )
    elif not allowed(policies, "s3:PutObject", obj, context):
        names = ", ".join(p.logical_id for p in policies)
        yield Finding(
            *where,
            "SES011",
            f"the policy of bucket {bucket} ({names}) does not let {SES} s3:PutObject "
            f"{obj} for this rule (aws:SourceArn {context['aws:sourcearn']}), so SES rejects the rule",
        )


def _kms(scan: TemplateScan, where: tuple[str, str, str], key_arn: Any, context: dict[str, str]) -> Iterator[Finding]:
    if not isinstance(key_arn, str) or is_unresolved(key_arn) or key_arn.endswith(":alias/aws/ses"):
        return
    keys = [p for p in scan.policies if p.resource_type == "AWS::KMS::Key" and key_arn in p.resource_arns]
    if not keys:
        yield Finding(
            *where,
            "SES013",
            f"KMS key {key_arn} is not in this template: make sure its key policy lets "
            f"{SES} kms:Encrypt and kms:GenerateDataKey (not checked)",
            NOTE,
        )
        return
    missing = [a for a in ("kms:Encrypt", "kms:GenerateDataKey") if not allowed(keys, a, key_arn, context)]
    if missing:
        yield Finding(
            *where,
            "SES013",
            f"the key policy of {keys[0].logical_id} does not let {SES} "
            f"{' and '.join(missing)} for this rule (aws:SourceArn {context['aws:sourcearn']}, encryption "
            "context aws:ses:source-account/rule-name), so SES cannot encrypt the mail and rejects the rule",
        )


def _lambda(
    scan: TemplateScan, where: tuple[str, str, str], action: Mapping[str, Any], context: dict[str, str]
) -> Iterator[Finding]:
    resolver = scan.resolver
    function = lambda_function_arn(resolver, action.get("FunctionArn"))
    if is_unresolved(function):
        return
    functions = {
        str(resolver.get_att(lid, "Arn"))
        for lid, r in resolver.resources.items()
        if _type(r) == "AWS::Lambda::Function"
    }
    unqualified = function if function.count(":") <= 6 else function.rsplit(":", 1)[0]
    if unqualified not in functions:
        yield Finding(
            *where,
            "SES012",
            f"function {function} is not in this template: make sure it has a permission "
            f"for {SES} to invoke it (not checked)",
            NOTE,
        )
        return
    permissions = [
        p
        for p in scan.policies
        if p.resource_type == "AWS::Lambda::Permission" and any(a in (function, unqualified) for a in p.resource_arns)
    ]
    if not allowed(permissions, "lambda:InvokeFunction", function, context):
        yield Finding(
            *where,
            "SES012",
            f"no AWS::Lambda::Permission lets {SES} invoke {function} for this rule "
            f"(SourceAccount {context['aws:sourceaccount']}, SourceArn {context['aws:sourcearn']}), so SES "
            "rejects the rule",
        )


def _type(resource: Any) -> str:
    return str(resource.get("Type", "")) if isinstance(resource, Mapping) else ""


def allowed(policies: Sequence[ExtractedPolicy], action: str, resource: str, context: Mapping[str, str]) -> bool:
    """Whether some Allow statement lets SES do ``action`` on ``resource`` and no Deny surely stops it."""
    allow = False
    for policy in policies:
        for statement in statements(policy):
            if not _targets(statement, action, resource):
                continue
            if statement.effect == "Deny" and _conditions(statement, context, unknown=False):
                return False
            if statement.effect == "Allow" and _conditions(statement, context, unknown=True):
                allow = True
    return allow


def _targets(statement: Statement, action: str, resource: str) -> bool:
    principals = statement.principals
    if "*" not in principals and SES not in principals.get("Service", []) and "*" not in principals.get("AWS", []):
        return False
    if not any(glob_match(action, a, ignore_case=True) for a in statement.actions):
        return False
    return any(r == "*" or glob_match(resource, r) for r in statement.resources)


def _conditions(statement: Statement, context: Mapping[str, str], *, unknown: bool) -> bool:
    """All conditions true; ``unknown`` is the answer for a condition this small evaluator cannot decide."""
    for condition in statement.conditions:
        value = context.get(condition.key.lower())
        base = condition.base
        if condition.qualifier is not None:
            if not unknown:
                return False
            continue
        if base == "Null":
            expect_absent = all(str(v).lower() == "true" for v in condition.values)
            if (value is None) != expect_absent:
                return False
            continue
        if value is None:
            if condition.if_exists or base.startswith(("StringNot", "ArnNot")):
                continue
            if condition.key.lower().startswith(
                ("aws:sourcearn", "aws:sourceaccount", "kms:encryptioncontext:aws:ses")
            ):
                return False
            if not unknown:
                return False
            continue
        patterns = [str(v) for v in condition.values]
        result = None if is_unresolved(value) or is_unresolved(patterns) else _compare(base, value, patterns)
        if result is None:
            if not unknown:
                return False
        elif not result:
            return False
    return True


def _compare(base: str, value: str, patterns: list[str]) -> bool | None:
    if base in ("StringEquals", "ArnEquals"):
        return value in patterns
    if base == "StringEqualsIgnoreCase":
        return value.lower() in (p.lower() for p in patterns)
    if base in ("StringLike", "ArnLike"):
        return any(glob_match(value, p) for p in patterns)
    if base in ("StringNotEquals", "ArnNotEquals"):
        return value not in patterns
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(glob_match(value, p) for p in patterns)
    if base == "Bool":
        return value.lower() in (p.lower() for p in patterns)
    return None
