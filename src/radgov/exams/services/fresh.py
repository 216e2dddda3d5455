"""The bulk path's fast lane: events on studies radgov has not recorded, written as whole
columns (issue 17).

``bulk.record_events`` hands over the events that create their exam: the study is not
recorded and no other event of the batch names it, and its inference (if any) is new and
makes at most one move from ``received`` that the status table allows, that no guard holds
back, that releases nothing (no direct release) and whose time is not ahead of the clock.
Their exams, inferences and status history go in through the core's audited ``ingest`` (COPY
on PostgreSQL) inside the batch's one audit entry, the study UIDs encrypted and every keyed
hash made a column at a time; what is stored is what the row-by-row path
(``bulk._write``) would store.  Every other event takes that path.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from radgov.core import crypto, identity
from radgov.exams import access, moves
from radgov.exams.errors import BatchError, Problem
from radgov.exams.metadata import EXAM_FIELDS
from radgov.exams.models import Exam, Inference, ReleaseMode, StatusChange
from radgov.exams.reasons import explain
from radgov.exams.services.exam import STUDY_UID_NAMESPACE
from radgov.exams.services.inference import CLOCK_SLACK, EVENT_NAMESPACE
from radgov.exams.statuses import Status

if TYPE_CHECKING:
    from radgov.exams.services.bulk import Checked, Place

FROM_RECEIVED = frozenset({Status.RECEIVED, *moves.ALLOWED[Status.RECEIVED]})
EXAM_COLUMNS = (
    "study_uid_hash", "study_uid_encrypted", "patient_id", "accession_id", "source",
    "created_at", "updated_at", *EXAM_FIELDS,
)  # fmt: skip
INFERENCE_COLUMNS = (
    "exam_id", "deployment_id", "status", "status_at", "reason_code", "reason", "score", "call",
    "confidence", "findings", "model_version", "vendor_status", "vendor_reason", "created_at",
    "inferred_at",
)  # fmt: skip
HISTORY_COLUMNS = (
    "inference_id", "from_status", "to_status", "at", "recorded_at", "actor_id", "actor_name",
    "reason_code", "reason", "vendor_status", "vendor_reason", "key_hash",
)  # fmt: skip
NO_OUTPUTS: dict[str, Any] = {
    "score": None,
    "call": "",
    "confidence": None,
    "findings": [],
    "model_version": "",
}


def fresh(checked: Sequence[Checked]) -> tuple[list[int], list[str]]:
    """(the indexes of the events for the fast lane, every event's study UID hash)."""
    hashes = crypto.pseudonyms([c.study.study_uid for c in checked], namespace=STUDY_UID_NAMESPACE)
    times = Counter(hashes)
    # one lookup, or as many as the database's limit on a statement's parameters needs
    # (SQLite's; PostgreSQL has none): each lookup is a statement the server plans and runs
    step = connections[Exam.objects.db].features.max_query_params or len(hashes) or 1
    recorded: set[str] = set()
    for start in range(0, len(hashes), step):
        recorded.update(
            Exam.objects.filter(study_uid_hash__in=hashes[start : start + step]).values_list(
                "study_uid_hash", flat=True
            )
        )
    from radgov.exams.services.review import policy_of  # review builds on this

    deployments = {c.deployment.pk: c.deployment for c in checked if c.deployment is not None}
    direct = {
        pk for pk, d in deployments.items() if policy_of(d).mode == ReleaseMode.DIRECT_RELEASE
    }
    latest = timezone.now() + CLOCK_SLACK
    return [
        index
        for index, (c, uid_hash) in enumerate(zip(checked, hashes, strict=True))
        if times[uid_hash] == 1 and uid_hash not in recorded and _simple(c, direct, latest)
    ], hashes


def _simple(c: Checked, direct: set[int], latest: dt.datetime) -> bool:
    if c.deployment is None:
        return True
    if c.status not in FROM_RECEIVED or (c.at is not None and c.at > latest):
        return False
    if c.outputs is not None and c.deployment.pk in direct:
        return False  # a direct release sends the result out: the row-by-row path does it
    if c.status == Status.RECEIVED or not moves.guarded(c.status):
        return True
    outputs = {k: v for k, v in (c.outputs or {}).items() if k in NO_OUTPUTS}
    before = Inference(deployment=c.deployment, status=Status.RECEIVED, **outputs)
    return not moves.missing_for(before, c.status)


def write(
    actor: Any,
    checked: Sequence[Checked],
    indexes: list[int],
    hashes: list[str],
    *,
    source: str,
    place: Place,
    on_event: Callable[[int], None] | None,
) -> Counter[str]:
    """Store the fast lane's events (inside the batch); the counts ``BatchResult`` adds."""
    now = timezone.now().astimezone(dt.UTC)
    items = [checked[i] for i in indexes]
    patients, accessions = _identities(items, indexes, place)
    metadata = itemgetter(*EXAM_FIELDS)
    exams = [  # a study's empty values are the columns' defaults ("", None, unknown contrast)
        (hashes[index], c.study.study_uid, patient, accession, source, now, now,
         *metadata(c.study.fields))
        for index, c, patient, accession in zip(indexes, items, patients, accessions, strict=True)
    ]  # fmt: skip
    try:
        with transaction.atomic():  # a savepoint: a concurrent source may record one first
            exam_keys = Exam.objects.ingest(EXAM_COLUMNS, exams)
    except IntegrityError:
        raise BatchError(
            [Problem("", "another source recorded a study of this batch meanwhile; send it again")]
        ) from None
    inferred = [(key, c) for key, c in zip(exam_keys, items, strict=True) if c.deployment]
    counts = Counter(created=len(items), inference=len(inferred))
    counts["move"] = _inferences(actor, inferred, now)
    if on_event is not None:
        for index in indexes:
            on_event(index)
    return counts


def _inferences(actor: Any, inferred: list[tuple[int, Checked]], now: dt.datetime) -> int:
    """The inferences of the new exams and their history; how many moved past received."""
    rows, moved = [], []
    received, inferred_ = Status.RECEIVED, Status.INFERRED  # an enum's member, looked up once
    for exam_key, c in inferred:
        assert c.deployment is not None and c.status is not None  # noqa: S101 - fresh() kept them
        when = (c.at or now).astimezone(dt.UTC)
        target = Status(c.status)
        code, text = explain(target, c.reason_code, c.reason) if target != received else ("", "")
        outputs = dict(c.outputs) if c.outputs is not None else None
        vendor = c.vendor if outputs is None else {k: outputs.pop(k) for k in c.vendor}
        values = {**NO_OUTPUTS, **(outputs or {})}
        rows.append(
            (exam_key, c.deployment.pk, target.value, when, code, text, values["score"],
             values["call"], values["confidence"], values["findings"], values["model_version"],
             vendor["vendor_status"], vendor["vendor_reason"], now,
             when if target == inferred_ else None)
        )  # fmt: skip
        if target != received:
            moved.append((len(rows) - 1, target.value, when, code, text, vendor, c.event_id))
    keys = Inference.objects.ingest(INFERENCE_COLUMNS, rows)
    person = getattr(access.actor_person(actor), "pk", None)
    name = access.actor_name(actor)
    first = received.value
    history = [
        (key, "", first, row[3], now, person, name, "", "", "", "", None)
        for key, row in zip(keys, rows, strict=True)
    ]
    event_ids = [m[6] for m in moved if m[6]]
    event_keys = iter(crypto.pseudonyms(event_ids, namespace=EVENT_NAMESPACE))
    history.extend(
        (keys[i], first, target, when, now, person, name, code, text,
         vendor["vendor_status"], vendor["vendor_reason"], next(event_keys) if event_id else None)
        for i, target, when, code, text, vendor, event_id in moved
    )  # fmt: skip
    StatusChange.objects.ingest(HISTORY_COLUMNS, history)
    return len(moved)


def _identities(
    items: list[Checked], indexes: list[int], place: Place
) -> tuple[list[int | None], list[int | None]]:
    """The patient and accession keys of each item, each identity looked up or made once
    by the services the row-by-row path calls, with its refusal."""
    patients: dict[tuple[str, str], Any] = {}
    accessions: dict[tuple[str, str], Any] = {}
    patient_keys: list[int | None] = []
    accession_keys: list[int | None] = []
    for index, c in zip(indexes, items, strict=True):
        s, patient, accession = c.study, None, None
        if s.patient_id:
            key = (s.patient_id, s.patient_issuer)
            if key not in patients:
                patients[key] = identity.get_or_create_patient(key[0], issuer=key[1])
            patient = patients[key]
        if s.accession_number and patient is not None:  # an accession needs its patient
            key = (s.accession_number, s.accession_issuer)
            try:
                if key not in accessions:
                    accessions[key] = identity.get_or_create_accession(
                        key[0], patient=patient, issuer=key[1]
                    )
                accession = accessions[key]
                if accession.patient_id != patient.pk:
                    raise identity.IdentityConflict("another patient's accession")
            except identity.IdentityConflict:
                raise BatchError(
                    [Problem(place(index, "accession_number"), "is registered to another patient")]
                ) from None
        patient_keys.append(patient.pk if patient else None)
        accession_keys.append(accession.pk if accession else None)
    return patient_keys, accession_keys
