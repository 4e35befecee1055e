"""``sesmail workmail export ENV``: every mailbox into the export bucket, within WorkMail's limits, resumable.

AWS's "Exporting mailbox content" page (https://docs.aws.amazon.com/workmail/latest/adminguide/mail-export.html):
"You can run up to 10 concurrent mailbox export jobs for a given Amazon WorkMail organization" and "You can run a
mailbox export job for a given mailbox as often as once every 24 hours". The job exports "all email messages and
calendar items ... Other items, such as contacts and tasks, are not exported."

The record of what was done is WorkMail's own: ListMailboxExportJobs ("Lists the mailbox export jobs started for the
specified organization within the last seven days"). Each run reads it first, so a re-run (after an interruption, a
lost response, a closed laptop) starts no job for a mailbox that has one running or completed, and none for a mailbox
whose last job started less than 24 hours ago. Each start carries a ClientToken derived from the organization, the
mailbox and how many jobs the mailbox already has, so a start whose response was lost and that the listing does not
show yet returns the same job when repeated instead of starting a second one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from .aws import (
    AWS_FAILURES,
    EXIT_INCOMPLETE,
    EXIT_OK,
    AwsError,
    ClientFactory,
    UsageError,
    check_organization_id,
    default_factory,
    describe,
    pages,
    workmail_region,
)
from .failure import fail
from .outputs import DEFAULT_PREFIX, OUTPUT_BUCKET, OUTPUT_KEY, OUTPUT_PREFIX, OUTPUT_ROLE

#: "You can run up to 10 concurrent mailbox export jobs for a given Amazon WorkMail organization." (mail-export page)
MAX_CONCURRENT_JOBS = 10
#: "You can run a mailbox export job for a given mailbox as often as once every 24 hours." (mail-export page)
MIN_INTERVAL = timedelta(hours=24)

DONE = "exported"
RUNNING = "running"
STARTED = "started"
WAITING = "waiting"
FAILED = "failed"


@dataclass(frozen=True)
class Target:
    """Where the mailboxes go."""

    bucket: str
    role_arn: str
    kms_key_arn: str
    prefix: str


@dataclass
class Mailbox:
    """One mailbox and where its export stands."""

    entity_id: str
    address: str
    kind: str
    #: ``exported``, ``running``, ``started``, ``waiting`` or ``failed``.
    status: str = WAITING
    #: The mailbox's latest job as WorkMail reports it (ListMailboxExportJobs, DescribeMailboxExportJob).
    job: dict[str, Any] = field(default_factory=dict)
    #: Earlier jobs of the last seven days, newest first (failed attempts among them).
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Why it is waiting (the 24-hour rule, the 10-job limit), or the failure.
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """One line of the verification report."""
        return {
            "address": self.address,
            "kind": self.kind,
            "entityId": self.entity_id,
            "status": self.status,
            "reason": self.reason,
            "job": _job_json(self.job) if self.job else None,
            "earlierJobs": [_job_json(j) for j in self.history],
        }


def _job_json(job: dict[str, Any]) -> dict[str, Any]:
    keys = ("JobId", "State", "EstimatedProgress", "S3BucketName", "S3Path", "StartTime", "EndTime", "ErrorInfo")
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k in keys if (v := job.get(k)) is not None}


def client_token(organization_id: str, entity_id: str, attempt: int) -> str:
    """The idempotency token of a mailbox's ``attempt``-th job (0 = its first in the last seven days)."""
    digest = hashlib.sha256(f"{organization_id}/{entity_id}/{attempt}".encode()).hexdigest()
    return f"sesmail-export-{digest[:48]}"


def mailboxes(client: Any, organization_id: str) -> list[Mailbox]:
    """Every enabled user and resource with an address (what StartMailboxExportJob's EntityId accepts)."""
    found = []
    for user in pages(client.list_users, "Users", OrganizationId=organization_id):
        if user.get("State") == "ENABLED" and user.get("Email") and user.get("UserRole", "USER") == "USER":
            found.append(Mailbox(user["Id"], str(user["Email"]).lower(), "user"))
    seen = {box.address for box in found}
    for resource in pages(client.list_resources, "Resources", OrganizationId=organization_id):
        address = str(resource.get("Email", "")).lower()
        if resource.get("State") == "ENABLED" and address and address not in seen:  # one job per mailbox
            found.append(Mailbox(resource["Id"], address, "resource"))
    return found


def _jobs(client: Any, organization_id: str) -> list[dict[str, Any]]:
    return list(pages(client.list_mailbox_export_jobs, "Jobs", OrganizationId=organization_id))


def _when(job: dict[str, Any]) -> datetime:
    start = job.get("StartTime")
    return start if isinstance(start, datetime) else datetime.min.replace(tzinfo=UTC)


class Exporter:
    """One pass over every mailbox: read WorkMail's record, start what the limits allow, report."""

    def __init__(
        self,
        client: Any,
        organization_id: str,
        target: Target,
        *,
        now: Callable[[], datetime],
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.client = client
        self.org = organization_id
        self.target = target
        self.now = now
        self.progress = progress

    def run_once(self, boxes: list[Mailbox]) -> list[Mailbox]:
        """Update every mailbox's status from ListMailboxExportJobs and start jobs within the limits."""
        jobs = _jobs(self.client, self.org)
        running = sum(j.get("State") == "RUNNING" for j in jobs)
        now = self.now()
        by_entity: dict[str, list[dict[str, Any]]] = {}
        for job in jobs:
            by_entity.setdefault(str(job.get("EntityId")), []).append(job)
        for box in boxes:
            own = sorted(by_entity.get(box.entity_id, []), key=_when, reverse=True)
            self._classify(box, own, now)
        for box in boxes:
            if box.status not in (WAITING, FAILED) or box.reason:
                continue  # exported, running, or held back by the 24-hour rule
            if running >= MAX_CONCURRENT_JOBS:
                box.reason = f"{MAX_CONCURRENT_JOBS} export jobs already run in the organization (AWS's limit)"
                continue
            attempt = len(by_entity.get(box.entity_id, []))
            if self._start(box, attempt):
                running += 1
        for box in boxes:
            self.progress(_progress_line(box))
        return boxes

    def _classify(self, box: Mailbox, own: list[dict[str, Any]], now: datetime) -> None:
        box.reason = ""
        if not own:
            box.status, box.job, box.history = WAITING, {}, []
            return
        latest, box.history = own[0], own[1:]
        box.job = dict(latest)
        state = latest.get("State")
        if state == "RUNNING":
            box.status = RUNNING
        elif state == "COMPLETED" and latest.get("S3BucketName") == self.target.bucket:
            box.status = DONE
        else:
            if state in ("FAILED", "CANCELLED"):
                # ListMailboxExportJobs carries no error: DescribeMailboxExportJob's ErrorInfo says what went wrong.
                described = self.client.describe_mailbox_export_job(OrganizationId=self.org, JobId=latest["JobId"])
                box.job.update({k: v for k, v in described.items() if k != "ResponseMetadata"})
            box.status = FAILED if state in ("FAILED", "CANCELLED") else WAITING
            allowed = _when(latest) + MIN_INTERVAL
            if allowed > now:
                why = f"last job {state}" + (f" ({box.job['ErrorInfo']})" if box.job.get("ErrorInfo") else "")
                box.reason = (
                    f"{why}; WorkMail allows one job per mailbox per 24 hours: retry after {allowed:%Y-%m-%d %H:%M} UTC"
                )

    def _start(self, box: Mailbox, attempt: int) -> bool:
        try:
            started = self.client.start_mailbox_export_job(
                ClientToken=client_token(self.org, box.entity_id, attempt),
                OrganizationId=self.org,
                EntityId=box.entity_id,
                Description=f"sesmail export of {box.address}"[:1023],
                RoleArn=self.target.role_arn,
                KmsKeyArn=self.target.kms_key_arn,
                S3BucketName=self.target.bucket,
                S3Prefix=f"{self.target.prefix.strip('/')}/{box.entity_id}",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "LimitExceededException":
                box.reason = "WorkMail refused another job now (LimitExceededException): run again later"
                return False
            raise
        if box.status == FAILED:
            box.history.insert(0, box.job)
        box.status, box.job = STARTED, {"JobId": started["JobId"], "State": "RUNNING", "StartTime": self.now()}
        return True


def _progress_line(box: Mailbox) -> str:
    job = box.job
    line = f"{box.address}: {box.status}"
    if job:
        line += f" (job {job.get('JobId')}, {job.get('State')}, {job.get('EstimatedProgress', 0)}%"
        line += f", {job['S3Path']})" if job.get("S3Path") else ")"
    if box.reason:
        line += f": {box.reason}"
    return line


def report(organization_id: str, target: Target, boxes: list[Mailbox], now: datetime) -> dict[str, Any]:
    """The verification report a person keeps: each mailbox's job as WorkMail reports it."""
    counts = {s: sum(b.status == s for b in boxes) for s in (DONE, RUNNING, STARTED, WAITING, FAILED)}
    return {
        "organizationId": organization_id,
        "checkedAt": now.isoformat(),
        "target": {
            "bucket": target.bucket,
            "prefix": target.prefix,
            "roleArn": target.role_arn,
            "kmsKeyArn": target.kms_key_arn,
        },
        "complete": counts[DONE] == len(boxes),
        "counts": counts,
        "notExported": "contacts and tasks (AWS: 'Other items, such as contacts and tasks, are not exported'); "
        "see docs/leaving-workmail.md",
        "mailboxes": [b.to_json() for b in boxes],
    }


def target_from(args: argparse.Namespace, factory: ClientFactory, region: str) -> Target:
    """The flags' target, or the environment stack's outputs (CloudFormation DescribeStacks)."""
    given = {"--bucket": args.bucket, "--role-arn": args.role_arn, "--kms-key-arn": args.kms_key_arn}
    if any(given.values()):
        missing = [flag for flag, value in given.items() if not value]
        if missing:
            raise UsageError(f"{missing[0]}: missing (give --bucket, --role-arn and --kms-key-arn together)")
        return Target(args.bucket, args.role_arn, args.kms_key_arn, args.prefix or DEFAULT_PREFIX)
    stack = f"sesmail-{args.environment}"
    try:
        described = factory("cloudformation", region).describe_stacks(StackName=stack)["Stacks"][0]
    except AWS_FAILURES as error:
        raise describe(error, f"cloudformation DescribeStacks {stack}") from None
    outputs = {o.get("Description", ""): o.get("OutputValue", "") for o in described.get("Outputs") or []}
    if not all(outputs.get(d) for d in (OUTPUT_BUCKET, OUTPUT_ROLE, OUTPUT_KEY)):
        raise UsageError(
            f"ENV: stack {stack} in {region} has no mailbox export target: set workmail.mailboxExport and deploy, "
            "or give --bucket, --role-arn and --kms-key-arn"
        )
    prefix = args.prefix or outputs.get(OUTPUT_PREFIX) or DEFAULT_PREFIX
    return Target(outputs[OUTPUT_BUCKET], outputs[OUTPUT_ROLE], outputs[OUTPUT_KEY], prefix)


def _stderr(line: str) -> None:
    print(f"sesmail workmail export: {line}", file=sys.stderr, flush=True)


def run(
    args: argparse.Namespace,
    factory: ClientFactory | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """``sesmail workmail export``; 0 when every mailbox is exported, 1 while one is not."""
    clock = now or (lambda: datetime.now(UTC))
    factory = factory or default_factory
    try:
        organization_id = check_organization_id(args.organization_id)
        region = workmail_region(args.region)
        if args.poll_seconds <= 0:
            raise UsageError(f"--poll-seconds: {args.poll_seconds:g} is not a positive number of seconds")
        target = target_from(args, factory, region)
        try:
            client = factory("workmail", region)
            exporter = Exporter(client, organization_id, target, now=clock, progress=_stderr)
            boxes = mailboxes(client, organization_id)
            exporter.run_once(boxes)
            while args.wait and any(b.status in (RUNNING, STARTED) for b in boxes):
                sleep(args.poll_seconds)
                exporter.run_once(boxes)
        except AWS_FAILURES as error:
            raise describe(error, "workmail") from None
    except (UsageError, AwsError) as error:
        return fail(args, error)
    result = report(organization_id, target, boxes, clock())
    if args.report is not None:
        try:
            args.report.write_text(json.dumps(result, indent=2) + "\n")
        except OSError as error:
            return fail(args, UsageError(f"--report: cannot write {str(args.report)!r}: {error.strerror}"))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        counts = result["counts"]
        print(
            f"sesmail workmail export {args.environment}: {len(boxes)} mailbox(es): {counts[DONE]} exported, "
            f"{counts[RUNNING] + counts[STARTED]} running, {counts[FAILED]} failed, {counts[WAITING]} waiting"
        )
        for box in boxes:
            if box.status != DONE:
                print(f"  {_progress_line(box)}")
    return EXIT_OK if result["complete"] else EXIT_INCOMPLETE
