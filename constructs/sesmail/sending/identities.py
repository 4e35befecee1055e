"""Where a sender is given an identity: a ``MailDomain`` or any ``ses.IEmailIdentity`` of the app, or an ARN.

A construct given the identity finds what a send grant must name on its own: the identity's ARN and, for a
``MailDomain`` with a default configuration set, that set's ARN too (SES v2 authorizes ``SendEmail`` on the identity
and on the configuration set the send uses, so a grant without it is denied every send). ARNs stay accepted for
identities outside the app.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import aws_cdk.aws_ses as ses
from constructs import Construct, IConstruct

#: One identity, given as a construct (``MailDomain`` or ``ses.IEmailIdentity``) or by ARN.
IdentityLike = ses.IEmailIdentity | str


@dataclass(frozen=True)
class SendResources:
    """What a send grant names for some identities: their ARNs, then their default configuration sets' ARNs."""

    identity_arns: list[str]
    configuration_set_arns: list[str]

    @property
    def all(self) -> list[str]:
        return [*self.identity_arns, *(a for a in self.configuration_set_arns if a not in self.identity_arns)]


def _as_list(prop: str, value: IdentityLike | Sequence[IdentityLike]) -> list[IdentityLike]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    items = list(value)
    if not items:
        raise ValueError(f"{prop}: [] must name at least one identity")
    return items


def identity_arn_of(scope: IConstruct, prop: str, identity: IdentityLike) -> str:
    """The identity's ARN (``identity`` itself when it is one)."""
    from ..mail_domain import MailDomain  # a function-level import: mail_domain imports sending

    if isinstance(identity, str):
        if not cdk.Token.is_unresolved(identity) and ":identity/" not in identity:
            raise ValueError(f"{prop}: {identity!r} is not an SES identity ARN (or pass the MailDomain itself)")
        return identity
    if isinstance(identity, MailDomain):
        return identity.identity_arn
    try:
        return identity.email_identity_arn
    except AttributeError:
        raise ValueError(f"{prop}: {identity!r} is not an ses.IEmailIdentity, a MailDomain or an ARN") from None


def default_configuration_set_arn(scope: Construct, identity: IdentityLike) -> str | None:
    """The ARN of a ``MailDomain``'s default configuration set, or ``None`` (an ARN or another identity: unknown)."""
    from ..mail_domain import MailDomain
    from .configuration_set import MailConfigurationSet

    if not isinstance(identity, MailDomain) or identity.configuration_set is None:
        return None
    configuration_set = identity.configuration_set
    if isinstance(configuration_set, MailConfigurationSet):
        return configuration_set.configuration_set_arn
    return cdk.Stack.of(scope).format_arn(
        service="ses",
        resource="configuration-set",
        resource_name=configuration_set.configuration_set_name,
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )


def send_resources(
    scope: Construct,
    *,
    identity: IdentityLike | Sequence[IdentityLike] | None,
    identity_arn: str | Sequence[str] | None,
    configuration_set_arn: str | None,
) -> SendResources:
    """The resources of a send grant from either ``identity`` (constructs, whose default sets are found) or
    ``identity_arn`` (ARNs, with ``configuration_set_arn`` given by hand); one of the two, not both."""
    if (identity is None) == (identity_arn is None):
        raise ValueError(
            "identity: give the identity (a MailDomain or ses.IEmailIdentity) or identity_arn, one of them"
        )
    prop = "identity" if identity is not None else "identity_arn"
    value = identity if identity is not None else identity_arn
    assert value is not None
    given = _as_list(prop, value)
    arns = [identity_arn_of(scope, prop, item) for item in given]
    sets = [] if configuration_set_arn is None else [configuration_set_arn]
    for item in given:
        found = default_configuration_set_arn(scope, item)
        if found is not None and found not in sets:
            sets.append(found)
    return SendResources(identity_arns=arns, configuration_set_arns=sets)


def identity_name_and_arn(
    scope: Construct, identity: str | ses.IEmailIdentity, identity_arn: str | None
) -> tuple[str, str]:
    """``(name, ARN)`` of an identity given as a construct, or by name with its ARN (an identity outside the app)."""
    from ..mail_domain import MailDomain

    if not isinstance(identity, str):
        if identity_arn is not None:
            raise ValueError("identity_arn: give it only with an identity given by name")
        arn = identity_arn_of(scope, "identity", identity)
        # A MailDomain's literal name: identity policies are counted and their names checked per identity name.
        return (identity.domain_name if isinstance(identity, MailDomain) else identity.email_identity_name), arn
    if identity_arn is None:
        raise ValueError(f"identity_arn: missing for the identity {identity!r} given by name (or pass the MailDomain)")
    return identity, identity_arn
