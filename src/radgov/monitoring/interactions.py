"""Interaction events from a PACS or viewer (IV.G.3; issue 17; docs/monitoring.md,
"Interactions"): what each radiologist did with each AI result (viewed, accepted, modified,
rejected, dismissed, not opened), reported one at a time, as a CSV or Parquet file, or as an
NDJSON stream (``radgov.monitoring.bulk``).

Every row is checked before anything is stored, and every problem is listed with its place
(the line or row, and the column); one bad row refuses the whole batch.  An interaction names
its inference by ``inference_id``, or by ``study_instance_uid`` and ``deployment_id`` (what a
viewer knows), and its user by ``username``; an inference or user radgov does not hold is
refused.  The rows go in through the core's audited ``ingest`` (COPY on PostgreSQL, one audit
entry for the batch; decision 0002).  Messages never repeat a study UID.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from radgov.core import crypto
from radgov.core.audit import Action, EventCode, batch
from radgov.core.collector import collector_paused
from radgov.core.services import service
from radgov.exams import access
from radgov.exams.errors import BatchError, Problem
from radgov.exams.metadata import read_datetime
from radgov.exams.models import Inference
from radgov.exams.services.exam import study_uid_hash
from radgov.exams.statuses import Source
from radgov.monitoring.models import Interaction, InteractionAction

COLUMNS = ("inference_id", "study_instance_uid", "deployment_id", "username", "action", "at")
KNOWN = frozenset(COLUMNS)
ACTIONS = frozenset(InteractionAction.values)
MAX_PROBLEMS = 50  # listed in a refusal; a file of a million bad rows says the first ones

# where a problem is: (index of the row, column) -> "line 3, action"
Place = Callable[[int, str], str]


def item_place(index: int, name: str) -> str:
    return f"interactions[{index}].{name}"


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class _Checker:
    """Every row's problems, with the inferences and users looked up once for the batch."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], place: Place) -> None:
        self.place = place
        self.problems: list[Problem] = []
        ids = {_whole(r.get("inference_id")) for r in rows} - {None}
        self.known_ids = set(Inference.objects.filter(pk__in=ids).values_list("pk", flat=True))
        uids = {str(r["study_instance_uid"]).strip() for r in rows if r.get("study_instance_uid")}
        self.hashes = {uid: study_uid_hash(crypto.normalize(uid)) for uid in uids}
        self.by_study = {
            (h, d): pk
            for h, d, pk in Inference.objects.filter(
                exam__study_uid_hash__in=self.hashes.values()
            ).values_list("exam__study_uid_hash", "deployment_id", "pk")
        }
        names = {str(r.get("username") or "").strip() for r in rows} - {""}
        self.users = dict(
            get_user_model()
            .objects.filter(username__in=names, is_active=True)
            .values_list("username", "pk")
        )

    def bad(self, index: int, name: str, message: str) -> None:
        self.problems.append(Problem(self.place(index, name), message))

    def inference(self, index: int, row: Mapping[str, Any]) -> int | None:
        given = row.get("inference_id")
        uid = str(row.get("study_instance_uid") or "").strip()
        if given not in (None, ""):
            pk = _whole(given)
            if pk is None:
                self.bad(index, "inference_id", "must be a whole number (radgov's inference id)")
            elif pk not in self.known_ids:
                self.bad(index, "inference_id", f"inference {pk} is not recorded in radgov")
            return pk
        if not uid:
            self.bad(index, "inference_id", "is required (or study_instance_uid and deployment_id)")
            return None
        deployment = _whole(row.get("deployment_id"))
        if deployment is None:
            self.bad(index, "deployment_id", "is required with study_instance_uid (a whole number)")
            return None
        pk = self.by_study.get((self.hashes[uid], deployment))
        if pk is None:
            self.bad(
                index, "study_instance_uid",
                f"names no inference of deployment {deployment} recorded in radgov",
            )  # fmt: skip
        return pk

    def row(self, index: int, row: Mapping[str, Any], now: dt.datetime) -> tuple[Any, ...] | None:
        before = len(self.problems)
        unknown = sorted(row.keys() - KNOWN)
        if unknown:
            self.bad(index, "", f"has unknown fields: {', '.join(n[:40] for n in unknown)}")
        inference = self.inference(index, row)
        name = str(row.get("username") or "").strip()
        user = self.users.get(name)
        if not name:
            self.bad(index, "username", "is required (the radiologist's radgov account)")
        elif user is None:
            self.bad(index, "username", "names no active radgov account")
        action = str(row.get("action") or "").strip().lower()
        if action not in ACTIONS:
            self.bad(index, "action", f"must be one of {', '.join(InteractionAction.values)}")
        try:
            at = read_datetime(row.get("at"), now=now)
        except ValueError as exc:
            self.bad(index, "at", str(exc))
            at = None
        else:
            if at is None:
                self.bad(index, "at", "is required (when it happened, ISO 8601)")
        if len(self.problems) > before:
            return None
        assert at is not None  # noqa: S101 - checked above
        return (inference, user, action, at.astimezone(dt.UTC), now)


def check(rows: Sequence[Mapping[str, Any]], place: Place) -> list[tuple[Any, ...]]:
    """The rows as ``Interaction`` values (``inference_id, user_id, action, at,
    recorded_at``), or ``BatchError`` listing every problem (the first ``MAX_PROBLEMS``)."""
    if not rows:
        raise BatchError([Problem("", "there are no interactions")])
    checker = _Checker(rows, place)
    now = timezone.now().astimezone(dt.UTC)
    values = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            checker.bad(index, "", "is not an object of named fields")
            continue
        checked = checker.row(index, row, now)
        if checked is not None:
            values.append(checked)
    if checker.problems:
        extra = len(checker.problems) - MAX_PROBLEMS
        shown = checker.problems[:MAX_PROBLEMS]
        if extra > 0:
            shown.append(Problem("", f"and {extra} more problems"))
        raise BatchError(shown)
    return values


@collector_paused()  # the batch makes many objects: see radgov.core.collector
@service
def record_interactions(
    actor: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    source: str = Source.API,
    what: str = "interactions",
    place: Place = item_place,
) -> int:
    """Store every row or none; returns how many were stored.  Imaging informatics,
    administrators and machines that record exams (a PACS's interface) may."""
    access.require_write(actor)
    values = check(rows, place)
    with batch(
        action=Action.IMPORT,
        object_type="monitoring.interactions",
        event_code=EventCode.IMPORT,
        detail={"what": what, "source": str(source), "count": len(values)},
    ):
        Interaction.objects.ingest(
            ["inference_id", "user_id", "action", "at", "recorded_at", "source"],
            [(*row, str(source)) for row in values],
        )
    return len(values)
