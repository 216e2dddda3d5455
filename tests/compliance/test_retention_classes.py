"""The data classes beyond exams: the gateway's spool, report text, monitoring's comparisons
(reduced to daily counts) and acceptance-test cases files (docs/retention.md)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from radgov.compliance import purge
from radgov.compliance import retention_services as rs
from radgov.core.audit.verify import verify_trail
from radgov.core.models import AuditEntry
from radgov.core.services import service
from radgov.exams.models import Exam
from radgov.gateway.models import Instance, Study
from radgov.monitoring import analysis
from radgov.monitoring.models import Concordance, ConcordanceDay, Report, ReportLabel
from tests.gateway.conftest import ct, new_uid, peer, store  # noqa: F401 - fixture
from tests.monitoring.conftest import chair, exam_with_call, pe, watched, writer  # noqa: F401

OLD = dt.datetime(2012, 5, 1, 9, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.usefixtures("quick_passwords")


@service
def _age(queryset: Any, **dates: Any) -> None:
    queryset.update(**dates)


@service
def _link(study: Study, exam: Exam) -> None:
    study.exam = exam
    study.save(update_fields=["exam"])


def _stored(peer: Any, data_dir: Path, received: dt.datetime) -> Instance:  # noqa: F811
    study = f"1.2.826.0.1.3680043.10.99.{received.timestamp():.0f}"
    instance = store(peer, ct(new_uid(), study=study), data_dir / "spool").instance
    _age(Instance.objects.filter(pk=instance.pk), received_at=received)
    return instance


def _old_file(data_dir: Path, name: str, when: dt.datetime) -> Path:
    path = data_dir / "evaluation" / "incoming" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"case_id,truth\n")
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


@pytest.fixture
def sources(
    data_dir: Path,
    peer: Any,  # noqa: F811
    watched: Any,  # noqa: F811
    writer: Any,  # noqa: F811
) -> SimpleNamespace:
    """Where the data classes come from: the data folder, the gateway's peer, and monitoring's
    watched deployment with the writer of its exams."""
    return SimpleNamespace(data_dir=data_dir, peer=peer, watched=watched, writer=writer)


def test_spool_reports_comparisons_and_cases_files_go_and_holds_keep_theirs(
    sources: SimpleNamespace, officer: Any
) -> None:
    # the spool: two images from 2012, the second received on a held day
    gone, kept = (
        _stored(sources.peer, sources.data_dir, OLD),
        _stored(sources.peer, sources.data_dir, OLD + dt.timedelta(31)),
    )
    rs.place_hold(
        officer,
        scope="dates",
        starts_on=dt.date(2012, 6, 1),
        ends_on=dt.date(2012, 6, 1),
        reason="m",
    )
    # monitoring: three comparisons, two old (one of a held exam), one recent
    old_day, recent = dt.date(2026, 1, 5), dt.date.today() - dt.timedelta(days=1)
    first = exam_with_call(sources.writer, sources.watched, 1, old_day, ai=True, truth=True)
    held = exam_with_call(sources.writer, sources.watched, 2, old_day, ai=True, truth=False)
    third = exam_with_call(sources.writer, sources.watched, 3, recent, ai=False, truth=False)
    rs.place_hold(officer, scope="exam", exam_id=held.exam_id, reason="matter B")
    rs.set_policy(officer, "monitoring_events", days=30, note="test")
    # report text: the recent exam's report, received long ago
    _age(Report.objects.filter(exam_id=third.exam_id), received_at=OLD)
    before = analysis.outcomes(sources.watched.pk)
    # cases files: one left by a stopped worker in 2012, one waiting now
    stale = _old_file(sources.data_dir, "held-" + "a" * 32 + ".csv", OLD)
    waiting = _old_file(sources.data_dir, "held-" + "b" * 32 + ".csv", dt.datetime.now(tz=dt.UTC))

    plan = {e.data_class: (e.expired, e.held) for e in purge.plan()}
    assert plan["spool"] == (2, 1)
    assert plan["monitoring_events"] == (2, 1)
    assert plan["reports"] == (1, 0)
    assert plan["case_files"] == (1, 0)

    run = purge.purge(officer, started_by="test")
    assert run.removed == {"spool": 1, "reports": 1, "monitoring_events": 1, "case_files": 1}
    assert list(Instance.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not (sources.data_dir / "spool" / gone.file_ref).exists()
    assert (sources.data_dir / "spool" / kept.file_ref).exists()
    assert not stale.exists() and waiting.exists()
    # the report of exam 3 went with its labels and its comparison; the held comparison stays
    assert not Report.objects.filter(exam_id=third.exam_id).exists()
    assert Report.objects.count() == 2 and ReportLabel.objects.count() == 2
    assert set(Concordance.objects.values_list("inference_id", flat=True)) == {held.pk}
    # what went is kept as daily counts: monitoring's statistics are unchanged
    rollups = {(r.day, r.outcome, r.count) for r in ConcordanceDay.objects.all()}
    assert rollups == {(old_day, "tp", 1), (recent, "tn", 1)}
    after = analysis.outcomes(sources.watched.pk)
    assert after.n == before.n == 3 and after.discordant.sum() == before.discordant.sum()
    assert list(after.day) == list(before.day)
    assert first.pk not in set(Concordance.objects.values_list("inference_id", flat=True))
    # each class's removal is one entry with its counts, never an identifier
    entries = AuditEntry.objects.filter(event_code="110105")
    assert {e.detail["data_class"]: e.detail["removed"] for e in entries} == run.removed
    assert verify_trail(record_use=False).ok


def test_an_exam_goes_with_the_gateways_study_and_its_report(
    sources: SimpleNamespace, officer: Any
) -> None:
    """The gateway's study and monitoring's report point at the exam (PROTECT): the purge
    takes them first, their files after, and keeps the comparison's count."""
    inference = exam_with_call(sources.writer, sources.watched, 1, OLD.date(), ai=True, truth=False)
    instance = _stored(sources.peer, sources.data_dir, dt.datetime.now(tz=dt.UTC))
    _link(instance.study, inference.exam)

    run = purge.purge(officer, started_by="test")
    assert run.removed == {"monitoring_events": 1, "exams": 1} and run.files_deleted == 1
    assert not Exam.objects.exists() and not Study.objects.exists()
    assert not Report.objects.exists() and not Instance.objects.exists()
    assert not (sources.data_dir / "spool" / instance.file_ref).exists()
    assert [(r.day, r.outcome, r.count) for r in ConcordanceDay.objects.all()] == [
        (OLD.date(), "fp", 1)
    ]
    assert verify_trail(record_use=False).ok
