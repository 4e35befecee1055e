"""The identity-policy handler through the lifecycle conformance suite.

SES: an identity holds up to 20 sending-authorization policies, each named, and "CreateEmailIdentityPolicy" fails
with ``AlreadyExistsException`` for a name that exists (https://docs.aws.amazon.com/ses/latest/APIReference-V2/
API_CreateEmailIdentityPolicy.html); ``UpdateEmailIdentityPolicy`` replaces the named policy and
``DeleteEmailIdentityPolicy`` removes it, "and doesn't return an error" when it is absent is *not* promised — the
handler checks first. A policy of the same identity under another name belongs to someone else and must survive.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_handler, no_sleep
from tests.lifecycle.harness import (
    SEQUENCES,
    Contract,
    Policies,
    Props,
    Sequence,
    client,
    conform,
    role_policies_from_template,
    shared,
)
from tests.lifecycle.synth import cached, logical_id, template_of

index = load_handler("identity_policy")

DOMAIN = "example.com"
THEIRS = {
    "Version": "2012-10-17",
    "Id": "someone-else",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
            "Action": "ses:SendRawEmail",
            "Resource": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        }
    ],
}


def _policy(action: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "sesmail-test-workmail",
            "Statement": [
                {
                    "Sid": "WorkMail",
                    "Effect": "Allow",
                    "Principal": {"Service": "workmail.us-east-1.amazonaws.com"},
                    "Action": action,
                    "Resource": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
                    "Condition": {
                        "ArnEquals": {"aws:SourceArn": "arn:aws:workmail:us-east-1:123456789012:organization/m-1"}
                    },
                }
            ],
        }
    )


@cached
def _policies(policy_name: str) -> Policies:
    """The handler role's policies in a stack that puts ``policy_name`` on the domain (as synthesized)."""
    import aws_cdk.aws_iam as iam

    from sesmail import IdentityPolicy as Construct
    from sesmail.identity_policy import IdentityPolicyProvider

    def build(stack: Any) -> str:
        document = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["ses:SendRawEmail"],
                    principals=[iam.ServicePrincipal("workmail.us-east-1.amazonaws.com")],
                    resources=[f"arn:aws:ses:us-east-1:123456789012:identity/{DOMAIN}"],
                )
            ]
        )
        arn = f"arn:aws:ses:us-east-1:123456789012:identity/{DOMAIN}"
        Construct(stack, "Policy", identity=DOMAIN, identity_arn=arn, policy_name=policy_name, document=document)
        return logical_id(IdentityPolicyProvider.of(stack).role)

    template, role = template_of(build)
    return role_policies_from_template(template, role, {})


class IdentityPolicy(Contract):
    resource_type = "Custom::SesIdentityPolicy"
    backends = ("sesv2", "ses")

    def setup(self) -> None:
        self.ses = client("sesv2")
        self.ses.create_email_identity(EmailIdentity=DOMAIN)
        self.ses.create_email_identity_policy(EmailIdentity=DOMAIN, PolicyName="theirs", Policy=json.dumps(THEIRS))

    def props(self, version: int) -> Props:
        base = {"Identity": DOMAIN, "PolicyName": "sesmail-workmail", "Policy": _policy("ses:SendRawEmail")}
        return [
            base,
            {**base, "Policy": _policy("ses:SendEmail")},
            {**base, "PolicyName": "sesmail-workmail-v2"},
        ][version]

    def role_policies(self, version: int) -> Policies:
        return _policies(self.props(version)["PolicyName"])

    def on_event(self, event: dict[str, Any]) -> dict[str, Any]:
        # The handler's own client, made once per matrix after the harness hooked boto3 (client creation is slow).
        return index.on_event(event, shared("handler:identity_policy", index._client), sleep=no_sleep)

    def ours(self) -> dict[str, Any]:
        policies = self.ses.get_email_identity_policies(EmailIdentity=DOMAIN)["Policies"]
        return {name: json.loads(text) for name, text in policies.items() if name != "theirs"}

    def check_declared(self, props: Props | None, physical_id: str | None) -> None:
        if props is None:
            assert self.ours() == {}, f"policies left behind: {list(self.ours())}"
            return
        assert self.ours() == {props["PolicyName"]: json.loads(index.render_policy(props))}
        assert physical_id == f"{DOMAIN}|{props['PolicyName']}"

    def others(self) -> Any:
        return self.ses.get_email_identity_policies(EmailIdentity=DOMAIN)["Policies"].get("theirs")

    def remove_by_hand(self, props: Props, physical_id: str) -> None:
        self.ses.delete_email_identity_policy(EmailIdentity=DOMAIN, PolicyName=props["PolicyName"])


@pytest.mark.parametrize("sequence", SEQUENCES, ids=lambda s: s.name)
def test_identity_policy_conforms(sequence: Sequence) -> None:
    conform(IdentityPolicy, sequence)
