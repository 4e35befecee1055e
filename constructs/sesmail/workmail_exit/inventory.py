"""``sesmail workmail inventory``: every address a WorkMail organization accepts, and a proposed address book.

Read-only: every call is a ``Describe*``/``List*``/``Get*`` of the WorkMail API. What it reads, in this order (the
tests stub the same order): the organization, its mail domains, users, groups and resources; then per enabled user its
aliases, mailbox size and mailbox permissions; per enabled group its members and aliases; per enabled resource its
aliases, booking options, delegates and mailbox permissions; then the organization-wide settings that have no
equivalent in sesmail. Every listing follows ``NextToken`` to the last page.

Entities whose state is not ``ENABLED`` are skipped and listed: a ``DISABLED`` entity has no mailbox ("Mark a user,
group, or resource as no longer used in WorkMail. This action disassociates the mailbox", DeregisterFromWorkMail),
and a ``DELETED`` one is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .aws import AWS_FAILURES, describe, pages

USER = "user"
GROUP = "group"
RESOURCE = "resource"
ALIAS = "alias"

IN_USE = "in use"
NOT_IN_USE = "not in use"
#: The WorkMail API (2017-10-01) has no operation that reads the setting: a person must look in the console.
NOT_READABLE = "not readable"

#: WorkMail's own test domain (``<alias>.awsapps.com``): AWS owns it, so its addresses end with the organization.
TEST_DOMAIN_SUFFIX = ".awsapps.com"


@dataclass
class Address:
    """One address WorkMail accepts."""

    address: str
    #: ``user``, ``group``, ``resource`` or ``alias``.
    kind: str
    #: The WorkMail entity id (of the alias's entity for an alias).
    entity_id: str
    #: The entity's name in WorkMail.
    name: str = ""
    #: For an alias: the primary address of its entity.
    target: str | None = None
    #: For a group: its members' full addresses (users and nested groups alike; see ``member_groups``).
    members: list[str] | None = None
    #: For a group: which of ``members`` are groups. Nested groups are listed as members, not expanded: the address
    #: book expands an entry's ``to`` itself, so a nested group stays one entry with its own members.
    member_groups: list[str] | None = None
    #: For a user: the mailbox's size and quota in MB (GetMailboxDetails ``MailboxSize``, ``MailboxQuota``).
    mailbox_size_mb: float | None = None
    mailbox_quota_mb: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form."""
        out: dict[str, Any] = {"address": self.address, "kind": self.kind, "entityId": self.entity_id}
        if self.name:
            out["name"] = self.name
        if self.kind == ALIAS:
            out["target"] = self.target
        if self.kind == GROUP:
            out["members"] = list(self.members or [])
            out["memberGroups"] = list(self.member_groups or [])
        if self.mailbox_size_mb is not None:
            out["mailbox"] = {"sizeMB": self.mailbox_size_mb, "quotaMB": self.mailbox_quota_mb}
        return out


@dataclass
class Feature:
    """A WorkMail feature with no equivalent in sesmail, and whether the organization uses it."""

    name: str
    #: ``in use``, ``not in use`` or ``not readable``.
    status: str
    #: What WorkMail answered (or where to look, when the API cannot say).
    detail: str
    #: The API operation that answered (empty when none exists).
    api: str
    #: What to do about it when leaving WorkMail.
    instead: str

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form."""
        return {
            "feature": self.name,
            "status": self.status,
            "detail": self.detail,
            "api": self.api,
            "instead": self.instead,
        }


@dataclass
class Inventory:
    """What the organization holds."""

    organization_id: str
    region: str
    state: str = ""
    default_domain: str = ""
    #: ``(domain, is the default)`` in ListMailDomains order.
    domains: list[tuple[str, bool]] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    #: ``(kind, name, state)`` of every entity skipped because WorkMail accepts no mail for it.
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    features: list[Feature] = field(default_factory=list)
    #: Other things a person should know (group members that are not enabled, empty groups...).
    notes: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Address]:
        """The addresses of one kind, in listing order."""
        return [a for a in self.addresses if a.kind == kind]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object (its ``addresses`` as the issue fixes them, plus the proposal)."""
        return {
            "organization": {
                "id": self.organization_id,
                "region": self.region,
                "state": self.state,
                "defaultDomain": self.default_domain,
            },
            "domains": [{"domain": d, "default": default} for d, default in self.domains],
            "addresses": [a.to_json() for a in self.addresses],
            "counts": {kind: len(self.of_kind(kind)) for kind in (USER, GROUP, RESOURCE, ALIAS)},
            "skipped": [{"kind": k, "name": n, "state": s} for k, n, s in self.skipped],
            "features": [f.to_json() for f in self.features],
            "notes": list(self.notes),
            "notMovable": not_movable(self),
            "addressBook": address_book(self),
        }


def domain_of(address: str) -> str:
    """The domain part, lower case."""
    return address.rpartition("@")[2].lower()


def local_part(address: str) -> str:
    """The local part, lower case."""
    return address.rpartition("@")[0].lower()


def movable(domain: str) -> bool:
    """Whether sesmail can receive for ``domain`` (not WorkMail's own test domain)."""
    return not domain.lower().endswith(TEST_DOMAIN_SUFFIX)


def read(client: Any, organization_id: str, region: str) -> Inventory:
    """Read the organization through ``client`` (a boto3 ``workmail`` client); raises :class:`~.aws.AwsError`."""
    reader = _Reader(client, organization_id)
    try:
        return reader.read(region)
    except AWS_FAILURES as error:
        raise describe(error, f"workmail {reader.operation}") from None


class _Reader:
    def __init__(self, client: Any, organization_id: str) -> None:
        self.client = client
        self.org = organization_id
        #: The operation under way, named in an error.
        self.operation = "DescribeOrganization"

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        self.operation = operation
        method = getattr(self.client, _snake(operation))
        result: dict[str, Any] = method(OrganizationId=self.org, **kwargs)
        return result

    def _list(self, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.operation = operation
        method = getattr(self.client, _snake(operation))
        return pages(method, key, OrganizationId=self.org, **kwargs)

    def read(self, region: str) -> Inventory:
        organization = self._call("DescribeOrganization")
        inv = Inventory(
            self.org,
            region,
            state=str(organization.get("State", "")),
            default_domain=str(organization.get("DefaultMailDomain", "")).lower(),
        )
        inv.domains = [
            (str(d["DomainName"]).lower(), bool(d.get("DefaultDomain")))
            for d in self._list("ListMailDomains", "MailDomains")
        ]
        users = self._enabled(inv, USER, list(self._list("ListUsers", "Users")))
        groups = self._enabled(inv, GROUP, list(self._list("ListGroups", "Groups")))
        resources = self._enabled(inv, RESOURCE, list(self._list("ListResources", "Resources")))
        # ListUsers' UserRole has a RESOURCE value: such a user that is also a listed resource is one address, kept
        # once, as the resource.
        resource_addresses = {str(r["Email"]).lower() for r in resources}
        users = [
            u for u in users if not (u.get("UserRole") == "RESOURCE" and str(u["Email"]).lower() in resource_addresses)
        ]
        email_of = {e["Id"]: str(e["Email"]).lower() for e in users + groups + resources}
        group_ids = {g["Id"] for g in groups}
        shared: list[str] = []
        aliases: list[Address] = []

        for user in users:
            address = Address(email_of[user["Id"]], USER, user["Id"], str(user.get("Name", "")))
            aliases += self._aliases(user["Id"], address.address)
            if user.get("UserRole", "USER") == "USER":
                details = self._call("GetMailboxDetails", UserId=user["Id"])
                address.mailbox_size_mb = details.get("MailboxSize")
                address.mailbox_quota_mb = details.get("MailboxQuota")
            shared += self._permissions(user["Id"], address.address, email_of)
            inv.addresses.append(address)

        for group in groups:
            address = Address(email_of[group["Id"]], GROUP, group["Id"], str(group.get("Name", "")))
            address.members, address.member_groups = [], []
            for member in self._list("ListGroupMembers", "Members", GroupId=group["Id"]):
                member_address = email_of.get(member["Id"])
                if member.get("State") != "ENABLED" or member_address is None:
                    inv.notes.append(
                        f"group {address.address}: member {member.get('Name', member['Id'])} "
                        f"({member.get('State', 'unknown state')}) receives nothing from WorkMail and is left out"
                    )
                    continue
                address.members.append(member_address)
                if member["Id"] in group_ids:
                    address.member_groups.append(member_address)
            if not address.members:
                inv.notes.append(
                    f"group {address.address} has no enabled member: its entry gets no destination (fill one in)"
                )
            aliases += self._aliases(group["Id"], address.address)
            inv.addresses.append(address)

        delegated: list[str] = []
        booking: list[str] = []
        for resource in resources:
            address = Address(email_of[resource["Id"]], RESOURCE, resource["Id"], str(resource.get("Name", "")))
            aliases += self._aliases(resource["Id"], address.address)
            described = self._call("DescribeResource", ResourceId=resource["Id"])
            options = described.get("BookingOptions") or {}
            booking.append(
                f"{address.address} ({str(described.get('Type', resource.get('Type', ''))).lower() or 'resource'}: "
                + ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
                + ")"
            )
            delegates = list(self._list("ListResourceDelegates", "Delegates", ResourceId=resource["Id"]))
            if delegates:
                names = ", ".join(email_of.get(d["Id"], d["Id"]) for d in delegates)
                delegated.append(f"{address.address} (delegates: {names})")
            shared += self._permissions(resource["Id"], address.address, email_of)
            inv.addresses.append(address)

        inv.addresses += aliases
        inv.features = self._features(shared, delegated, booking)
        return inv

    def _enabled(self, inv: Inventory, kind: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The entities WorkMail accepts mail for (``ENABLED``, with an address); the others go to ``skipped``."""
        kept = []
        for entity in entities:
            state = str(entity.get("State", ""))
            if state == "ENABLED" and entity.get("Email"):
                kept.append(entity)
            else:
                inv.skipped.append((kind, str(entity.get("Name", entity.get("Id", ""))), state or "no address"))
        return kept

    def _aliases(self, entity_id: str, primary: str) -> list[Address]:
        found = []
        for listed in self._list("ListAliases", "Aliases", EntityId=entity_id):
            alias = str(listed).lower()
            if alias != primary:  # the primary address is the entity's own entry, not an alias of it
                found.append(Address(alias, ALIAS, entity_id, target=primary))
        return found

    def _permissions(self, entity_id: str, address: str, email_of: dict[str, str]) -> list[str]:
        grants = list(self._list("ListMailboxPermissions", "Permissions", EntityId=entity_id))
        return [
            f"{address}: {email_of.get(g['GranteeId'], g['GranteeId'])} has {'+'.join(g.get('PermissionValues') or [])}"
            for g in grants
        ]

    def _optional(self, operation: str, absent: tuple[str, ...], **kwargs: Any) -> dict[str, Any] | None:
        """``operation``'s answer, or ``None`` when WorkMail answers with one of the ``absent`` errors (not set)."""
        try:
            return self._call(operation, **kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in absent:
                return None
            raise

    def _features(self, shared: list[str], delegated: list[str], booking: list[str]) -> list[Feature]:
        features = [
            _feature(
                "mailbox permissions",
                shared,
                "ListMailboxPermissions",
                "sesmail has no shared mailboxes: give each person the address as sendAs and a `to` entry",
            ),
            _feature(
                "resource delegates",
                delegated,
                "ListResourceDelegates",
                "no equivalent: route the resource's address (`to`) to whoever handled its requests",
            ),
            _feature(
                "resource booking (rooms, equipment)",
                booking,
                "DescribeResource",
                "no calendar in sesmail: move bookings to the new calendar service",
            ),
        ]
        rules = self._call("ListAccessControlRules").get("Rules") or []
        features.append(
            _feature(
                "access control rules",
                [r.get("Name", "") for r in rules],
                "ListAccessControlRules",
                "SES SMTP credentials are IAM users: restrict them with IAM policy conditions",
            )
        )
        rules = self._call("ListMobileDeviceAccessRules").get("Rules") or []
        features.append(
            _feature(
                "mobile device access rules",
                [r.get("Name", "") for r in rules],
                "ListMobileDeviceAccessRules",
                "no equivalent (sesmail has no mailbox protocol)",
            )
        )
        overrides = list(self._list("ListMobileDeviceAccessOverrides", "Overrides"))
        features.append(
            _feature(
                "mobile device access overrides",
                [f"{o.get('UserId')}/{o.get('DeviceId')}" for o in overrides],
                "ListMobileDeviceAccessOverrides",
                "no equivalent (sesmail has no mailbox protocol)",
            )
        )
        roles = list(self._list("ListImpersonationRoles", "Roles"))
        features.append(
            _feature(
                "impersonation roles",
                [r.get("Name", "") for r in roles],
                "ListImpersonationRoles",
                "no equivalent: applications that read mailboxes over EWS need the new provider",
            )
        )
        configs = list(self._list("ListAvailabilityConfigurations", "AvailabilityConfigurations"))
        features.append(
            _feature(
                "availability configurations",
                [f"{c.get('DomainName')} ({c.get('ProviderType')})" for c in configs],
                "ListAvailabilityConfigurations",
                "no calendar in sesmail",
            )
        )
        monitoring = self._optional("DescribeEmailMonitoringConfiguration", ("ResourceNotFoundException",))
        features.append(
            _feature(
                "email monitoring",
                [str(monitoring.get("LogGroupArn"))] if monitoring else [],
                "DescribeEmailMonitoringConfiguration",
                "SES event publishing (the environment's configuration set) and its alarms",
            )
        )
        retention = self._optional(
            "GetDefaultRetentionPolicy", ("EntityNotFoundException", "ResourceNotFoundException")
        )
        folders = [
            f"{f.get('Name')}: {f.get('Action')} after {f.get('Period')} days"
            for f in (retention or {}).get("FolderConfigurations") or []
            if f.get("Action") not in (None, "NONE")
        ]
        features.append(
            _feature(
                "retention policy",
                folders,
                "GetDefaultRetentionPolicy",
                "the mail bucket's lifecycle (expireAfterDays) for what sesmail stores",
            )
        )
        dmarc = self._call("DescribeInboundDmarcSettings")
        features.append(
            _feature(
                "inbound DMARC enforcement",
                ["Enforced"] if dmarc.get("Enforced") else [],
                "DescribeInboundDmarcSettings",
                "SES receiving reports the DMARC verdict; a receipt rule can act on it",
            )
        )
        for name, where in (
            ("journaling", "Organization settings > Journaling"),
            ("inbound and outbound email flow rules", "Organization settings > Inbound rules / Outbound rules"),
        ):
            features.append(
                Feature(
                    name,
                    NOT_READABLE,
                    f"the WorkMail API has no operation that reads it: look in the console ({where})",
                    "",
                    "no equivalent in sesmail: note what the rules do before the cutover",
                )
            )
        return features


def _feature(name: str, found: list[str], api: str, instead: str) -> Feature:
    if found:
        return Feature(name, IN_USE, "; ".join(found), api, instead)
    return Feature(name, NOT_IN_USE, "none", api, instead)


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def address_book(inv: Inventory) -> dict[str, Any]:
    """The proposed address book (the address-book format): ``{"domains": [...], "people": []}``.

    Every user and resource is an entry WITHOUT ``to`` (synth refuses it until a person says where its mail goes),
    every group an entry whose ``to`` lists its members (local parts in the same domain, full addresses otherwise),
    every alias sits in its entry's ``aliases``; an alias in another domain than its entry becomes an entry of that
    domain whose ``to`` is the entry's full address. Nothing here invents a destination. Addresses of WorkMail's test
    domain (``*.awsapps.com``) cannot move and are left out (:func:`not_movable` lists them).
    """
    entries: dict[str, dict[str, dict[str, Any]]] = {}
    order = [d for d, default in inv.domains if default] + sorted(d for d, default in inv.domains if not default)
    for domain in order:
        if movable(domain):
            entries.setdefault(domain, {})
    for address in inv.addresses:
        domain, lp = domain_of(address.address), local_part(address.address)
        if not movable(domain):
            continue
        book = entries.setdefault(domain, {})
        if address.kind in (USER, RESOURCE):
            book[lp] = {"localPart": lp}
        elif address.kind == GROUP:
            book[lp] = {"localPart": lp}
            if address.members:
                book[lp]["to"] = [local_part(m) if domain_of(m) == domain else m for m in address.members]
    for alias in inv.of_kind(ALIAS):
        domain, lp = domain_of(alias.address), local_part(alias.address)
        target = str(alias.target)
        if not movable(domain):
            continue
        target_entry = entries.get(domain_of(target), {}).get(local_part(target))
        if domain == domain_of(target) and target_entry is not None:
            target_entry.setdefault("aliases", []).append(lp)
        elif target_entry is not None:
            entries[domain][lp] = {"localPart": lp, "to": [target]}
        else:  # its entry cannot move (test domain): the alias still receives mail, a person says where it goes
            entries[domain][lp] = {"localPart": lp}
    for book in entries.values():
        for entry in book.values():
            if "aliases" in entry:
                entry["aliases"] = sorted(entry["aliases"])
    return {
        "domains": [
            {"domain": domain, "addresses": [book[k] for k in sorted(book)]} for domain, book in entries.items()
        ],
        "people": [],
    }


def not_movable(inv: Inventory) -> list[str]:
    """The addresses of WorkMail's test domain, which end with the organization."""
    return [a.address for a in inv.addresses if not movable(domain_of(a.address))]
