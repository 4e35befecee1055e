"""``sesmail doctor`` against the shipped example environments: moto (+ Stubber where moto lacks the API) and NSD.

The NSD servers are shared by the module's tests (``nameservers``): one per distinct zone data, which the doctor only
queries. moto's state is each test's own (the ``aws`` fixture).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sesmail.doctor import cli
from sesmail.doctor.expected import email_identities, load_environment
from sesmail.policy.cli import main as sesmail_main

from .deployment import Deployment, Scenario, dkim_records, good_zone_records
from .nsd import Nameservers, zone

REGION = "us-east-1"


@pytest.fixture(scope="module")
def nameservers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nameservers]:
    """The module's NSD servers, one per distinct zone data (see the module docstring)."""
    servers = Nameservers(tmp_path_factory.mktemp("nsd"))
    yield servers
    servers.close()


def run_doctor(
    app_dir: Path,
    nameservers: Nameservers,
    scenario: Scenario,
    records: list[str] | None = None,
    *,
    as_json: bool = True,
    environment: str = "example-workmail",
) -> int:
    """Deploy ``scenario`` into moto, serve ``records`` for the environment's domain from NSD, run the doctor (its
    report goes to stdout); returns the exit status."""
    env = load_environment(app_dir, environment)
    deployment = Deployment(env, scenario)
    deployment.stub_responses()
    domain = next(props["EmailIdentity"] for _, props in email_identities(env))
    zones = {domain: zone(domain, good_zone_records(env.region) if records is None else records)}
    args = argparse.Namespace(
        environment=environment,
        app_dir=app_dir,
        json=as_json,
        round_trip=False,
        round_trip_timeout=300.0,
        nameserver=nameservers.address(zones),
    )
    status = cli.run(args, factory=deployment.factory)
    deployment.assert_all_answered()
    return status


def report_of(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return json.loads(capsys.readouterr().out)


def by_subject(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["subject"]: c for c in report["checks"]}


def failing(report: dict[str, Any]) -> set[str]:
    return {c["subject"] for c in report["checks"] if c["status"] == "fail"}


@pytest.mark.usefixtures("aws")
def test_everything_right(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """A stack deployed as synthesized, DNS published as the outputs say, production access: nothing fails, exit 0.

    The WorkMail check rests on the WorkMail Administrator Guide's statement that WorkMail calls SES as the service
    principal ``workmail.<region>.amazonaws.com`` with ``aws:SourceArn`` = the organization ARN (DESIGN.md, checked
    2026-12).
    """
    status = run_doctor(app_dir, nameservers, Scenario())
    report = report_of(capsys)
    assert failing(report) == set(), report
    assert status == 0
    checks = by_subject(report)
    for subject in (
        f"{t}._domainkey.example.com CNAME"
        for t in ("tokenonea1b2c3d4e5f6", "tokentwoa1b2c3d4e5f6", "tokenthreea1b2c3d4e5")
    ):
        assert checks[subject]["status"] == "ok"
    # Beside WorkMail: its own set stays active, the stack's rules ahead of WorkMail's rule.
    assert checks["active rule set"]["found"] == (
        "INBOUND_MAIL: mailbox-info > mailbox-support > mailbox-register > m-workmail"
    )
    assert checks["example.com WorkMail may send"]["status"] == "ok"
    assert checks["rule order in INBOUND_MAIL"]["found"] == "mailbox-info > mailbox-support > mailbox-register"
    assert any(s.endswith(" policy") and s.startswith("bucket ") and c["status"] == "ok" for s, c in checks.items())


@pytest.mark.usefixtures("aws")
def test_everything_right_text(
    app_dir: Path, nameservers: Nameservers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text report: one line per check starting with its status, a summary line last (README's sample)."""
    status = run_doctor(app_dir, nameservers, Scenario(), as_json=False)
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert status == 0
    assert all(line.split()[0] in ("ok", "warn") for line in out[:-1])
    assert out[-1].startswith("sesmail doctor example-workmail: ") and out[-1].endswith(" 0 fail")
    Path(tmp_path / "sample.txt").write_text("\n".join(out) + "\n")
    # The documented sample is this very output (issue 21, item 12: it named an environment that no longer existed);
    # KMS key ids are moto's random ones.
    header = next(line for line in captured.err.splitlines() if line.startswith("sesmail doctor: checking "))
    full, *excerpts = _documented_samples()
    assert full == _masked([header, *out])
    for excerpt in excerpts:  # the README's excerpt: its lines, in order, from the same report
        shown = [line for line in excerpt if line != "..."]
        assert [line for line in full if line in shown] == shown


def _masked(lines: list[str]) -> list[str]:
    return [re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<key-id>", line) for line in lines]


def _documented_samples() -> list[list[str]]:
    """The doctor's sample reports (```text blocks starting with its header): the full one of docs/doctor.md first,
    then the excerpts of README.md and other pages."""
    root = Path(__file__).resolve().parents[2]
    samples = []
    for page in [root / "docs" / "doctor.md", root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for block in page.read_text().split("```text\nsesmail doctor: checking ")[1:]:
            lines = _masked(("sesmail doctor: checking " + block.split("```", 1)[0]).splitlines())
            if lines not in samples:
                samples.append(lines)
    assert samples, "no doctor sample report in docs/doctor.md or README.md"
    return samples


@pytest.mark.usefixtures("aws")
def test_dkim_cname_missing(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """SES's Easy DKIM needs all three CNAMEs ``<token>._domainkey.<domain>`` -> ``<token>.dkim.amazonses.com``
    (SES Developer Guide, "Easy DKIM in Amazon SES"); one missing fails that record's check."""
    records = [r for r in good_zone_records(REGION) if not r.startswith("tokentwo")]
    status = run_doctor(app_dir, nameservers, Scenario(), records)
    report = report_of(capsys)
    assert status == 1
    assert failing(report) == {"tokentwoa1b2c3d4e5f6._domainkey.example.com CNAME"}
    check = by_subject(report)["tokentwoa1b2c3d4e5f6._domainkey.example.com CNAME"]
    assert check["found"] == "no CNAME record" and "tokentwoa1b2c3d4e5f6.dkim.amazonses.com." in check["action"]


@pytest.mark.usefixtures("aws")
def test_mx_pointing_elsewhere(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """SES receives only mail that reaches ``inbound-smtp.<region>.amazonaws.com`` (SES Developer Guide, "Publishing an
    MX record for Amazon SES email receiving"); an MX elsewhere fails, and the other host is named."""
    records = [r for r in good_zone_records(REGION) if not r.startswith("@ IN MX")] + [
        "@ IN MX 10 mx.elsewhere.example."
    ]
    status = run_doctor(app_dir, nameservers, Scenario(), records)
    report = report_of(capsys)
    assert status == 1
    assert failing(report) == {"example.com MX", "example.com other MX"}
    assert by_subject(report)["example.com MX"]["found"] == "10 mx.elsewhere.example."


@pytest.mark.usefixtures("aws")
def test_foreign_mx(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """A sender tries the MX hosts of a domain by preference and may deliver to any of them (RFC 5321 section 5.1):
    SES's MX being present is not enough when a foreign MX stays beside it."""
    records = [*good_zone_records(REGION), "@ IN MX 20 mx.old-provider.example."]
    status = run_doctor(app_dir, nameservers, Scenario(), records)
    report = report_of(capsys)
    assert status == 1
    checks = by_subject(report)
    assert checks["example.com MX"]["status"] == "ok"
    assert failing(report) == {"example.com other MX"}
    assert checks["example.com other MX"]["found"] == "20 mx.old-provider.example."


@pytest.mark.usefixtures("aws")
def test_account_in_sandbox(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """GetAccount's ``ProductionAccessEnabled``: "If the value is false, then your account is in the sandbox. When your
    account is in the sandbox, you can only send email to verified identities" (SES API Reference, GetAccount)."""
    status = run_doctor(app_dir, nameservers, Scenario(production_access=False))
    report = report_of(capsys)
    assert status == 1
    assert failing(report) == {"production access"}
    assert "request production access for us-east-1" in by_subject(report)["production access"]["action"]


@pytest.mark.usefixtures("aws")
def test_alarm_subscription_confirmed(
    app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped environment subscribes ``alarms.email`` to its alarm topic; once confirmed (moto confirms at once),
    ``ListSubscriptionsByTopic`` lists it with its ARN and the check passes."""
    run_doctor(app_dir, nameservers, Scenario())
    check = by_subject(report_of(capsys))["alarm topic AlarmsTopic3A2DFEBA subscribers"]
    assert check["status"] == "ok" and "email:ops@corp.example" in check["found"]


@pytest.mark.usefixtures("aws")
def test_alarm_subscription_pending(
    app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]
) -> None:
    """Subscribe: the response's SubscriptionArn is "The ARN of the subscription if it is confirmed, or the string
    'pending confirmation' if the subscription requires confirmation", and ListSubscriptionsByTopic lists an
    unconfirmed subscription as ``PendingConfirmation`` (SNS API reference; Stubber, since moto confirms every
    subscription at once). An e-mail subscription delivers nothing until confirmed: the doctor fails (issue 22)."""
    status = run_doctor(app_dir, nameservers, Scenario(alarm_subscriptions_pending=True))
    report = report_of(capsys)
    assert status == 1
    assert failing(report) == {"alarm topic AlarmsTopic3A2DFEBA subscribers"}
    check = by_subject(report)["alarm topic AlarmsTopic3A2DFEBA subscribers"]
    assert check["found"] == "pending confirmation: ops@corp.example"
    assert "confirmation message" in check["action"]


@pytest.mark.usefixtures("aws")
def test_alarm_topic_without_subscribers(
    app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]
) -> None:
    """No subscription on the alarm topic (deleted by hand): alarms reach nobody, the doctor fails."""
    status = run_doctor(app_dir, nameservers, Scenario(alarm_subscriptions_missing=True))
    report = report_of(capsys)
    assert status == 1
    assert failing(report) == {"alarm topic AlarmsTopic3A2DFEBA subscribers"}
    assert by_subject(report)["alarm topic AlarmsTopic3A2DFEBA subscribers"]["found"].startswith("no subscriptions")


@pytest.mark.usefixtures("aws")
def test_sandbox_fails_naming_forwarding_and_send_as(
    app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]
) -> None:
    """GetAccount ``ProductionAccessEnabled`` false: "When your account is in the sandbox, you can only send email to
    verified identities" (SES API Reference, GetAccount). ``example`` forwards to staff and has SMTP credentials: the
    doctor fails (not warns) and says which of the flow cannot work."""
    status = run_doctor(app_dir, nameservers, Scenario(production_access=False), environment="example")
    report = report_of(capsys)
    assert status == 1
    check = by_subject(report)["production access"]
    assert check["status"] == "fail"
    assert "forwarding to staff" in check["found"] and "SMTP credentials" in check["found"]


@pytest.mark.usefixtures("aws")
def test_staff_address_on_the_suppression_list(
    app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]
) -> None:
    """An address on the account-level suppression list: SES "accepts the message, but doesn't send it" (SES
    Developer Guide, "Using the Amazon SES account-level suppression list"); GetSuppressedDestination returns it
    (SES v2 API reference). A staff address there would lose every forward: the doctor fails and names the fix."""
    scenario = Scenario(suppressed_staff=("staff@corp.example",))
    status = run_doctor(app_dir, nameservers, scenario, environment="example")
    report = report_of(capsys)
    assert status == 1
    assert failing(report) == {"staff address staff@corp.example not suppressed"}
    action = by_subject(report)["staff address staff@corp.example not suppressed"]["action"]
    assert "delete-suppressed-destination --email-address staff@corp.example" in action
    assert "sesmail forward-deferred example" in action


@pytest.mark.usefixtures("aws")
def test_rule_set_not_active(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """ "You can have only one active receipt rule set per AWS Region" and SES rejects mail when none applies (SES
    Developer Guide, "Receipt rule sets"): a rule set that exists but is not active fails."""
    status = run_doctor(app_dir, nameservers, Scenario(activate_rule_set=False))
    report = report_of(capsys)
    assert status == 1
    assert failing(report) == {"active rule set"}
    assert "no active rule set" in by_subject(report)["active rule set"]["found"]


@pytest.mark.usefixtures("aws")
def test_identity_unverified(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """GetEmailIdentity's ``VerifiedForSendingStatus``: "if you can use the identity to send email" and its
    ``VerificationStatus`` ``PENDING`` while SES has not seen the DNS records (SES API Reference, GetEmailIdentity)."""
    status = run_doctor(app_dir, nameservers, Scenario(verified=False))
    report = report_of(capsys)
    assert status == 1
    assert failing(report) == {"example.com verified"}
    assert by_subject(report)["example.com DKIM"]["status"] == "warn"


@pytest.mark.usefixtures("aws")
def test_identity_policy_missing_workmail_principal(
    app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seed's policy names an IAM user, not the service principal WorkMail calls SES as: the live policy differs
    from the declared one, and evaluating WorkMail's send against it gives the seed's 403 (DENY)."""
    status = run_doctor(app_dir, nameservers, Scenario(seed_principal=True))
    report = report_of(capsys)
    assert status == 1
    assert failing(report) == {"example.com identity policy sesmail-workmail-send", "example.com WorkMail may send"}
    assert "403" in by_subject(report)["example.com WorkMail may send"]["found"]


def test_bad_usage_exits_2(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown environment or a bad --nameserver port: one line on stderr naming the setting, exit 2."""
    assert sesmail_main(["doctor", "nope", "--app-dir", str(app_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"sesmail doctor: error: ENVIRONMENT: 'nope' is not in {app_dir}/cdk.json's environments"
        " (known: example, example-company, example-two-domains, example-workmail)"
    ]
    assert sesmail_main(["doctor", "example", "--app-dir", str(app_dir), "--nameserver", "127.0.0.1:99999"]) == 2
    assert "--nameserver: '127.0.0.1:99999': port '99999' is not 1-65535" in capsys.readouterr().err
    assert sesmail_main(["doctor"]) == 2


def test_dkim_records_helper() -> None:
    """The fixture's DKIM records are three distinct CNAMEs."""
    assert len(set(dkim_records("example.com"))) == 3


@pytest.mark.usefixtures("aws")
def test_workmail_free_environment(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """``example`` (parse, forward, SMTP credentials): the SMTP secret exists and the access key the custom resource
    made (its physical id) is ``Active`` in IAM's ListAccessKeys; no WorkMail check runs."""
    status = run_doctor(app_dir, nameservers, Scenario(), environment="example")
    report = report_of(capsys)
    assert failing(report) == set(), report
    assert status == 0
    smtp = [c for c in report["checks"] if c["area"] == "smtp"]
    # ... and the stack's failure queue (the parser's and forwarder's on-failure destination) is empty.
    assert [c["found"] for c in smtp] == ["exists", "Active", "empty"]
    assert not any("WorkMail" in c["subject"] for c in report["checks"])


@pytest.mark.usefixtures("aws")
def test_smtp_key_inactive(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """An SMTP user's access key made ``Inactive`` (IAM UpdateAccessKey) no longer authenticates: the check fails."""
    original = Deployment.stub_responses

    def deactivate(self: Deployment) -> None:
        original(self)
        key_id = next(pid for lid, pid in self.physical.items() if self.types[lid] == "Custom::SesSmtpCredentials")
        user = next(pid for lid, pid in self.physical.items() if self.types[lid] == "AWS::IAM::User")
        self.client("iam").update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Deployment, "stub_responses", deactivate)
        status = run_doctor(app_dir, nameservers, Scenario(), environment="example")
    report = report_of(capsys)
    assert status == 1
    (subject,) = failing(report)
    assert subject.startswith("SMTP access key ") and by_subject(report)[subject]["found"] == "Inactive"


def _round_trip_live(app_dir: Path, environment: str) -> tuple[Any, Deployment]:
    from sesmail.doctor.live import connect

    env = load_environment(app_dir, environment)
    deployment = Deployment(env, Scenario())
    deployment.stub_responses()
    live = connect(env, deployment.factory)
    deployment.stubber("sesv2")  # a fresh sesv2 stub: the round trip asks only SendEmail
    return live, deployment


@pytest.mark.usefixtures("aws")
def test_round_trip_times_out_with_progress(app_dir: Path) -> None:
    """Nothing arrives: the wait ends at the bound, with a progress line per poll, and the stored hop fails."""
    from sesmail.doctor import round_trip

    live, deployment = _round_trip_live(app_dir, "example-workmail")
    _, sesv2 = deployment.stubbed["sesv2"]
    sesv2.add_response("send_email", {"MessageId": "0100-test"})
    now = [0.0]
    progress: list[str] = []
    checks = round_trip.run(
        live,
        timeout=20,
        interval=5,
        progress=progress.append,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert [c.status for c in checks] == ["ok", "fail"]
    assert checks[1].found == "not arrived" and checks[1].subject.startswith("stored in s3://")
    assert progress == [f"waiting until stored: {t}s of 20s" for t in (0, 5, 10, 15)]


@pytest.mark.usefixtures("aws")
def test_round_trip_reports_each_hop(app_dir: Path) -> None:
    """The message stored under the recipient's prefix (written here as SES's S3 action would, since moto does not run
    receipt rules) and its parsed ``parsed/<key>.json``: each hop reported with its time."""
    from sesmail.doctor import round_trip

    live, deployment = _round_trip_live(app_dir, "example")
    _, sesv2 = deployment.stubbed["sesv2"]
    sent: dict[str, str] = {}

    def capture(**kwargs: Any) -> None:
        sent["subject"] = kwargs["Content"]["Simple"]["Subject"]["Data"]

    sesv2.add_response("send_email", {"MessageId": "0100-test"})
    deployment.stubbed["sesv2"][0].meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: capture(**params)
    )
    bucket = next(pid for lid, pid in deployment.physical.items() if lid.startswith("MailBucket7A"))
    s3 = deployment.client("s3")
    # In-process moto sees no TLS, so the policy's aws:SecureTransport deny would refuse every object call here.
    s3.delete_bucket_policy(Bucket=bucket)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] == 5:
            s3.put_object(
                Bucket=bucket, Key="support/abc123", Body=f"Subject: {sent['subject']}\\r\\n\\r\\nhi".encode()
            )
        if now[0] == 10:
            s3.put_object(Bucket=bucket, Key="parsed/support/abc123.json", Body=b"{}")

    checks = round_trip.run(live, timeout=60, interval=5, clock=lambda: now[0], sleep=sleep)
    assert [(c.subject.split(" ")[0], c.status) for c in checks] == [
        ("sent", "ok"),
        ("stored", "ok"),
        ("parsed", "ok"),
        ("forwarded", "warn"),
    ]
    assert checks[1].found == "5.0s (support/abc123)"
    assert checks[2].found == "10.0s (parsed/support/abc123.json)"


def test_doctor_does_not_load_aws_cdk() -> None:
    """The doctor reads JSON templates: running its modules never imports aws-cdk-lib (and its Node runtime)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sesmail.doctor import auth_checks, cli, dns_checks, receiving_checks, round_trip\n"
        "from sesmail.doctor import ses_checks, smtp_checks\n"
        "from sesmail.policy.cli import build_parser\n"
        "build_parser(with_check=False).parse_args(['doctor', 'example'])\n"
        "assert not [m for m in sys.modules if m.startswith(('aws_cdk', 'jsii'))], 'aws_cdk imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("recipients", "status"),
    [(["example.com"], "ok"), (["info@example.com", "support@example.com"], "fail")],
)
def test_workmail_rule_must_deliver_every_mailbox(
    app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str], recipients: list[str], status: str
) -> None:
    """Beside WorkMail the stack's rules only store: WorkMail's own rule must deliver every mailbox (a domain in a
    rule's recipients matches every address at it, SES Developer Guide "Receipt rules": "example.com" matches all
    addresses in the domain); a mailbox it does not deliver fails, naming the address."""
    run_doctor(app_dir, nameservers, Scenario(workmail_rule_set_recipients=recipients))
    check = by_subject(report_of(capsys))["active rule set"]
    assert check["status"] == status
    assert check["found"].startswith("INBOUND_MAIL")
    if status == "fail":
        assert "register@example.com" in check["found"]


@pytest.mark.usefixtures("aws")
def test_dmarc_differs(app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]) -> None:
    """A published DMARC policy stricter than synthesized warns and names each differing tag."""
    records = [r for r in good_zone_records(REGION) if not r.startswith("_dmarc")]
    records.append('_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"')
    assert run_doctor(app_dir, nameservers, Scenario(), records) == 0
    check = by_subject(report_of(capsys))["_dmarc.example.com TXT"]
    assert check["status"] == "warn"
    assert "p=reject (synth: none)" in check["found"] and "rua=mailto:d@example.com (synth: (absent))" in check["found"]


@pytest.mark.usefixtures("aws")
def test_failure_queue_not_empty(app_dir: Path) -> None:
    """A failure queue (an on-failure destination of an EventInvokeConfig) with messages fails; empty is ok.
    ``ApproximateNumberOfMessages`` counts the messages available for retrieval (SQS API Reference,
    GetQueueAttributes)."""
    import dataclasses

    from sesmail.doctor import smtp_checks
    from sesmail.doctor.live import connect

    env = load_environment(app_dir, "example-workmail")
    resources = dict(env.resources)
    resources["FailedEvents"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    resources["ParserInvokeConfig"] = {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {"DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["FailedEvents", "Arn"]}}}},
    }
    env = dataclasses.replace(env, template={**env.template, "Resources": resources})
    deployment = Deployment(env, Scenario())
    sqs = deployment.client("sqs")
    url = sqs.create_queue(QueueName="failed-events")["QueueUrl"]
    deployment.physical["FailedEvents"], deployment.types["FailedEvents"] = url, "AWS::SQS::Queue"
    deployment.stub_responses()
    live = connect(env, deployment.factory)
    assert [c.status for c in smtp_checks.queues(live)] == ["ok"]
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    (check,) = smtp_checks.queues(live)
    assert (check.status, check.found) == ("fail", "1 message(s)")


@pytest.mark.usefixtures("aws")
def test_workmail_end_of_support_warning(
    app_dir: Path, nameservers: Nameservers, capsys: pytest.CaptureFixture[str]
) -> None:
    """While an environment has ``workmail`` settings the doctor warns with the days left until AWS ends WorkMail
    ("On March 31, 2027, AWS will end support for Amazon WorkMail", the notice on every WorkMail page); the clock is
    the conftest's pinned date (2026-12-07). A warning leaves the exit status alone."""
    status = run_doctor(app_dir, nameservers, Scenario())
    check = by_subject(report_of(capsys))["end of support"]
    assert status == 0
    assert check["status"] == "warn" and check["area"] == "workmail"
    assert check["found"].endswith("114 day(s) left until 2027-03-31")
