#!/usr/bin/env python3
"""Start-up of ``sesmail doctor``: wall time of a run that stops after reading cdk.json and cdk.out, in a fresh
interpreter each round, and whether aws-cdk-lib was imported.

    .venv/bin/python benchmarks/doctor.py [--rounds N] [--app-dir DIR]

The run is ``sesmail doctor <first environment> --nameserver 127.0.0.1:0 --app-dir DIR`` with an invalid port, so it
loads every doctor module (botocore, dnspython, the policy engine;
boto3 itself loads with the first client), reads the environment and the template, and exits 2
before any network call. ``make synth`` first (the template must exist).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import sys
from sesmail.policy.cli import main
code = main(sys.argv[1:])
assert code == 2, code
print("aws_cdk imported" if any(m.startswith("aws_cdk") for m in sys.modules) else "aws_cdk not imported")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--app-dir", type=Path, default=ROOT)
    args = parser.parse_args()
    environment = next(iter(json.loads((args.app_dir / "cdk.json").read_text())["context"]["environments"]))
    argv = ["doctor", environment, "--nameserver", "127.0.0.1:0", "--app-dir", str(args.app_dir)]
    times, verdict = [], ""
    for _ in range(args.rounds):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        verdict = done.stdout.strip()
    print(f"sesmail doctor start-up to its first check ({args.rounds} rounds, fresh interpreter each):")
    median, low, high = (statistics.median(times) * 1000, min(times) * 1000, max(times) * 1000)
    print(f"  median {median:.0f} ms, min {low:.0f} ms, max {high:.0f} ms")
    print(f"  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
