"""Sane bounds for the dates a person types: the services check them, so a page and the
API refuse alike, with the field, the value and the range in one sentence.

No imaging AI record predates 1990 (the first FDA-cleared imaging CAD came in 1998), and
a governance record is written about the past or the near future: a meeting scheduled
two years ahead is plausible, one in the year 9999 is a typing slip."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

EARLIEST = dt.date(1990, 1, 1)


def years_from_today(years: int) -> dt.date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)


def date_refusal(
    field: str,
    value: dt.date | None,
    *,
    what: str,
    not_after: dt.date,
    not_before: dt.date = EARLIEST,
) -> str | None:
    """None when ``value`` (or no value) lies in the range; otherwise the refusal."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not_before <= value <= not_after:
        return None
    return (
        f"{field}: {value:%Y-%m-%d} is not a plausible date for {what}; give a date from "
        f"{not_before:%Y-%m-%d} to {not_after:%Y-%m-%d}"
    )


def past_refusal(field: str, value: dt.date | None, *, what: str) -> str | None:
    """For something that has happened: from 1990 to today."""
    return date_refusal(field, value, what=what, not_after=timezone.localdate())


def planned_refusal(field: str, value: dt.date | None, *, what: str, years: int = 2) -> str | None:
    """For something that happened or is planned: from 1990 to ``years`` ahead."""
    return date_refusal(field, value, what=what, not_after=years_from_today(years))
