"""A deployment's monitoring settings, its watch and its drift reference, kept the one way:
options checked against a table of ranges (docs/monitoring.md), a period that does not end
before it starts, and one row per deployment, created or updated in place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db import models

from radgov.exams.errors import Problem
from radgov.inventory.models import Deployment

Row = TypeVar("Row", bound=models.Model)
Ranges = Mapping[str, Callable[[Any], bool]]


def problems_of(
    what: str, ranges: Ranges, options: Mapping[str, Any], period: Mapping[str, dt.date]
) -> list[Problem]:
    """Each option that is not a setting of ``what`` or is out of its range, and the
    ``period`` ({start name: day, end name: day}) if it ends before it starts."""
    (start_name, start), (end_name, end) = period.items()
    found = [Problem(end_name, f"is before {start_name}")] if end < start else []
    found += [Problem(k, f"is not a setting of {what}") for k in options if k not in ranges]
    found += [
        Problem(k, "is out of range (docs/monitoring.md)")
        for k, v in options.items()
        if k in ranges and not ranges[k](v)
    ]
    return found


def store_settings(model: type[Row], deployment: Deployment, values: Mapping[str, Any]) -> Row:
    """The deployment's one row of ``model`` (created if it has none) with ``values`` saved."""
    manager = model._default_manager
    row = manager.filter(deployment=deployment).first() or model(deployment=deployment)
    for key, value in values.items():
        setattr(row, key, value)
    row.save()
    return row
