"""Retention policies, legal holds and the purge (docs/retention.md)."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from radgov.compliance import purge
from radgov.compliance import retention_services as rs
from radgov.compliance.models import PurgeRun
from radgov.core.audit.verify import verify_trail
from radgov.core.models import AccessionIdentity, AuditEntry, PatientIdentity
from radgov.core.roles import Role
from radgov.exams import services as exams
from radgov.exams.models import Exam, Inference, ResultObject, StatusChange
from tests.exams.conftest import head_ct, make_deployment
from tests.factories import make_user

OLD = dt.datetime(2012, 5, 1, 9, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.usefixtures("quick_passwords")


@pytest.fixture
def aged(data_dir: Path, db: Any) -> dict[str, Any]:
    """Three exams from 2012 with an inference each, a result file for each; one recent."""
    keeper = make_user("ret-informatics", role=Role.INFORMATICS)
    deployment = make_deployment(keeper, "NeuroTriage ICH", "Main Hospital CT")
    exam_list = []
    for n in range(4):
        when = OLD if n < 3 else timezone.now()
        exam = exams.record_exam(
            keeper,
            head_ct(
                uid=f"1.2.3.{n}",
                patient_id=f"MRN{n}",
                accession_number=f"A{n}",
                study_datetime=when.isoformat(),
            ),
            source="api",
        ).exam
        inference = exams.record_inference(keeper, exam, deployment)
        exams.move(keeper, inference, "sent")
        ref = f"results/{n}/sr.dcm"
        (data_dir / "spool" / "results" / str(n)).mkdir(parents=True)
        (data_dir / "spool" / ref).write_bytes(b"DICM")
        exams.add_result_object(
            keeper, inference, kind="SR", sop_instance_uid=f"1.2.3.{n}.9", file_ref=ref
        )
        exam_list.append(exam)
    return {"exams": exam_list, "deployment": deployment, "data": data_dir}


def test_a_dry_run_lists_the_purge_removes_all_but_the_held_and_the_trail_verifies(
    aged: dict[str, Any], officer: Any
) -> None:
    held_exam = aged["exams"][0]
    rs.place_hold(officer, scope="exam", exam_id=held_exam.pk, reason="litigation 2026-CV-114")

    out = StringIO()
    call_command("purge", "--dry-run", stdout=out)
    assert "Exam records" in out.getvalue()
    expired = {e.data_class: (e.expired, e.held) for e in purge.plan()}
    assert expired["exams"] == (3, 1)
    assert Exam.objects.count() == 4  # the dry run changed nothing
    assert AuditEntry.objects.filter(detail_json__contains='"dry_run":true').count() == 1

    call_command("purge", stdout=StringIO())
    remaining = set(Exam.objects.values_list("pk", flat=True))
    assert remaining == {held_exam.pk, aged["exams"][3].pk}
    assert (
        Inference.objects.count() == 2
        and StatusChange.objects.filter(inference__exam__in=remaining).exists()
    )
    spool = aged["data"] / "spool" / "results"
    assert sorted(p.name for p in spool.iterdir() if any(p.iterdir())) == ["0", "3"]
    # every remaining row points at a file that exists
    for ref in ResultObject.objects.values_list("file_ref", flat=True):
        assert (aged["data"] / "spool" / ref).exists()

    # the purged exams' patients and accessions go too, the held one's stay
    assert PatientIdentity.objects.count() == 2 and AccessionIdentity.objects.count() == 2
    run = PurgeRun.objects.get()
    assert run.status == "done" and run.removed == {"exams": 2} and run.held["exams"] == 1
    entry = AuditEntry.objects.filter(event_code="110105").get()
    assert entry.detail == {"data_class": "exams", "removed": 2, "files": 2}
    assert "MRN" not in entry.detail_json
    assert verify_trail(record_use=False).ok


def test_holds_by_patient_deployment_and_dates_cover_their_exams(
    aged: dict[str, Any], officer: Any
) -> None:
    first, second, third, _ = aged["exams"]
    rs.place_hold(officer, scope="patient", patient_pseudonym=first.patient.pseudonym, reason="m1")
    rs.place_hold(
        officer,
        scope="dates",
        starts_on=dt.date(2012, 5, 1),
        ends_on=dt.date(2012, 5, 1),
        reason="m2",
    )
    assert {e.data_class: e.held for e in purge.plan()}["exams"] == 3
    hold = rs.place_hold(
        officer, scope="deployment", deployment_id=aged["deployment"].pk, reason="m3"
    )
    rs.release_hold(officer, hold, reason="settled")
    with pytest.raises(rs.RetentionError, match="already released"):
        rs.release_hold(officer, hold, reason="again")
    purge.purge(officer, started_by="test")
    assert Exam.objects.count() == 4  # the date range holds all three old exams


def test_a_policy_shorter_than_the_legal_minimum_is_refused_and_changes_nothing(
    officer: Any,
) -> None:
    rs.set_policy(officer, "exams", days=3650, legal_minimum_days=3650, note="state law")
    with pytest.raises(rs.RetentionError, match="legal minimum of 3650 days"):
        rs.set_policy(officer, "exams", days=30)
    from radgov.compliance.retention import policy

    assert policy("exams").days == 3650
    other = make_user("ret-physician", role=Role.PHYSICIAN)
    with pytest.raises(rs.RetentionError, match="only the compliance role"):
        rs.set_policy(other, "exams", days=4000)


def _checkpointed_entries(n: int) -> Any:
    from radgov.core.audit import record
    from radgov.core.audit.checkpoint import make_checkpoint

    for i in range(n):
        record(action="execute", object_type="test.step", object_id=str(i))
    return make_checkpoint()


def test_the_audit_trail_is_pruned_to_a_signed_checkpoint_and_still_verifies(
    officer: Any, data_dir: Path
) -> None:
    from radgov.core.audit import prune

    _checkpointed_entries(5)
    second = _checkpointed_entries(5)
    later = timezone.now() + dt.timedelta(days=8 * 365)
    hold = rs.place_hold(officer, scope="dates", starts_on=dt.date(2001, 1, 1), reason="m")
    run = purge.purge(officer, started_by="test", now=later)
    assert prune.first_kept() == 1 and run.held["audit_trail"] >= second.seq  # held: kept
    rs.release_hold(officer, hold, reason="settled")
    run = purge.purge(officer, started_by="test", now=later)
    newest = prune.prunable(later)  # nothing left to prune up to the newest checkpoint
    assert newest is None or newest.seq < prune.first_kept()
    assert run.removed["audit_trail"] == prune.first_kept() - 1 >= second.seq
    report = verify_trail(record_use=False)
    assert report.ok, report.summary()
    assert f"({prune.first_kept()}.." in report.summary()

    # a prefix removed without a prune entry is a gap, even at a signed checkpoint
    from django.db import models

    more = _checkpointed_entries(3)
    _checkpointed_entries(1)
    models.QuerySet(AuditEntry).filter(seq__lte=more.seq).delete()
    report = verify_trail(record_use=False)
    assert not report.ok and "no prune entry records their removal" in report.summary()


def test_the_audit_trail_keeps_six_years_whatever_the_policy(officer: Any) -> None:
    with pytest.raises(rs.RetentionError, match="2191 days.*45 CFR 164.316"):
        rs.set_policy(officer, "audit_trail", days=365, legal_minimum_days=0)


KILLED_PURGE = """
import os, signal, django
django.setup()
from radgov.compliance import purge
purge.delete_files = lambda paths: os.kill(os.getpid(), signal.SIGKILL)
purge.purge(None, started_by="killed")
"""


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_real_sigkill_mid_purge_leaves_no_row_pointing_at_a_deleted_file(
    aged: dict[str, Any], officer: Any
) -> None:
    """A second process purges and is killed (SIGKILL) right after its first chunk committed."""
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "radgov.settings"}
    env["DATABASE_URL"] = _database_url()
    done = subprocess.run(
        [sys.executable, "-c", KILLED_PURGE], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    run = PurgeRun.objects.get()
    assert run.status == "running" and run.removed == {"exams": 3} and len(run.pending_files) == 3
    kept = list(ResultObject.objects.values_list("file_ref", flat=True))
    assert kept == ["results/3/sr.dcm"] and (aged["data"] / "spool" / kept[0]).exists()
    assert all((aged["data"] / name).exists() for name in run.pending_files)  # not yet deleted
    run = purge.purge(officer, started_by="test")
    assert run.attempt == 2 and run.pending_files == [] and run.files_deleted == 3
    assert [p.name for p in (aged["data"] / "spool").rglob("*.dcm")] == ["sr.dcm"]
