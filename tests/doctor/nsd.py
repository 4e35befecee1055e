"""A real authoritative DNS server (NSD, from Debian's ``nsd`` package) on 127.0.0.1, serving zone files a test writes.

Outside CI a missing ``nsd`` binary skips the DNS tests with the reason; in CI (``CI=true``) it fails them, since
``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dns.resolver
import pytest

NSD = shutil.which("nsd") or ("/usr/sbin/nsd" if Path("/usr/sbin/nsd").exists() else None)


def require_nsd() -> str:
    """The nsd binary; skips (or, in CI, fails) the test without it."""
    if NSD:
        return NSD
    reason = "nsd is not installed (apt-get install nsd): the doctor's DNS tests need a real DNS server"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(directory: Path, zones: dict[str, str]) -> Iterator[str]:
    """Run nsd over ``zones`` (origin -> zone file text) in ``directory``; yields ``127.0.0.1:PORT``."""
    binary = require_nsd()
    port = _free_port()
    config = [
        "server:",
        "  ip-address: 127.0.0.1",
        f"  port: {port}",
        f'  zonesdir: "{directory}"',
        f'  pidfile: "{directory}/nsd.pid"',
        '  username: ""',
        '  chroot: ""',
        f'  xfrdfile: "{directory}/xfrd.state"',
        f'  zonelistfile: "{directory}/zone.list"',
        f'  logfile: "{directory}/nsd.log"',
        "  do-ip6: no",
        "  server-count: 1",
        "remote-control:",
        "  control-enable: no",
    ]
    for origin, text in zones.items():
        (directory / f"{origin}.zone").write_text(text)
        config += ["zone:", f"  name: {origin}", f'  zonefile: "{origin}.zone"']
    (directory / "nsd.conf").write_text("\n".join(config) + "\n")
    process = subprocess.Popen([binary, "-d", "-c", str(directory / "nsd.conf")], stderr=subprocess.PIPE)
    try:
        _wait_until_serving(port, next(iter(zones)), process, directory)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def _wait_until_serving(port: int, origin: str, process: subprocess.Popen, directory: Path) -> None:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    resolver.lifetime = 0.2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (directory / "nsd.log").read_text() if (directory / "nsd.log").exists() else ""
            raise RuntimeError(f"nsd exited with {process.returncode}: {log}")
        try:
            resolver.resolve(origin, "SOA")
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("nsd did not answer within 10 s")


def zone(origin: str, records: list[str]) -> str:
    """A zone file for ``origin`` with an SOA, an NS and ``records`` (relative or absolute names)."""
    head = [
        f"$ORIGIN {origin}.",
        "$TTL 60",
        f"@ IN SOA ns.{origin}. hostmaster.{origin}. 1 60 60 60 60",
        f"@ IN NS ns.{origin}.",
        "ns IN A 127.0.0.1",
    ]
    return "\n".join([*head, *records]) + "\n"
