"""AWS's limits at synth: sesmail's per-mailbox policies do not grow with mailboxes, and what would exceed a limit
fails synth with one line naming the construct and the figure against the limit.

Each limit's source (the sentence is quoted in ``sesmail.limits``' docstring and in the tests below):
S3 bucket policy 20 KB, KMS key policy 32 KB, Lambda function policy 20 KB and environment 4 KB, IAM role inline
10,240 / user inline 2,048 / managed 6,144 / trust 2,048 characters, CloudFormation 500 resources and 1 MB template.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from sesmail import limits
from sesmail.inbound import MailForwarder
from sesmail.receiving import MailBucket, ReceiptRuleSet, S3Action
from tests.conftest import ROOT, cdk_json_context

ACCOUNT = "123456789012"
IDENTITY_ARN = f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/example.com"


def build(mailboxes: int, *, forward: bool) -> cdk.Stack:
    """A rule set with one rule per mailbox storing into one MailBucket (and invoking one forwarder)."""
    flags = {key: value for key, value in cdk_json_context().items() if key != "environments"}
    stack = cdk.Stack(cdk.App(context=flags), "Big", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    mail = MailBucket(stack, "MailBucket")
    rule_set = ReceiptRuleSet(stack, "RuleSet", rule_set_name="inbound", activate=False)
    addresses = [f"mailbox{i:03d}@example.com" for i in range(mailboxes)]
    forwarder = None
    if forward:
        forwarder = MailForwarder(
            stack,
            "Forwarder",
            bucket=mail.bucket,
            identity_arn=IDENTITY_ARN,
            mailboxes=addresses[:3],
            forward_to=["staff@example.org"],
            key_prefixes={address: f"{address.split('@')[0]}/" for address in addresses[:3]},
        )
    for address in addresses:
        local = address.split("@")[0]
        rule = rule_set.add_rule(
            f"mailbox-{local}",
            recipients=[address],
            actions=[S3Action(bucket=mail.bucket, object_key_prefix=f"{local}/")],
        )
        if forwarder is not None:
            rule.add_action(forwarder.receipt_action())
    return stack


def by_kind(stack: cdk.Stack) -> dict[str, list[limits.Measure]]:
    result: dict[str, list[limits.Measure]] = {}
    for measure in limits.measure_stack(stack):
        result.setdefault(measure.what.split(" (")[0], []).append(measure)
    return result


@pytest.fixture(scope="module")
def sizes() -> dict[int, dict[str, list[limits.Measure]]]:
    """The policies of a 3- and a 200-rule stack (SES: "Maximum number of rules per receipt rule set | 200"), once."""
    return {n: by_kind(build(n, forward=True)) for n in (3, 200)}


def test_two_hundred_mailboxes_stay_within_every_limit(sizes: dict[int, dict[str, list[limits.Measure]]]) -> None:
    """S3 "Adding a bucket policy": "Bucket policies are limited to 20 KB in size."
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/add-bucket-policy.html); KMS quotas: "Key policy document
    size | 32 KB (32,768 bytes)" (https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html);
    Lambda quotas: "Function resource-based policy | 20 KB"
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); IAM quotas: "Role policy size can't
    exceed 10,240 characters", "Role trust policy length | 2,048 characters"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""
    over = [m.line() for kind in sizes[200].values() for m in kind if m.over]
    assert over == []


@pytest.mark.parametrize("kind", ["S3 bucket policy", "KMS key policy", "Lambda function policy"])
def test_per_mailbox_policies_do_not_grow_with_mailboxes(
    sizes: dict[int, dict[str, list[limits.Measure]]], kind: str
) -> None:
    """Before: one bucket statement and one Lambda permission per rule broke the 20 KB limits at ~51 and ~45
    mailboxes. Now the S3 action writes through one role per rule set and the function has one permission per set."""
    small = sorted(m.figure for m in sizes[3][kind])
    large = sorted(m.figure for m in sizes[200][kind])
    assert small == large, (kind, small, large)


def test_s3_role_trust_names_up_to_ten_rules_then_the_set(sizes: dict[int, dict[str, list[limits.Measure]]]) -> None:
    """The trust policy lists each rule's ARN up to ten rules (as SES's page shows one rule), then the set's pattern:
    bounded however many mailboxes, under IAM's 2,048-character trust-policy quota."""
    (small,) = [m.figure for m in sizes[3]["IAM role trust policy"] if "S3Role" in m.path]
    (large,) = [m.figure for m in sizes[200]["IAM role trust policy"] if "S3Role" in m.path]
    assert large < small < 2048


def test_s3_role_policy_stops_growing_past_the_listed_prefixes(
    sizes: dict[int, dict[str, list[limits.Measure]]],
) -> None:
    """IAM quotas: "Role policy size can't exceed 10,240 characters." The S3 role lists at most 20 prefixes."""
    (small,) = [m for m in sizes[3]["IAM role's inline policies"] if "S3Role" in m.path]
    (large,) = [m for m in sizes[200]["IAM role's inline policies"] if "S3Role" in m.path]
    assert large.figure < small.figure + 200 < limits.IAM_ROLE_INLINE


def test_over_the_limit_fails_synth_with_one_line_per_limit() -> None:
    """Lambda quotas: "Function environment variables | 4 KB"
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): a forwarder for 200 mailboxes lists
    them (and their prefixes) in its environment, which exceeds 4 KB; synth says so in one line."""
    flags = {key: value for key, value in cdk_json_context().items() if key != "environments"}
    stack = cdk.Stack(cdk.App(context=flags), "Env", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    mail = MailBucket(stack, "MailBucket")
    addresses = [f"mailbox{i:03d}@example.com" for i in range(200)]
    MailForwarder(
        stack,
        "Forwarder",
        bucket=mail.bucket,
        identity_arn=IDENTITY_ARN,
        mailboxes=addresses,
        forward_to=["staff@example.org"],
        key_prefixes={address: f"{address.split('@')[0]}/" for address in addresses},
    )
    limits.watch(stack)
    with pytest.raises(RuntimeError) as raised:
        cdk.App.of(stack).synth()  # type: ignore[union-attr]
    errors = [line.strip() for line in str(raised.value).splitlines() if "AWS allows" in line]
    (environment,) = [line for line in errors if "Lambda environment" in line]
    assert environment.startswith("[Env] Env/Forwarder: Lambda environment is ")
    assert environment.endswith("bytes; AWS allows 4,096 (Lambda allows 4 KB of environment variables per function)")
    # Its role's statements list every mailbox's prefix too: IAM quotas, "The size of each managed policy can't
    # exceed 6,144 characters" (CDK moves what exceeds the role's inline quota into managed "OverflowPolicy"s).
    assert all(line.startswith("[Env] Env/Forwarder") for line in errors), errors


def template(resources: int) -> dict[str, Any]:
    return {"Resources": {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(resources)}}


def test_resources_and_template_size_are_checked_after_synth() -> None:
    """CloudFormation quotas: "Resources | The maximum number of resources that you can declare in your
    CloudFormation template. | 500 resources"; "Template body size in an Amazon S3 object | ... | 1 MB"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html)."""
    assert limits.check_template("s", template(500), 1024 * 1024) == []
    (resources,) = limits.check_template("s", template(501), 100)
    assert resources.startswith("s: template has 501 resources; CloudFormation allows 500 per stack")
    (size,) = limits.check_template("s", template(1), 1024 * 1024 + 1)
    assert size == "s: template is 1,048,577 bytes; CloudFormation allows 1,048,576 (1 MB)"


def test_app_refuses_an_environment_over_a_limit_with_one_line_each(tmp_path: Path) -> None:
    """app.py as ``cdk synth`` runs it: an environment whose forwarder lists 199 mailboxes exceeds Lambda's
    "Function environment variables | 4 KB" (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)
    and IAM's "Role policy size can't exceed 10,240 characters"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): one line each, exit 1, no
    traceback, no template."""
    big = {
        "big": {
            "account": ACCOUNT,
            "region": "us-east-1",
            "domain": "example.com",
            # 199: with the address book's rule (postmaster@, abuse@) the set holds SES's 200 rules.
            "mailboxes": [f"box{i:03d}" for i in range(199)],
            "inbound": {"forwardTo": ["staff@corp.example"]},
        }
    }
    context = {**cdk_json_context(), "environments": big}  # the feature flags too, as the CDK CLI passes them
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip() and "!!" not in line]
    assert lines, result.stderr
    assert all(line.startswith("sesmail: [sesmail-big] sesmail-big/MailForwarder") for line in lines), lines
    assert any("Lambda environment is" in line and "AWS allows 4,096" in line for line in lines), lines
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))


def test_identity_policies_count_workmails_and_refuse_the_twenty_first() -> None:
    """SES API, GetIdentityPolicies: "You can retrieve a maximum of 20 policies at a time"
    (https://docs.aws.amazon.com/ses/latest/APIReference/API_GetIdentityPolicies.html), the 20 per identity SES
    allows; WorkMail's sending-authorization policy is one of them. Refused with one line when the 21st is made."""
    from sesmail import MailDomain, WorkMailSendingAuthorization
    from sesmail.sending import DelegateSender, SendConditions

    flags = {key: value for key, value in cdk_json_context().items() if key != "environments"}
    stack = cdk.Stack(cdk.App(context=flags), "Ids", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    domain = MailDomain(stack, "Domain", domain_name="example.com")
    WorkMailSendingAuthorization(stack, "WorkMail", mail_domain=domain, organization_id="m-" + "0" * 32)
    conditions = SendConditions(from_addresses=("info@example.com",))

    def delegate(i: int) -> None:
        DelegateSender(
            stack,
            f"D{i}",
            identity="example.com",
            identity_arn=domain.identity_arn,
            principal=f"{i + 1:012d}",
            conditions=conditions,
            policy_name=f"d{i}",
        )

    for i in range(19):
        delegate(i)
    with pytest.raises(ValueError) as raised:
        delegate(19)
    assert str(raised.value) == (
        "policy_name: 'd19' is identity policy 21 on 'example.com' in this stack (WorkMail's sending authorization "
        "and delegates count); SES allows 20"
    )


def test_eleven_actions_in_one_rule_are_refused_at_synth() -> None:
    """SES, "Service quotas in Amazon SES": "Maximum number of actions per receipt rule | 10"
    (https://docs.aws.amazon.com/ses/latest/dg/quotas.html)."""
    from sesmail.receiving import AddHeaderAction

    flags = {key: value for key, value in cdk_json_context().items() if key != "environments"}
    stack = cdk.Stack(cdk.App(context=flags), "Acts", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    rule_set = ReceiptRuleSet(stack, "RuleSet", rule_set_name="inbound", activate=False)
    headers = [AddHeaderAction(header_name=f"X-H{i}", header_value="v") for i in range(10)]
    rule = rule_set.add_rule("many", actions=headers)
    assert [m for m in limits.measure_stack(stack) if m.over] == []
    rule.add_action(AddHeaderAction(header_name="X-H10", header_value="v"))
    (over,) = [m.line() for m in limits.measure_stack(stack) if m.over]
    assert over == (
        "Acts/RuleSet/Rule-many: receipt rule's actions is 11 actions; AWS allows 10 (SES allows 10 actions per "
        "receipt rule)"
    )


def test_two_identity_policies_of_one_name_on_one_identity_are_refused() -> None:
    """SES API, PutIdentityPolicy (https://docs.aws.amazon.com/ses/latest/APIReference/API_PutIdentityPolicy.html):
    "Adds or updates a sending authorization policy for the specified identity", the policy named by PolicyName: a
    second policy of the same name overwrites the first, and each stack's handler would then delete the other's."""
    from sesmail import MailDomain
    from sesmail.sending import DelegateSender, SendConditions

    stack = cdk.Stack(cdk.App(), "Names", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    domain = MailDomain(stack, "Domain", domain_name="example.com")
    conditions = SendConditions(from_addresses=("info@example.com",))
    for construct_id, identity in (("First", "example.com"), ("OtherIdentity", "example.org")):
        DelegateSender(
            stack,
            construct_id,
            identity=identity,
            identity_arn=domain.identity_arn,
            principal="444455556666",
            conditions=conditions,
            policy_name="agency",
        )
    with pytest.raises(ValueError) as raised:
        DelegateSender(
            stack,
            "Second",
            identity="example.com",
            identity_arn=domain.identity_arn,
            principal="777788889999",
            conditions=conditions,
            policy_name="agency",
        )
    assert str(raised.value).startswith("policy_name: 'agency' is already the name of Names/First")
    assert str(raised.value).endswith("policy on 'example.com'")
