"""Reports in: stored encrypted, labelled, compared with the AI; a report before its exam is
kept and compared once the exam and its result arrive; bad files change nothing."""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from radgov.exams import services as exams
from radgov.exams.errors import BatchError, ExamError, NotPermitted
from radgov.monitoring import intake, selectors
from radgov.monitoring.models import Concordance, Report
from radgov.monitoring.technical import weekly
from tests.exams.conftest import head_ct
from tests.factories import client_for, make_user
from tests.monitoring.conftest import NEGATIVE, POSITIVE, exam_with_call

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 2, 3)


def test_a_report_is_labelled_and_compared_with_the_ai(writer, watched) -> None:
    inference = exam_with_call(writer, watched, 1, DAY, ai=True, truth=False)
    report = Report.objects.get()
    assert report.exam_id == inference.exam_id
    assert str(report.text) != NEGATIVE and report.text.reveal() == NEGATIVE  # encrypted
    assert [(lab.finding, lab.label) for lab in report.labels.all()] == [
        ("pulmonary_embolism", "negative")
    ]
    row = Concordance.objects.get()
    assert (row.ai, row.truth, row.outcome, row.day) == ("positive", "negative", "fp", DAY)
    # the same report again changes nothing; an amended one replaces the comparison
    again = intake.record_report(writer, accession_number="A1", text=NEGATIVE)
    assert (again.outcome, again.compared) == ("unchanged", 0)
    amended = intake.record_report(writer, accession_number="A1", text=POSITIVE)
    assert (amended.outcome, amended.compared) == ("amended", 1)
    assert Concordance.objects.get().outcome == "tp"


def test_a_report_before_its_exam_waits_and_is_compared_later(writer, watched) -> None:
    stored = intake.record_report(writer, accession_number="A7", text=POSITIVE)
    assert stored.report.exam is None and stored.compared == 0
    assert selectors.reports_waiting_for_exam() == 1
    exam_with_call(writer, watched, 7, DAY, ai=False, truth=None)
    exam_with_call(writer, watched, 8, DAY, ai=False, truth=None)  # its report never comes
    assert intake.compare_pending() == {"linked": 1, "compared": 1}
    assert Concordance.objects.get().outcome == "fn"
    assert intake.compare_pending() == {"linked": 0, "compared": 0}
    assert selectors.reports_waiting_for_exam() == 0
    assert selectors.deployment_view(watched)["without_report"] == 1


def test_a_bad_file_is_refused_whole_naming_row_and_column(writer, watched) -> None:
    data = b"accession_number,text\nA1,No PE.\nA1,Acute PE.\n,No PE.\n"
    with pytest.raises(BatchError) as err:
        intake.record_report_file(writer, data)
    assert str(err.value) == (
        "row 3, accession_number: repeats the accession of row 2; "
        "row 4, accession_number: is required"
    )
    with pytest.raises(BatchError, match="text: column is missing"):
        intake.record_report_file(writer, b"accession_number,body\nA1,x\n")
    assert not Report.objects.exists()
    counts = intake.record_report_file(writer, b"accession_number,text\nA1,No PE.\nA2,PE.\n")
    assert counts["created"] == 2


def _parquet(**columns: list) -> bytes:  # type: ignore[type-arg]
    out = io.BytesIO()
    pl.DataFrame(columns).write_parquet(out)
    return out.getvalue()


def test_a_parquet_file_is_stored_or_refused_whole_as_a_csv_is(writer, watched) -> None:
    # the same problems as the CSV above, numbered by data row (Parquet has no header row)
    bad = _parquet(accession_number=["A1", "A1", None], text=["No PE.", "Acute PE.", "No PE."])
    with pytest.raises(BatchError) as err:
        intake.record_report_file(writer, bad)
    assert str(err.value) == (
        "row 2, accession_number: repeats the accession of row 1; "
        "row 3, accession_number: is required"
    )
    with pytest.raises(BatchError, match="^text: column is missing$"):
        intake.record_report_file(writer, _parquet(accession_number=["A1"], body=["x"]))
    with pytest.raises(BatchError, match=r"^accession_number: column must be text \(String\)"):
        intake.record_report_file(writer, _parquet(accession_number=[123], text=["No PE."]))
    with pytest.raises(BatchError, match="^not a readable Parquet file"):
        intake.record_report_file(writer, b"PAR1 but not Parquet")
    with pytest.raises(BatchError, match="^the file has no rows$"):
        intake.record_report_file(writer, _parquet(accession_number=[], text=[]))
    assert not Report.objects.exists()
    good = _parquet(accession_number=["A1", "A2"], text=["No PE.", "PE."], issuer=["", ""])
    answer = client_for(writer).post(
        "/api/monitoring/reports/import",
        {"file": SimpleUploadedFile("reports.parquet", good, "application/vnd.apache.parquet")},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["created"] == 2 and Report.objects.count() == 2


def test_only_informatics_and_administrators_send_reports(watched) -> None:
    with pytest.raises(NotPermitted):
        intake.record_report(make_user("doc"), accession_number="A1", text=POSITIVE)
    with pytest.raises(ExamError, match="text: is required"):
        intake.record_report(make_user("it", role="informatics"), accession_number="A1", text=" ")


def test_technical_signals_count_studies_failures_and_turnaround(writer, watched) -> None:
    today = timezone.localdate()
    exam_with_call(writer, watched, 1, today, ai=True, truth=None)
    meta = head_ct(uid="1.2.826.0.1.3680043.10.99.2", patient_id="P2", accession_number="A2")
    exam = exams.record_exam(writer, meta, source="api").exam
    exams.move(
        writer, exams.record_inference(writer, exam, watched), "failed", reason_code="model_error"
    )
    weeks = weekly(watched, today=today, weeks=2)
    assert [w["studies"] for w in weeks] == [0, 0, 1]  # the study of 1 March 2026 is older
    assert weeks[-1]["failed"]["estimate"] == 0.0 and weeks[-1]["turnaround_minutes_median"] >= 0
    march = {w["week"]: w for w in weekly(watched, today=dt.date(2026, 3, 2), weeks=1)}
    assert march["2026-02-23"]["studies"] == 1 and march["2026-02-23"]["failed"]["estimate"] == 1.0


def test_a_watch_changed_to_another_finding_compares_again(writer, watched, chair) -> None:
    from radgov.monitoring import configure
    from tests.monitoring.conftest import BASELINE

    exam_with_call(writer, watched, 1, DAY, ai=False, truth=True)
    assert Concordance.objects.get().outcome == "fn"
    configure.set_watch(
        chair, watched, finding="pneumothorax", baseline_start=BASELINE[0], baseline_end=BASELINE[1]
    )
    row = Concordance.objects.get()
    assert (row.finding, row.truth, row.outcome) == ("pneumothorax", "absent", "tn")


def test_a_bad_watch_is_refused_naming_each_field_and_changes_nothing(watched, chair) -> None:
    from radgov.monitoring import configure
    from radgov.monitoring.models import Watch
    from tests.monitoring.conftest import BASELINE

    with pytest.raises(ExamError) as refused:
        configure.set_watch(
            chair, watched, finding="pneumothorax", baseline_start=BASELINE[1],
            baseline_end=BASELINE[0], arl0=5, colour="red",
        )  # fmt: skip
    assert {str(p) for p in refused.value.problems} == {
        "baseline_end: is before baseline_start",
        "arl0: is out of range (docs/monitoring.md)",
        "colour: is not a setting of a watch",
    }
    kept = Watch.objects.get(deployment=watched)
    assert (kept.finding, kept.baseline_start, kept.arl0) == (
        "pulmonary_embolism",
        BASELINE[0],
        200,
    )


def test_a_file_of_reports_is_one_audit_entry_without_their_text(writer, watched) -> None:
    from radgov.core.models import AuditEntry

    before = AuditEntry.objects.count()
    intake.record_report_file(
        writer, f"accession_number,text\nA1,{NEGATIVE}\nA2,{POSITIVE}\n".encode()
    )
    entry = AuditEntry.objects.get(action="import", object_type="monitoring.report")
    assert entry.detail["batch"]["count"] >= 4  # two reports and their labels
    assert AuditEntry.objects.count() == before + 1
    assert "embolism" not in str(entry.detail).lower()
