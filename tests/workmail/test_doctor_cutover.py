"""``sesmail doctor`` before the cutover: the live organization (botocore's Stubber: WorkMail has no moto backend)
against the address book and the inventory file, every page read."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

from sesmail.doctor import workmail_checks

from .conftest import Stubbed
from .org import ORG, Org, add_pages, user_id
from .test_cutover import BOOK, write_inventory


def organization(extra_users: int = 0) -> Org:
    """The inventory's organization (jane, bob, sales, info, alias j.doe), and ``extra_users`` users added since."""
    org = Org(page_size=2)
    org.user(1, "jane")
    org.user(2, "bob")
    org.user(3, "gone", state="DISABLED")
    for i in range(extra_users):
        org.user(10 + i, f"new{i}")
    org.group(1, "sales", [user_id(1), user_id(2)])
    org.resource(1, "info")
    org.aliases[user_id(1)] = ["jane@example.com", "j.doe@example.com"]
    return org


def stub_live(stubber: Any, org: Org) -> None:
    """ListUsers, ListGroups, ListResources (pages of ``org.page_size``), each enabled entity's ListAliases, in the
    order the check reads them."""
    o = {"OrganizationId": ORG}
    for method, key, entities in (
        ("list_users", "Users", org.users),
        ("list_groups", "Groups", org.groups),
        ("list_resources", "Resources", org.resources),
    ):
        chunks = [entities[i : i + org.page_size] for i in range(0, len(entities), org.page_size)] or [[]]
        for n, chunk in enumerate(chunks):
            response: dict[str, Any] = {key: chunk}
            if n + 1 < len(chunks):
                response["NextToken"] = f"{method}-page-{n + 1}"
            stubber.add_response(method, response, dict(o, **({"NextToken": f"{method}-page-{n}"} if n else {})))
            for entity in chunk:
                if entity["State"] == "ENABLED":
                    aliases = org.aliases.get(entity["Id"], [entity["Email"]])
                    add_pages(stubber, "list_aliases", "Aliases", aliases, dict(o, EntityId=entity["Id"]), 1)


def settings(inventory: str, **workmail: Any) -> dict[str, Any]:
    return {
        "account": "111122223333",
        "region": "us-east-1",
        "domain": "example.com",
        "addresses": copy.deepcopy(BOOK),
        "workmail": {"organizationId": ORG, "inventory": inventory, **workmail},
    }


def checks(stubbed: Stubbed, raw: dict[str, Any], app_dir: Path) -> dict[str, Any]:
    found = list(workmail_checks.organization(raw, lambda service: stubbed.clients[service], app_dir))
    return {c.subject: c for c in found}


def test_the_live_organization_matches_the_book(stubbed: Stubbed, tmp_path: Path) -> None:
    """ListUsers, ListGroups, ListResources and ListAliases page with NextToken ("The token to use to retrieve the
    next page of results. The first call does not contain any tokens.", e.g.
    https://docs.aws.amazon.com/workmail/latest/APIReference/API_ListUsers.html): every page is read, a disabled
    user receives nothing (not asked for), the test domain's inventory alias is not asked for."""
    stub_live(stubbed.workmail, organization())
    found = checks(stubbed, settings(Path(write_inventory(tmp_path)).name), tmp_path)
    assert found["inventory is current"].status == "ok"
    assert found["address book covers WorkMail"].status == "ok"
    assert found["address book covers WorkMail"].found == "all 5 address(es)"
    assert "WorkMail domains" not in found  # no cutover yet


def test_a_user_added_since_the_inventory_fails(stubbed: Stubbed, tmp_path: Path) -> None:
    stub_live(stubbed.workmail, organization(extra_users=3))
    found = checks(stubbed, settings(write_inventory(tmp_path)), tmp_path)
    names = "new0@example.com, new1@example.com, new2@example.com"
    assert found["inventory is current"].status == "fail"
    assert found["inventory is current"].found == f"3 address(es) added since the inventory: {names}"
    assert found["address book covers WorkMail"].status == "fail"
    assert found["address book covers WorkMail"].found == f"3 address(es) the address book does not name: {names}"


def test_a_dropped_address_and_a_moved_domain_count_as_covered(stubbed: Stubbed, tmp_path: Path) -> None:
    stub_live(stubbed.workmail, organization(extra_users=1))
    raw = settings(write_inventory(tmp_path), dropped=[{"address": "new0@example.com", "reason": "left in May"}])
    found = checks(stubbed, raw, tmp_path)
    assert found["address book covers WorkMail"].status == "ok"


def test_after_the_cutover_the_domains_must_be_deregistered_before_deletion(stubbed: Stubbed, tmp_path: Path) -> None:
    """DeregisterMailDomain "Removes a domain from WorkMail, stops email routing to WorkMail, and removes the
    authorization allowing WorkMail use. SES keeps the domain because other applications may use it."
    (https://docs.aws.amazon.com/workmail/latest/APIReference/API_DeregisterMailDomain.html): the doctor names the
    domains WorkMail still has, and says when none is left."""
    o = {"OrganizationId": ORG}
    for registered in (["example.com", "corp.awsapps.com"], ["corp.awsapps.com"]):
        stub_live(stubbed.workmail, organization())
        domains = [{"DomainName": d, "DefaultDomain": False} for d in registered]
        stubbed.workmail.add_response("list_mail_domains", {"MailDomains": domains}, o)
        raw = settings(write_inventory(tmp_path), cutover=True)
        raw["people"] = [{"name": "jane", "address": "jane"}]
        every = checks(stubbed, raw, tmp_path)
        hand_over = every["sending hand-over"]
        assert (
            hand_over.status == "warn"
            and hand_over.found == "1 user(s) still send only through WorkMail: bob@example.com"
        )
        found = every["WorkMail domains"]
        if "example.com" in registered:
            assert found.status == "warn" and found.found == f"still registered in {ORG}: example.com"
            assert "deregister-mail-domain" in found.action
        else:
            assert found.status == "ok"


def test_nothing_asked_once_the_organization_is_deleted(stubbed: Stubbed, tmp_path: Path) -> None:
    raw = settings(write_inventory(tmp_path), cutover=True, organizationDeleted=True)
    assert checks(stubbed, raw, tmp_path) == {}
    (check,) = workmail_checks.run(raw, lambda: date(2026, 12, 7))
    assert check.status == "ok" and "deleted" in check.found


def test_an_unreadable_inventory_is_one_failed_check(stubbed: Stubbed, tmp_path: Path) -> None:
    found = checks(stubbed, settings("missing.json"), tmp_path)
    assert found["inventory"].status == "fail" and "cannot read" in found["inventory"].found
    assert json.dumps(found["inventory"].to_json())


def test_an_organization_gone_without_organization_deleted_is_named(stubbed: Stubbed, tmp_path: Path) -> None:
    """ListUsers' OrganizationNotFoundException: "An operation received a valid organization identifier that either
    doesn't belong or exist in the system." (WorkMail API reference, ListUsers, Errors). The doctor says to set
    organizationDeleted, so a later stack delete restores nothing of it."""
    stubbed.workmail.add_client_error(
        "list_users",
        "OrganizationNotFoundException",
        "no such organization",
        400,
        expected_params={"OrganizationId": ORG},
    )
    found = checks(stubbed, settings(write_inventory(tmp_path), cutover=True), tmp_path)[f"organization {ORG}"]
    assert found.status == "fail" and "workmail.organizationDeleted: true" in found.action
