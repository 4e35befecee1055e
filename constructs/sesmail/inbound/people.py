"""SES SMTP credentials per person: an IAM user and a secret each, allowed to send only as that person's addresses.

Where the resources go: every person of a :class:`PeopleSmtpCredentials` is placed in ONE nested stack of its own
(``<id>/Stack``), whatever their number, so that adding the 21st or the 101st person never moves anyone (moving a
person to another stack would replace their IAM user, and with it the password in their mail client). A person costs
that nested stack 3 resources (the user with its inline policy, the secret, the custom resource that keeps the key)
and the parent stack none; the handler, its provider and the KMS key are shared. So a nested stack holds
:data:`MAX_PEOPLE_PER_STACK` people within CloudFormation's 500 resources per stack, and synth refuses more in one
line: give the others to a second ``PeopleSmtpCredentials`` (another construct id, so another nested stack).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_secretsmanager as secretsmanager
import aws_cdk.custom_resources as cr
import jsii
from constructs import Construct, IValidation

from .. import limits
from .._provider import framework_provider, handler_function
from ..identities import IdentityLike, SendingDomain, _as_list, default_configuration_set_arn, identity_arn_of
from ..validation import is_token

#: Resources a person adds to the nested stack: the user (its policy inline), the secret, the key's custom resource.
RESOURCES_PER_PERSON = 3
#: Resources the nested stack holds besides the people: the KMS key, the handler (function, role, its policy, log
#: group) and the provider framework (function, role, its policy, log group).
SHARED_RESOURCES = 9
#: People one nested stack holds within CloudFormation's 500 resources per stack.
MAX_PEOPLE_PER_STACK = (limits.CFN_RESOURCES - SHARED_RESOURCES) // RESOURCES_PER_PERSON
#: Tag on every person's secret: the handler may write only secrets tagged with its construct's value.
PEOPLE_TAG = "sesmail:people"
#: Tag on every person's user and secret: the person's name (how an operator finds the secret to hand over).
PERSON_TAG = "sesmail:person"

# IAM user names allow [\w+=,.@-]; a tag value (Secrets Manager, IAM) does not allow the comma.
_NAME = re.compile(r"^[A-Za-z0-9_+=.@-]+$")
_PREFIX = "sesmail-"
_HASH = 8
#: IAM user names are at most 64 characters: ``sesmail-<name>-<8 hex>``.
MAX_NAME = 64 - len(_PREFIX) - 1 - _HASH


@dataclass(frozen=True, kw_only=True)
class Person:
    """One person who sends through SES with credentials of their own."""

    #: Unique among the construct's people; in the IAM user's name (``sesmail-<name>-<8 hex>``) and the
    #: ``sesmail:person`` tag, so letters, digits and ``_+=.@-`` only, at most 47 characters.
    name: str
    #: The full addresses the person may send as, their own first; at least one. Two people may be given the same
    #: address (both may send as ``info@``).
    send_as: Sequence[str]
    #: Any string; changing it rotates the person's key on the next deploy (a new key becomes current in the secret,
    #: the key that was current keeps working). Default ``"1"``: the key is created once and kept.
    rotation_token: str = "1"
    #: Whether the key that was current before the last rotation keeps working. Default ``True``. Deploying ``False``
    #: is the second step of a rotation: it deletes that key (IAM cannot bring a deleted key back; deploy it once
    #: the person's mail client has the new password). Together with a new ``rotation_token``, the old key is
    #: deleted in the same deploy (a leaked key).
    keep_previous_key: bool = True


def _domain_of(scope: Construct, identity: IdentityLike) -> str | None:
    """The domain (or address) an identity sends for, or ``None`` when only the deploy knows it."""
    if isinstance(identity, SendingDomain):
        name = identity.domain_name
    elif isinstance(identity, str):
        name = identity.rpartition(":identity/")[2] if ":identity/" in identity else ""
    else:
        name = identity.email_identity_name
    return None if not name or is_token(name) else name.lower()


@jsii.implements(IValidation)
class _Capacity:
    def __init__(self, stack: cdk.Stack, path: str) -> None:
        self._stack, self._path = stack, path

    def validate(self) -> list[str]:
        count = sum(
            1
            for node in self._stack.node.find_all()
            if isinstance(node, cdk.CfnResource) and cdk.Stack.of(node) is self._stack
        )
        if count <= limits.CFN_RESOURCES:
            return []
        return [
            f"{self._path}: its nested stack has {count:,} resources; CloudFormation allows {limits.CFN_RESOURCES} "
            f"per stack ({MAX_PEOPLE_PER_STACK} people): give the others to a second PeopleSmtpCredentials"
        ]


class PeopleSmtpCredentials(Construct):
    """SES SMTP credentials for each of ``people``: one IAM user and one secret per person, each user allowed only
    ``ses:SendRawEmail`` as that person's ``send_as`` addresses (``ses:FromAddress``), through ``identity``.

    Everything is in one nested stack (:attr:`nested_stack`; see the module docstring for why and how many people
    it holds). Each person's user carries one inline policy naming only the identities of that person's domains
    (and a ``MailDomain``'s default configuration set, on which SES authorizes the send too) and that person's
    addresses: its size grows with the person's own grants only, never with the number of people.

    Each person's secret holds ``{"username", "password", "endpoint", "port", "region", "iamUserName",
    "rotationToken"}`` (the SMTP username is the access key id; the password is derived from the secret access key
    as SES documents, version 4). The key is made at deploy time by a custom resource whose physical id is the user
    name: a rotation (a new ``rotation_token``) is an update in place that makes a new key current and keeps the one
    before live until ``keep_previous_key=False`` is deployed or the next rotation, which deletes the older key
    first (IAM allows two keys per user). Removing a person deletes their keys, user and secret.

    The shared handler may only list, create and delete access keys of users under this construct's IAM path
    (``/sesmail/people/<8 hex>/``) and read, put and restage secrets tagged ``sesmail:people=<8 hex>``, with the
    KMS key's ``kms:GenerateDataKey``/``kms:Decrypt``: its policy is the same size for 1 person or 150.

    Attributes: :attr:`users`, :attr:`secrets` and :attr:`access_keys` (the custom resources), each by person name;
    :attr:`nested_stack`; :attr:`key` (the secrets' KMS key); :attr:`handler_role`; :attr:`iam_path` and
    :attr:`label` (the ``<8 hex>`` of the path, the user names and the secrets' tag); :attr:`smtp_endpoint`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        people: Sequence[Person],
        identity: IdentityLike | Sequence[IdentityLike],
        encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param people: the people, each with their name and addresses; at least one. Adding or removing a person
            creates or deletes only that person's user, secret and keys.
        :param identity: the SES identities the people send through (``MailDomain``, any ``ses.IEmailIdentity``, or
            an identity's ARN), one per domain of their addresses. Each person's policy names only the identities
            of their own addresses' domains (an identity whose name is known only at deploy time is named in
            every person's policy); an address whose domain has no identity is refused.
        :param encryption_key: KMS key for the secrets. Default: a new customer-managed key in the nested stack,
            with rotation enabled, for all the people's secrets.
        """
        given = _as_list("identity", identity)
        checked = self._checked_people(people)
        super().__init__(scope, construct_id)
        parent = cdk.Stack.of(self)
        # One hash names the users' IAM path and the secrets' tag: unique per stack, region and construct path, so
        # two environments in one account never share a user name, and stable across synths. A token's text
        # depends on what else the app built, so an unresolved name or region is left out (an environment-agnostic
        # stack deployed twice in one account then fails on the user names, visibly, instead of sharing them).
        stack_name = parent.node.path if is_token(parent.stack_name) else parent.stack_name
        region = "" if is_token(parent.region) else parent.region
        seed = "/".join([stack_name, region, self.node.path])
        self.label = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:_HASH]
        self.iam_path = f"/sesmail/people/{self.label}/"
        self.nested_stack = cdk.NestedStack(
            self, "Stack", description=f"sesmail: SES SMTP credentials of {len(checked)} people"
        )
        stack = self.nested_stack
        stack.node.add_validation(_Capacity(stack, self.node.path))
        routes = self._routes(given)
        self.key = encryption_key or kms.Key(
            stack, "Key", enable_key_rotation=True, description="sesmail: people's SES SMTP credentials"
        )
        provider = self._provider(stack)
        self.users: dict[str, iam.User] = {}
        self.secrets: dict[str, secretsmanager.Secret] = {}
        self.access_keys: dict[str, cdk.CustomResource] = {}
        for person in checked:
            self._person(stack, person, routes, provider.service_token)
        self.smtp_endpoint = f"email-smtp.{parent.region}.amazonaws.com"
        limits.watch(stack)

    @staticmethod
    def _checked_people(people: Sequence[Person]) -> list[Person]:
        checked = list(people)
        if not checked:
            raise ValueError("people: [] must name at least one person")
        seen: set[str] = set()
        for i, person in enumerate(checked):
            where = f"people[{i}]"
            if not isinstance(person, Person):
                raise ValueError(f"{where}: {person!r} is not a sesmail.Person")
            if not _NAME.match(person.name) or len(person.name) > MAX_NAME:
                raise ValueError(
                    f"{where}.name: {person.name!r} must be 1-{MAX_NAME} letters, digits or _+=.@- "
                    "(it is part of the IAM user's name and a tag)"
                )
            if person.name.lower() in seen:
                raise ValueError(f"{where}.name: {person.name!r} is given twice (IAM user names ignore case)")
            seen.add(person.name.lower())
            if isinstance(person.send_as, str) or not list(person.send_as):
                raise ValueError(f"{where}.send_as: {person.send_as!r} must be a list of at least one address")
            for address in person.send_as:
                if not isinstance(address, str) or is_token(address) or address.count("@") != 1:
                    raise ValueError(f"{where}.send_as: {address!r} is not a full e-mail address")
            if len({a.lower() for a in person.send_as}) != len(person.send_as):
                raise ValueError(f"{where}.send_as: {list(person.send_as)!r} names an address twice")
            if not isinstance(person.rotation_token, str) or not person.rotation_token:
                raise ValueError(f"{where}.rotation_token: {person.rotation_token!r} must be a non-empty string")
        return checked

    def _routes(self, given: Sequence[IdentityLike]) -> tuple[dict[str, list[str]], list[str]]:
        """``({domain: [identity ARN, its default configuration set ARN]}, [resources of identities of unknown
        domain])``."""
        known: dict[str, list[str]] = {}
        unknown: list[str] = []
        for item in given:
            arns = [identity_arn_of(self, "identity", item)]
            configuration_set = default_configuration_set_arn(self, item)
            if configuration_set is not None:
                arns.append(configuration_set)
            domain = _domain_of(self, item)
            target = unknown if domain is None else known.setdefault(domain, [])
            target.extend(a for a in arns if a not in target)
        return known, unknown

    def _provider(self, stack: cdk.NestedStack) -> cr.Provider:
        function, role = handler_function(
            stack,
            "Handler",
            handler="smtp_credentials",
            role_description="sesmail: creates and rotates the people's SMTP access keys",
            timeout=cdk.Duration.minutes(1),
            description="sesmail: people's SES SMTP credentials custom resource",
        )
        users = stack.format_arn(
            service="iam",
            region="",
            resource="user",
            resource_name=f"{self.iam_path.strip('/')}/*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"], resources=[users]
            )
        )
        # Secret ARNs end in a random suffix and there is one per person: the tag keeps this statement one size.
        secrets = stack.format_arn(
            service="secretsmanager", resource="secret", resource_name="*", arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                resources=[secrets],
                conditions={"StringEquals": {f"aws:ResourceTag/{PEOPLE_TAG}": self.label}},
            )
        )
        self.key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        reason = (
            "One statement for every person's user, whatever their number: the users' own IAM path "
            f"({self.iam_path}), which only this construct's users are created under."
        )
        role_policy = role.node.find_child("DefaultPolicy")
        for resource in (users, secrets):
            cdk.Validations.of(role_policy).acknowledge(
                cdk.Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{_nag_resource(stack, resource)}]",
                    reason=reason
                    if resource is users
                    else (
                        "One statement for every person's secret, whatever their number: only secrets tagged "
                        f"{PEOPLE_TAG}={self.label} (this construct's) match its condition."
                    ),
                )
            )
        self.handler_role = role
        return framework_provider(
            stack,
            handler=function,
            description="Invokes sesmail's people's SMTP credentials handler for CloudFormation",
            label="the people's SMTP credentials handler",
        )

    def _person(
        self,
        stack: cdk.NestedStack,
        person: Person,
        routes: tuple[dict[str, list[str]], list[str]],
        service_token: str,
    ) -> None:
        known, unknown = routes
        resources: list[str] = []
        for address in person.send_as:
            domain = address.rpartition("@")[2].lower()
            found = known.get(domain) or known.get(address.lower())
            if found is None and not unknown:
                raise ValueError(
                    f"people[{person.name}].send_as: {address!r}: no identity of {domain} was given in identity"
                )
            resources.extend(a for a in (found or []) if a not in resources)
        resources.extend(a for a in unknown if a not in resources)
        scope = Construct(stack, f"Person{person.name}")
        user = iam.User(scope, "User", user_name=f"{_PREFIX}{person.name}-{self.label}", path=self.iam_path)
        send_as = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["ses:SendRawEmail"],
                    resources=resources,
                    # FromAddress is single-valued: ForAllValues would also pass a request without one.
                    conditions={"StringEquals": {"ses:FromAddress": list(person.send_as)}},
                )
            ]
        )
        # Inline, in the user's own resource: no AWS::IAM::Policy per person (3 resources a person, not 4), and IAM's
        # 2,048 characters per user hold the person's own grants only (sesmail.limits measures it at synth).
        cfn_user = user.node.default_child
        assert isinstance(cfn_user, iam.CfnUser)
        cfn_user.policies = [iam.CfnUser.PolicyProperty(policy_name="SendAs", policy_document=send_as)]
        cdk.Tags.of(user).add(PERSON_TAG, person.name)
        secret = secretsmanager.Secret(
            scope,
            "Secret",
            encryption_key=self.key,
            description=f"SES SMTP credentials of {person.name} ({', '.join(person.send_as)})"[:2048],
        )
        cdk.Tags.of(secret).add(PERSON_TAG, person.name)
        cdk.Tags.of(secret).add(PEOPLE_TAG, self.label)
        cdk.Validations.of(secret).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "The SMTP password is derived from the IAM user's access key, so rotation must replace the key; "
                    "it is rotated on deploy by changing the person's rotation token (the previous key keeps "
                    "working until keepPreviousKey is false)."
                ),
            )
        )
        access_key = cdk.CustomResource(
            scope,
            "AccessKey",
            service_token=service_token,
            resource_type="Custom::SesPersonSmtpCredentials",
            properties={
                "UserName": user.user_name,
                "SecretId": secret.secret_arn,
                "Region": cdk.Stack.of(self).region,
                "RotationToken": person.rotation_token,
                "KeepPreviousKey": "true" if person.keep_previous_key else "false",
            },
        )
        # The handler must be allowed to act before the first create, and until the last delete.
        access_key.node.add_dependency(self.handler_role)
        self.users[person.name] = user
        self.secrets[person.name] = secret
        self.access_keys[person.name] = access_key

    def secret_of(self, name: str) -> secretsmanager.ISecret:
        """The secret holding ``name``'s SMTP credentials (``KeyError`` for a name not among the people)."""
        return self.secrets[name]


def _nag_resource(stack: cdk.Stack, arn: str) -> str:
    """An ARN as cdk-nag writes it in a finding id: intrinsics as ``<AWS::Partition>``."""
    resolved = stack.resolve(arn)
    if isinstance(resolved, str):
        return resolved
    parts = resolved.get("Fn::Join", ["", []])[1]
    return "".join(p if isinstance(p, str) else f"<{p.get('Ref')}>" for p in parts)
