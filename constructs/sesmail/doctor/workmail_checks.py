"""WorkMail's end of support: a warning, with the days left, while an environment still depends on WorkMail.

AWS, on every WorkMail API and guide page: "End of support notice: On March 31, 2027, AWS will end support for Amazon
WorkMail. After March 31, 2027, you will no longer be able to access the WorkMail console or WorkMail resources."
(e.g. https://docs.aws.amazon.com/workmail/latest/APIReference/API_ListMailboxExportJobs.html; details:
https://docs.aws.amazon.com/workmail/latest/adminguide/workmail-end-of-support.html).

Only the doctor reads the date (synth stays clock-free); :func:`today` is the one clock, replaced in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from .checks import Check, fail, warn

AREA = "workmail"
#: The last day of WorkMail ("After March 31, 2027, you will no longer be able to access ... WorkMail resources").
END_OF_SUPPORT = date(2027, 3, 31)
RUNBOOK = "docs/leaving-workmail.md"


def today() -> date:
    """The current UTC date (the doctor's only clock)."""
    return datetime.now(UTC).date()


def run(settings: Mapping[str, Any], clock: Callable[[], date] = today) -> Iterator[Check]:
    """A warning while the environment's settings have a ``workmail`` section (a failure once WorkMail has ended)."""
    workmail = settings.get("workmail")
    if not isinstance(workmail, Mapping):
        return
    organization = workmail.get("organizationId", "?")
    left = (END_OF_SUPPORT - clock()).days
    expected = f"no dependency on WorkMail by {END_OF_SUPPORT:%Y-%m-%d} (AWS's end of support)"
    action = f"leave WorkMail: inventory, export and cut over as {RUNBOOK} describes"
    if left >= 0:
        found = f"settings use organization {organization}: {left} day(s) left until {END_OF_SUPPORT:%Y-%m-%d}"
        yield warn(AREA, "end of support", expected, found, action)
    else:
        found = f"settings use organization {organization}: WorkMail ended {-left} day(s) ago"
        yield fail(AREA, "end of support", expected, found, action)
