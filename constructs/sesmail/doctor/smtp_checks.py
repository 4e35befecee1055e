"""WorkMail-free path: the SMTP credentials' secret exists and their access key is active; failure queues are empty.

The SMTP custom resource's physical id is the access key id it made (``lambda/smtp_credentials``), so the check reads
the key's status with ``iam:ListAccessKeys`` and the secret's metadata with ``secretsmanager:DescribeSecret``: the
doctor never reads the password.
"""

from __future__ import annotations

from collections.abc import Iterator

from botocore.exceptions import ClientError

from .checks import Check, compare, fail, ok
from .expected import failure_queues, referenced
from .live import Live, error_code

AREA = "smtp"


def credentials(live: Live, logical_id: str, props: dict) -> Iterator[Check]:
    """The secret exists (not scheduled for deletion) and the access key is Active."""
    env = live.env
    secret_id = live.stack.physical.get(referenced(props.get("SecretId")) or "")
    user = live.stack.physical.get(referenced(props.get("UserName")) or "")
    key_id = live.stack.physical.get(logical_id)
    if not (secret_id and user and key_id):
        yield fail(AREA, "SMTP credentials", "deployed", "not in the stack", f"deploy {env.stack_name}")
        return
    try:
        secret = live.clients("secretsmanager").describe_secret(SecretId=secret_id)
        state = "scheduled for deletion" if secret.get("DeletedDate") else "exists"
    except ClientError as error:
        state = error_code(error)
    yield compare(AREA, f"SMTP secret {secret_id.rsplit(':', 1)[-1]}", "exists", state, f"redeploy {env.stack_name}")
    try:
        keys = live.clients("iam").list_access_keys(UserName=user).get("AccessKeyMetadata") or []
        status = next((k.get("Status") for k in keys if k.get("AccessKeyId") == key_id), "missing")
    except ClientError as error:
        status = error_code(error)
    yield compare(
        AREA,
        f"SMTP access key {key_id} of {user}",
        "Active",
        str(status),
        "rotate the credentials (change rotationToken and deploy)",
    )


def queues(live: Live) -> Iterator[Check]:
    """Each failure queue holds no message (each message is a mail that was not parsed or forwarded)."""
    for logical_id in failure_queues(live.env):
        url = live.stack.physical.get(logical_id)
        if url is None:
            yield fail(
                AREA, f"failure queue {logical_id}", "deployed", "not in the stack", f"deploy {live.env.stack_name}"
            )
            continue
        try:
            attrs = live.clients("sqs").get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            count = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
        except ClientError as error:
            yield fail(AREA, f"failure queue {url}", "empty", error_code(error), "grant sqs:GetQueueAttributes")
            continue
        if count:
            yield fail(
                AREA,
                f"failure queue {url}",
                "empty",
                f"{count} message(s)",
                "read the failed events, fix the cause, redrive them",
            )
        else:
            yield ok(AREA, f"failure queue {url}", "empty", "empty")


def run(live: Live) -> list[Check]:
    """Every check of the WorkMail-free path."""
    checks: list[Check] = []
    for logical_id, props in live.env.of_type("Custom::SesSmtpCredentials"):
        checks.extend(credentials(live, logical_id, dict(props)))
    checks.extend(queues(live))
    return checks
