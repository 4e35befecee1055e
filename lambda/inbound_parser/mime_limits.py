"""The parser's limits, and the per-message state that records what was cut when one is hit.

Every limit bounds the work of one message whatever its shape; the numbers are documented in
docs/inbound-without-workmail.md ("Limits"). When one is hit the parser keeps going with less and says so in the
document's ``truncated`` list; it never fails because of a limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Containers nested deeper than this are not read.
MAX_DEPTH = 20
#: Parts (the message itself, containers and leaves) past this many are not read.
MAX_PARTS = 1000
#: A header field (name, value and its folded lines) longer than this is cut before the standard library sees it:
#: its header parser costs up to ~13 µs a byte (parameters) and is quadratic in places (encoded words, comments).
MAX_HEADER_BYTES = 16 * 1024
#: The same for address headers (From, To, Cc, ...), whose stdlib parser is slower still (~0.35 s at 8 KiB): about
#: 250 named addresses.
MAX_ADDRESS_HEADER_BYTES = 8 * 1024
#: Bytes of header text, across the whole message, that the standard library's structured header parser may decode
#: (each part's Content-* fields, then the top-level headers for the document); address headers count
#: ``ADDRESS_WEIGHT`` times and every field ``FIELD_COST`` bytes more. Past it no further part is read and the
#: remaining top-level headers are listed undecoded. Bounds header decoding to a few seconds whatever the message.
MAX_DECODED_HEADER_BYTES = 256 * 1024
ADDRESS_WEIGHT = 4
#: What decoding one header costs besides its bytes, in budget bytes (the header registry builds a class for every
#: unknown name: ~90 µs each): ~1,000 tiny fields fit.
FIELD_COST = 256

ADDRESS_HEADERS = frozenset(
    {
        *("from", "to", "cc", "bcc", "sender", "reply-to"),
        *("resent-from", "resent-to", "resent-cc", "resent-bcc", "resent-sender"),
    }
)


@dataclass
class State:
    """One message's errors, truncations and remaining header budget, shared by the splitter and the document."""

    errors: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    header_budget: int = MAX_DECODED_HEADER_BYTES
    exhausted: bool = False

    def cut(self, reason: str) -> None:
        """Record that a limit was hit (each distinct reason once)."""
        if reason not in self.truncated:
            self.truncated.append(reason)

    def spend(self, size: int) -> bool:
        """Take ``size`` bytes of header decoding from the budget; False (and recorded) once it is exhausted."""
        if self.header_budget < size:
            if not self.exhausted:
                self.exhausted = True
                self.cut(f"more than MAX_DECODED_HEADER_BYTES={MAX_DECODED_HEADER_BYTES} bytes of headers to decode")
            return False
        self.header_budget -= size
        return True
