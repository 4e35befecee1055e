"""``sesmail workmail inventory`` against botocore's Stubber (WorkMail has no moto backend).

The Stubber checks every request the inventory makes and every response below against the WorkMail API model, so
the operations, parameters and paging (``NextToken``) are the real API's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from sesmail.policy.cli import main
from sesmail.workmail_exit.cli import run_inventory

from .conftest import Stubbed, parse
from .org import ORG, Org, group_id, stub_inventory, user_id


def _inventory(stubbed: Stubbed, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, Any]:
    args = parse("workmail", "inventory", "--organization-id", ORG, "--region", "us-east-1", "--json", *extra)
    status = run_inventory(args, stubbed.factory)
    out = capsys.readouterr().out
    return status, json.loads(out)


def _large() -> Org:
    org = Org(page_size=40)
    for i in range(300):
        org.user(i, f"user{i:03d}")
    for g in range(50):
        org.group(g, f"group{g:02d}", [user_id(6 * g + k) for k in range(6)])
    for i in range(100):
        org.aliases[user_id(i)] = [f"alias{i:03d}a@example.com", f"alias{i:03d}b@example.com"]
    return org


def test_300_users_50_groups_200_aliases_over_several_pages(stubbed: Stubbed, capsys: Any) -> None:
    """ListUsers: "NextToken: The token to use to retrieve the next page of results. The first call does not contain
    any tokens." (https://docs.aws.amazon.com/workmail/latest/APIReference/API_ListUsers.html); the same for
    ListGroups, ListGroupMembers and ListAliases. Users come in 8 pages of 40, groups in 2, each group's 6 members in
    2 pages of 5, and every alias on a page of its own: every page is asked for, with the previous page's token."""
    org = _large()
    stub_inventory(stubbed.workmail, org)
    status, out = _inventory(stubbed, capsys)
    assert status == 0
    assert out["counts"] == {"user": 300, "group": 50, "resource": 0, "alias": 200}
    by_address = {a["address"]: a for a in out["addresses"]}
    assert len(by_address) == 550
    assert by_address["alias042b@example.com"] == {
        "address": "alias042b@example.com",
        "kind": "alias",
        "entityId": user_id(42),
        "target": "user042@example.com",
    }
    assert by_address["group07@example.com"]["members"] == [f"user{42 + k:03d}@example.com" for k in range(6)]
    assert by_address["user299@example.com"]["mailbox"] == {"sizeMB": 12.5, "quotaMB": 51200}
    book = out["addressBook"]["domains"]
    assert [d["domain"] for d in book] == ["example.com"]
    entries = {e["localPart"]: e for e in book[0]["addresses"]}
    assert len(entries) == 350  # every user and group; the aliases sit in their entries
    assert entries["user042"] == {"localPart": "user042", "aliases": ["alias042a", "alias042b"]}
    assert entries["group07"]["to"] == [f"user{42 + k:03d}" for k in range(6)]


def _small() -> Org:
    org = Org(domains=[("example.com", True), ("example.org", False), ("corp.awsapps.com", False)])
    jane = org.user(1, "jane")
    bob = org.user(2, "bob")
    org.user(3, "old", state="DISABLED")
    org.user(4, "gone", state="DELETED")
    team = org.group(1, "team", [bob])
    org.group(2, "sales", [jane, team, user_id(3)])
    org.group(3, "nobody", [])
    room = org.resource(1, "room1")
    org.aliases[jane] = ["jane@example.com", "j.doe@example.com", "jane@example.org", "jane@corp.awsapps.com"]
    org.aliases[group_id(2)] = ["info@example.com"]
    org.permissions[jane] = [{"GranteeId": bob, "GranteeType": "USER", "PermissionValues": ["FULL_ACCESS"]}]
    org.delegates[room] = [{"Id": jane, "Type": "USER"}]
    org.access_rules = [
        {
            "Name": "office-only",
            "Effect": "DENY",
            "Description": "imap from the office only",
            "NotIpRanges": ["10.0.0.0/8"],
        }
    ]
    org.monitoring = {
        "RoleArn": "arn:aws:iam::111122223333:role/monitoring",
        "LogGroupArn": "arn:aws:logs:us-east-1:111122223333:log-group:workmail",
    }
    org.retention = {
        "Id": "policy-1",
        "Name": "default",
        "FolderConfigurations": [
            {"Name": "DELETED_ITEMS", "Action": "PERMANENTLY_DELETE", "Period": 30},
            {"Name": "INBOX", "Action": "NONE"},
        ],
    }
    return org


def test_proposal_follows_the_address_book_format(stubbed: Stubbed, capsys: Any, tmp_path: Path) -> None:
    """The proposal (the address-book format fixed for issues 19 and 20): users and resources without ``to``, groups
    as their members (local parts in the same domain; nested groups listed as members), aliases in their entry, an
    alias in another domain as an entry whose ``to`` is the full address. DISABLED and DELETED entities are skipped:
    DeregisterFromWorkMail "disassociates the mailbox" (https://docs.aws.amazon.com/workmail/latest/APIReference/
    API_DeregisterFromWorkMail.html)."""
    stub_inventory(stubbed.workmail, _small())
    out_file = tmp_path / "book.json"
    status, out = _inventory(stubbed, capsys, "--out", str(out_file))
    assert status == 0
    written = json.loads(out_file.read_text())
    assert written == out["addressBook"]
    assert written == {
        "domains": [
            {
                "domain": "example.com",
                "addresses": [
                    {"localPart": "bob"},
                    {"localPart": "jane", "aliases": ["j.doe"]},
                    {"localPart": "nobody"},  # an empty group: no destination invented, a person fills it in
                    {"localPart": "room1"},
                    {"localPart": "sales", "aliases": ["info"], "to": ["jane", "team"]},
                    {"localPart": "team", "to": ["bob"]},
                ],
            },
            {"domain": "example.org", "addresses": [{"localPart": "jane", "to": ["jane@example.com"]}]},
        ],
        "people": [],
    }
    sales = next(a for a in out["addresses"] if a["address"] == "sales@example.com")
    assert sales["members"] == ["jane@example.com", "team@example.com"]
    assert sales["memberGroups"] == ["team@example.com"]
    assert out["skipped"] == [
        {"kind": "user", "name": "old", "state": "DISABLED"},
        {"kind": "user", "name": "gone", "state": "DELETED"},
    ]
    assert out["notMovable"] == ["jane@corp.awsapps.com"]
    assert any("sales@example.com: member old (DISABLED)" in n for n in out["notes"])
    assert any("nobody@example.com has no enabled member" in n for n in out["notes"])


def test_empty_group_entry_has_no_destination(stubbed: Stubbed, capsys: Any) -> None:
    """A group with no enabled member becomes an entry without ``to`` (synth refuses it until a person fills it)."""
    stub_inventory(stubbed.workmail, _small())
    _, out = _inventory(stubbed, capsys)
    entries = {e["localPart"]: e for e in out["addressBook"]["domains"][0]["addresses"]}
    assert entries["nobody"] == {"localPart": "nobody"}


def test_features_in_use_are_reported(stubbed: Stubbed, capsys: Any) -> None:
    """Each feature is asked of the API that reads it; GetDefaultRetentionPolicy's folder actions, the monitoring
    log group, the mailbox permission and the resource's delegate are reported as in use."""
    stub_inventory(stubbed.workmail, _small())
    _, out = _inventory(stubbed, capsys)
    features = {f["feature"]: f for f in out["features"]}
    assert features["mailbox permissions"]["status"] == "in use"
    assert features["mailbox permissions"]["detail"] == "jane@example.com: bob@example.com has FULL_ACCESS"
    assert features["resource delegates"]["detail"] == "room1@example.com (delegates: jane@example.com)"
    assert features["access control rules"]["detail"] == "office-only"
    assert features["email monitoring"]["status"] == "in use"
    assert features["retention policy"]["detail"] == "DELETED_ITEMS: PERMANENTLY_DELETE after 30 days"
    assert features["mobile device access rules"]["status"] == "not in use"
    assert features["inbound DMARC enforcement"]["status"] == "not in use"
    assert features["journaling"]["status"] == "not readable"
    assert features["inbound and outbound email flow rules"]["status"] == "not readable"


def test_journaling_and_flow_rules_have_no_api_operation() -> None:
    """Why the inventory says "not readable" for journaling and email flow rules instead of guessing: the WorkMail API
    model (2017-10-01) has no operation for either."""
    model = botocore.session.get_session().get_service_model("workmail")
    names = " ".join(model.operation_names).lower()
    assert "journal" not in names and "flow" not in names and "rule" in names  # access/mobile rules exist


def test_text_report(stubbed: Stubbed, capsys: Any) -> None:
    """Without --json: one line per address, the skipped entities, and the features with what to do instead."""
    stub_inventory(stubbed.workmail, _small())
    args = parse("workmail", "inventory", "--organization-id", ORG, "--region", "us-east-1")
    assert run_inventory(args, stubbed.factory) == 0
    text = capsys.readouterr().out
    assert "  group     sales@example.com: jane@example.com, team@example.com (group)" in text
    assert "  alias     info@example.com -> sales@example.com" in text
    assert "  user      old (DISABLED)" in text
    assert "in use       mailbox permissions: jane@example.com: bob@example.com has FULL_ACCESS -> " in text
    assert "corp.awsapps.com (WorkMail's test domain" in text


def test_out_file_is_never_overwritten(stubbed: Stubbed, capsys: Any, tmp_path: Path) -> None:
    """A proposal a person has filled in is not lost to a re-run."""
    out_file = tmp_path / "book.json"
    out_file.write_text('{"filled": true}')
    args = parse("workmail", "inventory", "--organization-id", ORG, "--region", "us-east-1", "--out", str(out_file))
    assert run_inventory(args, stubbed.factory) == 2
    assert "--out:" in capsys.readouterr().err
    assert out_file.read_text() == '{"filled": true}'


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("AccessDeniedException", "User is not authorized to perform: workmail:DescribeOrganization", "AccessDenied"),
        ("OrganizationNotFoundException", "The organization does not exist", "--organization-id and --region"),
    ],
)
def test_aws_errors_are_one_line_exit_3(stubbed: Stubbed, capsys: Any, code: str, message: str, expected: str) -> None:
    """AWS's refusal is one line naming the operation and the error code, exit 3, and a JSON error with --json."""
    stubbed.workmail.add_client_error(
        "describe_organization", code, message, 400, expected_params={"OrganizationId": ORG}
    )
    args = parse("workmail", "inventory", "--organization-id", ORG, "--region", "us-east-1", "--json")
    assert run_inventory(args, stubbed.factory) == 3
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert f"workmail DescribeOrganization: {code}" in captured.err and expected in captured.err
    assert json.loads(captured.out)["error"] == {
        "code": code,
        "message": captured.err.split("error: ", 1)[1].strip(),
        "exitStatus": 3,
    }


def test_error_in_a_later_page_names_its_operation(stubbed: Stubbed, capsys: Any) -> None:
    """A failure after the first calls (here ListUsers) is still one line, naming the operation that failed."""
    o = {"OrganizationId": ORG}
    stubbed.workmail.add_response("describe_organization", {"OrganizationId": ORG, "State": "Active"}, o)
    stubbed.workmail.add_response("list_mail_domains", {"MailDomains": []}, o)
    stubbed.workmail.add_client_error("list_users", "AccessDeniedException", "no", 400, expected_params=o)
    args = parse("workmail", "inventory", "--organization-id", ORG, "--region", "us-east-1")
    assert run_inventory(args, stubbed.factory) == 3
    assert "workmail ListUsers: AccessDeniedException" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--organization-id", "m-123"], "--organization-id: 'm-123' is not a WorkMail organization id"),
        (["--organization-id", ORG, "--region", "ap-south-1"], "--region: WorkMail is not offered in 'ap-south-1'"),
    ],
)
def test_bad_flags_are_one_line_exit_2(clean_env: None, capsys: Any, argv: list[str], expected: str) -> None:
    """Bad input names the flag and the value, exit 2, before any AWS call."""
    assert main(["workmail", "inventory", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err


def test_no_credentials_is_one_line_exit_3(clean_env: None, capsys: Any) -> None:
    """boto3's chain finds nothing (no keys, no profile, no metadata service): one line, exit 3, no call sent."""
    assert main(["workmail", "inventory", "--organization-id", ORG, "--region", "us-east-1", "--json"]) == 3
    captured = capsys.readouterr()
    assert "no AWS credentials found" in captured.err and "Traceback" not in captured.err
    assert json.loads(captured.out)["error"]["code"] == "NoCredentials"


def test_endpoint_override_is_honoured(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 honours AWS_ENDPOINT_URL_<SERVICE> ("service-specific endpoints", https://docs.aws.amazon.com/sdkref/
    latest/guide/feature-ss-endpoints.html); with one set, the region check does not stand in its way."""
    from sesmail.workmail_exit.aws import default_factory, workmail_region

    monkeypatch.setenv("AWS_ENDPOINT_URL_WORKMAIL", "http://localhost:4566")
    assert workmail_region("eu-central-1") == "eu-central-1"
    assert default_factory("workmail", "eu-central-1").meta.endpoint_url == "http://localhost:4566"


def test_a_resource_listed_as_a_user_too_is_one_address(stubbed: Stubbed, capsys: Any) -> None:
    """ListUsers' ``UserRole`` has the value ``RESOURCE`` (https://docs.aws.amazon.com/workmail/latest/APIReference/
    API_User.html): a user of that role with a listed resource's address is the resource, counted once."""
    org = Org()
    org.user(1, "jane")
    org.resource(1, "room1")
    org.users.append(
        {"Id": user_id(2), "Name": "room1", "State": "ENABLED", "UserRole": "RESOURCE", "Email": "room1@example.com"}
    )
    stub_inventory(stubbed.workmail, org)
    _, out = _inventory(stubbed, capsys)
    assert [(a["address"], a["kind"]) for a in out["addresses"]] == [
        ("jane@example.com", "user"),
        ("room1@example.com", "resource"),
    ]


def test_no_region_anywhere_is_one_line_exit_2(clean_env: None, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """Neither --region nor boto3's default region (AWS_REGION, AWS_DEFAULT_REGION, the profile): one line, exit 2."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert main(["workmail", "inventory", "--organization-id", ORG]) == 2
    assert "--region: missing" in capsys.readouterr().err
