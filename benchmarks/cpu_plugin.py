"""A pytest plugin for ``benchmarks/tests.py --cpu``: where each worker's CPU time goes, test file by test file.

Each process running tests (every xdist worker) appends one line per finished test to ``$SESMAIL_CPU_LOG.<pid>``:
the test id and, cumulated since the process started, its own CPU seconds (Python), the CPU seconds of the
subprocesses it waited for (a ``cdk synth``, cfn-lint, a wheel build), the CPU seconds of the jsii Node runtime it
drives (read from /proc, Linux) and the seconds it spent waiting for that runtime's answers. A line ``<collected>``
marks the end of collection. benchmarks/tests.py reads the lines back; this file prints nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

_LOG = os.environ.get("SESMAIL_CPU_LOG", "")
_TICKS = os.sysconf("SC_CLK_TCK")
_jsii_wait = [0.0]
_active = [False]


def _wrap_jsii() -> None:
    """Count the time spent waiting for the jsii runtime's replies (every jsii call ends there)."""
    try:
        from jsii._kernel.providers import process
    except ImportError:
        return
    read = process._NodeProcess._next_message

    def timed(self: Any) -> Any:
        started = time.perf_counter()
        try:
            return read(self)
        finally:
            _jsii_wait[0] += time.perf_counter() - started

    process._NodeProcess._next_message = timed  # type: ignore[method-assign]


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        for task in Path(f"/proc/{stack.pop()}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            stack += kids
    return found


def _node_cpu() -> float:
    """CPU seconds of this process's jsii runtime (its launcher ``jsii-runtime.js`` and the kernel ``program.js``)."""
    total = 0.0
    for pid in _descendants(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"jsii-runtime.js" not in command and b"/lib/program.js" not in command:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return total


def _write(test_id: str) -> None:
    if not (_LOG and _active[0]):
        return
    times = os.times()
    line = (
        f"{test_id}\t{time.time():.3f}\t{times.user + times.system:.2f}\t"
        f"{times.children_user + times.children_system:.2f}\t{_node_cpu():.2f}\t{_jsii_wait[0]:.2f}\n"
    )
    with open(f"{_LOG}.{os.getpid()}", "a") as log:
        log.write(line)


def pytest_configure(config: Any) -> None:
    # xdist's controller hears of every test too, but runs none: only the processes that run tests write.
    _active[0] = hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None)
    if _active[0]:
        _wrap_jsii()


def pytest_collection_finish(session: Any) -> None:
    _write("<collected>")


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    _write(nodeid)
