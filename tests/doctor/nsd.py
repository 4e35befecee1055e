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
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dns.message
import dns.query
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
    # One bare UDP query per try (a Resolver's resolve() backs off between its own retries, which cost most of the
    # wait while nsd starts).
    query = dns.message.make_query(origin, "SOA")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (directory / "nsd.log").read_text() if (directory / "nsd.log").exists() else ""
            raise RuntimeError(f"nsd exited with {process.returncode}: {log}")
        try:
            if dns.query.udp(query, "127.0.0.1", port=port, timeout=0.2).answer:
                return
        except Exception:
            pass
        time.sleep(0.01)
    raise RuntimeError("nsd did not answer within 10 s")


class Nameservers:
    """NSD servers shared by the tests of a module: one per distinct set of zones, started on first use, stopped by
    ``close``. Sharing is safe because a test only reads what a server serves (the doctor sends queries, never updates),
    and two tests asking for different zone data get different servers."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stack = ExitStack()
        self._servers: dict[tuple[tuple[str, str], ...], str] = {}

    def address(self, zones: dict[str, str]) -> str:
        """``127.0.0.1:PORT`` of a server answering exactly ``zones`` (origin -> zone file text)."""
        key = tuple(sorted(zones.items()))
        if key not in self._servers:
            directory = self.directory / f"nsd{len(self._servers)}"
            directory.mkdir()
            self._servers[key] = self._stack.enter_context(serve(directory, zones))
        return self._servers[key]

    def close(self) -> None:
        self._stack.close()


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
