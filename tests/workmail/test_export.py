"""``sesmail workmail export`` against botocore's Stubber: WorkMail's limits, resuming, failed jobs.

AWS's "Exporting mailbox content" page (https://docs.aws.amazon.com/workmail/latest/adminguide/mail-export.html),
Considerations: "You can run up to 10 concurrent mailbox export jobs for a given Amazon WorkMail organization." and
"You can run a mailbox export job for a given mailbox as often as once every 24 hours." ListMailboxExportJobs "Lists
the mailbox export jobs started for the specified organization within the last seven days"; only
DescribeMailboxExportJob carries ``ErrorInfo`` ("Error information for failed mailbox export jobs").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sesmail.workmail_exit.export import client_token, run
from sesmail.workmail_exit.outputs import OUTPUT_BUCKET, OUTPUT_KEY, OUTPUT_PREFIX, OUTPUT_ROLE

from .conftest import Stubbed, parse
from .org import ORG, add_pages, resource_id, user_id

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BUCKET = "sesmail-corp-export"
ROLE = "arn:aws:iam::111122223333:role/sesmail-corp-MailboxExportRole"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ORG_PARAMS = {"OrganizationId": ORG}
FLAGS = ["--bucket", BUCKET, "--role-arn", ROLE, "--kms-key-arn", KEY]


def _args(*extra: str) -> Any:
    return parse("workmail", "export", "corp", "--organization-id", ORG, "--region", "us-east-1", "--json", *extra)


def _stub_mailboxes(stubbed: Stubbed, users: int, rooms: int = 0) -> None:
    listed = [
        {
            "Id": user_id(i),
            "Email": f"u{i:02d}@example.com",
            "Name": f"u{i:02d}",
            "State": "ENABLED",
            "UserRole": "USER",
        }
        for i in range(users)
    ]
    listed.append({"Id": user_id(99), "Name": "off", "State": "DISABLED", "UserRole": "USER"})
    add_pages(stubbed.workmail, "list_users", "Users", listed, ORG_PARAMS, 5)
    resources = [
        {"Id": resource_id(i), "Email": f"room{i}@example.com", "Name": f"room{i}", "State": "ENABLED", "Type": "ROOM"}
        for i in range(rooms)
    ]
    add_pages(stubbed.workmail, "list_resources", "Resources", resources, ORG_PARAMS, 100)


def _job(entity: str, n: int, state: str, start: datetime, bucket: str = BUCKET, progress: int = 100) -> dict[str, Any]:
    job: dict[str, Any] = {
        "JobId": f"job-{n:04d}",
        "EntityId": entity,
        "State": state,
        "S3BucketName": bucket,
        "S3Path": f"{bucket}/mailbox-export/{entity}/export.zip",
        "EstimatedProgress": progress,
        "StartTime": start,
    }
    if state != "RUNNING":
        job["EndTime"] = start + timedelta(hours=1)
    return job


def _expect_start(stubbed: Stubbed, entity: str, attempt: int, job_id: str, address: str) -> None:
    stubbed.workmail.add_response(
        "start_mailbox_export_job",
        {"JobId": job_id},
        {
            "ClientToken": client_token(ORG, entity, attempt),
            "OrganizationId": ORG,
            "EntityId": entity,
            "Description": f"sesmail export of {address}",
            "RoleArn": ROLE,
            "KmsKeyArn": KEY,
            "S3BucketName": BUCKET,
            "S3Prefix": f"mailbox-export/{entity}",
        },
    )


def _run(stubbed: Stubbed, capsys: Any, now: datetime, *extra: str, sleep: Any = None) -> tuple[int, dict[str, Any]]:
    status = run(_args(*FLAGS, *extra), stubbed.factory, now=lambda: now, sleep=sleep or (lambda _: None))
    return status, json.loads(capsys.readouterr().out)


def test_at_most_10_jobs_then_an_interrupted_run_resumes_without_duplicates(stubbed: Stubbed, capsys: Any) -> None:
    """13 mailboxes: the first run starts 10 ("up to 10 concurrent mailbox export jobs") and leaves 3 waiting. The
    re-run an hour later reads ListMailboxExportJobs: 6 of the 10 completed, 4 still run, so it starts exactly the 3
    left (7 running then), and none of the 10 again (the Stubber fails on any start not listed here)."""
    _stub_mailboxes(stubbed, users=12, rooms=1)
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", [], ORG_PARAMS, 100)
    for i in range(10):
        _expect_start(stubbed, user_id(i), 0, f"job-{i:04d}", f"u{i:02d}@example.com")
    status, first = _run(stubbed, capsys, T0)
    assert status == 1
    assert first["counts"] == {"exported": 0, "running": 0, "started": 10, "waiting": 3, "failed": 0}
    waiting = [m for m in first["mailboxes"] if m["status"] == "waiting"]
    assert [m["address"] for m in waiting] == ["u10@example.com", "u11@example.com", "room0@example.com"]
    assert all("10 export jobs already run" in m["reason"] for m in waiting)

    later = T0 + timedelta(hours=1)
    _stub_mailboxes(stubbed, users=12, rooms=1)
    jobs = [
        _job(user_id(i), i, "COMPLETED" if i < 6 else "RUNNING", T0, progress=100 if i < 6 else 40) for i in range(10)
    ]
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", jobs, ORG_PARAMS, 4)  # three pages
    _expect_start(stubbed, user_id(10), 0, "job-0010", "u10@example.com")
    _expect_start(stubbed, user_id(11), 0, "job-0011", "u11@example.com")
    _expect_start(stubbed, resource_id(0), 0, "job-0012", "room0@example.com")
    status, second = _run(stubbed, capsys, later)
    assert status == 1
    assert second["counts"] == {"exported": 6, "running": 4, "started": 3, "waiting": 0, "failed": 0}
    u7 = next(m for m in second["mailboxes"] if m["address"] == "u07@example.com")
    assert u7["job"]["EstimatedProgress"] == 40 and u7["job"]["State"] == "RUNNING"
    assert u7["job"]["S3Path"] == f"{BUCKET}/mailbox-export/{user_id(7)}/export.zip"


def test_a_start_whose_answer_was_lost_repeats_its_client_token(stubbed: Stubbed, capsys: Any) -> None:
    """StartMailboxExportJob's ClientToken is "The idempotency token for the client request": when the listing does
    not show the job a lost answer started, the re-run sends the same token, so WorkMail returns that job instead of
    starting a second one."""
    for _ in range(2):
        _stub_mailboxes(stubbed, users=1)
        add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", [], ORG_PARAMS, 100)
        _expect_start(stubbed, user_id(0), 0, "job-0000", "u00@example.com")  # same ClientToken both times
        assert _run(stubbed, capsys, T0)[0] == 1


def test_a_mailbox_exported_elsewhere_within_24_hours_waits(stubbed: Stubbed, capsys: Any) -> None:
    """ "as often as once every 24 hours": a mailbox whose last job (into another bucket) started 2 hours ago gets
    no job now; the report says when it may."""
    _stub_mailboxes(stubbed, users=1)
    other = _job(user_id(0), 1, "COMPLETED", T0 - timedelta(hours=2), bucket="someone-elses-bucket")
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", [other], ORG_PARAMS, 100)
    status, out = _run(stubbed, capsys, T0)
    assert status == 1
    (box,) = out["mailboxes"]
    assert box["status"] == "waiting"
    assert "retry after 2026-12-02 07:00 UTC" in box["reason"]


def test_failed_jobs_are_reported_and_retried_after_24_hours(stubbed: Stubbed, capsys: Any, tmp_path: Path) -> None:
    """A job that failed 25 hours ago is retried (a new ClientToken: the mailbox's second attempt) and its error kept
    in the report; one that failed 2 hours ago is reported with DescribeMailboxExportJob's ErrorInfo and waits."""
    _stub_mailboxes(stubbed, users=3)
    jobs = [
        _job(user_id(0), 1, "FAILED", T0 - timedelta(hours=25), progress=10),
        _job(user_id(1), 2, "FAILED", T0 - timedelta(hours=2), progress=0),
        _job(user_id(2), 3, "COMPLETED", T0 - timedelta(hours=3)),
    ]
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", jobs, ORG_PARAMS, 100)
    for n, (entity, error) in enumerate(
        [(user_id(0), "Access denied to the S3 bucket"), (user_id(1), "KMS key is disabled")], start=1
    ):
        stubbed.workmail.add_response(
            "describe_mailbox_export_job",
            {
                "EntityId": entity,
                "RoleArn": ROLE,
                "KmsKeyArn": KEY,
                "S3BucketName": BUCKET,
                "S3Prefix": f"mailbox-export/{entity}",
                "State": "FAILED",
                "EstimatedProgress": 10,
                "ErrorInfo": error,
            },
            {"OrganizationId": ORG, "JobId": f"job-{n:04d}"},
        )
    _expect_start(stubbed, user_id(0), 1, "job-0100", "u00@example.com")
    report_file = tmp_path / "export-report.json"
    status, out = _run(stubbed, capsys, T0, "--report", str(report_file))
    assert status == 1
    assert json.loads(report_file.read_text()) == out
    boxes = {m["address"]: m for m in out["mailboxes"]}
    retried = boxes["u00@example.com"]
    assert retried["status"] == "started" and retried["job"]["JobId"] == "job-0100"
    assert retried["earlierJobs"][0]["ErrorInfo"] == "Access denied to the S3 bucket"
    held = boxes["u01@example.com"]
    assert held["status"] == "failed" and held["job"]["ErrorInfo"] == "KMS key is disabled"
    assert "retry after 2026-12-02 07:00 UTC" in held["reason"]
    assert boxes["u02@example.com"]["status"] == "exported"
    assert out["notExported"].startswith("contacts and tasks")


def test_wait_polls_until_every_job_ends(stubbed: Stubbed, capsys: Any) -> None:
    """With --wait the command polls ListMailboxExportJobs and ends 0 once every mailbox's job completed."""
    _stub_mailboxes(stubbed, users=2)
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", [], ORG_PARAMS, 100)
    _expect_start(stubbed, user_id(0), 0, "job-0000", "u00@example.com")
    _expect_start(stubbed, user_id(1), 0, "job-0001", "u01@example.com")
    done = [_job(user_id(i), i, "COMPLETED", T0) for i in range(2)]
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", done, ORG_PARAMS, 100)
    slept: list[float] = []
    status, out = _run(stubbed, capsys, T0, "--wait", "--poll-seconds", "30", sleep=slept.append)
    assert status == 0 and slept == [30.0]
    assert out["complete"] is True and out["counts"]["exported"] == 2


def test_limit_exceeded_is_reported_not_fatal(stubbed: Stubbed, capsys: Any) -> None:
    """StartMailboxExportJob's LimitExceededException ("The request exceeds the limit of the resource") leaves the
    mailbox waiting for the next run."""
    _stub_mailboxes(stubbed, users=1)
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", [], ORG_PARAMS, 100)
    stubbed.workmail.add_client_error("start_mailbox_export_job", "LimitExceededException", "too many", 400)
    status, out = _run(stubbed, capsys, T0)
    assert status == 1
    assert "LimitExceededException" in out["mailboxes"][0]["reason"]


def test_target_from_the_stack_outputs(stubbed: Stubbed, capsys: Any) -> None:
    """Without flags the target is the deployed stack's outputs (CloudFormation DescribeStacks on sesmail-ENV),
    found by the descriptions MailboxExportTarget gives them."""
    stubbed.cloudformation.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "sesmail-corp",
                    "CreationTime": T0,
                    "StackStatus": "UPDATE_COMPLETE",
                    "Outputs": [
                        {
                            "OutputKey": "MailboxExportBucketName0A1B",
                            "OutputValue": BUCKET,
                            "Description": OUTPUT_BUCKET,
                        },
                        {"OutputKey": "MailboxExportRoleArn2C3D", "OutputValue": ROLE, "Description": OUTPUT_ROLE},
                        {"OutputKey": "MailboxExportKeyArn4E5F", "OutputValue": KEY, "Description": OUTPUT_KEY},
                        {
                            "OutputKey": "MailboxExportPrefix6A7B",
                            "OutputValue": "mailbox-export",
                            "Description": OUTPUT_PREFIX,
                        },
                    ],
                }
            ]
        },
        {"StackName": "sesmail-corp"},
    )
    _stub_mailboxes(stubbed, users=1)
    done = [_job(user_id(0), 1, "COMPLETED", T0)]
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", done, ORG_PARAMS, 100)
    status = run(_args(), stubbed.factory, now=lambda: T0)
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert out["target"] == {"bucket": BUCKET, "prefix": "mailbox-export", "roleArn": ROLE, "kmsKeyArn": KEY}


def test_stack_without_target_is_one_line(stubbed: Stubbed, capsys: Any) -> None:
    """A stack deployed without ``workmail.mailboxExport``: one line saying what to do, exit 2."""
    stubbed.cloudformation.add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "sesmail-corp", "CreationTime": T0, "StackStatus": "CREATE_COMPLETE"}]},
        {"StackName": "sesmail-corp"},
    )
    assert run(_args(), stubbed.factory, now=lambda: T0) == 2
    captured = capsys.readouterr()
    assert "has no mailbox export target: set workmail.mailboxExport" in captured.err
    assert json.loads(captured.out)["error"]["exitStatus"] == 2


def test_missing_stack_is_one_line_exit_3(stubbed: Stubbed, capsys: Any) -> None:
    """DescribeStacks's ValidationError for a stack that does not exist: one line, exit 3."""
    stubbed.cloudformation.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id sesmail-corp does not exist", 400
    )
    assert run(_args(), stubbed.factory, now=lambda: T0) == 3
    assert "cloudformation DescribeStacks sesmail-corp: ValidationError" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--bucket", BUCKET], "--role-arn: missing"),
        ([*FLAGS, "--poll-seconds", "0"], "--poll-seconds: 0 is not a positive number"),
    ],
)
def test_bad_flags(stubbed: Stubbed, capsys: Any, extra: list[str], expected: str) -> None:
    """Bad flags: one line naming the flag, exit 2, no AWS call."""
    assert run(_args(*extra), stubbed.factory, now=lambda: T0) == 2
    assert expected in capsys.readouterr().err


def test_a_run_cut_off_midway_is_continued_by_the_next(stubbed: Stubbed, capsys: Any) -> None:
    """The first run starts two jobs, then WorkMail stops answering (the third start fails): one line, exit 3. The
    next run finds the two jobs in ListMailboxExportJobs and starts only the other two mailboxes; the third mailbox's
    start repeats its ClientToken (its first attempt), so if the failed call had in fact started a job, WorkMail
    returns that job rather than a second one."""
    _stub_mailboxes(stubbed, users=4)
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", [], ORG_PARAMS, 100)
    _expect_start(stubbed, user_id(0), 0, "job-0000", "u00@example.com")
    _expect_start(stubbed, user_id(1), 0, "job-0001", "u01@example.com")
    stubbed.workmail.add_client_error(
        "start_mailbox_export_job", "InternalServerException", "We encountered an internal error", 500
    )
    status = run(_args(*FLAGS), stubbed.factory, now=lambda: T0)
    captured = capsys.readouterr()
    assert status == 3
    assert captured.err.strip().splitlines()[-1].startswith("sesmail workmail export: error: workmail: ")

    _stub_mailboxes(stubbed, users=4)
    running = [_job(user_id(i), i, "RUNNING", T0, progress=5) for i in range(2)]
    add_pages(stubbed.workmail, "list_mailbox_export_jobs", "Jobs", running, ORG_PARAMS, 100)
    _expect_start(stubbed, user_id(2), 0, "job-0002", "u02@example.com")
    _expect_start(stubbed, user_id(3), 0, "job-0003", "u03@example.com")
    status, out = _run(stubbed, capsys, T0 + timedelta(minutes=10))
    assert status == 1
    assert out["counts"] == {"exported": 0, "running": 2, "started": 2, "waiting": 0, "failed": 0}


def test_bad_flag_through_the_console_script(clean_env: None, capsys: Any) -> None:
    """The ``sesmail`` entry point: one line naming the flag, exit 2, before any AWS call."""
    from sesmail.policy.cli import main

    argv = ["workmail", "export", "corp", "--organization-id", ORG, "--region", "us-east-1", "--bucket", BUCKET]
    assert main(argv) == 2
    err = capsys.readouterr().err
    expected = "--role-arn: missing (give --bucket, --role-arn and --kms-key-arn together)"
    assert err == f"sesmail workmail export: error: {expected}\n"
