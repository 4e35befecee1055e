#!/usr/bin/env python3
"""Throughput and peak memory of the inbound parser against a bare ``BytesParser(policy=default).parsebytes``.

    .venv/bin/python benchmarks/parse.py [--corpus DIR] [--rounds N]

Every file in DIR is one raw message. Default corpus: the standard library's own test e-mails
(``test/test_email/data/msg_*.txt``, when this Python ships its test package) plus generated messages of 1, 10 and 40 MB
with 1 MB attachments. Both sides parse the same bytes in memory (no S3); the parser side is ``mime.parse`` of
lambda/inbound_parser plus decoding and hashing every attachment, i.e. everything the handler does besides S3 I/O.

Peak memory comes from tracemalloc around one parse of the largest message, and of a generated 40 MB message with
one 30 MB attachment. Each side starts from an in-memory stream, as the handler starts from the S3 body: the bare
parser reads it with ``read()``, the inbound parser with the handler's ``read_body`` (one buffer), so the peak
includes the message itself; the figure without it (peak minus the message size) is printed too.
"""

from __future__ import annotations

import argparse
import base64
import gc
import importlib
import importlib.util
import io
import os
import sys
import time
import tracemalloc
from email import policy
from email.parser import BytesParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def load_parser(name: str = "mime"):
    """Import ``lambda/inbound_parser/<name>.py`` as the Lambda runtime would (its folder first on sys.path)."""
    folder = ROOT / "lambda" / "inbound_parser"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(f"inbound_{name}", folder / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def stdlib_messages() -> list[bytes]:
    try:
        tests = importlib.import_module("test.test_email")
    except ImportError:
        print("stdlib test e-mails: not in this Python (no test package); generated messages only")
        return []
    data = Path(str(tests.__file__)).parent / "data"
    files = sorted(data.glob("msg_*.txt"))
    print(f"stdlib test e-mails: {len(files)} from {data}")
    return [f.read_bytes() for f in files]


def generated(size: int, attachment: int = MB) -> bytes:
    """A multipart/mixed message with text and base64 attachments of ``attachment`` bytes (encoded) up to ``size``."""
    chunk = os.urandom(3 * attachment // 4)
    parts = [
        b"From: Sender <s@example.org>\r\nTo: info@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
    ]
    total, index = 0, 0
    while total < size:
        body = base64.encodebytes(chunk if total + attachment <= size else chunk[: 3 * (size - total) // 4])
        parts.append(
            b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            + f'Content-Disposition: attachment; filename="file-{index}.bin"\r\n\r\n'.encode()
            + body
        )
        total += len(body)
        index += 1
    parts.append(b"--b--\r\n")
    return b"".join(parts)


def full_parse(mime, raw: bytes) -> object:
    """What the handler does per message besides S3 I/O: parse, then decode and hash each attachment in turn."""
    parsed = mime.parse(raw)
    for attachment, described in zip(parsed.attachments, parsed.document["attachments"], strict=True):
        mime.measured(attachment, described)
    return parsed


def measure(fn, messages: list[bytes], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for raw in messages:
            fn(raw)
    return time.perf_counter() - start


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--corpus", type=Path, help="folder of raw messages, one per file")
    args.add_argument("--rounds", type=int, default=3)
    options = args.parse_args()
    mime = load_parser()
    if options.corpus:
        messages = [p.read_bytes() for p in sorted(options.corpus.iterdir()) if p.is_file()]
        print(f"corpus: {len(messages)} messages from {options.corpus}")
    else:
        messages = stdlib_messages() + [generated(n * MB) for n in (1, 10, 40)]
    total_mb = sum(map(len, messages)) / MB
    bare = BytesParser(policy=policy.default)

    def bare_parse(raw: bytes) -> object:
        return bare.parsebytes(raw)

    results = {}
    for name, fn in (("bare BytesParser", bare_parse), ("inbound parser", lambda raw: full_parse(mime, raw))):
        fn(messages[0])  # warm-up
        seconds = measure(fn, messages, options.rounds)
        results[name] = seconds
        count = len(messages) * options.rounds
        print(f"{name:18s} {count / seconds:9.1f} messages/s {total_mb * options.rounds / seconds:8.1f} MB/s")
    ratio = results["bare BytesParser"] / results["inbound parser"]
    print(f"throughput ratio (parser/bare): {ratio:.2f}x")

    handler = load_parser("index")

    def bare_from_stream(stream: io.BytesIO, size: int) -> object:
        return bare.parsebytes(stream.read())

    def parser_from_stream(stream: io.BytesIO, size: int) -> object:
        return full_parse(mime, handler.read_body(stream, size))

    largest = max(messages, key=len)
    one_big = generated(40 * MB, attachment=30 * MB)
    for label, raw in (("largest message", largest), ("one 30 MB attachment", one_big)):
        for name, reader in (("bare BytesParser", bare_from_stream), ("inbound parser", parser_from_stream)):
            stream = io.BytesIO(raw)
            gc.collect()
            tracemalloc.start()
            reader(stream, len(raw))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"{name:18s} peak memory, {label} ({len(raw) / MB:.1f} MB): {peak / MB:6.1f} MB "
                f"= {peak / len(raw):.2f}x its size ({(peak - len(raw)) / len(raw):.2f}x without the message)"
            )


if __name__ == "__main__":
    main()
