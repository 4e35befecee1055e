"""Deploy a synthesized example template's live state into moto, with knobs that break one thing at a time.

moto holds what it models (S3 bucket, bucket policy and encryption, KMS keys and policies, SNS topic, SES v1 receipt
rule sets and rules, the active rule set). botocore's Stubber (which validates each request and response against the
real API model) answers where moto lacks the API or its answer: ``sesv2 GetAccount`` and
``GetConfigurationSetEventDestinations`` are not in moto 5.2; its ``GetEmailIdentity`` has no DKIM tokens, no MAIL FROM
attributes and is never verified; and moto's CloudFormation cannot create this stack's custom resources, so
``DescribeStacks``/``ListStackResources`` of the deployed stack are stubbed with the physical ids moto created.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from botocore.stub import Stubber
from moto.kms import models as kms_models
from moto.ses.exceptions import InvalidParameterValue
from moto.ses.models import SESBackend

from sesmail.doctor.expected import Environment, email_identities, identity_policies, rule_set
from sesmail.doctor.live import LiveResolver, Stack
from tests import boto_models

DKIM_TOKENS = ["tokenonea1b2c3d4e5f6", "tokentwoa1b2c3d4e5f6", "tokenthreea1b2c3d4e5"]
WORKMAIL_USER = "arn:aws:iam::123456789012:user/amazon-workmail-us-east-1"


@dataclass
class Scenario:
    """What the live account looks like; the defaults are everything right."""

    production_access: bool = True
    verified: bool = True
    activate_rule_set: bool = True
    #: Leave WorkMail's own rule set active instead, with a rule delivering these recipients to WorkMail (beside an
    #: existing organization: the recipients of WorkMail's rule in its set, default the domain).
    workmail_rule_set_recipients: list[str] | None = None
    #: Replace the WorkMail identity policy's principal by the seed's IAM user (the 403).
    seed_principal: bool = False
    #: Answer ListSubscriptionsByTopic for the alarm topic with every e-mail subscription unconfirmed (SNS lists
    #: them as ``PendingConfirmation``; moto confirms every subscription at once, so this one is stubbed).
    alarm_subscriptions_pending: bool = False
    #: Leave the alarm topic without subscriptions (someone unsubscribed, or they were deleted).
    alarm_subscriptions_missing: bool = False
    #: Staff addresses (the forwarder's FORWARD_TO) on the account suppression list.
    suppressed_staff: tuple[str, ...] = ()
    dns_records: dict[str, list[str]] = field(default_factory=dict)


def _session(region: str) -> boto3.session.Session:
    return boto_models.session(region)  # the process's shared API models (tests/boto_models.py)


#: moto's CreateKey makes an RSA-2048 private key for every key, even a symmetric one (about 90 ms each; a deployment
#: holds 3 or 4 keys). Only moto's Sign/Verify use that material, which neither the doctor nor these tests call: the
#: keys of a deployment share one generated private key per key spec. Every key still has its own id, ARN, policy and
#: metadata, and CreateKey's request and response are moto's, unchanged.
_PRIVATE_KEY = functools.cache(kms_models.generate_private_key)

#: The moto-backed clients, shared by every deployment (making a client costs about 30 ms): they are plain clients
#: of a session with the ``aws`` fixture's test credentials, and moto answers them in whichever test they are used.
_CLIENTS: dict[tuple[str, str], Any] = {}
#: The clients the Stubbers answer for, apart from the moto-backed ones (a Stubbed client never reaches moto), with the
#: Stubber last activated on each: a deployment deactivates it and activates its own (botocore lets one Stubber at a
#: time answer a client). A deployment that stubs no answers for a service never returns that service's stubbed client.
_STUBBED: dict[tuple[str, str], tuple[Any, Stubber]] = {}


def dkim_records(_domain: str) -> list[str]:
    """The three DKIM CNAMEs (relative to the domain's zone), as SES's tokens ask."""
    return [f"{t}._domainkey IN CNAME {t}.dkim.amazonses.com." for t in DKIM_TOKENS]


def good_zone_records(region: str) -> list[str]:
    """Every record the example environments ask for, right (relative to the zone of their domain)."""
    return [
        *dkim_records(""),
        f"mail IN MX 10 feedback-smtp.{region}.amazonses.com.",
        'mail IN TXT "v=spf1 include:amazonses.com ~all"',
        f"@ IN MX 10 inbound-smtp.{region}.amazonaws.com.",
        '_dmarc IN TXT "v=DMARC1; p=none"',
    ]


class Deployment:
    """One environment's live state in moto, plus the stubbed clients; ``factory`` is the doctor's client factory."""

    def __init__(self, env: Environment, scenario: Scenario) -> None:
        self.env, self.scenario = env, scenario
        region = env.region
        self.session = _session(region)
        self.physical: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.stubbed: dict[str, tuple[Any, Stubber]] = {}
        self._function_role: str | None = None
        with mock.patch.object(kms_models, "generate_private_key", _PRIVATE_KEY):
            self._create_resources()
        self.resolver = LiveResolver(env, Stack(env.stack_name, "CREATE_COMPLETE", physical=self.physical))
        self._configure()

    # -- moto -------------------------------------------------------------------------------------------------------

    def _create_resources(self) -> None:
        env, kms, sns = self.env, self.client("kms"), self.client("sns")
        region = env.region
        for lid, resource in env.resources.items():
            kind = resource["Type"]
            self.types[lid] = kind
            if kind == "AWS::KMS::Key":
                self.physical[lid] = kms.create_key()["KeyMetadata"]["KeyId"]
            elif kind == "AWS::S3::Bucket":
                name = f"{env.stack_name}-{lid.lower()[:30]}-test"
                where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
                self.client("s3").create_bucket(Bucket=name, **where)
                self.physical[lid] = name
            elif kind == "AWS::SNS::Topic":
                self.physical[lid] = sns.create_topic(Name=f"{env.stack_name}-{lid}")["TopicArn"]
            elif kind == "AWS::SES::ConfigurationSet":
                self.physical[lid] = resource["Properties"]["Name"]
            elif kind == "AWS::IAM::Role":
                self.physical[lid] = f"{env.stack_name}-{lid}"[:64]
                if "ses.amazonaws.com" in json.dumps(resource["Properties"].get("AssumeRolePolicyDocument")):
                    # The S3 action's role: SES checks that it exists when the receipt rule is created.
                    trust = {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "ses.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                    self.client("iam").create_role(
                        RoleName=self.physical[lid], AssumeRolePolicyDocument=json.dumps(trust)
                    )
            elif kind == "AWS::Lambda::Function":
                self.physical[lid] = self._function(f"{env.stack_name}-{lid}"[:64])
            elif kind == "AWS::IAM::User":
                self.physical[lid] = self.client("iam").create_user(UserName=f"{env.stack_name}-{lid}"[:64])["User"][
                    "UserName"
                ]
            elif kind == "AWS::SecretsManager::Secret":
                self.physical[lid] = self.client("secretsmanager").create_secret(Name=f"{lid}-test")["ARN"]
            elif kind == "AWS::SQS::Queue":  # CloudFormation's Ref of a queue is its URL
                self.physical[lid] = self.client("sqs").create_queue(QueueName=f"{lid}-test"[:80])["QueueUrl"]
        for lid, props in env.of_type("AWS::SNS::Subscription"):
            unsubscribed = self.scenario.alarm_subscriptions_pending or self.scenario.alarm_subscriptions_missing
            if str(props.get("Protocol")) == "email" and not unsubscribed:
                topic = self.physical[props["TopicArn"]["Ref"]]
                self.physical[lid] = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=props["Endpoint"])[
                    "SubscriptionArn"
                ]
        for lid, props in env.of_type("Custom::SesSmtpCredentials"):
            user = self.physical[props["UserName"]["Ref"]]
            key = self.client("iam").create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
            self.physical[lid] = key

    def _function(self, name: str) -> str:
        """A Lambda function in moto (receipt rules with a Lambda action need one to exist); it is never invoked."""
        iam = self.client("iam")
        trust = {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        }
        role = self._function_role
        if role is None:  # one role for every function of the deployment, looked up or created once
            try:
                role = iam.get_role(RoleName="doctor-test-functions")["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                role = iam.create_role(RoleName="doctor-test-functions", AssumeRolePolicyDocument=json.dumps(trust))[
                    "Role"
                ]["Arn"]
            self._function_role = role
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("index.py", "def handler(event, context):\n    return None\n")
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": archive.getvalue()},
        )
        return name

    def _configure(self) -> None:
        env, resolve = self.env, self.resolver.resolve
        s3, kms, ses = self.client("s3"), self.client("kms"), self.client("ses")
        for lid, props in env.of_type("AWS::KMS::Key"):
            kms.put_key_policy(
                KeyId=self.physical[lid], PolicyName="default", Policy=json.dumps(resolve(props["KeyPolicy"]))
            )
        for _, props in env.of_type("AWS::S3::BucketPolicy"):
            s3.put_bucket_policy(Bucket=resolve(props["Bucket"]), Policy=json.dumps(resolve(props["PolicyDocument"])))
        for lid, props in env.of_type("AWS::S3::Bucket"):
            encryption = props.get("BucketEncryption")
            if encryption:
                rules = resolve(encryption["ServerSideEncryptionConfiguration"])
                s3.put_bucket_encryption(
                    Bucket=self.physical[lid],
                    ServerSideEncryptionConfiguration={
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"],
                                "BucketKeyEnabled": r.get("BucketKeyEnabled", False),
                            }
                            for r in rules
                        ]
                    },
                )
        rules = rule_set(env)
        assert rules is not None
        if rules.existing:
            # Beside an existing WorkMail organization: its own set with its rule delivering the domain, then the
            # stack's rules, the first (no After) at the start of the set, as CloudFormation creates them.
            ses.create_receipt_rule_set(RuleSetName=rules.name)
            domain = next(props["EmailIdentity"] for _, props in email_identities(env))
            recipients = self.scenario.workmail_rule_set_recipients or [domain]
            workmail_rule = {"Name": "m-workmail", "Enabled": True, "Recipients": recipients}
            workmail_rule["Actions"] = [{"WorkmailAction": {"OrganizationArn": env.workmail_organization_arn}}]
            ses.create_receipt_rule(RuleSetName=rules.name, Rule=workmail_rule)
            previous = None
            for _, rule in rules.rules:
                ses.create_receipt_rule(
                    RuleSetName=rules.name, Rule=resolve(rule), **({"After": previous} if previous else {})
                )
                previous = rule["Name"]
            if self.scenario.activate_rule_set:
                ses.set_active_receipt_rule_set(RuleSetName=rules.name)
            return
        ses.create_receipt_rule_set(RuleSetName=rules.name)
        previous = None
        for _, rule in rules.rules:
            ses.create_receipt_rule(
                RuleSetName=rules.name, Rule=resolve(rule), **({"After": previous} if previous else {})
            )
            previous = rule["Name"]
        workmail = self.scenario.workmail_rule_set_recipients
        if workmail is not None:
            org = env.workmail_organization_arn
            ses.create_receipt_rule_set(RuleSetName="INBOUND_MAIL")
            rule = {"Name": "m-workmail", "Enabled": True, "Recipients": workmail}
            rule["Actions"] = [{"WorkmailAction": {"OrganizationArn": org}}]
            ses.create_receipt_rule(RuleSetName="INBOUND_MAIL", Rule=rule)
            ses.set_active_receipt_rule_set(RuleSetName="INBOUND_MAIL")
        elif self.scenario.activate_rule_set:
            ses.set_active_receipt_rule_set(RuleSetName=rules.name)

    # -- Stubber ----------------------------------------------------------------------------------------------------

    def _policies(self) -> dict[str, str]:
        policies = {}
        for _, props in identity_policies(self.env):
            document = self.resolver.resolve_json_string(props["Policy"])
            if self.scenario.seed_principal:
                for statement in document["Statement"]:
                    statement["Principal"] = {"AWS": WORKMAIL_USER}
                    statement.pop("Condition", None)
            policies[props["PolicyName"]] = json.dumps(document)
        return policies

    def stub_responses(self) -> None:
        """Queue the stubbed answers in the order the doctor asks."""
        env, scenario = self.env, self.scenario
        identity = next(props for _, props in email_identities(env))
        domain = identity["EmailIdentity"]
        # An identity the stack only references (existingIdentity, the default beside WorkMail): the doctor reads it
        # first, for its DKIM and MAIL FROM records (dns checks run before the ses checks).
        existing = bool(identity.get("Existing"))
        mail_from = (identity.get("MailFromAttributes") or {}).get("MailFromDomain") or f"mail.{domain}"
        config_set = next(props["Name"] for _, props in env.of_type("AWS::SES::ConfigurationSet"))
        cfn = self.stubber("cloudformation")
        outputs = []
        for output_id, output in (env.template.get("Outputs") or {}).items():
            value = output["Value"]
            if "DkimToken" not in output_id:
                value = self.resolver.resolve(value)
            elif not isinstance(value, str):  # the DKIM records: CloudFormation resolves SES's tokens on deploy
                index = int(output_id.split("DkimToken")[1][0]) - 1
                token = DKIM_TOKENS[index]
                value = f"{token}._domainkey.{domain}. IN CNAME {token}.dkim.amazonses.com."
            outputs.append({"OutputKey": output_id, "OutputValue": value})
        created = "2026-12-01T00:00:00Z"
        cfn.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": env.stack_name,
                        "CreationTime": created,
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": outputs,
                    }
                ]
            },
            {"StackName": env.stack_name},
        )
        summaries = [
            {
                "LogicalResourceId": lid,
                "PhysicalResourceId": pid,
                "ResourceType": self.types[lid],
                "LastUpdatedTimestamp": created,
                "ResourceStatus": "CREATE_COMPLETE",
            }
            for lid, pid in self.physical.items()
        ]
        cfn.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": env.stack_name})

        ses = self.stubber("sesv2")
        if existing:
            self._stub_identity(ses, domain, mail_from, config_set)
        ses.add_response(
            "get_account",
            {
                "ProductionAccessEnabled": scenario.production_access,
                "SendingEnabled": True,
                "EnforcementStatus": "HEALTHY",
                "SendQuota": {
                    "Max24HourSend": 50000.0 if scenario.production_access else 200.0,
                    "MaxSendRate": 14.0,
                    "SentLast24Hours": 12.0,
                },
                "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
            },
            {},
        )
        if not existing:
            self._stub_identity(ses, domain, mail_from, config_set)
        ses.add_response(
            "get_configuration_set",
            {
                "ConfigurationSetName": config_set,
                "SuppressionOptions": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
            },
            {"ConfigurationSetName": config_set},
        )
        topic = next(pid for lid, pid in self.physical.items() if self.types[lid] == "AWS::SNS::Topic")
        ses.add_response(
            "get_configuration_set_event_destinations",
            {
                "EventDestinations": [
                    {
                        "Name": "ConfigurationSetEvents-test",
                        "Enabled": True,
                        "MatchingEventTypes": ["BOUNCE", "COMPLAINT", "DELIVERY", "REJECT", "DELIVERY_DELAY"],
                        "SnsDestination": {"TopicArn": topic},
                    }
                ]
            },
            {"ConfigurationSetName": config_set},
        )

        # GetSuppressedDestination per staff address (moto 5 has no suppression list): NotFoundException when the
        # address is not on it, as the SES v2 API reference documents.
        for _, props in env.of_type("AWS::Lambda::Function"):
            staff = ((props.get("Environment") or {}).get("Variables") or {}).get("FORWARD_TO")
            for address in str(staff or "").split(","):
                if not address:
                    continue
                if address in scenario.suppressed_staff:
                    ses.add_response(
                        "get_suppressed_destination",
                        {
                            "SuppressedDestination": {
                                "EmailAddress": address,
                                "Reason": "BOUNCE",
                                "LastUpdateTime": "2026-12-01T00:00:00Z",
                            }
                        },
                        {"EmailAddress": address},
                    )
                else:
                    ses.add_client_error(
                        "get_suppressed_destination",
                        service_error_code="NotFoundException",
                        http_status_code=404,
                        expected_params={"EmailAddress": address},
                    )
        if scenario.alarm_subscriptions_pending:
            sns = self.stubber("sns")
            for _, props in env.of_type("AWS::SNS::Subscription"):
                if str(props.get("Protocol")) != "email":
                    continue
                topic = self.physical[props["TopicArn"]["Ref"]]
                pending = {
                    "SubscriptionArn": "PendingConfirmation",
                    "Owner": env.account,
                    "Protocol": "email",
                    "Endpoint": props["Endpoint"],
                    "TopicArn": topic,
                }
                sns.add_response("list_subscriptions_by_topic", {"Subscriptions": [pending]}, {"TopicArn": topic})

    def _stub_identity(self, ses: Stubber, domain: str, mail_from: str, config_set: str) -> None:
        scenario = self.scenario
        ses.add_response(
            "get_email_identity",
            {
                "IdentityType": "DOMAIN",
                "VerifiedForSendingStatus": scenario.verified,
                "VerificationStatus": "SUCCESS" if scenario.verified else "PENDING",
                "DkimAttributes": {
                    "SigningEnabled": True,
                    "Status": "SUCCESS" if scenario.verified else "PENDING",
                    "Tokens": DKIM_TOKENS,
                },
                "MailFromAttributes": {
                    "MailFromDomain": mail_from,
                    "MailFromDomainStatus": "SUCCESS",
                    "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
                },
                "Policies": self._policies(),
                "ConfigurationSetName": config_set,
            },
            {"EmailIdentity": domain},
        )

    def client(self, service: str) -> Any:
        """The moto-backed client of ``service`` (one per service and region, shared: making clients is slow)."""
        key = (self.env.region, service)
        if key not in _CLIENTS:
            _CLIENTS[key] = self.session.client(service)
        return _CLIENTS[key]

    def stubber(self, service: str) -> Stubber:
        """An active Stubber of this deployment on the stubbed client of ``service``, which the factory returns from
        now on. The client is shared by the deployments (see ``_STUBBED``); the previous deployment's Stubber on it is
        deactivated first, so only this one's answers are queued and checked."""
        key = (self.env.region, service)
        if key in _STUBBED:
            client, previous = _STUBBED[key]
            previous.deactivate()
        else:
            client = self.session.client(service)
        stubber = Stubber(client)
        stubber.activate()
        _STUBBED[key] = (client, stubber)
        self.stubbed[service] = (client, stubber)
        return stubber

    def factory(self, service: str) -> Any:
        """The doctor's client factory: the stubbed clients, else moto-backed boto3 clients."""
        if service in self.stubbed:
            return self.stubbed[service][0]
        return self.client(service)

    def assert_all_answered(self) -> None:
        """Every stubbed answer was asked for (the doctor made the calls it should)."""
        for _, stubber in self.stubbed.values():
            stubber.assert_no_pending_responses()


def _validate_iam_role_by_arn(self: SESBackend, role_arn: str) -> None:
    """moto's SES looks an S3 action's ``IamRoleArn`` up among IAM role *ids* (``_validate_iam_role``), so it refuses
    every role; SES refuses only a role it cannot assume. This keeps moto's check, by ARN."""
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    roles = iam_backends[self.account_id][get_partition(self.region_name)].roles.values()
    if role_arn and role_arn not in {role.arn for role in roles}:
        raise InvalidParameterValue("Could not assume the provided IAM role")


SESBackend._validate_iam_role = _validate_iam_role_by_arn  # type: ignore[method-assign]
