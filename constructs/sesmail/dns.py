"""DNS records a mail domain needs, published to Route 53 or listed as stack outputs for a person to add."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
import aws_cdk.aws_route53 as route53
from constructs import Construct


@dataclass(frozen=True)
class DnsRecord:
    """One DNS record.

    :param purpose: a short PascalCase name, used as construct id and output name (``DkimToken1``, ``InboundMx``).
    :param name: the fully qualified record name, without the trailing dot (may be a token).
    :param record_type: ``CNAME``, ``MX`` or ``TXT``.
    :param value: the record value: a host for CNAME, ``<priority> <host>`` for MX, the unquoted text for TXT.
    """

    purpose: str
    name: str
    record_type: str
    value: str

    def zone_file_line(self) -> str:
        """The record as one zone-file line (``name. IN TYPE value``), ready to paste into a DNS provider."""
        value = f'"{self.value}"' if self.record_type == "TXT" else self.value
        if self.record_type in ("CNAME", "MX"):
            value = f"{value}."
        return cdk.Fn.join("", [self.name, f". IN {self.record_type} ", value])


def publish_to_zone(scope: Construct, zone: route53.IHostedZone, record: DnsRecord) -> route53.RecordSet:
    """Create ``record`` in ``zone``. Names are passed fully qualified (trailing dot) so tokens are not re-suffixed."""
    fqdn = cdk.Fn.join("", [record.name, "."])
    if record.record_type == "CNAME":
        return route53.CnameRecord(scope, record.purpose, zone=zone, record_name=fqdn, domain_name=record.value)
    if record.record_type == "MX":
        priority, host = record.value.split(" ", 1)
        return route53.MxRecord(
            scope,
            record.purpose,
            zone=zone,
            record_name=fqdn,
            values=[route53.MxRecordValue(priority=int(priority), host_name=host)],
        )
    if record.record_type == "TXT":
        return route53.TxtRecord(scope, record.purpose, zone=zone, record_name=fqdn, values=[record.value])
    raise ValueError(f"record_type: {record.record_type!r} is not CNAME, MX or TXT")


def publish_as_output(scope: Construct, record: DnsRecord) -> cdk.CfnOutput:
    """A stack output holding ``record`` as a zone-file line, for a person to add at their DNS provider."""
    return cdk.CfnOutput(
        scope,
        f"DnsRecord{record.purpose}",
        value=record.zone_file_line(),
        description=f"Add at your DNS provider: {record.record_type} record for {record.purpose}",
    )
