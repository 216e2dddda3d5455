"""Bulk import of a CSV or Parquet file: the documented columns in, pseudonyms and encrypted
values stored; a bad file refused whole with row and column named, nothing stored, and no
cell value (an identifier, perhaps) ever repeated."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import polars as pl
import pytest

from radgov.core.models import AccessionIdentity, AuditEntry, PatientIdentity
from radgov.exams import importer
from radgov.exams.errors import BatchError
from radgov.exams.models import Exam, Inference, StatusChange
from tests.exams.conftest import ACCESSION, CANARIES, MRN, OTHER_MRN, UID

pytestmark = pytest.mark.django_db

HEADER = (
    "study_instance_uid,patient_id,patient_id_issuer,accession_number,site,study_datetime,"
    "modality,body_part,manufacturer,station_name,slice_thickness_mm,kvp,contrast,patient_age,"
    "patient_sex,deployment_id,status,status_at,reason_code,reason,score,call,confidence,"
    "findings,model_version,vendor_status,vendor_reason,event_id"
)


def good_rows(ich: int, nodule: int) -> list[str]:
    finding = json.dumps([{"label": "intracranial hemorrhage", "present": True, "score": 0.91}])
    quoted = '"' + finding.replace('"', '""') + '"'
    s2 = UID + ".2"
    return [
        f"{UID},{MRN},HOSP_A,{ACCESSION},Main Hospital CT,2026-03-01T10:15:00+00:00,CT,HEAD,SIEMENS,CTMAIN1,5,120,no,067Y,F,{ich},sent,2026-03-01T10:20:00+00:00,,,,,,,,,,e1",
        f"{UID},{MRN},HOSP_A,{ACCESSION},Main Hospital CT,2026-03-01T10:15:00+00:00,CT,HEAD,SIEMENS,CTMAIN1,5,120,no,067Y,F,{ich},inferred,2026-03-01T10:24:00+00:00,,,0.91,positive,0.8,{quoted},2.0.3,COMPLETED,,e2",
        f"{UID},{MRN},HOSP_A,{ACCESSION},Main Hospital CT,,,,,,,,,,,{nodule},excluded,,criteria_not_met,BodyPartExamined 'HEAD' is not one of CHEST,,,,,,,,e3",
        f"{s2},{OTHER_MRN},HOSP_A,,Main Hospital CT,2026-03-02T08:00:00+00:00,CT,HEAD,GE,CTED2,7.5,120,unknown,45,M,{ich},rejected,,slice_thickness,SliceThickness 7.5 mm is above 5,,,,,,REJECTED,ST>5,e4",
    ]


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "events.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_good_csv_is_stored_and_importing_it_again_changes_nothing(
    tmp_path, writer, ich, nodule
) -> None:
    path = write_csv(tmp_path, good_rows(ich.pk, nodule.pk))
    result = importer.import_file(writer, path)
    assert result.as_dict() == {
        "events": 4,
        "exams_created": 2,
        "exams_enriched": 0,
        "inferences_created": 3,
        "moves": 4,
        "unchanged": 0,
    }
    assert Exam.objects.count() == 2 and PatientIdentity.objects.count() == 2
    assert AccessionIdentity.objects.get().pseudonym == AccessionIdentity.pseudonym_for(ACCESSION)
    inferred = Inference.objects.get(status="inferred")
    assert (inferred.score, inferred.call, inferred.model_version, inferred.vendor_status) == (
        0.91,
        "positive",
        "2.0.3",
        "COMPLETED",
    )
    assert inferred.findings[0]["label"] == "intracranial hemorrhage"
    assert inferred.inferred_at == dt.datetime(2026, 3, 1, 10, 24, tzinfo=dt.UTC)
    # an inference first seen in a later status was received no later than that status
    assert list(inferred.history.values_list("to_status", "at")) == [
        ("received", dt.datetime(2026, 3, 1, 10, 20, tzinfo=dt.UTC)),
        ("sent", dt.datetime(2026, 3, 1, 10, 20, tzinfo=dt.UTC)),
        ("inferred", dt.datetime(2026, 3, 1, 10, 24, tzinfo=dt.UTC)),
    ]
    rejected = Inference.objects.get(status="rejected")
    assert rejected.exam.age_band == 45 and rejected.vendor_reason == "ST>5"
    entry = AuditEntry.objects.get(action="import")
    assert entry.detail["what"] == "file import (csv)" and len(entry.detail["sha256"]) == 64
    changes = StatusChange.objects.count()
    again = importer.import_file(writer, path)
    assert again.unchanged == 4 and StatusChange.objects.count() == changes


def test_a_typed_parquet_file_is_read_with_its_types(tmp_path, writer, ich) -> None:
    frame = pl.DataFrame(
        {
            "study_instance_uid": [UID, UID + ".2"],
            "patient_id": [MRN, MRN],
            "study_datetime": [dt.datetime(2026, 3, 1, 10, 15), None],
            "slice_thickness_mm": [5.0, 1.25],
            "kvp": [120, 100],
            "patient_age": [67, None],
            "deployment_id": [ich.pk, ich.pk],
            "status": ["inferred", "queued"],
            "score": [0.25, None],
            "call": ["negative", None],
        }
    )
    path = tmp_path / "events.parquet"
    frame.write_parquet(path)
    result = importer.import_file(writer, path)
    assert result.exams_created == 2 and result.moves == 2
    exam = Exam.objects.get(slice_thickness_mm=1.25)
    assert exam.kvp == 100.0 and exam.study_datetime is None
    assert Inference.objects.get(status="inferred").score == 0.25


def _refusal(path: Path, writer) -> list[str]:  # type: ignore[no-untyped-def]
    before = AuditEntry.objects.count()
    with pytest.raises(BatchError) as info:
        importer.import_file(writer, path)
    text = str(info.value)
    assert not any(c in text for c in CANARIES), text
    assert Exam.objects.count() == 0 and Inference.objects.count() == 0
    assert AuditEntry.objects.count() == before
    return [str(p) for p in info.value.problems]


def test_bad_rows_are_named_by_row_and_column_and_nothing_is_stored(
    tmp_path, writer, ich, nodule
) -> None:
    rows = good_rows(ich.pk, nodule.pk)
    rows[1] = rows[1].replace(",120,no,067Y,", f",{MRN},no,067Y,")  # an MRN in the kvp column
    rows[2] = rows[2].replace(f",{nodule.pk},excluded,", ",999999,excluded,")
    rows[3] = rows[3].replace(",rejected,", ",rejectd,").replace(",45,M,", ",45,X,")
    rows.append(f"{MRN},,,,,,,,,,,,,,,{ich.pk},inferred,,,,high,,,[not json,,,,e5")
    problems = _refusal(write_csv(tmp_path, rows), writer)
    assert problems == [
        "data row 2 (spreadsheet row 3), column 'kvp': must be a number at least 20 and at most 200",
        "data row 3 (spreadsheet row 4), column 'deployment_id': names no deployment of the inventory",
        "data row 4 (spreadsheet row 5), column 'patient_sex': must be M, F or O (empty when unknown)",
        "data row 4 (spreadsheet row 5), column 'status': is not a status; statuses are "
        "received, excluded, queued, sent, processing, inferred, rejected, failed, released, withdrawn",
        "data row 5 (spreadsheet row 6), column 'study_instance_uid': is not a DICOM UID "
        "(digits and dots, no leading zeros, at most 64 characters)",
        "data row 5 (spreadsheet row 6), column 'score': must be a finite number",
        "data row 5 (spreadsheet row 6), column 'findings': is not JSON (a list of findings)",
    ]


def test_a_row_that_conflicts_with_an_earlier_row_is_named(tmp_path, writer, ich, nodule) -> None:
    rows = good_rows(ich.pk, nodule.pk)
    rows.append(rows[0].replace(",sent,", ",queued,").replace(",e1", ",e9"))  # inferred -> queued
    problems = _refusal(write_csv(tmp_path, rows), writer)
    assert len(problems) == 1 and problems[0].startswith(
        "data row 5 (spreadsheet row 6), column 'status': an inference cannot go from inferred to queued"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            HEADER.replace("modality", "modalty") + "\n",
            "column 7's header is not a known column; did you mean 'modality'?",
        ),
        (f"{UID},{MRN}\n1.2.3,x\n", "column 1's header is not a known column"),
        ("patient_id\nx\n", "the column 'study_instance_uid' is missing"),
        (
            f"study_instance_uid,patient_id\n{UID},{MRN},extra\n",
            "data row 1 (spreadsheet row 2) has 3 fields but the header has 2",
        ),
        (
            f"study_instance_uid,patient_id\n{UID}\n",
            "data row 1 (spreadsheet row 2) has 1 field but the header has 2",
        ),
        (
            "study_instance_uid,study_instance_uid\n1.2.3,1.2.3\n",
            "column 'study_instance_uid' appears twice",
        ),
        ("study_instance_uid,patient_id\n", "has no data rows"),
        ("", "has no data rows"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, writer, content, expected) -> None:
    path = tmp_path / "events.csv"
    path.write_text(content)
    problems = _refusal(path, writer)
    assert any(expected in p for p in problems), problems


def test_text_that_is_not_utf8_is_refused(tmp_path, writer) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(f"study_instance_uid,patient_id\n{UID},caf\xe9\n".encode("latin-1"))
    assert any("UTF-8" in p for p in _refusal(path, writer))


def test_a_parquet_identifier_column_must_be_text(tmp_path, writer) -> None:
    path = tmp_path / "events.parquet"
    pl.DataFrame({"study_instance_uid": [UID], "patient_id": [1234567]}).write_parquet(path)
    assert _refusal(path, writer) == [
        "column 'patient_id' must be text (String) in a Parquet file, not Int64; numbers lose leading zeros"
    ]


def test_an_unreadable_parquet_file_and_an_unknown_type_are_refused(tmp_path, writer) -> None:
    broken = tmp_path / "events.parquet"
    broken.write_bytes(b"PAR1 not really")
    assert _refusal(broken, writer) == ["the file cannot be read as Parquet"]
    other = tmp_path / "events.xlsx"
    other.write_bytes(b"PK")
    assert _refusal(other, writer) == ["the file must be .csv or .parquet, not .xlsx"]


def test_an_upload_is_read_from_memory_by_its_name(writer, ich, nodule) -> None:
    data = "\n".join([HEADER, *good_rows(ich.pk, nodule.pk)]).encode()
    result = importer.import_upload(writer, io.BytesIO(data), name="from-orchestrator.csv")
    assert result.events == 4
