"""What is: boto3 clients, the deployed stack's physical resources and outputs, and a resolver that fills them in.

Read-only calls only. Clients come from boto3's usual credential chain and endpoint settings (``AWS_PROFILE``,
``AWS_ENDPOINT_URL``...) in the environment's region; tests pass their own ``factory``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from sesmail.policy.intrinsics import Resolver, StackContext

from . import aws_errors
from .expected import Environment

ClientFactory = Callable[[str], Any]


class Clients:
    """One boto3 client per service, made on first use."""

    def __init__(self, region: str, factory: ClientFactory | None = None) -> None:
        if factory is None:
            import boto3

            session = boto3.session.Session(region_name=region)
            factory = session.client
        self._factory = factory
        self.region = region
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        """The client for ``service`` (``ses``, ``sesv2``, ``s3``...)."""
        if service not in self._clients:
            # Expired credentials or a refused read stop the whole run with one line (aws_errors).
            self._clients[service] = aws_errors.install(self._factory(service), self.region)
        return self._clients[service]


def error_code(error: ClientError) -> str:
    """The AWS error code of a ``ClientError``."""
    return str(error.response.get("Error", {}).get("Code", ""))


@dataclass
class Stack:
    """The deployed stack: status, outputs, logical id -> physical id (empty when not deployed)."""

    name: str
    status: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    #: Why the stack could not be read (``None`` when it was).
    problem: str | None = None

    @property
    def deployed(self) -> bool:
        """Whether CloudFormation knows the stack."""
        return self.status is not None


def read_stack(clients: Clients, name: str) -> Stack:
    """Describe stack ``name`` and list its resources (``describe_stacks``, ``list_stack_resources``)."""
    stack = Stack(name)
    cfn = clients("cloudformation")
    try:
        described = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        stack.problem = f"{error_code(error)}: {error.response.get('Error', {}).get('Message', '')}".strip(": ")
        return stack
    stack.status = described.get("StackStatus")
    stack.outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in described.get("Outputs") or []}
    token: str | None = None
    while True:
        page = cfn.list_stack_resources(StackName=name, **({"NextToken": token} if token else {}))
        for summary in page.get("StackResourceSummaries") or []:
            if summary.get("PhysicalResourceId"):
                stack.physical[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
                stack.types[summary["LogicalResourceId"]] = summary.get("ResourceType", "")
        token = page.get("NextToken")
        if not token:
            return stack


#: Types whose physical id is the name that ``Ref`` returns and ARNs are built from.
_PHYSICAL_IS_NAME = frozenset(
    {"AWS::S3::Bucket", "AWS::Lambda::Function", "AWS::IAM::Role", "AWS::IAM::User", "AWS::Logs::LogGroup"}
)
#: Types whose physical id is what ``Ref`` returns (an ARN, a URL, an id).
_PHYSICAL_IS_REF = frozenset(
    {"AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::SES::ConfigurationSet"}
)


class LiveResolver(Resolver):
    """The policy package's offline resolver, with the deployed stack's physical ids in place of logical ids."""

    def __init__(self, env: Environment, stack: Stack) -> None:
        context = StackContext(env.account, env.region, env.partition, env.stack_name)
        super().__init__(env.template, context)
        self.stack = stack

    def _type(self, logical_id: str) -> str:
        return str((self.resources.get(logical_id) or {}).get("Type", ""))

    def name(self, logical_id: str) -> str:
        """The physical name when the stack is deployed, else the offline convention."""
        if self._type(logical_id) in _PHYSICAL_IS_NAME and logical_id in self.stack.physical:
            return self.stack.physical[logical_id]
        return super().name(logical_id)

    def ref(self, name: str) -> Any:
        """What ``Ref`` gives for the deployed resource."""
        kind = self._type(name)
        if name in self.stack.physical and (kind in _PHYSICAL_IS_REF or kind.startswith("Custom::")):
            return self.stack.physical[name]
        return super().ref(name)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """What ``Fn::GetAtt`` gives for the deployed resource (ARNs built from physical ids)."""
        kind, physical = self._type(logical_id), self.stack.physical.get(logical_id)
        ctx = self.context
        if physical is not None:
            if kind == "AWS::KMS::Key" and attribute == "Arn":
                return f"arn:{ctx.partition}:kms:{ctx.region}:{ctx.account}:key/{physical}"
            if kind == "AWS::KMS::Key" and attribute == "KeyId":
                return physical
            if kind == "AWS::SQS::Queue" and attribute == "Arn":
                return f"arn:{ctx.partition}:sqs:{ctx.region}:{ctx.account}:{physical.rstrip('/').rsplit('/', 1)[-1]}"
            if kind == "AWS::SNS::Topic" and attribute == "TopicArn":
                return physical
            if kind == "AWS::SecretsManager::Secret" and attribute == "Id":
                return physical
        return super().get_att(logical_id, attribute)


@dataclass
class Live:
    """Everything the checks share: the environment, clients, the stack, a resolver, and cached answers."""

    env: Environment
    clients: Clients
    stack: Stack
    resolver: LiveResolver
    cache: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, call: Callable[[], Any]) -> Any:
        """``call()``'s result, computed once per run (a ``ClientError`` is cached and re-raised too)."""
        if key not in self.cache:
            try:
                self.cache[key] = call()
            except ClientError as error:
                self.cache[key] = error
        value = self.cache[key]
        if isinstance(value, ClientError):
            raise value
        return value

    def email_identity(self, identity: str) -> Mapping[str, Any] | None:
        """``sesv2 get_email_identity`` (``None`` when SES has no such identity)."""
        try:
            return self.once(
                f"identity:{identity}", lambda: self.clients("sesv2").get_email_identity(EmailIdentity=identity)
            )
        except ClientError as error:
            if error_code(error) == "NotFoundException":
                return None
            raise


def connect(env: Environment, factory: ClientFactory | None = None) -> Live:
    """Read the deployed stack and build the shared :class:`Live` state."""
    clients = Clients(env.region, factory)
    stack = read_stack(clients, env.stack_name)
    return Live(env, clients, stack, LiveResolver(env, stack))
