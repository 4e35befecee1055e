"""WorkMail's end of support: a warning, with the days left, while an environment still depends on WorkMail.

AWS, on every WorkMail API and guide page: "End of support notice: On March 31, 2027, AWS will end support for Amazon
WorkMail. After March 31, 2027, you will no longer be able to access the WorkMail console or WorkMail resources."
(e.g. https://docs.aws.amazon.com/workmail/latest/APIReference/API_ListMailboxExportJobs.html; details:
https://docs.aws.amazon.com/workmail/latest/adminguide/workmail-end-of-support.html).

Only the doctor reads the date (synth stays clock-free); :func:`today` is the one clock, replaced in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .checks import Check, fail, ok, warn

AREA = "workmail"
#: The last day of WorkMail ("After March 31, 2027, you will no longer be able to access ... WorkMail resources").
END_OF_SUPPORT = date(2027, 3, 31)
RUNBOOK = "docs/leaving-workmail.md"


def today() -> date:
    """The current UTC date (the doctor's only clock)."""
    return datetime.now(UTC).date()


def run(settings: Mapping[str, Any], clock: Callable[[], date] = today) -> Iterator[Check]:
    """A warning while the environment's settings have a ``workmail`` section (a failure once WorkMail has ended)."""
    workmail = settings.get("workmail")
    if not isinstance(workmail, Mapping):
        return
    organization = workmail.get("organizationId", "?")
    if workmail.get("organizationDeleted"):
        expected = f"no dependency on WorkMail by {END_OF_SUPPORT:%Y-%m-%d} (AWS's end of support)"
        found = f"organization {organization} deleted (workmail.organizationDeleted)"
        yield ok(AREA, "end of support", expected, found)
        return
    left = (END_OF_SUPPORT - clock()).days
    expected = f"no dependency on WorkMail by {END_OF_SUPPORT:%Y-%m-%d} (AWS's end of support)"
    action = f"leave WorkMail: inventory, export and cut over as {RUNBOOK} describes"
    if left >= 0:
        found = f"settings use organization {organization}: {left} day(s) left until {END_OF_SUPPORT:%Y-%m-%d}"
        yield warn(AREA, "end of support", expected, found, action)
    else:
        found = f"settings use organization {organization}: WorkMail ended {-left} day(s) ago"
        yield fail(AREA, "end of support", expected, found, action)


def organization(settings: Mapping[str, Any], clients: Callable[[str], Any], app_dir: Path) -> Iterator[Check]:
    """Before the organization is deleted: the live organization against the address book and the inventory file.

    Every address WorkMail accepts now (enabled users, groups and resources, and their aliases, every page) must be
    named by the address book (or dropped, or in a domain moved to another provider): one the book lacks, such as a
    user added since the inventory, would be rejected after the cutover. After the cutover, the environment's
    domains must be deregistered from WorkMail before the organization is deleted (SES keeps the identities).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from ..workmail_exit.coverage import InventoryError, dropped_of, listing, read_inventory, received_by_settings
    from ..workmail_exit.coverage import uncovered as missing_from

    workmail = settings.get("workmail")
    if not isinstance(workmail, Mapping) or not workmail.get("inventory") or workmail.get("organizationDeleted"):
        return
    org = str(workmail.get("organizationId", ""))
    path = Path(str(workmail["inventory"]))
    try:
        inventory = read_inventory(path if path.is_absolute() else app_dir / path, "workmail.inventory")
    except InventoryError as error:
        yield fail(AREA, "inventory", "the inventory file", str(error), "write it: sesmail workmail inventory --json")
        return
    client = clients("workmail")
    try:
        live = live_addresses(client, org)
    except (ClientError, BotoCoreError) as error:
        code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
        action = _READ_ACTION
        if code in ("OrganizationNotFoundException", "OrganizationStateException"):
            # Gone (or being deleted): the stack must stop counting on it before anything restores its rule set.
            action = (
                "if the organization is deleted, set workmail.organizationDeleted: true and deploy, so that deleting "
                "the stack never restores its rule set"
            )
        yield fail(AREA, f"organization {org}", "readable", f"{type(error).__name__}: {error}", action)
        return
    moved = _provider_domains(settings)
    received = received_by_settings(settings) | {a for a in live if a.rpartition("@")[2] in moved}
    dropped = dropped_of(settings)
    new = missing_from(live, {a.address for a in inventory.addresses})
    if new:
        yield fail(
            AREA,
            "inventory is current",
            "every address of the organization in workmail.inventory",
            f"{len(new)} address(es) added since the inventory: {listing(new)}",
            "re-run `sesmail workmail inventory --json` into workmail.inventory and route the new addresses",
        )
    else:
        yield ok(AREA, "inventory is current", "every address of the organization in workmail.inventory", "yes")
    lacking = missing_from(live, received, dropped)
    expected = "every address WorkMail accepts in the address book (or workmail.dropped)"
    if lacking:
        yield fail(
            AREA,
            "address book covers WorkMail",
            expected,
            f"{len(lacking)} address(es) the address book does not name: {listing(lacking)}",
            "add each as an entry or alias (or to workmail.dropped with a reason) before the cutover",
        )
    else:
        yield ok(AREA, "address book covers WorkMail", expected, f"all {len(live)} address(es)")
    if workmail.get("cutover"):
        yield _senders(settings, inventory.users, dropped, moved)
        yield from _domains_registered(client, org, settings)


def _senders(settings: Mapping[str, Any], users: tuple[str, ...], dropped: list[str], moved: set[str]) -> Check:
    """The sending hand-over: which inventory users have no person (own credentials) sending as them yet."""
    from ..workmail_exit.coverage import listing
    from ..workmail_exit.coverage import uncovered as missing_from

    domains = settings.get("domains")
    first = (domains[0] if isinstance(domains, list) and domains else settings).get("domain", "")
    senders: set[str] = set()
    for person in settings.get("people") or []:
        if isinstance(person, Mapping):
            for item in [person.get("address"), *(person.get("sendAs") or [])]:
                if isinstance(item, str):
                    senders.add((item if "@" in item else f"{item}@{first}").lower())
    waiting = missing_from([u for u in users if u.rpartition("@")[2] not in moved], senders, dropped)
    expected = "every WorkMail user a person of people (own credentials) before organizationDeleted"
    if waiting:
        return warn(
            AREA,
            "sending hand-over",
            expected,
            f"{len(waiting)} user(s) still send only through WorkMail: {listing(waiting)}",
            "add each to people (address or sendAs), deploy, hand over the credentials (docs/people-credentials.md)",
        )
    return ok(AREA, "sending hand-over", expected, f"all {len(users)} user(s)")


_READ_ACTION = "allow workmail:ListUsers, ListGroups, ListResources, ListAliases and ListMailDomains, and check the id"


def live_addresses(client: Any, organization_id: str) -> list[str]:
    """Every address the organization accepts now: enabled users, groups, resources and their aliases (all pages)."""
    from ..workmail_exit.aws import pages

    out: list[str] = []
    for operation, key in (("list_users", "Users"), ("list_groups", "Groups"), ("list_resources", "Resources")):
        for entity in pages(getattr(client, operation), key, OrganizationId=organization_id):
            if entity.get("State") != "ENABLED" or not entity.get("Email"):
                continue
            out.append(str(entity["Email"]).lower())
            for alias in pages(client.list_aliases, "Aliases", OrganizationId=organization_id, EntityId=entity["Id"]):
                if str(alias).lower() not in out:
                    out.append(str(alias).lower())
    return out


def _provider_domains(settings: Mapping[str, Any]) -> set[str]:
    return {
        str(d.get("domain", "")).lower()
        for d in settings.get("domains") or []
        if isinstance(d, Mapping) and d.get("sendOnly") and d.get("mailboxProvider")
    }


def _domains_registered(client: Any, org: str, settings: Mapping[str, Any]) -> Iterator[Check]:
    """After the cutover: which of the environment's domains WorkMail still has (deregister them before deleting)."""
    from ..workmail_exit.aws import pages

    ours = {str(d.get("domain", "")).lower() for d in settings.get("domains") or [settings] if isinstance(d, Mapping)}
    registered = [
        str(d["DomainName"]).lower()
        for d in pages(client.list_mail_domains, "MailDomains", OrganizationId=org)
        if str(d["DomainName"]).lower() in ours
    ]
    expected = "the environment's domains deregistered from WorkMail before its organization is deleted"
    if registered:
        yield warn(
            AREA,
            "WorkMail domains",
            expected,
            f"still registered in {org}: {', '.join(registered)}",
            "once every person sends through their own credentials: aws workmail deregister-mail-domain "
            f"--organization-id {org} --domain-name DOMAIN (SES keeps the identity), then delete the organization",
        )
    else:
        yield ok(AREA, "WorkMail domains", expected, "none registered: the organization may be deleted")
