"""Leaving WorkMail at synth: the address book must cover every address of the organization's inventory.

``workmail.inventory`` names the file ``sesmail workmail inventory --json`` wrote (committed beside cdk.json; a
relative name is read from the directory the app runs in, cdk.json's). With ``workmail.cutover: true`` the
environment's own rule set replaces WorkMail's, so an address WorkMail accepts that the book does not name would be
rejected from that moment: synth refuses, naming the addresses, unless each is an entry or alias of the book, an
address of a domain moved to another mailbox provider, or listed in ``workmail.dropped`` with a reason. With
``organizationDeleted: true`` WorkMail no longer sends: every user must be a person of ``people`` first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sesmail.workmail_exit.coverage import InventoryError, listing, read_inventory, uncovered

from .reader import SettingsError

if TYPE_CHECKING:  # settings calls this module: a type only here, so no cycle
    from .settings import EnvironmentSettings


def received(settings: EnvironmentSettings) -> set[str]:
    """Every address the environment still receives for after the cutover (lower case)."""
    book = settings.address_book
    out = {name.lower() for a in (book.addresses if book else ()) for name in (a.address, *a.aliases)}
    out.update(a.lower() for a in settings.addresses())
    return out


def provider_domains(settings: EnvironmentSettings) -> set[str]:
    """Domains whose mail another mailbox provider receives (``sendOnly`` with ``mailboxProvider``)."""
    return {d.domain for d in settings.mail_domains if d.send_only and d.mailbox_provider is not None}


def check_cutover(settings: EnvironmentSettings, where: str) -> None:
    """Refuse a cutover that would reject an address WorkMail accepts, and a deletion before people can send."""
    workmail = settings.workmail
    assert workmail is not None and workmail.inventory is not None
    try:
        inventory = read_inventory(Path(workmail.inventory), f"{where}.inventory")
    except InventoryError as error:
        raise SettingsError(str(error)) from None
    if inventory.organization_id != workmail.organization_id:
        raise SettingsError(
            f"{where}.inventory: {workmail.inventory!r} is organization {inventory.organization_id}'s inventory, "
            f"not {workmail.organization_id}'s"
        )
    moved = provider_domains(settings)
    have = received(settings)
    listed = {a.address for a in inventory.addresses}
    for i, (address, _) in enumerate(workmail.dropped):
        if address not in listed:
            raise SettingsError(
                f"{where}.dropped[{i}].address: {address!r} is not an address of the inventory (nothing to drop)"
            )
        if address in have:
            raise SettingsError(
                f"{where}.dropped[{i}].address: {address!r} is in the address book too; remove one of them"
            )
    dropped = [a for a, _ in workmail.dropped]
    in_provider = [a.address for a in inventory.addresses if a.address.rpartition("@")[2] in moved]
    if workmail.cutover:
        missing = uncovered((a.address for a in inventory.addresses), have | set(in_provider), dropped)
        if missing:
            raise SettingsError(
                f"{where}.cutover: true would reject {len(missing)} address(es) WorkMail accepts that the address "
                f"book does not name: {listing(missing)} (add each as an entry or alias, or to workmail.dropped "
                "with a reason)"
            )
    if workmail.organization_deleted:
        senders = {a.lower() for p in settings.people for a in p.addresses}
        users = uncovered(inventory.users, senders | set(in_provider), dropped)
        if users:
            raise SettingsError(
                f"{where}.organizationDeleted: true leaves {len(users)} WorkMail user(s) with no way to send as "
                f"themselves: {listing(users)} (give each a person in people, with the address or sendAs, first)"
            )
