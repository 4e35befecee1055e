"""``sesmail doctor``'s WorkMail end-of-support check, with its clock injected.

AWS's notice on every WorkMail page (e.g. https://docs.aws.amazon.com/workmail/latest/APIReference/
API_ListMailboxExportJobs.html): "End of support notice: On March 31, 2027, AWS will end support for Amazon WorkMail.
After March 31, 2027, you will no longer be able to access the WorkMail console or WorkMail resources."
"""

from __future__ import annotations

from datetime import date

import pytest

from sesmail.doctor.workmail_checks import END_OF_SUPPORT, run

WORKMAIL = {"workmail": {"organizationId": "m-0123456789abcdef0123456789abcdef"}}


@pytest.mark.parametrize(
    ("today", "status", "found"),
    [
        (date(2026, 12, 7), "warn", "114 day(s) left until 2027-03-31"),
        (date(2027, 3, 31), "warn", "0 day(s) left until 2027-03-31"),  # the last day WorkMail is there
        (date(2027, 4, 1), "fail", "WorkMail ended 1 day(s) ago"),
    ],
)
def test_days_left_while_the_environment_uses_workmail(today: date, status: str, found: str) -> None:
    (check,) = run(WORKMAIL, lambda: today)
    assert (check.area, check.subject, check.status) == ("workmail", "end of support", status)
    assert found in check.found and "m-0123456789abcdef0123456789abcdef" in check.found
    assert "docs/leaving-workmail.md" in check.action


def test_nothing_without_workmail() -> None:
    assert list(run({"domain": "example.com"}, lambda: date(2027, 1, 1))) == []


def test_the_date_is_awss() -> None:
    assert date(2027, 3, 31) == END_OF_SUPPORT


def test_synth_reads_no_clock() -> None:
    """Only the doctor reads the date: no module of the construct library or the stacks imports the doctor's clock."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readers = [
        p.relative_to(root).as_posix()
        for folder in ("constructs/sesmail", "stacks")
        for p in (root / folder).rglob("*.py")
        if "workmail_checks" in p.read_text() or "date.today(" in p.read_text()
    ]
    assert all(r.startswith("constructs/sesmail/doctor/") for r in readers), readers
