"""Time: the system clock (tests pass their own) and the Polish calendar day of a moment.

Timestamps are UTC; dates (since, until, deadlines, code validity) are Polish calendar days, so
a client registered at 00:30 in Warsaw starts that day, not the UTC day before.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

POLAND = ZoneInfo("Europe/Warsaw")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def local_date(moment: datetime) -> date:
    return moment.astimezone(POLAND).date()
