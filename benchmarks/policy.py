#!/usr/bin/env python3
"""How long the offline policy tools take: ``sesmail lint`` against the synth step, and 10,000 evaluations.

Prints figures, asserts nothing:

- the synth step (``npx cdk synth --quiet -o <tmp>`` with the pinned Node, as ``make synth`` runs it);
- ``sesmail lint`` on all synthesized templates as ``make synth`` runs it (a fresh process, so start-up and the
  vendored IAM data load count), and the lint function alone in-process; the ratio lint / synth (the issue's
  budget: under 10%);
- 10,000 requests evaluated against the synthesized policies: a mix of allowed and denied WorkMail sends (own and
  foreign organizations), SES receipt writes to the mail bucket (own rule, foreign rule, wrong prefix, without TLS),
  and the stack's roles calling actions their policies do and do not allow, some from another account.

    .venv/bin/python benchmarks/policy.py [--cdk-out DIR] [--requests 10000]

With ``--cdk-out`` the lint and the evaluations use that assembly; the synth step is still timed for the ratio unless
``--no-synth`` is given.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sesmail.policy.evaluate import PolicySource, Request, evaluate
from sesmail.policy.templates import ExtractedPolicy, extract_policies, principal_arn, scan_templates

ROOT = Path(__file__).resolve().parent.parent


def synth(out: Path) -> float:
    """Seconds for ``npx cdk synth --quiet -o out`` (run from the repository, pinned Node first on PATH)."""
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    npx = shutil.which("npx", path=env["PATH"]) or "npx"
    start = time.perf_counter()
    subprocess.run(
        [npx, "cdk", "synth", "--quiet", "-o", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def lint_process(cdk_out: Path) -> tuple[float, int]:
    """Seconds and exit status of ``sesmail lint <cdk_out>`` in a fresh process, as ``make synth`` runs it."""
    script = Path(sys.executable).parent / "sesmail"
    argv = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "import sys; from sesmail.policy.cli import main; sys.exit(main())"]
    )
    start = time.perf_counter()
    done = subprocess.run([*argv, "lint", str(cdk_out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode


def lint_in_process(cdk_out: Path, repeat: int = 5) -> tuple[float, int] | None:
    """Best-of-``repeat`` seconds of the lint function alone (database already loaded) and its finding count."""
    try:
        from sesmail.policy.lint import lint_paths
    except ImportError:
        return None
    findings = lint_paths([cdk_out])  # warm-up: loads the IAM data once
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        lint_paths([cdk_out])
        best = min(best, time.perf_counter() - start)
    return best, len(findings)


# --- a realistic request mix -----------------------------------------------------------------------------------------


def _name(policy: ExtractedPolicy) -> str:
    return f"{Path(policy.template).name}:{policy.logical_id}"


def _granted(document: Any) -> list[tuple[str, str]]:
    """(action, resource) pairs a document names: each concrete action with the statement's first resource."""
    pairs: list[tuple[str, str]] = []
    for statement in document.get("Statement", []) if isinstance(document, dict) else []:
        if not isinstance(statement, dict):
            continue
        actions = statement.get("Action", [])
        resources = statement.get("Resource", "*")
        resources = [resources] if isinstance(resources, str) else resources
        target = next((r for r in resources if isinstance(r, str) and "*" not in r and "${" not in r), "*")
        pairs += [(a, target) for a in ([actions] if isinstance(actions, str) else actions) if "*" not in a]
    return pairs


def request_mix(cdk_out: Path, count: int) -> list[tuple[Request, list[PolicySource], list[PolicySource], str]]:
    """``count`` requests, each with the identity and resource policies ``sesmail check`` would select for it."""
    rng = random.Random(4)
    policies = extract_policies([cdk_out])
    scans = scan_templates([cdk_out])
    resource = [p for p in policies if p.kind == "resource"]
    account = next((p.context.account for p in policies if p.context.account.isdigit()), "123456789012")
    region = next((p.context.region for p in policies if not p.context.region.startswith("$")), "us-east-1")
    org = f"arn:aws:workmail:{region}:{account}:organization/m-0123456789abcdef0123456789abcdef"
    foreign_org = f"arn:aws:workmail:{region}:444455556666:organization/m-ffffffffffffffffffffffffffffffff"

    def resource_policies(arn: str) -> list[PolicySource]:
        return [
            PolicySource(_name(p), p.document, "resource")
            for p in resource
            if any(arn == r or arn.startswith(r.rstrip("*")) for r in p.resource_arns if r)
        ]

    templates: list[tuple[Request, list[PolicySource], list[PolicySource], str]] = []
    identities = [a for p in resource if p.resource_type == "Custom::SesIdentityPolicy" for a in p.resource_arns]
    for identity in identities:
        for source_arn in (org, foreign_org):
            ctx = {"aws:SourceAccount": (source_arn.split(":")[4],), "aws:SourceArn": (source_arn,)}
            req = Request(f"workmail.{region}.amazonaws.com", "ses:SendRawEmail", identity, ctx)
            templates.append((req, [], resource_policies(identity), account))
    buckets = [a for p in resource if p.resource_type == "AWS::S3::BucketPolicy" for a in p.resource_arns[:1]]
    for bucket in buckets:
        for prefix in ("info", "support", "register", "other"):
            for rule in (f"mailbox-{prefix}", "foreign"):
                rule_arn = f"arn:aws:ses:{region}:{account}:receipt-rule-set/sesmail-example:receipt-rule/{rule}"
                for tls in ("true", "false"):
                    ctx = {"aws:SourceAccount": (account,), "aws:SourceArn": (rule_arn,), "aws:SecureTransport": (tls,)}
                    arn = f"{bucket}/{prefix}/message-{rng.randrange(10**6)}"
                    req = Request("ses.amazonaws.com", "s3:PutObject", arn, ctx)
                    templates.append((req, [], resource_policies(arn), account))
    for scan in scans:
        for logical_id, res in (scan.template.get("Resources") or {}).items():
            if not isinstance(res, dict) or res.get("Type") not in ("AWS::IAM::Role", "AWS::IAM::User"):
                continue
            arn = principal_arn(scan.template, logical_id, scan.context)
            attached = [p for p in scan.policies if p.kind == "identity" and logical_id in p.attached_to]
            identity_sources = [PolicySource(_name(p), p.document, "identity") for p in attached]
            granted = [pair for p in attached for pair in _granted(p.document)] or [("s3:GetObject", "*")]
            denied = [("iam:CreateUser", "*"), ("ses:DeleteEmailIdentity", granted[0][1])]
            for action, target in [*granted, *denied]:
                ctx = {
                    "ses:FromAddress": (rng.choice(["register@example.com", "info@example.com"]),),
                    "ses:ApiVersion": (rng.choice(["2", "2", "1"]),),
                }
                req = Request(arn, action, target, ctx)
                templates.append((req, identity_sources, resource_policies(target), account))
            other = arn.replace(f"::{account}:", "::111122223333:")
            templates.append((Request(other, *granted[0]), identity_sources, resource_policies(granted[0][1]), account))
    return [templates[i % len(templates)] for i in range(count)]


def evaluate_many(mix: Sequence[tuple[Request, list[PolicySource], list[PolicySource], str]]) -> tuple[float, int]:
    start = time.perf_counter()
    allowed = 0
    for req, identity, resource, account in mix:
        decision = evaluate(req, identity_policies=identity, resource_policies=resource, resource_account=account)
        allowed += decision.allowed
    return time.perf_counter() - start, allowed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cdk-out", type=Path, help="an existing cloud assembly to lint and evaluate against")
    parser.add_argument("--no-synth", action="store_true", help="do not time the synth step (needs --cdk-out)")
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.no_synth and not args.cdk_out:
        parser.error("--no-synth needs --cdk-out")
    with tempfile.TemporaryDirectory(prefix="sesmail-bench-") as tmp:
        synth_s = None
        if not args.no_synth:
            synth_s = synth(Path(tmp) / "cdk.out")
            print(f"synth step (npx cdk synth --quiet):        {synth_s:7.2f} s")
        cdk_out = args.cdk_out or Path(tmp) / "cdk.out"
        templates = sorted(cdk_out.rglob("*.template.json"))
        print(f"templates:                                 {len(templates):7d} in {cdk_out}")
        lint_s, status = lint_process(cdk_out)
        print(f"sesmail lint (fresh process, exit {status}):      {lint_s:7.2f} s")
        inner = lint_in_process(cdk_out)
        if inner is not None:
            print(f"lint_paths() in-process, best of 5:        {inner[0] * 1000:7.1f} ms ({inner[1]} findings)")
        if synth_s:
            print(f"lint / synth:                              {100 * lint_s / synth_s:7.1f} %")
        mix = request_mix(cdk_out, args.requests)
        seconds, allowed = evaluate_many(mix)
        print(
            f"evaluate {len(mix):,} requests:                 {seconds:7.2f} s "
            f"({1e6 * seconds / len(mix):.0f} us each; {allowed:,} allowed, {len(mix) - allowed:,} denied)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
