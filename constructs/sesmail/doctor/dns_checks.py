"""DNS checks through dnspython: each record the stack asks for, as published, with the difference shown.

The records are the stack's ``DnsRecord...`` outputs: literal in the template (MAIL FROM MX and SPF, inbound MX,
DMARC), or resolved by CloudFormation on deploy (the three DKIM CNAMEs name SES's tokens). The inbound MX check also
fails on any other MX host at the domain: a sending server picks among all MX hosts, so a second one takes mail
elsewhere (RFC 5321 section 5.1).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import dns.exception
import dns.resolver

from .checks import Check, fail, ok, warn
from .expected import DnsRecord, UsageError, dns_outputs, email_identities, parse_record
from .live import Live

AREA = "dns"


def make_resolver(nameserver: str | None, timeout: float = 5.0) -> dns.resolver.Resolver:
    """A resolver that asks ``HOST[:PORT]`` (default: the system's resolvers); raises :class:`UsageError`."""
    if not nameserver:
        resolver = dns.resolver.Resolver()
    else:
        host, sep, port_text = nameserver.rpartition(":") if nameserver.count(":") == 1 else ("", "", "")
        host = host if sep else nameserver
        port = 53
        if sep:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise UsageError(f"--nameserver: {nameserver!r}: port {port_text!r} is not 1-65535")
            port = int(port_text)
        try:
            address = socket.getaddrinfo(host.strip("[]"), None)[0][4][0]
        except (socket.gaierror, UnicodeError):
            raise UsageError(f"--nameserver: {nameserver!r}: cannot resolve host {host!r}") from None
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [str(address)]
        resolver.port = port
    resolver.lifetime = timeout
    resolver.timeout = timeout
    return resolver


def records(live: Live) -> tuple[list[DnsRecord], list[Check]]:
    """The records to check, and a failed check for each output that is not known yet (stack not deployed)."""
    found: list[DnsRecord] = []
    problems: list[Check] = []
    for output_id, value in dns_outputs(live.env).items():
        text = live.stack.outputs.get(output_id)
        if text is None and isinstance(value, str):
            text = value
        record = parse_record(output_id, text) if text else None
        if record is None:
            problems.append(
                fail(
                    AREA,
                    f"output {output_id}",
                    "a DNS record from the deployed stack",
                    f"stack {live.stack.name} has no such output",
                    f"deploy the stack (cdk deploy {live.stack.name})",
                )
            )
            continue
        found.append(record)
    found.extend(existing_identity_records(live))
    zone_records = [lid for lid, _ in live.env.of_type("AWS::Route53::RecordSet")]
    if zone_records:
        # Records the stack writes into a hosted zone are not outputs; say so rather than skip them silently.
        problems.append(
            warn(
                AREA,
                "Route 53 records",
                "checked",
                f"{len(zone_records)} record set(s) the stack manages in a hosted zone: not checked by the doctor",
                "compare them with `aws route53 list-resource-record-sets`",
            )
        )
    return found, problems


def existing_identity_records(live: Live) -> list[DnsRecord]:
    """The records an identity the stack references but does not create needs, as SES reports them (the template
    has none: its Easy DKIM tokens are not known at synth). Easy DKIM: "three CNAME records ... ``token._domainkey``
    ... ``token.dkim.amazonses.com``"; a custom MAIL FROM: an MX to ``feedback-smtp.<region>.amazonses.com`` and the
    SPF record ``v=spf1 include:amazonses.com ~all`` (SES Developer Guide, "Easy DKIM" and "Using a custom MAIL FROM
    domain")."""
    from botocore.exceptions import ClientError

    out: list[DnsRecord] = []
    for logical_id, props in email_identities(live.env):
        if not props.get("Existing"):
            continue
        domain = str(props["EmailIdentity"])
        try:
            found = live.email_identity(domain)
        except ClientError:
            continue  # the ses checks report the identity
        if found is None:
            continue
        for token in (found.get("DkimAttributes") or {}).get("Tokens") or []:
            out.append(DnsRecord(logical_id, f"{token}._domainkey.{domain}", "CNAME", f"{token}.dkim.amazonses.com"))
        mail_from = str((found.get("MailFromAttributes") or {}).get("MailFromDomain") or "").lower()
        if mail_from:
            feedback = f"feedback-smtp.{live.env.region}.amazonses.com."
            out.append(DnsRecord(logical_id, mail_from, "MX", f"10 {feedback}"))
            out.append(DnsRecord(logical_id, mail_from, "TXT", '"v=spf1 include:amazonses.com ~all"'))
    return out


def _query(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> list[str]:
    try:
        answer = resolver.resolve(name, rdtype, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    except dns.resolver.NoNameservers as error:
        raise LookupError(f"no name server answered for {name} {rdtype} ({error})") from None
    except dns.exception.Timeout:
        raise LookupError(f"timed out asking for {name} {rdtype}") from None
    if answer.rrset is None:
        return []
    if rdtype == "TXT":
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer.rrset]
    return [r.to_text().lower() for r in answer.rrset]


def _fqdn(host: str) -> str:
    return host.lower().rstrip(".") + "."


def _listing(values: list[str]) -> str:
    return ", ".join(values) if values else "nothing"


def check_record(
    resolver: dns.resolver.Resolver, record: DnsRecord, expected_mx: dict[str, set[str]]
) -> Iterator[Check]:
    """The checks of one record (``expected_mx``: every MX host the stack expects, per name)."""
    subject = f"{record.name} {record.type}"
    try:
        if record.type == "CNAME":
            yield from _cname(resolver, record, subject)
        elif record.type == "MX":
            yield from _mx(resolver, record, subject, expected_mx.get(record.name, set()))
        elif record.type == "TXT":
            yield from _txt(resolver, record, subject)
    except LookupError as error:
        yield fail(AREA, subject, record.value, str(error), "check the name server (--nameserver) and the zone")


def _cname(resolver: dns.resolver.Resolver, record: DnsRecord, subject: str) -> Iterator[Check]:
    want = _fqdn(record.value)
    found = _query(resolver, record.name, "CNAME")
    action = f"publish {record.name}. CNAME {want}"
    if found == [want]:
        yield ok(AREA, subject, want, want)
    elif not found:
        yield fail(AREA, subject, want, "no CNAME record", action)
    else:
        yield fail(AREA, subject, want, _listing(found), action)


def _mx(resolver: dns.resolver.Resolver, record: DnsRecord, subject: str, expected_hosts: set[str]) -> Iterator[Check]:
    preference, _, host = record.value.partition(" ")
    want = f"{preference} {_fqdn(host)}"
    found = _query(resolver, record.name, "MX")
    hosts = {value.split(" ", 1)[1]: value for value in found if " " in value}
    if want in found:
        yield ok(AREA, subject, want, _listing(found))
    elif _fqdn(host) in hosts:
        yield warn(AREA, subject, want, _listing(found), f"set the preference of {_fqdn(host)} to {preference}")
    else:
        yield fail(
            AREA, subject, want, _listing(found) if found else "no MX record", f"publish {record.name}. MX {want}"
        )
    foreign = [value for h, value in hosts.items() if h not in expected_hosts]
    if foreign:
        yield fail(
            AREA,
            f"{record.name} other MX",
            f"only {', '.join(sorted(expected_hosts))}",
            _listing(foreign),
            f"remove the MX record(s) {_listing(foreign)}: senders may deliver there instead",
        )


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def _tags(value: str) -> dict[str, str]:
    tags = {}
    for part in value.split(";"):
        key, _, tag_value = part.partition("=")
        if key.strip():
            tags[key.strip().lower()] = tag_value.strip()
    return tags


def _txt(resolver: dns.resolver.Resolver, record: DnsRecord, subject: str) -> Iterator[Check]:
    want = _unquote(record.value)
    kind = want.split(";", 1)[0].split(" ", 1)[0].lower()  # v=spf1 / v=dmarc1
    found = [text for text in _query(resolver, record.name, "TXT") if text.lower().startswith(kind)]
    action = f'publish {record.name}. TXT "{want}"'
    if not found:
        yield fail(AREA, subject, want, f"no {kind} TXT record", action)
    elif len(found) > 1:
        yield fail(
            AREA, subject, want, _listing(found), f"keep exactly one {kind} record: receivers ignore all of them"
        )
    elif kind == "v=dmarc1":
        have, need = _tags(found[0]), _tags(want)
        if have == need:
            yield ok(AREA, subject, want, found[0])
        else:
            diff = [
                f"{k}={have.get(k, '(absent)')} (synth: {need.get(k, '(absent)')})"
                for k in sorted({*have, *need})
                if have.get(k) != need.get(k)
            ]
            # A stricter DMARC than synthesized may be deliberate: a warning, not a failure.
            yield warn(
                AREA,
                subject,
                want,
                f"{found[0]} [differs: {', '.join(diff)}]",
                f"align the dmarc setting or the record: {action}",
            )
    elif found[0].split() == want.split():
        yield ok(AREA, subject, want, found[0])
    else:
        yield fail(AREA, subject, want, found[0], action)


def run(live: Live, resolver: dns.resolver.Resolver) -> list[Check]:
    """Every DNS check of the environment."""
    wanted, checks = records(live)
    expected_mx: dict[str, set[str]] = {}
    for record in wanted:
        if record.type == "MX":
            expected_mx.setdefault(record.name, set()).add(_fqdn(record.value.partition(" ")[2]))
    for record in wanted:
        checks.extend(check_record(resolver, record, expected_mx))
    return checks
