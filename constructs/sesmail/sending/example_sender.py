"""``ExampleSender``: the sign-up Lambda of the README, allowed to send only as one address."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from constructs import Construct

from .._provider import handler_function
from .conditions import SendConditions
from .configuration_set import MailConfigurationSet
from .templates import EmailTemplate

if TYPE_CHECKING:  # the annotation only: mail_domain uses sending, so sending imports nothing of it at run time
    from ..mail_domain import MailDomain


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
        self.function, role = handler_function(
            self,
            "Resource",
            handler="example_sender",
            role_description="sesmail example sender",
            timeout=cdk.Duration.seconds(30),
            description=f"sesmail: sends the {template.template_name} template from {from_address}",
            environment={
                "FROM_ADDRESS": from_address,
                "TEMPLATE_NAME": template.template_name,
                "CONFIGURATION_SET_NAME": configuration_set.configuration_set.configuration_set_name,
            },
        )
        self.grant = mail_domain.grant_send(
            role,
            conditions=SendConditions(
                from_addresses=(from_address,),
                api_version="2",
                configuration_set=configuration_set.configuration_set_arn,
            ),
            templates=(template.template_arn,),
        )
