"""How long each data class is kept: the defaults a US practice starts from, and the policy in
force (a ``RetentionPolicy`` row once the compliance role changed the default).

Defaults (docs/retention.md): exam records and AI results seven years, the span most US
states ask of adult medical records (several ask more: set yours); AI result objects and
report text the same; the gateway's spool 30 days (a transit copy: the PACS keeps the
images); monitoring's comparisons three years (their daily counts stay); cases files left
waiting for a run a week; de-identification job inputs and outputs one year.  The audit trail is kept at least six years
(HIPAA asks six years of the documentation it is part of, 45 CFR 164.316(b)(2)): a floor no
policy goes below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from radgov.compliance.models.retention import DataClass, RetentionPolicy


@dataclass(frozen=True)
class Policy:
    data_class: str
    days: int
    legal_minimum_days: int
    note: str
    changed: bool  # False: the default

    @property
    def label(self) -> str:
        return str(DataClass(self.data_class).label)

    def cutoff(self, now: dt.datetime | None = None) -> dt.datetime:
        """Data dated before this is past its retention."""
        return (now or timezone.now()) - dt.timedelta(days=self.days)


SEVEN_YEARS = 7 * 365 + 2

DEFAULTS: dict[str, tuple[int, str]] = {
    DataClass.EXAMS: (SEVEN_YEARS, "seven years, as most US states ask of adult records"),
    DataClass.SPOOL: (30, "30 days; a transit copy, the PACS keeps the images"),
    DataClass.RESULT_OBJECTS: (SEVEN_YEARS, "as long as the exam record they belong to"),
    DataClass.REPORTS: (SEVEN_YEARS, "as long as the exam record; the RIS keeps the original"),
    DataClass.MONITORING_EVENTS: (
        3 * 365 + 1,
        "three years of comparisons; their daily counts are kept after",
    ),
    DataClass.CASE_FILES: (7, "a week; a cases file lives only until its run"),
    DataClass.DEID_JOBS: (365, "one year; the output is de-identified, the input is PHI"),
    DataClass.AUDIT_TRAIL: (SEVEN_YEARS, "seven years; never less than six (45 CFR 164.316)"),
}

# the shortest retention radgov allows, whatever the practice sets
FLOORS: dict[str, tuple[int, str]] = {
    DataClass.AUDIT_TRAIL: (6 * 365 + 1, "HIPAA's six years (45 CFR 164.316(b)(2))"),
}


def policy(data_class: str) -> Policy:
    row = RetentionPolicy.objects.filter(data_class=data_class).first()
    floor = FLOORS.get(data_class, (0, ""))[0]
    if row is not None:
        minimum = max(row.legal_minimum_days, floor)
        return Policy(row.data_class, row.days, minimum, row.note, True)
    days, note = DEFAULTS[DataClass(data_class)]
    return Policy(str(data_class), days, floor, note, False)


def policies() -> list[Policy]:
    return [policy(c) for c in DataClass.values]
