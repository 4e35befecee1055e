"""A domain moved to another mailbox provider (``sendOnly`` with ``mailboxProvider``): its DNS, for both senders.

The provider receives by MX, SES only sends. SES signs with its own DKIM keys (the stack's CNAME outputs, checked
in :mod:`.dns_checks`) and uses the custom MAIL FROM subdomain (``mail.<domain>``, its own SPF record, also an
output), so the domain's own SPF record at the apex is the provider's alone. What this module checks, per domain:

- the provider's MX hosts are published, and SES's inbound host is not (a sending server picks among all MX hosts,
  RFC 5321 section 5.1: a left-over ``inbound-smtp`` record would take some of the mail to SES, which no longer
  receives for the domain);
- the apex SPF record is one record (RFC 7208 section 4.5: more than one is a "permerror") and includes the
  provider's ``spfInclude``;
- each of the provider's DKIM selectors is published (``<selector>._domainkey.<domain>``, RFC 6376 section 3.6.2.1);
- one DMARC record (RFC 7489 section 6.6.3) whose SPF alignment is relaxed: under ``aspf=s`` SES's MAIL FROM
  subdomain does not align ("In strict mode, only an exact match between both of the Fully Qualified Domain Names
  (FQDNs) is considered to produce Identifier Alignment", RFC 7489 section 3.1.2), so SES's mail would pass DMARC
  through DKIM alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dns.resolver

from .checks import Check, fail, ok, warn
from .dns_checks import _query, _tags

AREA = "provider"


def run(settings: Mapping[str, Any], resolver: dns.resolver.Resolver) -> list[Check]:
    """The checks of every provider domain of the environment's raw settings."""
    out: list[Check] = []
    for domain in settings.get("domains") or []:
        provider = domain.get("mailboxProvider") if isinstance(domain, Mapping) else None
        if isinstance(domain, Mapping) and domain.get("sendOnly") and isinstance(provider, Mapping):
            try:
                out.extend(check_domain(str(domain["domain"]).lower(), provider, resolver))
            except LookupError as error:
                out.append(fail(AREA, str(domain["domain"]), "answers", str(error), "check the name server"))
    return out


def check_domain(domain: str, provider: Mapping[str, Any], resolver: dns.resolver.Resolver) -> Iterator[Check]:
    """The checks of one domain whose mail ``provider`` (the ``mailboxProvider`` setting) receives."""
    name = str(provider.get("name") or "the mailbox provider")
    wanted = {str(h).lower().rstrip(".") + "." for h in provider.get("mx") or []}
    found = {v.split(" ", 1)[1] for v in _query(resolver, domain, "MX") if " " in v}
    missing = sorted(wanted - found)
    if missing:
        yield fail(
            AREA,
            f"{domain} MX",
            ", ".join(sorted(wanted)),
            ", ".join(sorted(found)) or "no MX record",
            f"publish {domain}. MX for {', '.join(missing)} ({name}'s setup page gives the preferences)",
        )
    else:
        yield ok(AREA, f"{domain} MX", ", ".join(sorted(wanted)), ", ".join(sorted(found)))
    ses_inbound = {h for h in found if h.startswith("inbound-smtp.") and h.endswith(".amazonaws.com.")}
    if ses_inbound:
        yield fail(
            AREA,
            f"{domain} SES inbound MX",
            "none (SES only sends for this domain)",
            ", ".join(sorted(ses_inbound)),
            f"remove the MX record(s) {', '.join(sorted(ses_inbound))}: senders may deliver there, not to {name}",
        )
    spf = [t for t in _query(resolver, domain, "TXT") if t.lower().startswith("v=spf1")]
    include = provider.get("spfInclude")
    want_spf = f"one v=spf1 record{f' with include:{include}' if include else ''}"
    if len(spf) > 1:
        yield fail(AREA, f"{domain} SPF", want_spf, " | ".join(spf), "merge them into one record (two are a permerror)")
    elif include and (not spf or f"include:{str(include).lower()}" not in spf[0].lower().split()):
        yield fail(
            AREA,
            f"{domain} SPF",
            want_spf,
            spf[0] if spf else "no SPF record",
            f'publish {domain}. TXT "v=spf1 include:{include} ~all" (SES needs none here: its MAIL FROM has one)',
        )
    elif spf or include:
        yield ok(AREA, f"{domain} SPF", want_spf, spf[0])
    for selector in provider.get("dkimSelectors") or []:
        record = f"{selector}._domainkey.{domain}"
        keys = [t for t in _query(resolver, record, "TXT") if "p=" in t]
        target = _query(resolver, record, "CNAME")
        if keys or target:
            yield ok(AREA, f"{record} DKIM", f"{name}'s DKIM key", (keys or target)[0][:60])
        else:
            yield fail(
                AREA,
                f"{record} DKIM",
                f"{name}'s DKIM key",
                "nothing published",
                f"publish the key {name} gives for selector {selector!r}",
            )
    dmarc = [t for t in _query(resolver, f"_dmarc.{domain}", "TXT") if t.lower().startswith("v=dmarc1")]
    if len(dmarc) != 1:
        found_text = " | ".join(dmarc) if dmarc else "no DMARC record"
        yield fail(AREA, f"_dmarc.{domain}", "one v=DMARC1 record", found_text, "keep exactly one DMARC record")
    elif _tags(dmarc[0]).get("aspf", "r").lower() == "s":
        yield warn(
            AREA,
            f"_dmarc.{domain}",
            "relaxed SPF alignment (aspf=r, the default)",
            dmarc[0],
            "drop aspf=s: SES's MAIL FROM subdomain aligns only under relaxed alignment",
        )
    else:
        yield ok(AREA, f"_dmarc.{domain}", "one v=DMARC1 record, relaxed SPF alignment", dmarc[0])
