"""``sesmail forward-deferred``: finds the messages the hourly cap deferred and hands each back to the forwarder.

S3 through moto; CloudFormation (the deployed stack's physical ids) and Lambda's ``Invoke`` through botocore's
Stubber, which checks each request against the API model. ``InvocationType`` ``Event``: "Lambda adds the event to a
queue and returns a response" (Lambda API reference, Invoke), so the forwarder's own retries and failure destination
apply as for SES's invocations.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from sesmail.doctor import deferred
from sesmail.doctor.expected import load_environment

BUCKET, FUNCTION = "sesmail-example-mailbucket", "sesmail-example-MailForwarder"


@pytest.mark.usefixtures("aws")
def test_deferred_messages_are_handed_to_the_forwarder(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = load_environment(app_dir, "example")
    bucket_id = next(
        k for k, v in env.template["Resources"].items() if v["Type"] == "AWS::S3::Bucket" and k.startswith("MailBucket")
    )
    function_id = next(
        k
        for k, v in env.template["Resources"].items()
        if v["Type"] == "AWS::Lambda::Function" and k.startswith("MailForwarder")
    )
    s3 = boto3.client("s3", region_name=env.region)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": env.region})
    for key, state in (("info/a b", "deferred"), ("info/c", "sent"), ("support/d", "deferred")):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"From: x@y.example\r\n\r\nhi\r\n")
        s3.put_object(Bucket=BUCKET, Key=f"{key}.forward.json", Body=json.dumps({"state": state}).encode())

    cfn = boto3.client("cloudformation", region_name=env.region)
    cfn_stub = Stubber(cfn)
    cfn_stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {"StackName": env.stack_name, "CreationTime": "2026-12-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE"}
            ]
        },
        {"StackName": env.stack_name},
    )
    summaries = [
        {
            "LogicalResourceId": lid,
            "PhysicalResourceId": pid,
            "ResourceType": kind,
            "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
            "ResourceStatus": "CREATE_COMPLETE",
        }
        for lid, pid, kind in ((bucket_id, BUCKET, "AWS::S3::Bucket"), (function_id, FUNCTION, "AWS::Lambda::Function"))
    ]
    cfn_stub.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": env.stack_name})
    lam = boto3.client("lambda", region_name=env.region)
    lam_stub = Stubber(lam)
    payloads: list[dict[str, Any]] = []
    for _ in range(2):
        lam_stub.add_response(
            "invoke",
            {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)},
            {"FunctionName": FUNCTION, "InvocationType": "Event", "Payload": ANY},
        )
    lam.meta.events.register("provide-client-params.lambda.Invoke", lambda params, **_: payloads.append(params))
    cfn_stub.activate()
    lam_stub.activate()
    clients = {"cloudformation": cfn, "lambda": lam, "s3": s3}

    args = argparse.Namespace(environment="example", app_dir=app_dir, dry_run=False)
    assert deferred.run(args, factory=clients.__getitem__) == 0
    cfn_stub.assert_no_pending_responses()
    lam_stub.assert_no_pending_responses()
    events = [json.loads(p["Payload"]) for p in payloads]
    # The key as S3 writes it into events (URL-encoded); the forwarder decodes it with unquote_plus.
    assert [e["Records"][0]["s3"]["object"]["key"] for e in events] == ["info/a+b", "support/d"]
    assert all(e["Records"][0]["s3"]["bucket"]["name"] == BUCKET for e in events)
    out = capsys.readouterr()
    assert out.out.splitlines() == [f"s3://{BUCKET}/info/a b", f"s3://{BUCKET}/support/d"]
    assert "2 deferred message(s) handed to the forwarder" in out.err


def test_an_environment_without_a_forwarder_is_one_line(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(environment="example-workmail", app_dir=app_dir, dry_run=True)
    assert deferred.run(args) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "sesmail forward-deferred: error: sesmail-example-workmail has no mail forwarder (inbound.forwardTo)"
    ]
