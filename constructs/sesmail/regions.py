"""Where Amazon SES and Amazon WorkMail offer what this library needs.

This is the single documented place for region lists; both the app's settings validation and the constructs read it.
Source: the AWS General Reference pages "Amazon Simple Email Service endpoints and quotas" (email receiving endpoints)
and "Amazon WorkMail endpoints and quotas", as read in 2026-11. When AWS adds a region, add it here.
"""

from __future__ import annotations

#: Regions with an SES email-receiving endpoint (``inbound-smtp.<region>.amazonaws.com``).
SES_RECEIVING_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "ap-northeast-1",
        "ap-southeast-1",
        "ap-southeast-2",
    }
)

#: Regions where Amazon WorkMail organizations can be created (support ends 2027-03-31).
WORKMAIL_REGIONS: frozenset[str] = frozenset({"us-east-1", "us-west-2", "eu-west-1"})


def inbound_smtp_endpoint(region: str) -> str:
    """The MX target that delivers a domain's mail to SES receiving in ``region``."""
    return f"inbound-smtp.{region}.amazonaws.com"


def mail_from_mx_endpoint(region: str) -> str:
    """The MX target of a custom MAIL FROM domain, where SES receives bounces and complaints."""
    return f"feedback-smtp.{region}.amazonses.com"


def check_receiving_region(region: str, setting: str = "region") -> None:
    """Raise ``ValueError`` naming ``setting`` when SES cannot receive mail in ``region``."""
    if region not in SES_RECEIVING_REGIONS:
        supported = ", ".join(sorted(SES_RECEIVING_REGIONS))
        raise ValueError(f"{setting}: SES email receiving is not offered in {region!r} (supported: {supported})")
