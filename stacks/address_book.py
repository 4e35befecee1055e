"""The address book: every address a receiving domain accepts, where its mail goes, and who may send as it.

Settings (the format is in ``docs/addresses.md``): per receiving domain ``addresses`` (entries with ``localPart``,
``aliases`` and ``to``), ``postmasterTo``, ``otherRecipients`` and ``otherRecipientsNotify``; per environment
``people``. The short form (``mailboxes`` + ``inbound.forwardTo``) is the same book: each mailbox is an entry whose
``to`` is ``inbound.forwardTo``.

Parsing happens in two steps: :func:`parse_domain_book` reads one domain's keys (shapes and local parts), then
:func:`resolve` checks the whole environment at once (members, cycles, duplicates, our own addresses) and expands
every entry to the external addresses its mail reaches. Every error is one line naming the key and the bad value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sesmail.receiving.checks import check_address
from sesmail.receiving.names import MAX_RECIPIENTS_PER_RULE, check_rule_name
from sesmail.validation import check_local_part

from .reader import Reader, SettingsError

#: RFC 5321 section 4.5.1: "Any system that includes an SMTP server supporting mail relaying or delivery MUST support
#: the reserved mailbox 'postmaster'"; RFC 2142 section 4 names ``abuse`` for "inappropriate public behaviour".
ROLE_LOCAL_PARTS = ("postmaster", "abuse")
OTHER_RECIPIENTS = ("reject", "store")
#: The S3 prefix (under the domain's own prefix for later domains) where the address book's rules store mail.
BOOK_PREFIX = "address-book/"
#: The rules holding the address book's recipients: ``addresses-1``, ``addresses-2``... (``-<slug>`` for later
#: domains); each holds at most SES's 100 recipients.
BOOK_RULE = "addresses"
# IAM user names: "alphanumeric characters, and ... plus (+), equal (=), comma (,), period (.), at (@), underscore
# (_), and hyphen (-)" (IAM API reference, CreateUser, UserName). The people construct adds a prefix: 32 here, and
# no comma: the name is also the value of the secret's ``sesmail:person`` tag, where AWS allows no comma.
_PERSON_NAME = re.compile(r"^[A-Za-z0-9+=.@_-]{1,32}$")


@dataclass(frozen=True)
class EntrySettings:
    """One entry of a domain's ``addresses`` as written (``to`` is ``None`` when missing)."""

    local_part: str
    aliases: tuple[str, ...] = ()
    to: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DomainBookSettings:
    """One domain's address-book keys as written."""

    entries: tuple[EntrySettings, ...] = ()
    postmaster_to: tuple[str, ...] | None = None
    other_recipients: str = "reject"
    other_recipients_notify: str | None = None
    #: the domain has an ``addresses`` key (else only ``mailboxes``, the short form).
    explicit: bool = False


@dataclass(frozen=True)
class PersonSettings:
    """A person who sends through SES with credentials of their own, as full addresses."""

    name: str
    address: str
    send_as: tuple[str, ...] = ()
    rotation_token: str = "1"
    keep_previous_key: bool = True

    @property
    def addresses(self) -> tuple[str, ...]:
        """Their own address first, then the ones granted to them."""
        return (self.address, *self.send_as)


@dataclass(frozen=True)
class Address:
    """One address the environment receives, resolved: its aliases and the external addresses its mail reaches."""

    address: str
    aliases: tuple[str, ...]
    #: external addresses, groups expanded, each once; ``()`` when stored only.
    destinations: tuple[str, ...]
    #: ``mailbox`` (short form: its own rule and prefix), ``entry`` (the address book's rules) or ``role``
    #: (``postmaster@``/``abuse@``, received by default).
    kind: str
    #: where its rule stores the message (``info/``, ``address-book/``, ``example.net/address-book/``).
    prefix: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class DomainRouting:
    """What a receiving domain does with a recipient its address book does not name."""

    domain: str
    other_recipients: str
    notify: str | None
    #: the address book's prefix for this domain (also the catch-all's, with ``store``).
    prefix: str
    #: the rules holding the address book's recipients, with their recipients (``[domain]`` with ``store``).
    rules: tuple[tuple[str, tuple[str, ...]], ...]
    #: the domain has an ``addresses`` key: the forwarder may send as any of its addresses (see MailForwarder).
    explicit: bool


@dataclass(frozen=True)
class AddressBook:
    """Every address of the environment, in order (domains in order; mailboxes, entries, then postmaster/abuse)."""

    addresses: tuple[Address, ...]
    domains: tuple[DomainRouting, ...]

    def find(self, address: str) -> Address | None:
        """The entry an address or alias belongs to (case-insensitive), or ``None``."""
        wanted = address.lower()
        for entry in self.addresses:
            if entry.address.lower() == wanted or wanted in (a.lower() for a in entry.aliases):
                return entry
        return None

    def routes(self) -> dict[str, Any]:
        """The forwarder's routing table (``routes.json`` in its asset; see ``lambda/mail_forwarder``)."""
        addresses: dict[str, Any] = {}
        for entry in self.addresses:
            route = {"as": entry.address, "to": list(entry.destinations), "prefix": entry.prefix, "kind": entry.kind}
            for name in (entry.address, *entry.aliases):
                addresses[name.lower()] = route
        domains = {
            d.domain: {
                "prefix": d.prefix,
                "otherRecipients": d.other_recipients,
                "notify": d.notify,
                "as": f"postmaster@{d.domain}",
            }
            for d in self.domains
        }
        return {"version": 1, "addresses": addresses, "domains": domains}


def _strings(reader: Reader, key: str, raw: Any) -> list[str]:
    if not isinstance(raw, list):
        raise SettingsError(f"{reader.key(key)}: {raw!r} is not a list")
    for i, item in enumerate(raw):
        if not isinstance(item, str):
            raise SettingsError(f"{reader.key(key)}[{i}]: {item!r} is not a string")
    return list(raw)


def _destination_shape(reader: Reader, key: str, value: str) -> None:
    if "@" in value:
        reader.check(key, check_address, value)
    else:
        reader.check(key, check_local_part, value)


def parse_domain_book(reader: Reader, *, send_only: bool) -> DomainBookSettings:
    """One domain's ``addresses``, ``postmasterTo``, ``otherRecipients`` and ``otherRecipientsNotify``."""
    keys = ("addresses", "postmasterTo", "otherRecipients", "otherRecipientsNotify")
    if send_only:
        for key in keys:
            if key in reader.raw:
                raise SettingsError(f"{reader.key(key)}: not allowed with sendOnly (the domain receives no mail)")
        return DomainBookSettings()
    raw_entries = reader.get("addresses", list)
    entries: list[EntrySettings] = []
    for i, item in enumerate(raw_entries or []):
        entry = Reader(item, reader.key(f"addresses[{i}]"))
        local = entry.check("localPart", check_local_part, entry.get("localPart", str, required=True))
        aliases = _strings(entry, "aliases", entry.get("aliases", list, default=[]))
        for j, alias in enumerate(aliases):
            entry.check(f"aliases[{j}]", check_local_part, alias)
        to: list[str] | None = None
        if "to" in entry.raw:
            to = _strings(entry, "to", entry.get("to", list))
            for j, item_to in enumerate(to):
                _destination_shape(entry, f"to[{j}]", item_to)
        else:
            entry.get("to", list)
        entry.finish()
        entries.append(EntrySettings(local_part=local, aliases=tuple(aliases), to=None if to is None else tuple(to)))
    postmaster_to = reader.get("postmasterTo", list)
    if postmaster_to is not None:
        postmaster_to = _strings(reader, "postmasterTo", postmaster_to)
        if not postmaster_to:
            raise SettingsError(
                f"{reader.key('postmasterTo')}: [] must name a destination (leave it out for the default)"
            )
        for j, item_to in enumerate(postmaster_to):
            _destination_shape(reader, f"postmasterTo[{j}]", item_to)
    other = reader.get("otherRecipients", str, default="reject")
    if other not in OTHER_RECIPIENTS:
        raise SettingsError(f"{reader.key('otherRecipients')}: {other!r} is not one of {', '.join(OTHER_RECIPIENTS)}")
    notify = reader.get("otherRecipientsNotify", str)
    if notify is not None:
        reader.check("otherRecipientsNotify", check_address, notify)
    if other == "store" and notify is None:
        raise SettingsError(
            f"{reader.key('otherRecipientsNotify')}: missing (required with otherRecipients 'store': the address "
            "told of each message stored for an address the book does not name)"
        )
    if other == "reject" and notify is not None:
        raise SettingsError(
            f"{reader.key('otherRecipientsNotify')}: {notify!r} only applies to otherRecipients 'store' "
            "(with 'reject' SES refuses those recipients and nothing is stored)"
        )
    return DomainBookSettings(
        entries=tuple(entries),
        postmaster_to=None if postmaster_to is None else tuple(postmaster_to),
        other_recipients=other,
        other_recipients_notify=notify,
        explicit=raw_entries is not None,
    )


@dataclass
class _Node:
    """One entry during resolution: where it was written (for errors) and its ``to`` as written."""

    domain: str
    local: str
    key: str
    to: tuple[str, ...]
    aliases: tuple[str, ...]
    kind: str
    prefix: str
    #: postmaster/abuse without ``postmasterTo``: the entry whose first destination they take.
    default_from: str | None = None


def book_rule_name(base_slug: str, n: int) -> str:
    """``addresses-<n>`` for the first domain, ``addresses-<n>-<slug>`` for later ones."""
    return f"{BOOK_RULE}-{n}-{base_slug}" if base_slug else f"{BOOK_RULE}-{n}"


def resolve(
    path: str,
    domains: Sequence[Any],
    books: Sequence[DomainBookSettings],
    *,
    forward_to: Sequence[str],
    beside_workmail: bool,
    listed: bool,
) -> AddressBook:
    """Check every domain's book against the whole environment and expand each entry to its destinations.

    :param path: ``environments.<name>``, the start of every error's key.
    :param domains: the environment's ``DomainSettings``, in order (send-only ones are skipped).
    :param books: each domain's :class:`DomainBookSettings`, in the same order.
    :param forward_to: ``inbound.forwardTo``: the ``to`` of every mailbox of the short form.
    :param listed: the domains come from ``domains`` (errors name ``domains[i]``), not the short form.
    :param beside_workmail: WorkMail's own rule decides every recipient: no postmaster/abuse rules, no catch-all.
    """
    nodes: dict[str, _Node] = {}
    order: list[str] = []
    receiving = {d.domain for d in domains if not d.send_only}

    def base(i: int) -> str:
        return f"{path}.domains[{i}]" if listed else path

    def add(node: _Node, where: str) -> None:
        address = f"{node.local}@{node.domain}".lower()
        if address in nodes:
            raise SettingsError(
                f"{where}: {node.local!r} is already {nodes[address].key} (one local part, one entry: "
                "an alias routes as its entry)"
            )
        nodes[address] = node
        order.append(address)

    for i, (domain, book) in enumerate(zip(domains, books, strict=True)):
        if domain.send_only:
            continue
        key = base(i)
        if beside_workmail and (book.explicit or book.postmaster_to is not None or book.other_recipients != "reject"):
            raise SettingsError(
                f"{key}.{_first_book_key(book)}: not available beside workmail (WorkMail's own rule decides every "
                "recipient; sesmail's rules only store ahead of it)"
            )
        for j, box in enumerate(domain.mailboxes):
            if domain.prefix(box) == _book_prefix(domain):
                raise SettingsError(
                    f"{key}.mailboxes[{j}]: {box!r} would store under {_book_prefix(domain)!r}, the address book's "
                    "prefix; list it under addresses instead"
                )
            add(
                _Node(domain.domain, box, f"{key}.mailboxes[{j}]", tuple(forward_to), (), "mailbox",
                      domain.prefix(box)),
                f"{key}.mailboxes[{j}]",
            )  # fmt: skip
        for j, entry in enumerate(book.entries):
            where = f"{key}.addresses[{j}]"
            if entry.to is None:
                raise SettingsError(
                    f"{where}.to: missing: say where {entry.local_part}@{domain.domain}'s mail goes, or [] to store "
                    "it only"
                )
            prefix = _book_prefix(domain)
            add(
                _Node(domain.domain, entry.local_part, where, entry.to, entry.aliases, "entry", prefix),
                f"{where}.localPart",
            )
        taken: dict[str, str] = {}
        for j, entry in enumerate(book.entries):
            for k, alias in enumerate(entry.aliases):
                address = f"{alias}@{domain.domain}".lower()
                where = f"{key}.addresses[{j}].aliases[{k}]"
                if address in nodes or address in taken:
                    other = nodes[address].key if address in nodes else taken[address]
                    raise SettingsError(
                        f"{where}: {alias!r} is already {other} (one local part, one entry: remove the alias or "
                        "the entry)"
                    )
                taken[address] = where
        if not beside_workmail:
            first = next((nodes[a] for a in order if nodes[a].domain == domain.domain), None)
            for role in ROLE_LOCAL_PARTS:
                address = f"{role}@{domain.domain}"
                if address in nodes or _alias_taken(nodes, address):
                    continue
                default = None
                if book.postmaster_to is None and first is not None:
                    default = f"{first.local}@{first.domain}".lower()
                node = _Node(
                    domain.domain, role, f"{key}.postmasterTo", book.postmaster_to or (), (), "role",
                    _book_prefix(domain), default,
                )  # fmt: skip
                add(node, f"{key}.postmasterTo")
        if book.other_recipients_notify is not None:
            _not_ours(book.other_recipients_notify, receiving, f"{key}.otherRecipientsNotify")

    aliases = {f"{alias}@{n.domain}".lower(): a for a, n in nodes.items() for alias in n.aliases}
    resolved: dict[str, tuple[str, ...]] = {}

    def member(node: _Node, item: str, where: str) -> str | None:
        """The entry ``item`` names (its lower-case address), or ``None`` for an external address."""
        if "@" not in item:
            address = f"{item}@{node.domain}".lower()
            found = (nodes.get(address) and address) or aliases.get(address)
            if found is None:
                raise SettingsError(
                    f"{where}: {item!r} is not an entry of {node.domain} (a local part names another entry; give "
                    "an external address in full)"
                )
            return found
        address = item.lower()
        domain = address.rpartition("@")[2]
        if domain == node.domain.lower() and (address in nodes or address in aliases):
            local = item.rpartition("@")[0]
            raise SettingsError(
                f"{where}: {item!r} is one of our own addresses given as an external one; route it as a member: "
                f"{local!r}"
            )
        if domain in receiving:
            found = (nodes.get(address) and address) or aliases.get(address)
            if found is None:
                raise SettingsError(
                    f"{where}: {item!r} is not an entry of {domain}, a domain this environment receives (add the "
                    "entry, or name an external address)"
                )
            return found
        return None

    def expand(address: str, stack: tuple[str, ...]) -> tuple[str, ...]:
        if address in resolved:
            return resolved[address]
        node = nodes[address]
        if address in stack:
            loop = (*stack[stack.index(address) :], address)
            names = " -> ".join(nodes[a].local if nodes[a].domain == node.domain else a for a in loop)
            raise SettingsError(f"{nodes[loop[0]].key}.to: {names} is a cycle")
        out: list[str] = []
        if node.default_from is not None:
            # The first destination of the domain's first entry; a stored-only first entry: stored only.
            out.extend(expand(node.default_from, (*stack, address))[:1])
        for j, item in enumerate(node.to):
            if node.kind == "mailbox":
                where = f"{path}.inbound.forwardTo[{j}]"
            elif node.kind == "role":
                where = f"{node.key}[{j}]"
            else:
                where = f"{node.key}.to[{j}]"
            found = member(node, item, where)
            out.extend([item] if found is None else expand(found, (*stack, address)))
        unique: dict[str, str] = {}
        for item in out:
            unique.setdefault(item.lower(), item)
        resolved[address] = tuple(unique.values())
        return resolved[address]

    for address in order:
        expand(address, ())

    result: list[Address] = []
    for address in order:
        node = nodes[address]
        result.append(
            Address(
                address=f"{node.local}@{node.domain}",
                aliases=tuple(f"{a}@{node.domain}" for a in node.aliases),
                destinations=resolved[address],
                kind=node.kind,
                prefix=node.prefix,
            )
        )
    routing = []
    for i, (domain, book) in enumerate(zip(domains, books, strict=True)):
        if domain.send_only:
            continue
        book_recipients = [
            name
            for a in result
            if a.domain == domain.domain and a.kind != "mailbox"
            for name in (a.address, *a.aliases)
        ]
        rules: list[tuple[str, tuple[str, ...]]] = []
        if book.other_recipients == "store":
            rules.append((book_rule_name(domain.slug, 1), (domain.domain,)))
        else:
            for n, start in enumerate(range(0, len(book_recipients), MAX_RECIPIENTS_PER_RULE), start=1):
                rules.append(
                    (book_rule_name(domain.slug, n), tuple(book_recipients[start : start + MAX_RECIPIENTS_PER_RULE]))
                )
        for name, _ in rules:
            try:
                check_rule_name(f"{base(i)}.domain", name)
            except ValueError as error:
                raise SettingsError(f"{error} (the address book's rule for {domain.domain})") from None
        routing.append(
            DomainRouting(
                domain=domain.domain,
                other_recipients=book.other_recipients,
                notify=book.other_recipients_notify,
                prefix=_book_prefix(domain),
                rules=tuple(rules),
                explicit=book.explicit,
            )
        )
    return AddressBook(addresses=tuple(result), domains=tuple(routing))


def _first_book_key(book: DomainBookSettings) -> str:
    if book.explicit:
        return "addresses"
    return "postmasterTo" if book.postmaster_to is not None else "otherRecipients"


def _alias_taken(nodes: Mapping[str, _Node], address: str) -> bool:
    local, _, domain = address.partition("@")
    return any(n.domain == domain and local in (a.lower() for a in n.aliases) for n in nodes.values())


def _book_prefix(domain: Any) -> str:
    return f"{domain.domain}/{BOOK_PREFIX}" if domain.slug else BOOK_PREFIX


def _not_ours(address: str, receiving: set[str], where: str) -> None:
    if address.rpartition("@")[2].lower() in receiving:
        raise SettingsError(
            f"{where}: {address!r} is an address of a domain this environment receives; name an external mailbox "
            "(a notice to ourselves would be stored, not read)"
        )


def parse_people(reader: Reader, book: AddressBook, first_domain: str) -> tuple[PersonSettings, ...]:
    """The environment's ``people``: each one's own address and the entries granted to them, as full addresses."""
    raw = reader.get("people", list, default=[])
    people: list[PersonSettings] = []
    names: dict[str, str] = {}
    for i, item in enumerate(raw):
        entry = Reader(item, reader.key(f"people[{i}]"))
        name = entry.get("name", str, required=True)
        if not _PERSON_NAME.match(name):
            raise SettingsError(
                f"{entry.key('name')}: {name!r} must be 1-32 letters, digits or + = . @ _ - "
                "(it names an IAM user and tags its secret)"
            )
        if name.lower() in names:
            # IAM user names are case-insensitive ("user names are not distinguished by case", IAM identifiers).
            raise SettingsError(f"{entry.key('name')}: {name!r} is already {names[name.lower()]}")
        names[name.lower()] = entry.key("name")
        own = _granted(entry, "address", entry.get("address", str, required=True), book, first_domain)
        send_as = _strings(entry, "sendAs", entry.get("sendAs", list, default=[]))
        granted = [_granted(entry, f"sendAs[{j}]", item_as, book, first_domain) for j, item_as in enumerate(send_as)]
        seen = {own.lower()}
        for j, address in enumerate(granted):
            if address.lower() in seen:
                raise SettingsError(f"{entry.key(f'sendAs[{j}]')}: {send_as[j]!r} is listed twice")
            seen.add(address.lower())
        token = entry.get("rotationToken", str, default="1")
        if not token:
            raise SettingsError(f"{entry.key('rotationToken')}: '' must not be empty")
        people.append(
            PersonSettings(
                name=name,
                address=own,
                send_as=tuple(granted),
                rotation_token=token,
                keep_previous_key=entry.get("keepPreviousKey", bool, default=True),
            )
        )
        entry.finish()
    return tuple(people)


def _granted(entry: Reader, key: str, value: Any, book: AddressBook, first_domain: str) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"{entry.key(key)}: {value!r} is not a string")
    address = value if "@" in value else f"{value}@{first_domain}"
    found = book.find(address)
    if found is None:
        raise SettingsError(f"{entry.key(key)}: {value!r} is not an entry of the address book")
    if found.address.lower() != address.lower():
        raise SettingsError(
            f"{entry.key(key)}: {value!r} is an alias of {found.address}; grant the entry ({found.address})"
        )
    return found.address
