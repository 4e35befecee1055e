#!/usr/bin/env python3
"""Throughput and peak memory of the inbound parser against the standard library building the same document, and
the parser's time and memory on generated worst-case inputs.

    .venv/bin/python benchmarks/parse.py [--corpus DIR] [--rounds N] [--stdlib-timeout S]

Every file in DIR is one raw message. Default corpus: the shared public corpus (``../shared/corpus/mime/messages``
beside the repository, when present; else the standard library's own test e-mails) plus generated messages of 1, 10
and 40 MB with 1 MB attachments. All sides parse the same bytes in memory (no S3):

- "stdlib document": ``BytesParser(policy=default).parsebytes`` and the same document from it (every top-level header
  decoded, addresses, text and html via ``get_content()``, each attachment decoded and hashed, the JSON written);
- "inbound parser": ``mime.parse`` of lambda/inbound_parser, each attachment decoded and hashed, the JSON written:
  everything the handler does besides S3 I/O;
- "bare BytesParser": ``parsebytes`` alone, for reference (it decodes nothing).

Peak memory comes from tracemalloc around one parse of the largest message, and of a generated 40 MB message with
one 30 MB attachment. Each side starts from an in-memory stream, as the handler starts from the S3 body: the bare
parser reads it with ``read()``, the inbound parser with the handler's ``read_body`` (one buffer), so the peak
includes the message itself; the figure without it (peak minus the message size) is printed too.

Worst cases (benchmarks/worst_cases.py): the parser's seconds (without tracemalloc, which slows it) and peak memory
(with it), what it cut, and the stdlib document's seconds in a child process stopped after ``--stdlib-timeout``
seconds or 2 GiB of address space.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import importlib
import importlib.util
import io
import json
import multiprocessing
import os
import resource
import sys
import time
import tracemalloc
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

from worst_cases import WORST_CASES

ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = ROOT.parent / "shared" / "corpus" / "mime" / "messages"
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


def full_parse(mime, raw: bytes | bytearray) -> bytes:
    """What the handler does per message besides S3 I/O: parse, decode and hash each attachment, write the JSON."""
    parsed = mime.parse(raw)
    for attachment, described in zip(parsed.attachments, parsed.document["attachments"], strict=True):
        mime.measured(attachment, described)
    return json.dumps(mime.json_safe(parsed.document), ensure_ascii=False).encode()


def _digest(payload: bytes) -> dict[str, object]:
    return {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}


def stdlib_document(raw: bytes) -> bytes:
    """The same document built the way one would with the standard library alone: parse the whole message, walk it."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text: list[str] = []
    html: list[str] = []
    attachments: list[dict[str, object]] = []
    stack: list[tuple[Message, bool]] = [(msg, True)]
    while stack:
        part, root = stack.pop()
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global") and not root:
            inner = part.get_payload(0)
            attachments.append({"contentType": ctype, **_digest(inner.as_bytes())})  # type: ignore[union-attr]
            continue
        if part.is_multipart():
            stack.extend((child, False) for child in reversed(part.get_payload()))  # type: ignore[arg-type]
            continue
        disposition, filename = part.get_content_disposition(), part.get_filename()
        if filename or disposition == "attachment" or ctype not in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True)
            attachments.append({"contentType": ctype, "filename": filename, **_digest(payload or b"")})  # type: ignore[arg-type]
        else:
            try:
                content = part.get_content()  # type: ignore[attr-defined]
            except LookupError:
                content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")  # type: ignore[union-attr]
            (text if ctype == "text/plain" else html).append(content)

    def addresses(name: str) -> list[dict[str, str]]:
        return [{"name": a.display_name, "address": a.addr_spec} for a in getattr(msg.get(name), "addresses", ())]

    document = {
        "subject": str(msg.get("Subject")),
        "from": addresses("From"),
        "to": addresses("To"),
        "cc": addresses("Cc"),
        "headers": [[k, str(v)] for k, v in msg.items()],
        "text": "\n".join(text),
        "html": "\n".join(html),
        "attachments": attachments,
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogateescape")


def measure(fn, messages: list[bytes], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for raw in messages:
            fn(raw)
    return time.perf_counter() - start


def _lenient(fn):
    """``fn`` that records a failure instead of raising (the stdlib cannot build some corpus messages' headers)."""

    def run(raw: bytes) -> object:
        try:
            return fn(raw)
        except Exception as error:
            return error

    return run


def _stdlib_child(raw: bytes, limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with open(os.devnull, "w") as sink:
        sys.stderr = sink  # a failure is reported by the exit code, not a traceback
        stdlib_document(raw)


def stdlib_seconds(raw: bytes, timeout: float) -> str:
    """The stdlib document's seconds for ``raw`` in a child process, or why it did not finish."""
    child = multiprocessing.get_context("fork").Process(target=_stdlib_child, args=(raw, 2 * 1024 * MB))
    start = time.perf_counter()
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.terminate()
        child.join()
        return f"> {timeout:.0f} s (stopped)"
    seconds = time.perf_counter() - start
    return f"{seconds:.2f} s" if child.exitcode == 0 else f"raised after {seconds:.1f} s"


def worst_cases(mime, timeout: float) -> None:
    print(f"\nworst cases (parser limits: lambda/inbound_parser/mime_limits.py); stdlib stopped after {timeout:.0f} s")
    for name, generate in WORST_CASES.items():
        raw = generate()
        gc.collect()
        start = time.perf_counter()
        parsed = mime.parse(raw)
        seconds = time.perf_counter() - start
        tracemalloc.start()
        full_parse(mime, raw)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        cut = "; ".join(parsed.document["truncated"]) or "nothing cut"
        print(
            f"  {name:38s} {len(raw) / MB:5.1f} MB  parser {seconds:6.2f} s, peak {peak / MB:6.1f} MB"
            f"  | stdlib document {stdlib_seconds(raw, timeout):>18s}  | {cut}"
        )


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--corpus", type=Path, help="folder of raw messages, one per file")
    args.add_argument("--rounds", type=int, default=3)
    args.add_argument("--stdlib-timeout", type=float, default=30.0)
    options = args.parse_args()
    mime = load_parser()
    if options.corpus:
        messages = [p.read_bytes() for p in sorted(options.corpus.iterdir()) if p.is_file()]
        print(f"corpus: {len(messages)} messages from {options.corpus}")
    else:
        if SHARED_CORPUS.is_dir():
            messages = [p.read_bytes() for p in sorted(SHARED_CORPUS.iterdir())]
            print(f"shared corpus: {len(messages)} messages from {SHARED_CORPUS}")
        else:
            messages = stdlib_messages()
        messages += [generated(n * MB) for n in (1, 10, 40)]
    total_mb = sum(map(len, messages)) / MB
    bare = BytesParser(policy=policy.default)

    def bare_parse(raw: bytes) -> object:
        return bare.parsebytes(raw)

    results = {}
    sides = (
        ("bare BytesParser", bare_parse),
        ("stdlib document", _lenient(stdlib_document)),
        ("inbound parser", lambda raw: full_parse(mime, raw)),
    )
    for name, fn in sides:
        fn(messages[0])  # warm-up
        seconds = measure(fn, messages, options.rounds)
        results[name] = seconds
        count = len(messages) * options.rounds
        print(f"{name:18s} {count / seconds:9.1f} messages/s {total_mb * options.rounds / seconds:8.1f} MB/s")
    print(f"throughput ratio (parser/stdlib document): {results['stdlib document'] / results['inbound parser']:.2f}x")
    print(f"throughput ratio (parser/bare BytesParser): {results['bare BytesParser'] / results['inbound parser']:.2f}x")
    small = [raw for raw in messages if len(raw) < MB]
    small_rounds = max(1, options.rounds * 5)
    stdlib_small = measure(_lenient(stdlib_document), small, small_rounds)
    parser_small = measure(lambda raw: full_parse(mime, raw), small, small_rounds)
    print(
        f"small messages only ({len(small)}, {small_rounds} rounds): parser/stdlib document "
        f"{stdlib_small / parser_small:.2f}x ({len(small) * small_rounds / parser_small:.0f} against "
        f"{len(small) * small_rounds / stdlib_small:.0f} messages/s)"
    )

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
    worst_cases(mime, options.stdlib_timeout)


if __name__ == "__main__":
    main()
