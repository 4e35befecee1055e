"""What the forwarder does with a message, from SES's spam, virus, SPF, DKIM and DMARC verdicts.

The verdicts come from the receipt of an SES Lambda action event (``receipt.spamVerdict.status`` ...,
``receipt.dmarcPolicy``: "Contents of notifications for Amazon SES email receiving", SES Developer Guide), or, for an
S3-triggered forward, from the headers SES prepends to the stored message (``X-SES-Spam-Verdict``,
``X-SES-Virus-Verdict``, its own ``Authentication-Results: amazonses.com; ...``). Only the first occurrence of each
header counts: SES adds its headers on top, and a sender can put look-alikes further down.

A policy maps each check to an action; the strictest triggered action wins:

- ``forward``: forwarded as ordinary mail;
- ``tag``: forwarded, the subject prefixed with the check's tag (``[SPAM]``...) so staff and filters see it;
- ``notice``: staff get a short notice naming the verdict and where the message is stored, without its content;
- ``skip``: nothing is sent; the forward record says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

ACTIONS = ("forward", "tag", "notice", "skip")
_STRICTNESS = {action: rank for rank, action in enumerate(ACTIONS)}
CHECKS = ("virus", "spam", "dmarc", "spf", "dkim")
#: A virus-flagged message's content is never sent on: only ``notice`` and ``skip`` are allowed for it.
ALLOWED = {check: ACTIONS[2:] if check == "virus" else ACTIONS for check in CHECKS}
DEFAULT_POLICY = {"virus": "notice", "spam": "notice", "dmarc": "notice", "spf": "forward", "dkim": "forward"}
TAGS = {"virus": "[VIRUS]", "spam": "[SPAM]", "dmarc": "[DMARC FAIL]", "spf": "[SPF FAIL]", "dkim": "[DKIM FAIL]"}
#: DMARC policies under which the sender's domain asks receivers not to treat a failing message as ordinary mail.
STRICT_DMARC = ("quarantine", "reject")
_RESULT = re.compile(r"\b(spf|dkim|dmarc)=([a-z]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdicts:
    """SES's statuses (``PASS``, ``FAIL``, ``GRAY``, ``PROCESSING_FAILED``; ``None`` when absent)."""

    spam: str | None = None
    virus: str | None = None
    spf: str | None = None
    dkim: str | None = None
    dmarc: str | None = None
    #: ``none``, ``quarantine`` or ``reject``; SES gives it only when DMARC failed, and only in the receipt.
    dmarc_policy: str | None = None
    source: str = "receipt"

    def as_dict(self) -> dict[str, Any]:
        """The verdicts as the forward record writes them."""
        return {
            "spam": self.spam,
            "virus": self.virus,
            "spf": self.spf,
            "dkim": self.dkim,
            "dmarc": self.dmarc,
            "dmarcPolicy": self.dmarc_policy,
            "source": self.source,
        }

    def header(self) -> str:
        """One line for the forward's ``X-Sesmail-Verdicts`` header."""
        parts = [f"{name}={getattr(self, name) or 'NONE'}" for name in ("spam", "virus", "spf", "dkim", "dmarc")]
        if self.dmarc_policy:
            parts.append(f"dmarcPolicy={self.dmarc_policy}")
        return "; ".join(parts)


def from_receipt(receipt: Mapping[str, Any]) -> Verdicts:
    """The verdicts of an SES receipt object (``Records[].ses.receipt``)."""

    def status(name: str) -> str | None:
        value = (receipt.get(f"{name}Verdict") or {}).get("status")
        return str(value).upper() if value else None

    policy = receipt.get("dmarcPolicy")
    return Verdicts(
        spam=status("spam"),
        virus=status("virus"),
        spf=status("spf"),
        dkim=status("dkim"),
        dmarc=status("dmarc"),
        dmarc_policy=str(policy).lower() if policy else None,
        source="receipt",
    )


def from_headers(msg: EmailMessage) -> Verdicts:
    """The verdicts SES wrote into the stored message's headers (first occurrence only; no DMARC policy there)."""

    def first(name: str) -> str | None:
        values = msg.get_all(name) or []
        return str(values[0]).strip().upper() or None if values else None

    results: dict[str, str] = {}
    for value in msg.get_all("Authentication-Results") or []:
        text = str(value)
        if text.split(";", 1)[0].strip().lower() == "amazonses.com":
            results = {method.lower(): result.upper() for method, result in _RESULT.findall(text)}
            break
    return Verdicts(
        spam=first("X-SES-Spam-Verdict"),
        virus=first("X-SES-Virus-Verdict"),
        spf=results.get("spf"),
        dkim=results.get("dkim"),
        dmarc=results.get("dmarc"),
        source="headers",
    )


@dataclass(frozen=True)
class Decision:
    """The action taken and the checks that chose it (``{"spam": "spam verdict FAIL"}``)."""

    action: str
    triggered: dict[str, str] = field(default_factory=dict)

    @property
    def tags(self) -> list[str]:
        """Subject tags of the triggered checks, strictest first, as ``tag`` prefixes them."""
        return [TAGS[check] for check in CHECKS if check in self.triggered]


def triggered(verdicts: Verdicts, *, from_domain: str, own_domains: frozenset[str]) -> dict[str, str]:
    """The checks this message fails, each with the reason the record and notice give."""
    found: dict[str, str] = {}
    # SES could not scan it: an unscanned message is treated as infected, since a scanner failure is what a
    # crafted archive aims for.
    if verdicts.virus in ("FAIL", "PROCESSING_FAILED"):
        found["virus"] = f"virus verdict {verdicts.virus}"
    if verdicts.spam == "FAIL":
        found["spam"] = "spam verdict FAIL"
    if verdicts.dmarc == "FAIL":
        if verdicts.dmarc_policy in STRICT_DMARC:
            found["dmarc"] = f"DMARC FAIL, sender policy {verdicts.dmarc_policy}"
        elif from_domain in own_domains:
            # Mail claiming to come from our own domain that fails DMARC is a spoof, whatever our policy says.
            found["dmarc"] = f"DMARC FAIL for our own domain {from_domain}"
        elif verdicts.dmarc_policy is None and verdicts.source == "headers":
            found["dmarc"] = "DMARC FAIL (sender policy not known from headers)"
    if verdicts.spf == "FAIL":
        found["spf"] = "SPF FAIL"
    if verdicts.dkim == "FAIL":
        found["dkim"] = "DKIM FAIL"
    return found


def decide(verdicts: Verdicts, policy: Mapping[str, str], *, from_domain: str, own_domains: frozenset[str]) -> Decision:
    """The strictest action among the checks the message fails (``forward`` when it fails none)."""
    found = triggered(verdicts, from_domain=from_domain, own_domains=own_domains)
    action = max((policy[check] for check in found), key=_STRICTNESS.__getitem__, default="forward")
    return Decision(action=action, triggered=found)


def load_policy(raw: str | None) -> dict[str, str]:
    """The policy from the ``VERDICT_POLICY`` environment value (JSON), over the defaults; raises on a bad entry."""
    policy = dict(DEFAULT_POLICY)
    for check, action in json.loads(raw or "{}").items():
        if check not in ALLOWED or action not in ALLOWED[check]:
            raise ValueError(f"VERDICT_POLICY: {check}={action!r} is not allowed")
        policy[check] = action
    return policy
