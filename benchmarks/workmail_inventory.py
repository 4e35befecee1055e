#!/usr/bin/env python3
"""``sesmail workmail inventory`` over a stubbed organization: API calls per inventory and wall time.

    .venv/bin/python benchmarks/workmail_inventory.py [--users N] [--groups N] [--aliases N] [--page N]

The organization is the tests' (tests/workmail/org.py) served by botocore's Stubber, so the figures count the calls
the inventory makes (one per page, plus per-entity calls), not WorkMail's latency: at a real endpoint each call is a
round trip (and WorkMail's request-rate quotas apply), so the call count is the figure that predicts the real run.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import botocore.session  # noqa: E402
from botocore.stub import Stubber  # noqa: E402

from sesmail.workmail_exit.inventory import read  # noqa: E402
from tests.workmail.org import ORG, Org, stub_inventory, user_id  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--aliases", type=int, default=200)
    parser.add_argument("--page", type=int, default=100, help="page size of the stubbed listings")
    args = parser.parse_args()
    org = Org(page_size=args.page)
    for i in range(args.users):
        org.user(i, f"user{i:05d}")
    for g in range(args.groups):
        org.group(g, f"group{g:04d}", [user_id((6 * g + k) % args.users) for k in range(6)])
    for a in range(args.aliases):
        org.aliases.setdefault(user_id(a % args.users), []).append(f"alias{a:05d}@example.com")
    client = botocore.session.get_session().create_client(
        "workmail", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    calls: collections.Counter[str] = collections.Counter()
    client.meta.events.register("provide-client-params.workmail", lambda model, **_: calls.update([model.name]))
    with Stubber(client) as stubber:
        stub_inventory(stubber, org)
        start = time.perf_counter()
        inv = read(client, ORG, "us-east-1")
        elapsed = time.perf_counter() - start
    print(f"organization: {args.users} users, {args.groups} groups, {args.aliases} aliases, page size {args.page}")
    print(f"addresses found: {len(inv.addresses)}")
    print(f"API calls: {sum(calls.values())} ({', '.join(f'{k} {v}' for k, v in calls.most_common())})")
    print(f"wall time (stubbed, no network): {elapsed:.2f} s")


if __name__ == "__main__":
    main()
