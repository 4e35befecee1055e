"""A domain moved to another mailbox provider by MX: the doctor's DNS checks against a real DNS server (NSD)."""

from __future__ import annotations

from pathlib import Path

from sesmail.doctor import dns_checks, provider_checks
from sesmail.doctor.expected import parse_record

from .nsd import serve, zone

DOMAIN = "example.com"
SETTINGS = {
    "domains": [
        {"domain": "example.org"},
        {
            "domain": DOMAIN,
            "sendOnly": True,
            "mailboxProvider": {
                "name": "Google Workspace",
                "mx": ["aspmx.l.google.com", "alt1.aspmx.l.google.com"],
                "spfInclude": "_spf.google.com",
                "dkimSelectors": ["google"],
            },
        },
    ]
}
#: SES's part, as the stack's outputs ask: its DKIM CNAME and its MAIL FROM subdomain's MX and SPF.
SES_RECORDS = [
    "tok1._domainkey IN CNAME tok1.dkim.amazonses.com.",
    "mail IN MX 10 feedback-smtp.us-east-1.amazonses.com.",
    'mail IN TXT "v=spf1 include:amazonses.com ~all"',
]
PROVIDER_RECORDS = [
    "@ IN MX 1 aspmx.l.google.com.",
    "@ IN MX 5 alt1.aspmx.l.google.com.",
    '@ IN TXT "v=spf1 include:_spf.google.com ~all"',
    'google._domainkey IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest"',
    '_dmarc IN TXT "v=DMARC1; p=quarantine"',
]


def _checks(tmp_path: Path, records: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    with serve(tmp_path, {DOMAIN: zone(DOMAIN, records)}) as nameserver:
        resolver = dns_checks.make_resolver(nameserver)
        provider = {c.subject: c.status for c in provider_checks.run(SETTINGS, resolver)}
        ses = {}
        for text in (
            f"tok1._domainkey.{DOMAIN}. IN CNAME tok1.dkim.amazonses.com.",
            f"mail.{DOMAIN}. IN MX 10 feedback-smtp.us-east-1.amazonses.com.",
            f'mail.{DOMAIN}. IN TXT "v=spf1 include:amazonses.com ~all"',
        ):
            record = parse_record("out", text)
            assert record is not None
            expected = {f"mail.{DOMAIN}": {"feedback-smtp.us-east-1.amazonses.com."}}
            ses.update({c.subject: c.status for c in dns_checks.check_record(resolver, record, expected)})
    return provider, ses


def test_provider_receives_and_both_senders_pass(tmp_path: Path) -> None:
    """SES's SPF lives at its MAIL FROM subdomain (mail.example.com) and the provider's at the apex, so each has its
    own record; each signs with its own DKIM key; one DMARC record with relaxed alignment covers both."""
    provider, ses = _checks(tmp_path, SES_RECORDS + PROVIDER_RECORDS)
    assert provider == {
        f"{DOMAIN} MX": "ok",
        f"{DOMAIN} SPF": "ok",
        f"google._domainkey.{DOMAIN} DKIM": "ok",
        f"_dmarc.{DOMAIN}": "ok",
    }
    assert set(ses.values()) == {"ok"}, ses


def test_half_moved_domain_fails(tmp_path: Path) -> None:
    """SES's inbound MX left beside the provider's (RFC 5321 section 5.1: a sender picks among all MX hosts), the
    provider's SPF include and DKIM key missing, strict SPF alignment: each is named."""
    records = [
        *SES_RECORDS,
        "@ IN MX 1 aspmx.l.google.com.",
        "@ IN MX 10 inbound-smtp.us-east-1.amazonaws.com.",
        '@ IN TXT "v=spf1 include:amazonses.com ~all"',
        '_dmarc IN TXT "v=DMARC1; p=reject; aspf=s"',
    ]
    provider, _ = _checks(tmp_path, records)
    assert provider == {
        f"{DOMAIN} MX": "fail",
        f"{DOMAIN} SES inbound MX": "fail",
        f"{DOMAIN} SPF": "fail",
        f"google._domainkey.{DOMAIN} DKIM": "fail",
        f"_dmarc.{DOMAIN}": "warn",
    }


def test_no_provider_no_checks() -> None:
    assert provider_checks.run({"domain": DOMAIN}, dns_checks.make_resolver(None)) == []
