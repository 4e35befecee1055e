#!/usr/bin/env python3
"""Wall time and peak memory of the whole test suite, as `make test` runs it, and its 15 slowest tests.

Runs ``make test`` (so the same pytest options, workers included) in a fresh process tree and samples, every 50 ms
from /proc (Linux), the sum of resident memory over every process of that tree: make, pytest, the xdist workers, the
jsii Node runtime each of them starts, and whatever a test starts. The slowest tests come from pytest's JUnit XML
(setup + call + teardown of each test, as one worker ran it).

    .venv/bin/python benchmarks/tests.py [--cpu] [extra pytest arguments, e.g. tests/lifecycle]

It also prints the CPU seconds the whole tree used (with two workers on two cores, wall time cannot fall below half
of it) and the tree's memory over the run (median and 90th percentile beside the peak). ``--cpu`` loads
benchmarks/cpu_plugin.py into the workers and prints where their CPU went: collection, each test file's Python, the
subprocesses it waited for and its jsii Node runtime.

Print figures, assert nothing: a shared or loaded machine makes them slower.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import statistics
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


CPU_COLUMNS = ("python", "subprocesses", "jsii node", "waiting for jsii")


def cpu_by_file(logs: list[Path]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """From benchmarks/cpu_plugin.py's logs: CPU seconds per worker (collection apart) and per test file, as
    [python, subprocesses, jsii node, waiting for jsii] (a file split over both workers is summed)."""
    per_worker: dict[str, list[float]] = {}
    per_file: dict[str, list[float]] = {}
    for log in logs:
        previous = [0.0] * len(CPU_COLUMNS)
        for line in log.read_text().splitlines():
            test_id, _at, *values = line.split("\t")
            now = [float(v) for v in values]
            spent = [max(0.0, b - a) for a, b in zip(previous, now, strict=True)]
            previous = now
            name = "(collection)" if test_id == "<collected>" else test_id.split("::")[0]
            row = per_file.setdefault(name, [0.0] * len(CPU_COLUMNS))
            per_file[name] = [a + b for a, b in zip(row, spent, strict=True)]
        per_worker[log.suffix.lstrip(".")] = previous
    return per_worker, per_file


def print_cpu(logs: list[Path]) -> None:
    per_worker, per_file = cpu_by_file(logs)
    header = "".join(f"{c:>18}" for c in CPU_COLUMNS)
    print(f"CPU seconds by worker (benchmarks/cpu_plugin.py):{header}")
    for pid, row in sorted(per_worker.items()):
        print(f"  worker {pid:<41}" + "".join(f"{v:18.1f}" for v in row))
    print(f"CPU seconds by test file, the {SLOWEST} largest (python + subprocesses + jsii node):{header}")
    ranked = sorted(per_file.items(), key=lambda item: -sum(item[1][:3]))
    for name, row in ranked[:SLOWEST]:
        print(f"  {name:<48}" + "".join(f"{v:18.1f}" for v in row))


def main(argv: list[str]) -> int:
    cpu = "--cpu" in argv
    argv = [a for a in argv if a != "--cpu"]
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        # make passes PYTEST_ARGS on to pytest after the options of pyproject.toml.
        extra = [f"--junitxml={junit}", "-p", "no:cacheprovider", *map(shlex.quote, argv)]
        env = dict(os.environ)
        if cpu:
            extra += ["-p", "benchmarks.cpu_plugin"]
            env["SESMAIL_CPU_LOG"] = str(Path(scratch) / "cpu")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        process = subprocess.Popen(
            ["make", "--no-print-directory", "test", f"PYTEST_ARGS={' '.join(extra)}"], cwd=ROOT, env=env
        )
        peak, at_peak, samples = 0, [], []
        while process.poll() is None:
            rows = tree_rss(process.pid)
            samples.append(sum(rss for rss, _ in rows))
            if samples[-1] > peak:
                peak, at_peak = samples[-1], rows
            time.sleep(0.05)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print()
        print(
            f"make test: exit {process.returncode}, wall {wall:.1f} s, peak memory {peak / 1024:.0f} MiB "
            f"(process tree), {os.cpu_count()} CPUs"
        )
        print(
            f"CPU: {used:.0f} s (user + system, every process of the tree), {used / wall:.2f} CPUs busy on average; "
            f"memory over the run: median {statistics.median(samples or [0]) / 1024:.0f} MiB, 90th percentile "
            f"{(statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else peak) / 1024:.0f} MiB"
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
        if cpu:
            print_cpu(sorted(Path(scratch).glob("cpu.*")))
    return process.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
