"""DNS records a mail domain needs, published to Route 53 or listed as stack outputs for a person to add."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import aws_cdk as cdk
import aws_cdk.aws_route53 as route53
from constructs import Construct, IConstruct


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


#: Record TTL in Route 53: short enough to correct a mistake the same day.
RECORD_TTL = cdk.Duration.minutes(30)


# (zone id, record name, type) -> the construct path that creates it, across the whole app.
_CLAIMED: weakref.WeakKeyDictionary[IConstruct, dict[tuple[str, str, str], str]] = weakref.WeakKeyDictionary()


def _claim(scope: Construct, zone: route53.IHostedZone, record: DnsRecord) -> None:
    """Refuse a second record of one name and type in one zone anywhere in the app.

    Route 53 holds one record set per name and type in a zone ("CREATE: Creates a resource record set that has the
    specified values", and a second CREATE fails with InvalidChangeBatch: ChangeResourceRecordSets,
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html): the second stack's
    deploy would fail. Names known only at deploy (DKIM's, per identity) are not compared.
    """
    if cdk.Token.is_unresolved(record.name) or cdk.Token.is_unresolved(zone.hosted_zone_id):
        return
    root = scope.node.root
    claimed = _CLAIMED.setdefault(root, {})
    key = (zone.hosted_zone_id, record.name.rstrip(".").lower(), record.record_type)
    path = f"{scope.node.path}/{record.purpose}"
    earlier = claimed.setdefault(key, path)
    if earlier != path:
        raise ValueError(
            f"hosted_zone: {record.record_type} record {key[1]} in zone {key[0]} is already created by {earlier}; "
            "Route 53 holds one record set per name and type (for the same domain in a second region, pass "
            "dmarc_record=False and another mail_from_subdomain)"
        )


def publish_to_zone(scope: Construct, zone: route53.IHostedZone, record: DnsRecord) -> route53.CfnRecordSet:
    """Create ``record`` in ``zone``.

    The L1 resource is used on purpose: the route53 L2 records append the zone name to any name that is a token,
    which would turn the DKIM names SES returns (already fully qualified) into ``x._domainkey.example.com.example.com``.
    """
    _claim(scope, zone, record)
    value = f'"{record.value}"' if record.record_type == "TXT" else record.value
    return route53.CfnRecordSet(
        scope,
        record.purpose,
        hosted_zone_id=zone.hosted_zone_id,
        name=cdk.Fn.join("", [record.name, "."]),
        type=record.record_type,
        ttl=str(int(RECORD_TTL.to_seconds())),
        resource_records=[value],
    )


def publish_as_output(scope: Construct, record: DnsRecord) -> cdk.CfnOutput:
    """A stack output holding ``record`` as a zone-file line, for a person to add at their DNS provider."""
    return cdk.CfnOutput(
        scope,
        f"DnsRecord{record.purpose}",
        value=record.zone_file_line(),
        description=f"Add at your DNS provider: {record.record_type} record for {record.purpose}",
    )
