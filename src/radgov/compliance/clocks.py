"""The HIPAA breach-notification clocks of an incident (45 CFR 164.404-164.408), pure.

* individuals: without unreasonable delay and no later than 60 calendar days after
  discovery (164.404(b));
* media: 500 or more residents of one state, the same 60 days (164.406(b));
* the Secretary (HHS): 500 or more affected, at the same time as the individuals
  (164.408(b)); fewer than 500, logged and reported no later than 60 days after the end of
  the calendar year of discovery (164.408(c)).

The clocks run once the incident is decided a breach; while it is undecided they are shown
as they would run, since the 60 days start at discovery, not at the decision.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

NOTICE_DAYS = 60
LARGE_BREACH = 500


@dataclass(frozen=True)
class Deadline:
    notice: str
    due: dt.date
    done_on: dt.date | None
    basis: str

    def days_left(self, today: dt.date) -> int:
        return (self.due - today).days

    def overdue(self, today: dt.date) -> bool:
        return self.done_on is None and today > self.due


def deadlines(
    *,
    discovered_on: dt.date,
    affected: int,
    most_in_one_state: int | None,
    individuals_on: dt.date | None = None,
    hhs_on: dt.date | None = None,
    media_on: dt.date | None = None,
) -> list[Deadline]:
    """Every notice owed for a breach discovered on ``discovered_on`` affecting ``affected``."""
    due = discovered_on + dt.timedelta(days=NOTICE_DAYS)
    owed = [Deadline("individuals", due, individuals_on, "45 CFR 164.404(b): 60 days")]
    if affected >= LARGE_BREACH:
        owed.append(
            Deadline("HHS", due, hhs_on, "45 CFR 164.408(b): 500 or more, with the individuals")
        )
    else:
        year_end = dt.date(discovered_on.year, 12, 31)
        owed.append(
            Deadline(
                "HHS (annual log)",
                year_end + dt.timedelta(days=NOTICE_DAYS),
                hhs_on,
                "45 CFR 164.408(c): fewer than 500, 60 days after the calendar year ends",
            )
        )
    if (most_in_one_state or 0) >= LARGE_BREACH:
        owed.append(
            Deadline("media", due, media_on, "45 CFR 164.406: 500 or more residents of a state")
        )
    return owed
