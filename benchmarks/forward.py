#!/usr/bin/env python3
"""Time and peak memory of building one forward (``compose`` of lambda/mail_forwarder), by message size.

    .venv/bin/python benchmarks/forward.py [--rounds N]

Messages are generated: a short text body and one attachment of 1, 10, 27 and 28.5 MiB, stored base64-encoded
(about 1.4, 13.5, 37 and 39 MiB). The largest is above SES's 40,000,000-byte send limit once forwarded, so it is cut
down to its body with the attachment listed; the 27 MiB one is forwarded whole, just under the limit.
Timed: parse the stored bytes (as the handler does) plus ``compose``, which serializes the forward it would send.
Peak is tracemalloc's over the same work, starting from the stored bytes in memory (the handler holds them too),
printed with and without the message itself. The function has 1024 MB.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
sys.path.insert(0, str(ROOT / "lambda" / "mail_forwarder"))

import fwd_verdicts  # noqa: E402
import index as forwarder  # noqa: E402


def message(attachment_bytes: int) -> bytes:
    """A customer's message with one attachment of ``attachment_bytes`` (before base64)."""
    msg = EmailMessage()
    msg["From"] = "Jane Doe <jane@customer.example>"
    msg["To"] = "info@example.com"
    msg["Subject"] = "Scans"
    msg["Message-ID"] = "<b@customer.example>"
    msg.set_content("See the attached scans.\n" * 20)
    msg.add_attachment(bytes(range(256)) * (attachment_bytes // 256), maintype="application", subtype="pdf")
    return msg.as_bytes()


def forward(raw: bytes) -> tuple[str, int]:
    """What the handler does between reading the object and calling SES; the kind and size of what it would send."""
    config = forwarder.Config(
        staff=["staff@corp.example"],
        mailboxes=["info@example.com"],
        policy=dict(fwd_verdicts.DEFAULT_POLICY),
        region="",
    )
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    kind, data = forwarder.compose(
        msg,
        fwd_verdicts.Decision(action="forward"),
        fwd_verdicts.Verdicts(),
        stored=raw,
        mailbox="info@example.com",
        target=forwarder.Target("mail", "info/b"),
        config=config,
    )
    return kind, len(data or b"")


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--rounds", type=int, default=3)
    rounds = args.parse_args().rounds
    print(f"{'stored':>9} {'sent':>9}  {'kind':<28} {'median s':>8} {'peak MB':>8} {'peak-msg':>9}")
    for size in (1 * MB, 10 * MB, 27 * MB, int(28.5 * MB)):
        raw = message(size)
        times = []
        for _ in range(rounds):
            gc.collect()
            start = time.perf_counter()
            kind, sent = forward(raw)
            times.append(time.perf_counter() - start)
        gc.collect()
        tracemalloc.start()
        forward(raw)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"{len(raw) / MB:8.1f}M {sent / MB:8.1f}M  {kind:<28} {statistics.median(times):8.2f} "
            f"{(peak + len(raw)) / MB:8.1f} {peak / MB:9.1f}"
        )


if __name__ == "__main__":
    main()
