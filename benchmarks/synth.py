#!/usr/bin/env python3
"""Wall time and peak memory of synthesizing the sesmail app with 1, 5 and 20 environments, then with one
environment whose address book holds 3, 50 and 500 addresses, and of the people test app with 1, 20 and 100 people
(``sesmail.PeopleSmtpCredentials``); and the shipped environments beside the bare aws-cdk-lib setup that writes the
same templates.

Each size runs in a fresh process (Python + the jsii Node runtime), the way `cdk synth` runs app.py. Peak memory is the
largest sum of resident memory over that process tree, sampled every 20 ms from /proc (Linux).

    .venv/bin/python benchmarks/synth.py [--sizes 1 5 20] [--addresses 3 50 500] [--people 1 20 100]
    .venv/bin/python benchmarks/synth.py --versus-bare 5
    .venv/bin/python benchmarks/synth.py --phases

``--versus-bare N`` (see :func:`versus_bare`): N paired runs, sesmail then bare, and the median of the ratios; beside
it a second yardstick, the same resources declared one by one as aws-cdk-lib L1 constructs, and each ratio also in CPU
seconds (Python and Node together), which a busy machine disturbs less than wall time.

``--phases``: where one synth of the shipped environments (the app of ``--versus-bare``) spends its time: wall, Python
CPU, Node CPU and jsii round trips for import, construct, synth (and of it the limit checks), check_assembly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environments(count: int) -> dict[str, dict]:
    """``count`` copies of the example environment, each with its own name and domain."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    example = context["environments"]["example"]
    return {f"env{i:02d}": {**example, "domain": f"env{i:02d}.example.com"} for i in range(count)}


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def _tree_rss_kib(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        stack += _children(current)
    return total


def book(addresses: int) -> dict[str, dict]:
    """One environment whose address book holds ``addresses`` entries (as benchmarks/policy_sizes.py builds it)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from policy_sizes import book_environment

    return book_environment(addresses)


def measure(count: int, envs: dict[str, dict] | None = None) -> tuple[float, float]:
    """Seconds and peak MiB to synthesize ``count`` environments (``envs``, default copies of the example)."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["environments"] = envs if envs is not None else environments(count)
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": out}
        node_bin = ROOT / "node_modules" / ".bin"
        env["PATH"] = f"{node_bin}{os.pathsep}{env.get('PATH', '')}"
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss_kib(process.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        _, stderr = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"synth of {count} environments failed:\n{stderr.decode()[-2000:]}")
        written = len(list(Path(out).glob("*.template.json")))
        if written != count:
            raise SystemExit(f"expected {count} templates, found {written}")
    return elapsed, peak / 1024


_PEOPLE_APP = """
import sys
from tests.inbound.people_app import build
app, _, _ = build(int(sys.argv[1]), sys.argv[2])
app.synth()
"""

# sesmail's app as app.py builds it (settings, MailStack, the limit checks during and after synth) but without
# cdk-nag, which the bare setup does not run either: the comparison is of what each writes, not of the checks.
_SESMAIL_APP = """
import aws_cdk as cdk
from sesmail import limits
from stacks import MailStack, environments_of, load_environments
app = cdk.App()
for settings in load_environments(environments_of(app)):
    limits.watch(MailStack(app, settings.stack_name, settings=settings))
assert not limits.check_assembly(app.synth())
"""

# What both bare apps share: read the assembly sesmail wrote and yield each stack's name, environment and template;
# each app then declares the template its own way and stages the same Lambda code assets (``_stage``).
_BARE_PRELUDE = """
import json, sys
from pathlib import Path
import aws_cdk as cdk
from aws_cdk import aws_s3_assets as assets
source = Path(sys.argv[1])
manifest = json.loads((source / "manifest.json").read_text())
app = cdk.App()
def stacks():
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            account, region = artifact["environment"].removeprefix("aws://").split("/")
            template = json.loads((source / f"{name}.template.json").read_text())
            yield name, cdk.Environment(account=account, region=region), template
def _stage(stack, name):
    for i, folder in enumerate(json.loads((source / "bare-assets.json").read_text())[name]):
        assets.Asset(stack, f"Code{i}", path=folder)
"""

# The bare aws-cdk-lib setup: the same templates, each resource an aws-cdk-lib L1 construct (cloudformation_include
# reads the template sesmail wrote), and the same Lambda code assets staged; no sesmail import, no L2, no aspect.
# It is the least any aws-cdk-lib program writing these templates does, so the ratio to it is an upper bound.
_BARE_APP = (
    _BARE_PRELUDE
    + """
from aws_cdk import cloudformation_include as cfn_inc
for name, environment, template in stacks():
    stack = cdk.Stack(app, name, env=environment)
    template.get("Parameters", {}).pop("BootstrapVersion", None)
    template.get("Rules", {}).pop("CheckBootstrapVersion", None)
    stripped = source / "bare" / f"{name}.json"
    stripped.parent.mkdir(exist_ok=True)
    stripped.write_text(json.dumps(template))
    cfn_inc.CfnInclude(stack, "Template", template_file=str(stripped))
    _stage(stack, name)
app.synth()
"""
)

# The second yardstick: the same templates written as a Python program on aws-cdk-lib would write them, one L1
# construct per resource and output (``cdk.CfnResource`` with the template's properties and options), and the same
# Lambda code assets. Every aws-cdk-lib program declaring these resources makes at least these jsii calls, where
# CfnInclude (above) makes one per template; it writes the same resources and outputs (checked when it runs).
_BARE_L1_APP = (
    _BARE_PRELUDE
    + """
for name, environment, template in stacks():
    stack = cdk.Stack(app, name, env=environment, description=template.get("Description"))
    for logical_id, resource in template["Resources"].items():
        cfn = cdk.CfnResource(stack, logical_id, type=resource["Type"], properties=resource.get("Properties"))
        cfn.override_logical_id(logical_id)
        for key in ("DependsOn", "DeletionPolicy", "UpdateReplacePolicy", "Metadata", "Condition"):
            if key in resource:
                cfn.add_override(key, resource[key])
    for logical_id, output in template.get("Outputs", {}).items():
        cdk.CfnOutput(
            stack,
            logical_id,
            value=cdk.Token.as_string(output["Value"]),
            description=output.get("Description"),
            export_name=(output.get("Export") or {}).get("Name"),
        ).override_logical_id(logical_id)
    _stage(stack, name)
app.synth()
"""
)


# _SESMAIL_APP with a clock between its steps. jsii's round trips are counted where its Python kernel writes a request
# to Node (jsii._kernel.providers.process, not a public API: the count reads "n/a" if it moves); Node's CPU is that of
# the jsii runtime's process tree, from /proc.
_PHASES_APP = """
import collections, os, time
start = time.perf_counter()
trips = collections.Counter()
try:
    from jsii._kernel.providers import process as _process
    _send = _process._NodeProcess.send
    def _counted(self, request, response_type):
        trips["n"] += 1
        return _send(self, request, response_type)
    _process._NodeProcess.send = _counted
except (ImportError, AttributeError):
    trips = None
def node_cpu():
    try:
        import jsii._runtime
        stack = [jsii._runtime.kernel.provider._process._process.pid]
    except Exception:
        return 0.0
    total = 0
    while stack:
        pid = stack.pop()
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in os.listdir(f"/proc/{pid}/task"):
                stack += [int(k) for k in open(f"/proc/{pid}/task/{task}/children").read().split()]
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")
marks = [("start", start, 0.0, 0.0, 0)]
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time(), node_cpu(), trips["n"] if trips is not None else 0))
import aws_cdk as cdk
from sesmail import limits
from stacks import MailStack, environments_of, load_environments
mark("import")
checks = [0.0, 0.0, 0]
_validate = limits._StackLimits.validate
def _timed(self):
    began, cpu, n = time.perf_counter(), time.process_time(), trips["n"] if trips is not None else 0
    try:
        return _validate(self)
    finally:
        checks[0] += time.perf_counter() - began
        checks[1] += time.process_time() - cpu
        checks[2] += (trips["n"] if trips is not None else 0) - n
limits._StackLimits.validate = _timed
app = cdk.App()
for settings in load_environments(environments_of(app)):
    limits.watch(MailStack(app, settings.stack_name, settings=settings))
mark("construct")
assembly = app.synth()
mark("synth")
assert not limits.check_assembly(assembly)
mark("check_assembly")
def row(name, wall, py, node, n):
    count = f"{n:7d}" if trips is not None else "    n/a"
    print(f"  {name:24s} {wall:7.2f} {py:8.2f} {node:9.2f} {count}")
print(f"  {'phase':24s} {'wall s':>7s} {'py cpu s':>8s} {'node cpu s':>9s} {'jsii':>7s}")
for (_, t0, c0, n0, r0), (name, t1, c1, n1, r1) in zip(marks, marks[1:]):
    row(name, t1 - t0, c1 - c0, n1 - n0, r1 - r0)
    if name == "synth":
        row("  of which limit checks", checks[0], checks[1], 0.0, checks[2])
row("total", marks[-1][1] - start, marks[-1][2], marks[-1][3], marks[-1][4])
"""


def phases() -> None:
    """One synth of the shipped environments (``--versus-bare``'s sesmail app), phase by phase."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["environments"] = {
        k: v for k, v in context["environments"].items() if k == "example" or k.startswith("example-")
    }
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context)}
    env.pop("SESMAIL_CONFIG", None)
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    with tempfile.TemporaryDirectory() as out:
        env["CDK_OUTDIR"] = out
        result = subprocess.run(
            [sys.executable, "-c", _PHASES_APP], cwd=ROOT, env=env, capture_output=True, check=False
        )
    if result.returncode != 0:
        raise SystemExit(f"synth failed:\n{result.stderr.decode()[-2000:]}")
    print(f"shipped environments ({', '.join(context['environments'])}), cdk-nag off, one synth by phase:")
    print(result.stdout.decode().rstrip())


def measure_people(count: int) -> tuple[float, float]:
    """Seconds and peak MiB to synthesize the people test app (tests/inbound/people_app.py, with cdk-nag) with
    ``count`` people: one stack with two domains and a ``PeopleSmtpCredentials`` nested stack."""
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "constructs")])
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", _PEOPLE_APP, str(count), out], cwd=ROOT, env=env, stderr=subprocess.PIPE
        )
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss_kib(process.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        _, stderr = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"synth of {count} people failed:\n{stderr.decode()[-2000:]}")
        if not list(Path(out).glob("*.nested.template.json")):
            raise SystemExit(f"{count} people: no nested stack template written")
    return elapsed, peak / 1024


def people_main(sizes: list[int]) -> None:
    print(f"{'people':>12}  {'wall s':>8}  {'peak MiB':>9}")
    for count in sizes:
        seconds, mib = measure_people(count)
        print(f"{count:>12}  {seconds:>8.2f}  {mib:>9.1f}")


def _run(code: str, args: list[str], context: dict, out: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (the process and its Node runtime, user and system) of one synth."""
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": out}
    env.pop("SESMAIL_CONFIG", None)
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"synth failed:\n{result.stderr.decode()[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def _same_resources(reference: Path, out: Path) -> None:
    """The L1 yardstick wrote the reference's resources and outputs (a benchmark of something else would mislead)."""
    for template in reference.glob("*.template.json"):
        if template.name.endswith(".nested.template.json"):
            continue  # a file asset of its parent: neither bare app stages it
        ours, theirs = json.loads(template.read_text()), json.loads((out / template.name).read_text())
        for section in ("Resources", "Outputs"):
            if ours.get(section) != theirs.get(section):
                raise SystemExit(f"the L1 yardstick wrote other {section} than sesmail in {template.name}")


def _asset_folders(assembly: Path) -> dict[str, list[str]]:
    """Per stack, the folders of the zip assets sesmail staged (its Lambda code): the bare app stages the same files."""
    folders: dict[str, list[str]] = {}
    for assets_file in assembly.glob("*.assets.json"):
        staged = json.loads(assets_file.read_text()).get("files", {}).values()
        folders[assets_file.name.removesuffix(".assets.json")] = [
            str(assembly / entry["source"]["path"]) for entry in staged if entry["source"].get("packaging") == "zip"
        ]
    return folders


def versus_bare(pairs: int) -> None:
    """The shipped environments: sesmail (without cdk-nag) beside the bare aws-cdk-lib app, ``pairs`` paired runs;
    then beside the L1 yardstick (:data:`_BARE_L1_APP`), in the same runs."""
    import statistics

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["environments"] = {
        k: v for k, v in context["environments"].items() if k == "example" or k.startswith("example-")
    }
    with tempfile.TemporaryDirectory() as reference:
        _run(_SESMAIL_APP, [], context, reference)  # the templates the bare app writes again (and a warm-up)
        (Path(reference) / "bare-assets.json").write_text(json.dumps(_asset_folders(Path(reference))))
        flags = {k: v for k, v in context.items() if k != "environments"}
        rows: list[tuple[tuple[float, float], ...]] = []
        loads: list[float] = []
        for i in range(pairs):
            with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                with tempfile.TemporaryDirectory() as c:
                    ours = _run(_SESMAIL_APP, [], context, a)
                    bare = _run(_BARE_APP, [reference], flags, b)
                    l1 = _run(_BARE_L1_APP, [reference], flags, c)
                    if i == 0:
                        _same_resources(Path(reference), Path(c))
                rows.append((ours, bare, l1))
                loads.append(os.getloadavg()[0])
    print(f"shipped environments ({', '.join(context['environments'])}), cdk-nag in neither, {pairs} paired runs:")
    for (wall, _), (bare_wall, _), _ in rows:
        print(f"  sesmail {wall:6.2f} s   bare aws-cdk-lib {bare_wall:6.2f} s   ratio {wall / bare_wall:.3f}")
    ratios = [row[0][0] / row[1][0] for row in rows]
    print(
        f"  median sesmail {statistics.median(r[0][0] for r in rows):.2f} s, bare "
        f"{statistics.median(r[1][0] for r in rows):.2f} s, median ratio {statistics.median(ratios):.3f}"
    )
    print("the same runs in CPU seconds, and beside the L1 yardstick (one aws-cdk-lib L1 construct per resource):")
    for ((wall, cpu), (_, bare_cpu), (l1_wall, l1_cpu)), load in zip(rows, loads, strict=True):
        print(
            f"  cpu: sesmail {cpu:6.2f} s  bare {bare_cpu:6.2f} s  ratio {cpu / bare_cpu:.3f}   "
            f"L1 {l1_wall:6.2f} s wall, {l1_cpu:6.2f} s cpu  ratio wall {wall / l1_wall:.3f} cpu {cpu / l1_cpu:.3f}"
            f"   load {load:.1f}"
        )

    def median_ratio(yardstick: int, column: int) -> float:
        return statistics.median(row[0][column] / row[yardstick][column] for row in rows)

    print(
        f"  median ratio, cpu: to bare {median_ratio(1, 1):.3f}; to L1: wall {median_ratio(2, 0):.3f}, "
        f"cpu {median_ratio(2, 1):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 5, 20], help="environment counts ([] to skip)")
    parser.add_argument("--addresses", type=int, nargs="*", default=[3, 50, 500], help="address counts ([] to skip)")
    parser.add_argument("--people", type=int, nargs="*", default=[1, 20, 100], help="people counts ([] to skip)")
    parser.add_argument("--versus-bare", type=int, default=0, metavar="PAIRS", help="only the bare comparison")
    parser.add_argument("--phases", action="store_true", help="only one synth of the shipped environments by phase")
    args = parser.parse_args()
    if args.phases:
        phases()
        return
    if args.versus_bare:
        versus_bare(args.versus_bare)
        return
    print(f"{'environments':>12}  {'wall s':>8}  {'peak MiB':>9}  {'s/env':>7}")
    for count in args.sizes:
        seconds, mib = measure(count)
        print(f"{count:>12}  {seconds:>8.2f}  {mib:>9.1f}  {seconds / count:>7.2f}")
    if args.addresses:
        print(f"\n{'addresses':>12}  {'wall s':>8}  {'peak MiB':>9}")
    for addresses in args.addresses:
        seconds, mib = measure(1, book(addresses))
        print(f"{addresses:>12}  {seconds:>8.2f}  {mib:>9.1f}")
    if args.people:
        print()
        people_main(args.people)


if __name__ == "__main__":
    main()
