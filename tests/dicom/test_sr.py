"""The reviewed result as DICOM SR TID 1500: read back by pydicom and by dcmtk's dsrdump."""

from __future__ import annotations

import datetime as dt
import subprocess
from io import BytesIO

import pytest
from pydicom import dcmread

from radgov.dicom.sr import Algorithm, ReportedStudy, build_measurement_report

STUDY = ReportedStudy(
    "1.2.826.0.1.3680043.10.99.1", "MRN-1", "ACC-1", dt.datetime(2026, 3, 1, 10, 15)
)
ALGORITHM = Algorithm("NeuroTriage ICH", "2.0.3", "NeuroTriage Inc", uid="2.25.42")
BLEED = {
    "label": "intracranial hemorrhage",
    "present": True,
    "code": {"scheme": "SCT", "value": "1386000", "meaning": "Intracranial hemorrhage"},
    "measurements": [{"name": "volume", "value": 12.5, "unit": "ml"}],
}
SAID = "Produced by AI (NeuroTriage ICH 2.0.3); reviewed and accepted by Doe Jane."


def _report(**changes: object) -> bytes:
    values: dict[str, object] = {
        "study": STUDY,
        "algorithm": ALGORITHM,
        "findings": [BLEED, {"label": "midline shift", "present": False}],
        "reviewer": "Doe^Jane",
        "statement": SAID,
    }
    values.update(changes)
    buffer = BytesIO()
    build_measurement_report(**values).save_as(buffer, enforce_file_format=True)  # type: ignore[arg-type]
    return buffer.getvalue()


def _items(ds):  # type: ignore[no-untyped-def]
    for item in ds.get("ContentSequence", []):
        yield item
        yield from _items(item)


def test_the_report_carries_the_study_the_findings_the_algorithm_and_both_observers() -> None:
    ds = dcmread(BytesIO(_report()))
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert (ds.StudyInstanceUID, ds.PatientID, ds.AccessionNumber) == (
        "1.2.826.0.1.3680043.10.99.1",
        "MRN-1",
        "ACC-1",
    )
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert (
        ds.VerificationFlag == "VERIFIED"
        and str(ds.VerifyingObserverSequence[0].VerifyingObserverName) == "Doe^Jane"
    )
    items = list(_items(ds))
    texts = {i.ConceptNameCodeSequence[0].CodeMeaning: getattr(i, "TextValue", None) for i in items}
    assert texts["Algorithm Name"] == "NeuroTriage ICH" and texts["Algorithm Version"] == "2.0.3"
    assert texts["Device Observer Manufacturer"] == "NeuroTriage Inc" and texts["Comment"] == SAID
    persons = [str(i.PersonName) for i in items if i.ValueType == "PNAME"]
    assert persons == ["Doe^Jane"]
    findings = [
        i.ConceptCodeSequence[0].CodeMeaning
        for i in items
        if i.ValueType == "CODE" and i.ConceptNameCodeSequence[0].CodeMeaning == "Finding"
    ]
    assert findings == ["Intracranial hemorrhage", "midline shift"]
    volume = [i for i in items if i.ValueType == "NUM"][0].MeasuredValueSequence[0]
    assert (
        float(volume.NumericValue) == 12.5
        and volume.MeasurementUnitsCodeSequence[0].CodeValue == "ml"
    )
    assert "CurrentRequestedProcedureEvidenceSequence" not in ds  # no image is claimed


def test_a_correction_is_a_new_instance_naming_the_one_it_replaces() -> None:
    first = dcmread(BytesIO(_report()))
    fixed = dcmread(BytesIO(_report(previous=first, statement="Withdrawn.")))
    assert fixed.SOPInstanceUID != first.SOPInstanceUID
    ref = fixed.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == first.SOPInstanceUID


def test_a_report_without_findings_or_statement_is_refused() -> None:
    with pytest.raises(ValueError, match="findings"):
        _report(findings=[])
    with pytest.raises(ValueError, match="statement"):
        _report(statement="  ")


@pytest.mark.peer("dsrdump")
def test_dcmtk_reads_the_report_without_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sr.dcm"
    path.write_bytes(_report())
    done = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "Error" not in done.stderr, done.stderr
    assert (
        "Intracranial hemorrhage" in done.stdout
        and 'Person Observer Name")="Doe^Jane"' in done.stdout
    )


def test_a_direct_release_is_unverified_with_the_ai_as_its_only_observer() -> None:
    ds = dcmread(BytesIO(_report(reviewer="", statement="Released without physician review.")))
    assert ds.VerificationFlag == "UNVERIFIED" and "VerifyingObserverSequence" not in ds
    assert not [i for i in _items(ds) if i.ValueType == "PNAME"]
