"""Print each size-capped figure of one environment's stack next to AWS's limit, at several sizes of a setting; then
each capped figure of the people test app (tests/inbound/people_app.py) at 1, 20 and 100 people.

Tables (:data:`TABLES`, one per setting that grows; add a row there to add a table): 3, 50 and 200 mailboxes (the
short ``domain`` + ``mailboxes`` form beside WorkMail: store, parse, forward, SMTP credentials), and 3, 50 and 500
addresses of an address book (``addresses`` with aliases and a group, WorkMail-free, forwarding, parsing).

Usage: ``.venv/bin/python benchmarks/policy_sizes.py``. Builds the app (``stacks.build_app``) for each column,
measures each policy with ``sesmail.limits.measure_stack`` (minified JSON, CloudFormation values at an estimated
deployed length) and, after synthesis, counts resources and template bytes. A figure over its limit is marked
``OVER``; the measure that refuses it at synth is the same.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "constructs"))
_NODE_BIN = ROOT / "node_modules" / ".bin"
if (_NODE_BIN / "node").exists():
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

import aws_cdk as cdk  # noqa: E402

from sesmail import limits  # noqa: E402

ROWS = [
    ("S3 bucket policy", "MailBucket"),
    ("KMS key policy", "MailBucket/Key"),
    ("Lambda function policy", "MailForwarder"),
    ("Lambda function policy", "InboundParser"),
    ("IAM role trust policy", "S3Role"),
    ("IAM role's inline policies", "S3Role"),
    ("IAM role's inline policies", "MailForwarder"),
    ("IAM managed policy", "MailForwarder"),
    ("IAM managed policy", "SmtpCredentials"),
    ("Lambda environment", "MailForwarder"),
    ("Lambda environment", "InboundParser"),
]


def environment(mailboxes: int) -> dict[str, Any]:
    return {
        "bench": {
            "account": "123456789012",
            "region": "us-east-1",
            "domain": "example.com",
            "mailboxes": [f"box{i:03d}" for i in range(mailboxes)],
            "inbound": {"parse": True, "forwardTo": ["staff@corp.example"], "smtpCredentials": True},
            # WorkMail's sending-authorization policy is an SES identity policy of the domain.
            "workmail": {"organizationId": "m-0123456789abcdef0123456789abcdef"},
        }
    }


def book_environment(addresses: int) -> dict[str, Any]:
    """``addresses`` entries (every tenth with an alias), one group of the first ten, postmaster@ and abuse@."""
    entries: list[dict[str, Any]] = [
        {"localPart": f"user{i:03d}", "to": [f"user{i:03d}@corp.example"]}
        | ({"aliases": [f"u{i:03d}"]} if i % 10 == 0 else {})
        for i in range(addresses - 1)
    ]
    entries.append({"localPart": "sales", "to": [e["localPart"] for e in entries[:10]]})
    return {
        "bench": {
            "account": "123456789012",
            "region": "us-east-1",
            "domain": "example.com",
            "addresses": entries,
            "inbound": {"parse": True},
        }
    }


#: (what grows, the environment for a size, the sizes): one printed table each.
TABLES = [
    ("mailboxes", environment, (3, 50, 200)),
    ("addresses", book_environment, (3, 50, 500)),
]


def _rules(stack: cdk.Stack) -> dict[str, str]:
    """SES's per-set and per-rule counts (SES quotas: 200 rules per set, 100 recipients per rule)."""
    from sesmail.receiving.names import MAX_RECIPIENTS_PER_RULE, MAX_RULES_PER_RULE_SET
    from sesmail.receiving.rule_set import ReceiptRule

    rules = [c for c in stack.node.find_all() if isinstance(c, ReceiptRule)]
    most = max((len(r.resource.rule.recipients or ()) for r in rules), default=0)  # type: ignore[union-attr]
    return {
        "SES receipt rules in the set": f"{len(rules):,} / {MAX_RULES_PER_RULE_SET:,}",
        "SES recipients in one rule (most)": f"{most:,} / {MAX_RECIPIENTS_PER_RULE:,}",
    }


def measure(size: int, make: Any = environment) -> dict[str, str]:
    from stacks.mail_stack import MailStack
    from stacks.settings import load_environments

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(context={**context, "environments": make(size)})
    try:
        (settings,) = load_environments(app.node.try_get_context("environments"))
        stack = MailStack(app, settings.stack_name, settings=settings)
    except Exception as error:
        return {"error": str(error).splitlines()[0]}
    cells: dict[str, str] = _rules(stack)
    for measure_ in limits.measure_stack(stack):
        what = measure_.what.split(" (")[0]
        for row, where in ROWS:
            if row == what and where in measure_.path and (row, where) not in cells:
                mark = " OVER" if measure_.over else ""
                cells[f"{row} [{where}]"] = f"{measure_.figure:,} / {measure_.limit:,}{mark}"
    # Identity policies are put by a custom resource: measure each one's document as SES receives it.
    for construct in stack.node.find_all():
        if type(construct).__name__ == "IdentityPolicy":
            size = limits.size(construct, {**construct.document.to_json(), "Id": construct.owner_id})  # type: ignore[attr-defined]
            owner = construct.node.scope.node.id if construct.node.scope is not None else construct.node.id
            cells[f"SES identity policy [{owner}]"] = f"{size:,} / {limits.SES_IDENTITY_POLICY:,}"
    resources = sum(1 for c in stack.node.find_all() if isinstance(c, cdk.CfnResource) and cdk.Stack.of(c) is stack)
    cells["CloudFormation resources"] = f"{resources:,} / {limits.CFN_RESOURCES:,}"
    try:
        assembly = app.synth()
    except RuntimeError:
        cells["CloudFormation template bytes"] = "synth refused"
        return cells
    artifact = assembly.get_stack_by_name(stack.stack_name)
    body = (Path(assembly.directory) / artifact.template_file).read_bytes()
    cells["CloudFormation template bytes"] = f"{len(body):,} / {limits.CFN_TEMPLATE_BYTES:,}"
    return cells


def main() -> None:
    for what, make, sizes in TABLES:
        columns = {n: measure(n, make) for n in sizes}
        names = list(dict.fromkeys(name for cells in columns.values() for name in cells))
        width = max(len(name) for name in names)
        print(f"{'figure / limit':<{width}}  " + "  ".join(f"{f'{n} {what}':>22}" for n in sizes))
        for name in names:
            print(f"{name:<{width}}  " + "  ".join(f"{columns[n].get(name, '-'):>22}" for n in sizes))
        print()


def measure_people(people: int) -> dict[str, str]:
    """The people test app (tests/inbound/people_app.py) with ``people`` people: every capped figure of the parent
    stack and of the ``PeopleSmtpCredentials`` nested stack, next to its limit."""
    from tests.inbound.people_app import build

    app, stack, credentials = build(people)
    nested = credentials.nested_stack
    cells: dict[str, str] = {}
    users = [m for m in limits.measure_stack(nested) if m.what == "IAM user's inline policies"]
    largest = max(users, key=lambda m: m.figure)
    cells["IAM user's inline policies [largest person]"] = f"{largest.figure:,} / {largest.limit:,}"
    for measure_ in limits.measure_stack(nested):
        if measure_.what == "IAM user's inline policies":
            continue
        where = measure_.path.rsplit("/", 1)[-1]
        cells[f"{measure_.what.split(' (')[0]} [{where}]"] = f"{measure_.figure:,} / {measure_.limit:,}"
    assembly = app.synth()
    directory = Path(assembly.directory)
    for label, path in (
        ("parent", directory / assembly.get_stack_by_name(stack.stack_name).template_file),
        ("people", next(directory.glob("*.nested.template.json"))),
    ):
        body = path.read_bytes()
        count = len(json.loads(body)["Resources"])
        cells[f"CloudFormation resources [{label}]"] = f"{count:,} / {limits.CFN_RESOURCES:,}"
        cells[f"CloudFormation template bytes [{label}]"] = f"{len(body):,} / {limits.CFN_TEMPLATE_BYTES:,}"
    return cells


def people_main() -> None:
    counts = (1, 20, 100)
    columns = {n: measure_people(n) for n in counts}
    names = list(dict.fromkeys(name for cells in columns.values() for name in cells))
    width = max(len(name) for name in names)
    print(f"{'figure / limit':<{width}}  " + "  ".join(f"{f'{n} people':>22}" for n in counts))
    for name in names:
        print(f"{name:<{width}}  " + "  ".join(f"{columns[n].get(name, '-'):>22}" for n in counts))


if __name__ == "__main__":
    main()
    people_main()
