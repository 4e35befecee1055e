"""``grant_send``: an identity-based grant to send as chosen addresses of one SES identity."""

from __future__ import annotations

from aws_cdk import aws_iam as iam

from .conditions import SendConditions

SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
TEMPLATED_ACTIONS = ("ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail", "ses:SendBulkEmail")


def grant_send(
    grantee: iam.IGrantable,
    *,
    identity_arn: str,
    conditions: SendConditions,
    templated: bool = False,
) -> iam.Grant:
    """Grant ``grantee`` permission to send as ``conditions.from_addresses`` through the identity ``identity_arn``.

    :param grantee: the principal (a Lambda function, a role...).
    :param identity_arn: the SES identity's ARN, the grant's resource.
    :param conditions: the restrictions; ``from_addresses`` is required so a grant never covers the whole domain.
    :param templated: default ``False``, only ``SendEmail``/``SendRawEmail``;
        ``True`` adds the templated and bulk actions.
    """
    if not conditions.from_addresses:
        raise ValueError("conditions.from_addresses: () is empty; name the addresses the grantee may send as")
    resources = [identity_arn]
    if conditions.configuration_set is not None:
        resources.append(conditions.configuration_set)
    actions = [*SEND_ACTIONS, *(TEMPLATED_ACTIONS if templated else ())]
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=actions,
        resource_arns=resources,
        conditions=conditions.to_iam(),
    )
