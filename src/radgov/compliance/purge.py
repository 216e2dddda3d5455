"""Purge what is past its retention, except what a legal hold covers (docs/retention.md).

``plan()`` counts, per data class, what is past its retention and what of that is held: the
dry run.  ``purge()`` removes it in chunks, class by class (what each class holds, what a
hold covers and how its rows go: ``radgov.compliance.data_classes``).  Each chunk is one service: the rows go (each
deletion audited by the core) and the files they pointed at are written into the run's
``pending_files`` in the same transaction; the files are deleted after the commit, then the
list is emptied.  Cases files, which have no rows, are deleted and then counted.  The audit
trail goes last, up to the newest signed checkpoint past its
retention (``radgov.core.audit.prune``, which keeps the trail verifiable), and not at all
while any legal hold is active.  A run stopped anywhere (even SIGKILL) leaves either the rows with their
files, or no rows and the list naming the files; the next ``purge()`` resumes that run and
deletes the listed files first.  Each class's removal is one more audit entry with the DICOM
event code 110105 (DICOM Study Deleted) and the counts, never an identifier.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError, QuerySet, RestrictedError
from django.utils import timezone

from radgov.compliance.data_classes import ROW_CLASSES, case_files
from radgov.compliance.models import LegalHold, PurgeRun
from radgov.compliance.models.retention import DataClass
from radgov.compliance.retention import policy
from radgov.core import config
from radgov.core.audit import Action, EventCode, prune, record
from radgov.core.models import AccessionIdentity, PatientIdentity
from radgov.core.services import service
from radgov.exams.models import Exam

CHUNK = 200  # rows of one class per transaction


@dataclass(frozen=True)
class Expired:
    data_class: str
    label: str
    days: int
    expired: int  # past retention, held or not
    held: int  # of those, under a legal hold

    @property
    def to_remove(self) -> int:
        return self.expired - self.held


# --- what is past retention, and what is held --------------------------------------------


def _holds() -> list[LegalHold]:
    return list(LegalHold.objects.filter(released_at__isnull=True))


def _querysets(
    data_class: str, cutoff: dt.datetime, holds: list[LegalHold]
) -> tuple[QuerySet[Any], QuerySet[Any]]:
    """(expired, expired and held) of one class."""
    kind = ROW_CLASSES[data_class]
    expired = kind.expired(cutoff)
    return expired, kind.held(expired, holds)


def plan(now: dt.datetime | None = None) -> list[Expired]:
    """Per data class: how much is past its retention, and how much of it is held."""
    holds = _holds()
    found = []
    for data_class in ROW_CLASSES:
        p = policy(data_class)
        expired, held = _querysets(data_class, p.cutoff(now), holds)
        found.append(Expired(data_class, p.label, p.days, expired.count(), held.count()))
    p = policy(DataClass.CASE_FILES)
    files, held_files = case_files(p.cutoff(now), holds)
    found.append(Expired(p.data_class, p.label, p.days, len(files), len(held_files)))
    p = policy(DataClass.AUDIT_TRAIL)
    checkpoint = prune.prunable(p.cutoff(now))
    entries = prune.count_prunable(checkpoint) if checkpoint is not None else 0
    found.append(Expired(p.data_class, p.label, p.days, entries, entries if holds else 0))
    return found


@service
def record_dry_run(actor: Any, found: list[Expired]) -> None:
    record(
        action=Action.EXECUTE,
        object_type="compliance.purgerun",
        actor=actor,
        detail={
            "dry_run": True,
            "expired": {e.data_class: e.expired for e in found},
            "held": {e.data_class: e.held for e in found},
        },
    )


# --- the purge ------------------------------------------------------------------------------


def purge(
    actor: Any,
    *,
    started_by: str,
    now: dt.datetime | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> PurgeRun:
    """Remove everything past retention and not held; resume an interrupted run first."""
    run = _start(actor, started_by)
    if run.pending_files:  # left by an interrupted run: their rows are gone already
        delete_files(run.pending_files)
        _files_done(actor, run.pk)
    holds = _holds()
    for data_class in ROW_CLASSES:
        cutoff = policy(data_class).cutoff(now)
        expired, held = _querysets(data_class, cutoff, holds)
        while True:
            ids = list(
                expired.exclude(pk__in=held.values("pk")).values_list("pk", flat=True)[:CHUNK]
            )
            if not ids:
                break
            files = _remove_chunk(actor, run.pk, data_class, ids)
            delete_files(files)
            _files_done(actor, run.pk)
            if progress is not None:
                progress(data_class, len(ids))
        _held_count(actor, run.pk, data_class, held.count())
    _purge_case_files(actor, run.pk, holds, now)
    _prune_audit_trail(actor, run.pk, bool(holds), now)
    return _finish(actor, run.pk)


def _purge_case_files(
    actor: Any, run_id: int, holds: list[LegalHold], now: dt.datetime | None
) -> None:
    """Cases files have no rows: they are deleted, then counted (a kill in between only
    leaves them for the next run, which finds them again)."""
    files, held = case_files(policy(DataClass.CASE_FILES).cutoff(now), holds)
    gone = sorted(set(files) - set(held))
    if gone:
        delete_files(gone)
        _count_removed(actor, run_id, DataClass.CASE_FILES, len(gone), files=len(gone))
    _held_count(actor, run_id, DataClass.CASE_FILES, len(held))


def _prune_audit_trail(actor: Any, run_id: int, held: bool, now: dt.datetime | None) -> None:
    checkpoint = prune.prunable(policy(DataClass.AUDIT_TRAIL).cutoff(now))
    if checkpoint is None:
        return
    if held:
        count = prune.count_prunable(checkpoint)
        _held_count(actor, run_id, DataClass.AUDIT_TRAIL, count)
        return
    removed = prune.prune(checkpoint, actor=actor)
    _audit_removed(actor, run_id, removed)


@service
def _audit_removed(actor: Any, run_id: int, removed: int) -> None:
    run = PurgeRun.objects.select_for_update().get(pk=run_id)
    run.removed = {**run.removed, DataClass.AUDIT_TRAIL: removed}
    run.save(update_fields=["removed"])


@service
def _start(actor: Any, started_by: str) -> PurgeRun:
    run = PurgeRun.objects.select_for_update().filter(status=PurgeRun.Status.RUNNING).first()
    if run is not None:
        run.attempt += 1
        run.save(update_fields=["attempt"])
        return run
    return PurgeRun.objects.create(started_by=started_by[:150])


@service
def _remove_chunk(actor: Any, run_id: int, data_class: str, ids: list[int]) -> list[str]:
    """Delete the rows; return (and note in the run) the files they pointed at."""
    run = PurgeRun.objects.select_for_update().get(pk=run_id)
    if data_class == DataClass.EXAMS:
        exams = Exam.objects.filter(pk__in=ids)
        patients = set(exams.exclude(patient=None).values_list("patient_id", flat=True))
        accessions = set(exams.exclude(accession=None).values_list("accession_id", flat=True))
    files = ROW_CLASSES[data_class].remove(ids)
    if data_class == DataClass.EXAMS:
        _forget_identities(AccessionIdentity, accessions)  # an accession names its patient
        _forget_identities(PatientIdentity, patients)
    run.pending_files = sorted(set(run.pending_files) | set(files))
    run.save(update_fields=["pending_files"])
    _count_removed(actor, run_id, data_class, len(ids), files=len(files))
    return files


@service
def _count_removed(actor: Any, run_id: int, data_class: str, removed: int, *, files: int) -> None:
    """Add to the run's count, and record the removal: DICOM Study Deleted, counts only."""
    run = PurgeRun.objects.select_for_update().get(pk=run_id)
    run.removed = {**run.removed, data_class: run.removed.get(data_class, 0) + removed}
    run.save(update_fields=["removed"])
    record(
        action=Action.DELETE,
        object_type="compliance.purgerun",
        object_id=str(run.pk),
        event_code=EventCode.STUDY_DELETED,
        actor=actor,
        detail={"data_class": data_class, "removed": removed, "files": files},
    )


def _forget_identities(model: Any, pks: set[int]) -> None:
    """Delete the identities (encrypted identifiers) no exam and no legal hold needs any more;
    one that something else still protects is kept."""
    unused = model.objects.filter(pk__in=pks, exams__isnull=True)
    if model is PatientIdentity:
        held = LegalHold.objects.filter(released_at=None, patient__isnull=False)
        unused = unused.exclude(pk__in=held.values("patient_id"))
    for identity in unused:
        try:
            with transaction.atomic():
                identity.delete()
        except (ProtectedError, RestrictedError):
            continue


def delete_files(paths: list[str]) -> None:
    """Delete files or folders named relative to the data folder; gone already is fine."""
    root = config.data_dir().resolve()
    for name in paths:
        path = (root / name).resolve()
        if root not in path.parents:
            raise ValueError("a purge deletes only inside the data folder")
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


@service
def _files_done(actor: Any, run_id: int) -> None:
    run = PurgeRun.objects.select_for_update().get(pk=run_id)
    if run.pending_files:
        run.files_deleted += len(run.pending_files)
        run.pending_files = []
        run.save(update_fields=["files_deleted", "pending_files"])


@service
def _held_count(actor: Any, run_id: int, data_class: str, held: int) -> None:
    run = PurgeRun.objects.select_for_update().get(pk=run_id)
    run.held = {**run.held, data_class: held}
    run.save(update_fields=["held"])


@service
def _finish(actor: Any, run_id: int) -> PurgeRun:
    run = PurgeRun.objects.select_for_update().get(pk=run_id)
    run.status, run.finished_at = PurgeRun.Status.DONE, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return run
