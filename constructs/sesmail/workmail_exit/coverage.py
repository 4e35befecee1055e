"""Does the address book cover every address WorkMail accepts? Shared by synth (the cutover refusal) and the doctor.

Pure functions over plain data (no AWS, no CDK): the inventory's addresses (``sesmail workmail inventory --json``,
or the live organization read by the doctor), the addresses the environment's address book receives, and the
addresses dropped on purpose. An address of WorkMail's own test domain (``<alias>.awsapps.com``, owned by AWS) can
never move and is not asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .inventory import TEST_DOMAIN_SUFFIX

#: The kinds of the inventory's ``addresses`` that receive mail (every one of them must be covered).
KINDS = ("user", "group", "resource", "alias")


class InventoryError(ValueError):
    """The inventory file is missing, unreadable or not ``sesmail workmail inventory --json`` output."""


@dataclass(frozen=True)
class InventoryAddress:
    """One address of the inventory: ``address`` (lower case), ``kind``, and for an alias its ``target``."""

    address: str
    kind: str
    target: str | None = None


@dataclass(frozen=True)
class InventoryFile:
    """What the cutover needs of ``sesmail workmail inventory --json``: the organization and its addresses."""

    organization_id: str
    addresses: tuple[InventoryAddress, ...]

    @property
    def users(self) -> tuple[str, ...]:
        """The users' addresses (the people who send today through WorkMail)."""
        return tuple(a.address for a in self.addresses if a.kind == "user")


def movable(address: str) -> bool:
    """Whether the address can move off WorkMail (not an address of WorkMail's test domain)."""
    return not address.rpartition("@")[2].lower().endswith(TEST_DOMAIN_SUFFIX)


def parse_inventory(data: Any, where: str) -> InventoryFile:
    """The ``--json`` object ``data``; raises :class:`InventoryError` naming ``where`` and what is wrong."""
    if not isinstance(data, Mapping) or not isinstance(data.get("addresses"), list):
        raise InventoryError(f"{where}: not the output of `sesmail workmail inventory --json` (no addresses list)")
    organization = data.get("organization")
    org_id = organization.get("id") if isinstance(organization, Mapping) else None
    if not isinstance(org_id, str):
        raise InventoryError(f"{where}: not the output of `sesmail workmail inventory --json` (no organization.id)")
    found: list[InventoryAddress] = []
    for i, item in enumerate(data["addresses"]):
        address = item.get("address") if isinstance(item, Mapping) else None
        kind = item.get("kind") if isinstance(item, Mapping) else None
        if not isinstance(address, str) or "@" not in address or kind not in KINDS:
            raise InventoryError(f"{where}: addresses[{i}]: {item!r} is not an inventory address")
        target = item.get("target")
        found.append(InventoryAddress(address.lower(), str(kind), str(target).lower() if target else None))
    return InventoryFile(org_id, tuple(found))


def read_inventory(path: Path, where: str) -> InventoryFile:
    """Read and parse the inventory file at ``path``; raises :class:`InventoryError`."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InventoryError(
            f"{where}: cannot read {str(path)!r} ({error.strerror}); write it with `sesmail workmail inventory "
            "--organization-id m-… --json > FILE` and commit it beside cdk.json"
        ) from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InventoryError(f"{where}: {str(path)!r} is not JSON ({error})") from None
    return parse_inventory(data, where)


def uncovered(addresses: Iterable[str], received: Iterable[str], dropped: Iterable[str] = ()) -> list[str]:
    """The movable ``addresses`` that are neither ``received`` by the address book nor ``dropped``, in order."""
    have = {a.lower() for a in received} | {a.lower() for a in dropped}
    out: list[str] = []
    for address in addresses:
        lower = address.lower()
        if movable(lower) and lower not in have and lower not in out:
            out.append(lower)
    return out


def received_by_settings(settings: Mapping[str, Any]) -> set[str]:
    """Every address an environment's raw settings (its cdk.json object) receive by name: mailboxes, entries and
    aliases of every receiving domain, and ``postmaster@``/``abuse@`` (always received with an address book).

    The doctor's reading of the address book (it does not load the app); synth uses the resolved book itself.
    """
    domains: Sequence[Any] = settings.get("domains") or [settings]
    out: set[str] = set()
    for domain in domains:
        if not isinstance(domain, Mapping) or domain.get("sendOnly") or not isinstance(domain.get("domain"), str):
            continue
        name = domain["domain"].lower().rstrip(".")
        explicit = "addresses" in domain
        boxes = domain.get("mailboxes", [] if explicit else ["info", "support", "register"])
        for box in boxes if isinstance(boxes, list) else []:
            out.add(f"{box}@{name}".lower())
        for entry in domain.get("addresses") or []:
            if isinstance(entry, Mapping):
                for local in [entry.get("localPart"), *(entry.get("aliases") or [])]:
                    if isinstance(local, str):
                        out.add(f"{local}@{name}".lower())
        out.update(f"{role}@{name}" for role in ("postmaster", "abuse"))
    return out


def dropped_of(settings: Mapping[str, Any]) -> list[str]:
    """The addresses ``workmail.dropped`` lists (raw settings)."""
    workmail = settings.get("workmail")
    dropped = workmail.get("dropped") if isinstance(workmail, Mapping) else None
    return [str(d["address"]).lower() for d in dropped or [] if isinstance(d, Mapping) and "address" in d]


def listing(addresses: Sequence[str], limit: int = 20) -> str:
    """``a, b, c`` (at most ``limit`` names, then ``and N more``)."""
    shown = ", ".join(addresses[:limit])
    return shown if len(addresses) <= limit else f"{shown} and {len(addresses) - limit} more"
