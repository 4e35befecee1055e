"""SES sending checks: the account (production access, sending, quota, reputation) and each identity.

Thresholds: the SES Developer Guide's "Reputation metrics messages" page puts an account under review at a bounce rate
of 5% (complaints: 0.1%) and may pause its sending at 10% (complaints: 0.5%). The rates here are those of the last two
weeks of ``GetSendStatistics``; SES's own reputation metrics use a "representative volume" instead, so the console's
figure can differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from .checks import Check, compare, fail, ok, warn
from .expected import email_identities, referenced
from .live import Live, error_code

AREA = "ses"

BOUNCE_REVIEW, BOUNCE_PAUSE = 0.05, 0.10
COMPLAINT_REVIEW, COMPLAINT_PAUSE = 0.001, 0.005
#: Share of the 24-hour quota used at which the doctor warns.
QUOTA_WARN = 0.8


def account(live: Live) -> Iterator[Check]:
    """Production access, sending enabled, enforcement status, quota and today's use, suppression list."""
    region = live.env.region
    try:
        acct = live.once("account", lambda: live.clients("sesv2").get_account())
    except ClientError as error:
        yield fail(AREA, "account", "sesv2:GetAccount answers", error_code(error), "grant ses:GetAccount to the doctor")
        return
    if acct.get("ProductionAccessEnabled"):
        yield ok(AREA, "production access", "out of the sandbox", "production access")
    else:
        # Always a failure; with forwarding or send-as configured, the mail flow itself does not work: forwards and
        # notices reach only verified staff addresses and no staff reply reaches a customer.
        uses = staff_sending(live)
        found = f"sandbox in {region}: mail goes only to verified addresses, 200 a day"
        if uses:
            found += f"; {' and '.join(uses)} cannot reach unverified addresses (customers, staff mailboxes)"
        yield fail(
            AREA,
            "production access",
            "out of the sandbox",
            found,
            f"request production access for {region} (SES console, Account dashboard; aws sesv2 "
            "put-account-details --production-access-enabled ...)",
        )
    if acct.get("SendingEnabled"):
        yield ok(AREA, "sending enabled", "enabled", "enabled")
    else:
        yield fail(
            AREA,
            "sending enabled",
            "enabled",
            "disabled",
            f"re-enable sending in {region} (UpdateAccountSendingEnabled)",
        )
    status = acct.get("EnforcementStatus", "HEALTHY")
    if status == "HEALTHY":
        yield ok(AREA, "enforcement status", "HEALTHY", status)
    elif status == "PROBATION":
        yield warn(
            AREA, "enforcement status", "HEALTHY", status, "read the SES review notice and fix bounces/complaints"
        )
    else:
        yield fail(AREA, "enforcement status", "HEALTHY", status, "contact AWS Support to resume sending")
    quota = acct.get("SendQuota") or {}
    maximum, sent = float(quota.get("Max24HourSend", 0)), float(quota.get("SentLast24Hours", 0))
    found = f"{sent:.0f} of {maximum:.0f} in the last 24 h, {float(quota.get('MaxSendRate', 0)):g}/s"
    if maximum and sent >= QUOTA_WARN * maximum:
        yield warn(
            AREA, "sending quota", f"below {QUOTA_WARN:.0%} of the quota", found, "request a higher sending quota"
        )
    else:
        yield ok(AREA, "sending quota", f"below {QUOTA_WARN:.0%} of the quota", found)
    reasons = sorted((acct.get("SuppressionAttributes") or {}).get("SuppressedReasons") or [])
    yield ok(AREA, "account suppression list", "reported", ", ".join(reasons) or "off (configuration sets decide)")


def staff_sending(live: Live) -> list[str]:
    """What of the stack sends to people outside the account: ``forwarding to staff``, ``send-as``."""
    uses = []
    functions = [props for _, props in live.env.of_type("AWS::Lambda::Function")]
    if any("FORWARD_TO" in ((p.get("Environment") or {}).get("Variables") or {}) for p in functions):
        uses.append("forwarding to staff")
    if any(True for _ in live.env.of_type("Custom::SesSmtpCredentials")):
        uses.append("send-as through SMTP credentials (staff replies)")
    if any(True for _ in live.env.of_type("Custom::SesIdentityPolicy")):
        uses.append("send-as through identity policies (WorkMail, delegates)")
    return uses


def staff_addresses(live: Live) -> list[str]:
    """The staff addresses forwards go to (the forwarder's ``FORWARD_TO``)."""
    found: list[str] = []
    for _, props in live.env.of_type("AWS::Lambda::Function"):
        value = ((props.get("Environment") or {}).get("Variables") or {}).get("FORWARD_TO")
        for address in str(value or "").split(","):
            if address.strip() and address.strip() not in found:
                found.append(address.strip())
    return found


def staff_suppression(live: Live) -> Iterator[Check]:
    """No staff address is on the account suppression list: SES "accepts the message, but doesn't send it" to an
    address on it (SES Developer Guide, account-level suppression list), so every forward to it would be lost to
    staff until someone removes it (GetSuppressedDestination answers NotFoundException for an address not on it)."""
    sesv2 = live.clients("sesv2")
    for address in staff_addresses(live):
        subject = f"staff address {address} not suppressed"
        try:
            found = sesv2.get_suppressed_destination(EmailAddress=address).get("SuppressedDestination") or {}
        except ClientError as error:
            if error_code(error) == "NotFoundException":
                yield ok(AREA, subject, "not on the account suppression list", "not on it")
                continue
            yield fail(AREA, subject, "sesv2:GetSuppressedDestination answers", error_code(error), "grant it")
            continue
        yield fail(
            AREA,
            subject,
            "not on the account suppression list",
            f"on it since {found.get('LastUpdateTime')} ({found.get('Reason')}): SES drops every forward to it",
            f"fix the mailbox, then: aws sesv2 delete-suppressed-destination --email-address {address}; "
            f"then sesmail forward-deferred {live.env.name}",
        )


def reputation(live: Live) -> Iterator[Check]:
    """Bounce and complaint rates of the last two weeks against AWS's review thresholds."""
    try:
        points = live.clients("ses").get_send_statistics().get("SendDataPoints") or []
    except ClientError as error:
        yield fail(
            AREA, "reputation", "ses:GetSendStatistics answers", error_code(error), "grant ses:GetSendStatistics"
        )
        return
    attempts = sum(int(p.get("DeliveryAttempts", 0)) for p in points)
    for name, key, review, pause in (
        ("bounce rate", "Bounces", BOUNCE_REVIEW, BOUNCE_PAUSE),
        ("complaint rate", "Complaints", COMPLAINT_REVIEW, COMPLAINT_PAUSE),
    ):
        count = sum(int(p.get(key, 0)) for p in points)
        rate = count / attempts if attempts else 0.0
        found = f"{rate:.2%} ({count} of {attempts} in 14 days)"
        expected = f"below {review:.1%} (review), {pause:.1%} pauses"
        if rate >= pause:
            yield fail(
                AREA, name, expected, found, "stop the sending that bounces/complains; AWS may pause the account"
            )
        elif rate >= review:
            yield warn(AREA, name, expected, found, "remove bad addresses; AWS reviews accounts above this rate")
        else:
            yield ok(AREA, name, expected, found)


def _status(area: str, subject: str, value: str | None, action: str) -> Check:
    if value == "SUCCESS":
        return ok(area, subject, "SUCCESS", value)
    if value in ("PENDING", "TEMPORARY_FAILURE"):
        return warn(area, subject, "SUCCESS", str(value), action)
    return fail(area, subject, "SUCCESS", str(value), action)


def identity(live: Live, logical_id: str, props: Mapping[str, Any]) -> Iterator[Check]:
    """One domain identity: exists, verified, DKIM, MAIL FROM, its default configuration set."""
    domain = str(props.get("EmailIdentity"))
    found = live.email_identity(domain)
    if found is None:
        yield fail(
            AREA, f"{domain} identity", "exists", "no such identity", f"deploy the stack ({live.env.stack_name})"
        )
        return
    verified = found.get("VerifiedForSendingStatus") and found.get("VerificationStatus", "SUCCESS") == "SUCCESS"
    if verified:
        yield ok(AREA, f"{domain} verified", "verified for sending", "verified")
    else:
        yield fail(
            AREA,
            f"{domain} verified",
            "verified for sending",
            f"not verified (VerificationStatus {found.get('VerificationStatus', 'unknown')})",
            "publish the DKIM CNAMEs (see the dns checks); SES verifies the domain when it sees them",
        )
    dkim = found.get("DkimAttributes") or {}
    yield _status(
        AREA, f"{domain} DKIM", dkim.get("Status"), "publish the three DKIM CNAMEs and wait for SES (up to 72 h)"
    )
    want_from = ((props.get("MailFromAttributes") or {}).get("MailFromDomain")) or None
    if want_from:
        mail_from = found.get("MailFromAttributes") or {}
        if mail_from.get("MailFromDomain") != want_from:
            yield fail(
                AREA, f"{domain} MAIL FROM", want_from, str(mail_from.get("MailFromDomain")), "redeploy the stack"
            )
        else:
            yield _status(
                AREA,
                f"{domain} MAIL FROM {want_from}",
                mail_from.get("MailFromDomainStatus"),
                f"publish the MX and SPF records of {want_from}",
            )
    want_set = live.resolver.resolve((props.get("ConfigurationSetAttributes") or {}).get("ConfigurationSetName"))
    if want_set:
        yield compare(
            AREA,
            f"{domain} configuration set",
            str(want_set),
            str(found.get("ConfigurationSetName")),
            "redeploy the stack",
        )


def _event_type(value: str) -> str:
    """``deliveryDelay`` (CloudFormation) and ``DELIVERY_DELAY`` (SES v2) as one spelling."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", value).upper()


def configuration_sets(live: Live) -> Iterator[Check]:
    """Each configuration set exists with its suppression setting, and each event destination exists and is enabled."""
    sesv2 = live.clients("sesv2")
    destinations = list(live.env.of_type("AWS::SES::ConfigurationSetEventDestination"))
    for logical_id, props in live.env.of_type("AWS::SES::ConfigurationSet"):
        name = str(live.resolver.resolve(props.get("Name") or live.stack.physical.get(logical_id, logical_id)))
        try:
            found = sesv2.get_configuration_set(ConfigurationSetName=name)
        except ClientError as error:
            yield fail(AREA, f"configuration set {name}", "exists", error_code(error), f"deploy {live.env.stack_name}")
            continue
        yield ok(AREA, f"configuration set {name}", "exists", "exists")
        want = sorted((props.get("SuppressionOptions") or {}).get("SuppressedReasons") or [])
        have = sorted((found.get("SuppressionOptions") or {}).get("SuppressedReasons") or [])
        if props.get("SuppressionOptions") is not None:
            yield compare(
                AREA,
                f"configuration set {name} suppression",
                ", ".join(want) or "none",
                ", ".join(have) or "none",
                "redeploy the stack",
            )
        mine = [d for _, d in destinations if referenced(d.get("ConfigurationSetName")) == logical_id]
        if not mine:
            continue
        try:
            live_destinations = (
                sesv2.get_configuration_set_event_destinations(ConfigurationSetName=name).get("EventDestinations") or []
            )
        except ClientError as error:
            yield fail(
                AREA,
                f"configuration set {name} events",
                "event destinations",
                error_code(error),
                "grant ses:GetConfigurationSetEventDestinations",
            )
            continue
        for dest in mine:
            spec = live.resolver.resolve(dest.get("EventDestination") or {})
            types = sorted(_event_type(t) for t in spec.get("MatchingEventTypes") or [])
            topic = (spec.get("SnsDestination") or {}).get("TopicARN")
            want_text = f"{'enabled' if spec.get('Enabled', False) else 'disabled'} {','.join(types)} -> {topic}"
            found_texts = []
            for candidate in live_destinations:
                have_types = sorted(_event_type(t) for t in candidate.get("MatchingEventTypes") or [])
                have_topic = (candidate.get("SnsDestination") or {}).get("TopicArn")
                found_texts.append(
                    f"{'enabled' if candidate.get('Enabled') else 'disabled'} {','.join(have_types)} -> {have_topic}"
                )
            yield compare(
                AREA,
                f"configuration set {name} event destination",
                want_text,
                want_text if want_text in found_texts else ("; ".join(found_texts) or "none"),
                "redeploy the stack (the event destination differs from the template)",
            )


def run(live: Live) -> list[Check]:
    """Every SES sending check."""
    checks = [*account(live), *reputation(live)]
    for logical_id, props in email_identities(live.env):
        checks.extend(identity(live, logical_id, props))
    checks.extend(configuration_sets(live))
    checks.extend(staff_suppression(live))
    return checks
