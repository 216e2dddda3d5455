"""Exams: created, enriched by a later source, or refused when a source disagrees."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from radgov.core import crypto, identity
from radgov.core.models import AccessionIdentity, PatientIdentity
from radgov.core.models.lookup import Lookup
from radgov.core.services import service
from radgov.exams import access
from radgov.exams.errors import ExamConflict, Problem
from radgov.exams.metadata import StudyMetadata, ValidStudy
from radgov.exams.models import Exam
from radgov.exams.statuses import Contrast, Source

STUDY_UID_NAMESPACE = "exams:study_uid"

CREATED, ENRICHED, UNCHANGED = "created", "enriched", "unchanged"
# an exam by its study's keyed hash, locked (made once: routing records an exam per study)
_LOCKED = Lookup[Exam](
    lambda key: Exam.objects.select_for_update().filter(study_uid_hash=key).order_by("pk")[:1]
)


@dataclass(frozen=True)
class Recorded:
    exam: Exam
    outcome: str  # created, enriched or unchanged

    @property
    def created(self) -> bool:
        """The exam is new in this transaction: nothing refers to it yet."""
        return self.outcome == CREATED


def study_uid_hash(study_uid: str) -> str:
    return crypto.pseudonym(study_uid, namespace=STUDY_UID_NAMESPACE)


def find_exam(study_uid: str) -> Exam | None:
    """The exam of a Study Instance UID, found by its keyed hash (nothing decrypted)."""
    return Exam.objects.filter(study_uid_hash=study_uid_hash(crypto.normalize(study_uid))).first()


@service
def record_exam(actor: Any, meta: StudyMetadata, *, source: str) -> Recorded:
    """Create the exam of ``meta``'s study, or enrich the one recorded, or refuse a
    disagreement with every field named (nothing changes).  docs/exams.md."""
    return record_within(actor, meta, source=source)


def record_within(actor: Any, meta: StudyMetadata, *, source: str, new: bool = False) -> Recorded:
    """``record_exam`` inside the caller's service (routing's, for every study: as a nested
    service it would cost a savepoint, two statements).  ``new``: the caller found no exam
    of this study in its transaction (routing reads that with the study it locks), so none
    is looked up again; should another source record it meanwhile, the insert fails with
    ``IntegrityError`` and so does the caller's transaction (``record_valid``)."""
    access.require_write(actor)
    return record_valid(meta.validated(), source=Source(source), new=new)


def record_valid(study: ValidStudy, *, source: str, new: bool = False) -> Recorded:
    """``record_exam`` for an already validated study (the bulk path); inside a service.
    An exam another source records meanwhile is found when the insert conflicts, as when
    the lookup found none; with ``new`` (see ``record_within``) the conflict is the caller's:
    its transaction fails (``IntegrityError``) and the caller does it again, when the exam
    is found (no savepoint, two statements, for a conflict that seldom happens)."""
    uid_hash = study_uid_hash(study.study_uid)
    found = [] if new else _LOCKED(uid_hash)
    exam = found[0] if found else None
    if exam is None:
        exam = Exam(study_uid_hash=uid_hash, study_uid_encrypted=study.study_uid, source=source)
        _apply(exam, study, _changes(exam, study, new=True))
        if new:
            exam.save()
            return Recorded(exam, CREATED)
        try:
            with transaction.atomic():  # a concurrent source may create it first
                exam.save()
        except IntegrityError:
            exam = Exam.objects.select_for_update().get(study_uid_hash=uid_hash)
        else:
            return Recorded(exam, CREATED)
    changes = _changes(exam, study, new=False)
    if not changes:
        return Recorded(exam, UNCHANGED)
    _apply(exam, study, changes)
    exam.save()
    return Recorded(exam, ENRICHED)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == Contrast.UNKNOWN


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        return math.isclose(float(old), float(new), rel_tol=1e-9, abs_tol=1e-6)
    if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
        return old == new
    return bool(old == new)


def _changes(exam: Exam, study: ValidStudy, *, new: bool) -> dict[str, Any]:
    """The fields ``study`` fills in; raises ``ExamConflict`` naming every field where it
    disagrees with what is recorded (identifiers by name only)."""
    changes: dict[str, Any] = {}
    conflicts: list[Problem] = []
    first = "" if new else f" (first recorded from the {Source(exam.source).label})"
    for name, value in study.fields.items():
        if _empty(value):
            continue
        old = getattr(exam, name)
        if new or _empty(old):
            changes[name] = value
        elif not _same(old, value):
            conflicts.append(Problem(name, f"differs from the value already recorded{first}"))
    for name, model, given, issuer, current in (
        ("patient_id", PatientIdentity, study.patient_id, study.patient_issuer, exam.patient),
        (
            "accession_number",
            AccessionIdentity,
            study.accession_number,
            study.accession_issuer,
            exam.accession,
        ),
    ):
        if not given:
            continue
        if current is None:
            changes[name] = given
        elif current.pseudonym != model.pseudonym_for(given, issuer=issuer):
            conflicts.append(
                Problem(name, f"names another {model.kind} than the one already recorded{first}")
            )
    if conflicts:
        raise ExamConflict(conflicts)
    return changes


def _apply(exam: Exam, study: ValidStudy, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name not in ("patient_id", "accession_number"):
            setattr(exam, name, value)
    patient = exam.patient
    if "patient_id" in changes:
        patient = identity.get_or_create_patient(study.patient_id, issuer=study.patient_issuer)
        exam.patient = patient
    if "accession_number" in changes:
        try:
            exam.accession = identity.get_or_create_accession(
                study.accession_number, patient=patient, issuer=study.accession_issuer
            )
        except identity.IdentityConflict:
            raise ExamConflict(
                [Problem("accession_number", "is registered to another patient")]
            ) from None
