"""``ExampleSender``: the sign-up Lambda of the README, allowed to send only as one address."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .._assets import handler_code
from .._provider import without_role_dependency
from ..mail_domain import MailDomain
from .conditions import SendConditions
from .configuration_set import MailConfigurationSet
from .templates import EmailTemplate


class ExampleSender(Construct):
    """A Lambda function that sends ``template`` from ``from_address`` through ``configuration_set`` (SES v2).

    Its role may send only as ``from_address`` (``ses:FromAddress``), only through the SES v2 API, on the domain
    identity, the configuration set and ``template`` (SES v2 ``SendEmail`` with a template authorizes on all three).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        mail_domain: MailDomain,
        from_address: str,
        template: EmailTemplate,
        configuration_set: MailConfigurationSet,
    ) -> None:
        """
        :param mail_domain: the domain sent as; ``from_address`` must belong to it.
        :param from_address: the only From address the function may use, such as ``register@example.com``.
        :param template: the template sent.
        :param configuration_set: the configuration set named on every send.
        """
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description="sesmail example sender"
        )
        log_group.grant_write(role)
        self.function = lambda_.Function(
            self,
            "Resource",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=handler_code("example_sender"),
            role=role,
            timeout=cdk.Duration.seconds(30),
            log_group=log_group,
            description=f"sesmail: sends the {template.template_name} template from {from_address}",
            environment={
                "FROM_ADDRESS": from_address,
                "TEMPLATE_NAME": template.template_name,
                "CONFIGURATION_SET_NAME": configuration_set.configuration_set.configuration_set_name,
            },
        )
        without_role_dependency(self.function, role)
        self.grant = mail_domain.grant_send(
            role,
            conditions=SendConditions(
                from_addresses=(from_address,),
                api_version="2",
                configuration_set=configuration_set.configuration_set_arn,
            ),
            templates=(template.template_arn,),
        )
