"""An organization described as data, and the Stubber responses WorkMail would give for it, page by page.

WorkMail has no moto backend, so every call goes through botocore's Stubber, which checks each request's parameters
against ``expected_params`` and each request and response against the WorkMail API model. The helpers only lay out
the organization's entities as the API's response shapes; the order of the calls is the order the inventory reads in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.stub import Stubber

ORG = "m-0123456789abcdef0123456789abcdef"


def user_id(i: int) -> str:
    """A user id in WorkMail's form (12 to 256 characters)."""
    return f"{i:08d}-1111-2222-3333-444455556666"


def group_id(i: int) -> str:
    return f"S-1-1-11-{i:010d}-2222222222-3333333333-4444"


def resource_id(i: int) -> str:
    return f"r-{i:032x}"


@dataclass
class Org:
    """Users, groups, resources (``{"Id", "Email", "Name", "State"...}``), aliases per entity id, memberships."""

    domains: list[tuple[str, bool]] = field(default_factory=lambda: [("example.com", True)])
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    #: group id -> members ``{"Id", "Name", "Type", "State"}``
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: entity id -> ListMailboxPermissions ``Permissions``
    permissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    delegates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    access_rules: list[dict[str, Any]] = field(default_factory=list)
    monitoring: dict[str, Any] | None = None
    retention: dict[str, Any] | None = None
    page_size: int = 100

    def user(self, i: int, name: str, domain: str = "example.com", state: str = "ENABLED") -> str:
        entity = {"Id": user_id(i), "Name": name, "State": state, "UserRole": "USER"}
        if state == "ENABLED":
            entity["Email"] = f"{name}@{domain}"
        self.users.append(entity)
        return entity["Id"]

    def group(self, i: int, name: str, members: Sequence[str], domain: str = "example.com") -> str:
        entity = {"Id": group_id(i), "Name": name, "State": "ENABLED", "Email": f"{name}@{domain}"}
        self.groups.append(entity)
        by_id = {e["Id"]: e for e in self.users + self.groups}
        self.members[entity["Id"]] = [
            {
                "Id": m,
                "Name": by_id[m]["Name"],
                "Type": "GROUP" if m.startswith("S-") else "USER",
                "State": by_id[m]["State"],
            }
            for m in members
        ]
        return entity["Id"]

    def resource(self, i: int, name: str, domain: str = "example.com") -> str:
        entity = {"Id": resource_id(i), "Name": name, "State": "ENABLED", "Email": f"{name}@{domain}", "Type": "ROOM"}
        self.resources.append(entity)
        return entity["Id"]


def add_pages(
    stubber: Stubber, method: str, key: str, items: list[Any], params: dict[str, Any], page_size: int
) -> None:
    """``items`` over as many pages as ``page_size`` makes, each page's request carrying the previous NextToken."""
    chunks = [items[i : i + page_size] for i in range(0, len(items), page_size)] or [[]]
    for n, chunk in enumerate(chunks):
        response: dict[str, Any] = {key: chunk}
        if n + 1 < len(chunks):
            response["NextToken"] = f"{method}-page-{n + 1}"
        expected = dict(params, **({"NextToken": f"{method}-page-{n}"} if n else {}))
        stubber.add_response(method, response, expected)


def stub_inventory(stubber: Stubber, org: Org) -> None:
    """Every response of one inventory of ``org``, in the order the inventory asks."""
    o = {"OrganizationId": ORG}
    stubber.add_response(
        "describe_organization",
        {"OrganizationId": ORG, "State": "Active", "DefaultMailDomain": org.domains[0][0], "Alias": "corp"},
        o,
    )
    domains = [{"DomainName": d, "DefaultDomain": default} for d, default in org.domains]
    add_pages(stubber, "list_mail_domains", "MailDomains", domains, o, org.page_size)
    add_pages(stubber, "list_users", "Users", org.users, o, org.page_size)
    add_pages(stubber, "list_groups", "Groups", org.groups, o, org.page_size)
    add_pages(stubber, "list_resources", "Resources", org.resources, o, org.page_size)
    alias_page = max(1, org.page_size // 25)  # aliases come in small pages, so several pages per entity are tested
    resource_addresses = {r["Email"] for r in org.resources}
    for user in org.users:
        if user["State"] != "ENABLED":
            continue
        if user["UserRole"] == "RESOURCE" and user["Email"] in resource_addresses:
            continue  # the resource's own entry
        uid = user["Id"]
        add_pages(stubber, "list_aliases", "Aliases", org.aliases.get(uid, []), dict(o, EntityId=uid), alias_page)
        if user["UserRole"] == "USER":
            stubber.add_response(
                "get_mailbox_details", {"MailboxQuota": 51200, "MailboxSize": 12.5}, dict(o, UserId=uid)
            )
        add_pages(
            stubber,
            "list_mailbox_permissions",
            "Permissions",
            org.permissions.get(uid, []),
            dict(o, EntityId=uid),
            org.page_size,
        )
    for group in org.groups:
        gid = group["Id"]
        add_pages(stubber, "list_group_members", "Members", org.members.get(gid, []), dict(o, GroupId=gid), 5)
        add_pages(stubber, "list_aliases", "Aliases", org.aliases.get(gid, []), dict(o, EntityId=gid), alias_page)
    for resource in org.resources:
        rid = resource["Id"]
        add_pages(stubber, "list_aliases", "Aliases", org.aliases.get(rid, []), dict(o, EntityId=rid), alias_page)
        stubber.add_response(
            "describe_resource",
            {
                "ResourceId": rid,
                "Email": resource["Email"],
                "Name": resource["Name"],
                "Type": resource["Type"],
                "State": "ENABLED",
                "BookingOptions": {
                    "AutoAcceptRequests": True,
                    "AutoDeclineRecurringRequests": False,
                    "AutoDeclineConflictingRequests": True,
                },
            },
            dict(o, ResourceId=rid),
        )
        add_pages(
            stubber, "list_resource_delegates", "Delegates", org.delegates.get(rid, []), dict(o, ResourceId=rid), 100
        )
        add_pages(
            stubber,
            "list_mailbox_permissions",
            "Permissions",
            org.permissions.get(rid, []),
            dict(o, EntityId=rid),
            100,
        )
    stubber.add_response("list_access_control_rules", {"Rules": org.access_rules}, o)
    stubber.add_response("list_mobile_device_access_rules", {"Rules": []}, o)
    add_pages(stubber, "list_mobile_device_access_overrides", "Overrides", [], o, 100)
    add_pages(stubber, "list_impersonation_roles", "Roles", [], o, 100)
    add_pages(stubber, "list_availability_configurations", "AvailabilityConfigurations", [], o, 100)
    if org.monitoring is None:
        stubber.add_client_error(
            "describe_email_monitoring_configuration",
            "ResourceNotFoundException",
            "no configuration",
            400,
            expected_params=o,
        )
    else:
        stubber.add_response("describe_email_monitoring_configuration", org.monitoring, o)
    if org.retention is None:
        stubber.add_client_error(
            "get_default_retention_policy", "EntityNotFoundException", "no policy", 400, expected_params=o
        )
    else:
        stubber.add_response("get_default_retention_policy", org.retention, o)
    stubber.add_response("describe_inbound_dmarc_settings", {"Enforced": False}, o)
