#!/usr/bin/env python3
"""Wall time and peak memory of the whole test suite, as `make test` runs it, and its 15 slowest tests.

Runs ``make test`` (so the same pytest options, workers included) in a fresh process tree and samples, every 50 ms
from /proc (Linux), the sum of resident memory over every process of that tree: make, pytest, the xdist workers, the
jsii Node runtime each of them starts, and whatever a test starts. The slowest tests come from pytest's JUnit XML
(setup + call + teardown of each test, as one worker ran it).

    .venv/bin/python benchmarks/tests.py [extra pytest arguments, e.g. tests/lifecycle]

Print figures, assert nothing: a shared or loaded machine makes them slower.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOWEST = 15


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def tree_rss(pid: int) -> list[tuple[int, str]]:
    """Resident memory (KiB) and command line of ``pid`` and of each of its descendants."""
    rows, stack, seen = [], [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            command = Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        rows.append((rss, command.strip()))
        stack += _children(current)
    return rows


def tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in KiB."""
    return sum(rss for rss, _ in tree_rss(pid))


def slowest(junit: Path, count: int = SLOWEST) -> list[tuple[float, str]]:
    """The ``count`` longest test cases of a JUnit XML report, as (seconds, test id)."""
    cases = []
    for case in ET.parse(junit).iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        cases.append((float(case.get("time", 0.0)), name))
    return sorted(cases, reverse=True)[:count]


def slowest_files(junit: Path, count: int = SLOWEST) -> list[tuple[float, int, str]]:
    """The ``count`` test files whose tests took longest in total, as (seconds, tests, file)."""
    totals: dict[str, list[float]] = {}
    for case in ET.parse(junit).iter("testcase"):
        parts = case.get("classname", "").split(".")
        module = ".".join(parts[:-1] if parts[-1][:1].isupper() else parts)  # a test class's tests count to its file
        totals.setdefault(module, []).append(float(case.get("time", 0.0)))
    return sorted(((sum(t), len(t), name) for name, t in totals.items()), reverse=True)[:count]


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        # make passes PYTEST_ARGS on to pytest after the options of pyproject.toml.
        extra = " ".join([f"--junitxml={junit}", "-p", "no:cacheprovider", *map(shlex.quote, argv)])
        start = time.perf_counter()
        process = subprocess.Popen(["make", "--no-print-directory", "test", f"PYTEST_ARGS={extra}"], cwd=ROOT)
        peak, at_peak = 0, []
        while process.poll() is None:
            rows = tree_rss(process.pid)
            if sum(rss for rss, _ in rows) > peak:
                peak, at_peak = sum(rss for rss, _ in rows), rows
            time.sleep(0.05)
        wall = time.perf_counter() - start
        print()
        print(
            f"make test: exit {process.returncode}, wall {wall:.1f} s, peak memory {peak / 1024:.0f} MiB "
            f"(process tree), {os.cpu_count()} CPUs"
        )
        print("processes at the peak (RSS, command):")
        for rss, command in sorted(at_peak, reverse=True):
            if rss >= 20 * 1024:
                print(f"{rss / 1024:8.0f} MiB  {command[:110]}")
        if junit.exists():
            print(f"{SLOWEST} slowest tests (setup + call + teardown):")
            for seconds, name in slowest(junit):
                print(f"{seconds:8.2f} s  {name}")
            print(f"{SLOWEST} slowest test files (sum over their tests; with two workers they overlap):")
            for seconds, count, name in slowest_files(junit):
                print(f"{seconds:8.2f} s  {count:5d} tests  {name}")
    return process.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
