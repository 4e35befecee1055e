"""Where a sender is given an identity: a ``MailDomain`` or any ``ses.IEmailIdentity`` of the app, or an ARN.

A construct given the identity finds what a send grant must name on its own: the identity's ARN and, for a
``MailDomain`` with a default configuration set, that set's ARN too (SES v2 authorizes ``SendEmail`` on the identity
and on the configuration set the send uses, so a grant without it is denied every send). ARNs stay accepted for
identities outside the app.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aws_cdk as cdk
import aws_cdk.aws_iam as iam
import aws_cdk.aws_ses as ses
from constructs import Construct, IConstruct

if TYPE_CHECKING:  # for the annotation only: importing sesmail.sending would load its constructs, above this module
    from .sending.conditions import SendConditions


class SendingDomain(abc.ABC):
    """A ``MailDomain``, as this module and ``sesmail.sending`` see it: ``mail_domain`` sits above both (it grants
    sends), so it registers its class here (``SendingDomain.register``) rather than being imported by them.

    What they read of it is declared here.
    """

    #: The identity's ARN.
    identity_arn: str
    #: The domain, as given.
    domain_name: str
    #: The identity's default configuration set, or ``None``.
    configuration_set: ses.IConfigurationSet | None

    @abc.abstractmethod
    def grant_send(
        self,
        grantee: iam.IGrantable,
        *,
        conditions: SendConditions,
        templated: bool = False,
        templates: Sequence[str] = (),
        bulk: bool = False,
    ) -> iam.Grant:
        """Grant ``grantee`` sending as ``conditions.from_addresses`` (see ``MailDomain.grant_send``)."""


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
    if isinstance(identity, str):
        if not cdk.Token.is_unresolved(identity) and ":identity/" not in identity:
            raise ValueError(f"{prop}: {identity!r} is not an SES identity ARN (or pass the MailDomain itself)")
        return identity
    if isinstance(identity, SendingDomain):
        return identity.identity_arn
    try:
        return identity.email_identity_arn
    except AttributeError:
        raise ValueError(f"{prop}: {identity!r} is not an ses.IEmailIdentity, a MailDomain or an ARN") from None


def default_configuration_set_arn(scope: Construct, identity: IdentityLike) -> str | None:
    """The ARN of a ``MailDomain``'s default configuration set, or ``None`` (an ARN or another identity: unknown)."""
    if not isinstance(identity, SendingDomain) or identity.configuration_set is None:
        return None
    configuration_set = identity.configuration_set
    # A MailConfigurationSet (sesmail.sending, above this module) knows its ARN; aws-cdk-lib's sets only their name.
    own_arn = getattr(configuration_set, "configuration_set_arn", None)
    if isinstance(own_arn, str):
        return own_arn
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
    if not isinstance(identity, str):
        if identity_arn is not None:
            raise ValueError("identity_arn: give it only with an identity given by name")
        arn = identity_arn_of(scope, "identity", identity)
        # A MailDomain's literal name: identity policies are counted and their names checked per identity name.
        return (identity.domain_name if isinstance(identity, SendingDomain) else identity.email_identity_name), arn
    if identity_arn is None:
        raise ValueError(f"identity_arn: missing for the identity {identity!r} given by name (or pass the MailDomain)")
    return identity, identity_arn
