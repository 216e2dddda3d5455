"""Proof: a canary corpus over CT, MR, CR, US, SR, SEG and RT objects leaves no canary behind."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pydicom
import pytest

from radgov.dicom.deid.profile import Option, compile_profile
from radgov.dicom.deid.runner import QUARANTINE_DIR, RunSettings, run
from tests.dicom.canary import STUDY_UID, build_corpus, text_rows

KEY = bytes(range(32))


def _outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.dcm"))


def written(report, out: Path) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Each source file's name -> its output (named after its de-identified UIDs)."""
    return {Path(f["source"]).name: out / f["output"] for f in report.files if f["output"]}


def _surviving(canaries, path: Path) -> set[str]:
    data = path.read_bytes()
    return {m.decode() for m in canaries.pattern().findall(data)} & canaries.values


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("canary") / "src"
    canaries, originals = build_corpus(folder)
    before = _hashes(folder)
    out = tmp_path_factory.mktemp("canary-out") / "dst"
    report = run(folder, out, RunSettings(key=KEY, profile=compile_profile()), jobs=2)
    return canaries, originals, folder, out, report, before


def test_corpus_covers_the_table_and_the_modalities(corpus):
    canaries, originals, folder, *_ = corpus
    assert len(text_rows()) > 450  # every text/date row pydicom knows a VR for
    modalities = {pydicom.dcmread(p, stop_before_pixels=True).Modality for p in folder.iterdir()}
    assert {"CT", "MR", "CR", "US", "SR", "SEG", "RTSTRUCT", "RTPLAN", "RTDOSE"} <= modalities
    for path in folder.iterdir():  # the scanner does find canaries before de-identification
        assert len(_surviving(canaries, path)) > 1000, path.name


def test_no_canary_survives_anywhere_in_the_output_bytes(corpus):
    canaries, _, folder, out, report, _ = corpus
    assert report.summary["failed"] == 0, report.files
    outputs = _outputs(out)
    assert len(outputs) == len(list(folder.iterdir()))
    for path in outputs:
        assert _surviving(canaries, path) == set(), path


def test_identity_removed_and_method_code_sequence_present(corpus):
    *_, out, _, _ = corpus
    for path in _outputs(out):
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES"
        codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
        assert codes[0] == "113100"
        assert all(
            item.CodingSchemeDesignator == "DCM" for item in ds.DeidentificationMethodCodeSequence
        )
        assert "PS3.15 2026d" in str(ds.DeidentificationMethod)
        assert ds.LongitudinalTemporalInformationModified == "REMOVED"


def test_ultrasound_is_quarantined_not_passed_as_clean(corpus):
    *_, out, report, _ = corpus
    us = next(f for f in report.files if f["source"] == "us.dcm")
    assert us["status"] == "quarantined" and "burned-in" in us["reason"]
    assert us["output"].startswith(f"{QUARANTINE_DIR}/") and (out / us["output"]).exists()
    assert "us.dcm" not in us["output"]


def test_uid_references_stay_consistent_across_the_study(corpus):
    _, originals, _, out, report, _ = corpus
    by_name = {name: pydicom.dcmread(p) for name, p in written(report, out).items()}
    ct = by_name["ct.dcm"]
    assert ct.SOPInstanceUID != originals["ct.dcm"]["sop"]
    assert ct.SOPInstanceUID.startswith("2.25.")
    assert ct.file_meta.MediaStorageSOPInstanceUID == ct.SOPInstanceUID
    study_uids = {ds.StudyInstanceUID for ds in by_name.values()}
    assert len(study_uids) == 1 and STUDY_UID not in study_uids
    assert len({ds.PatientID for ds in by_name.values()}) == 1
    sr = by_name["sr.dcm"]  # SR evidence -> the CT instance
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == ct.StudyInstanceUID
    series = evidence.ReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == ct.SeriesInstanceUID
    assert series.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == ct.SOPInstanceUID
    seg = by_name["seg.dcm"]  # SEG source image -> the CT instance
    ref = seg.ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == ct.SeriesInstanceUID
    assert ref.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == ct.SOPInstanceUID


def test_sources_are_never_modified(corpus):
    *_, folder, _, _, before = corpus
    assert _hashes(folder) == before


@pytest.mark.peer("dcmdump")
def test_dcmtk_reads_every_output(corpus):
    *_, out, _, _ = corpus
    for path in _outputs(out):
        result = subprocess.run(["dcmdump", "-q", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, (path.name, result.stderr[:500])


def test_two_batches_give_identical_uids(corpus, tmp_path):
    _, _, folder, out, report, _ = corpus
    # The second batch holds only part of the study and runs in another process layout.
    part = tmp_path / "part"
    part.mkdir()
    for name in ("sr.dcm", "seg.dcm"):
        (part / name).write_bytes((folder / name).read_bytes())
    again = run(part, tmp_path / "again", RunSettings(key=KEY, profile=compile_profile()), jobs=1)
    for name in ("sr.dcm", "seg.dcm"):
        first = pydicom.dcmread(written(report, out)[name])
        second = pydicom.dcmread(written(again, tmp_path / "again")[name])
        assert written(report, out)[name].relative_to(out) == written(again, tmp_path / "again")[
            name
        ].relative_to(tmp_path / "again")
        for keyword in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "PatientID"):
            assert first[keyword].value == second[keyword].value
        assert (
            first.CurrentRequestedProcedureEvidenceSequence[0]
            .ReferencedSeriesSequence[0]
            .ReferencedSOPSequence[0]
            .ReferencedSOPInstanceUID
            == second.CurrentRequestedProcedureEvidenceSequence[0]
            .ReferencedSeriesSequence[0]
            .ReferencedSOPSequence[0]
            .ReferencedSOPInstanceUID
        )


def test_modified_dates_shift_every_date_of_a_patient_by_one_offset(corpus, tmp_path):
    canaries, _, folder, *_ = corpus
    profile = compile_profile([Option.RETAIN_LONGITUDINAL_MODIFIED_DATES])
    dated = run(folder / "ct.dcm", tmp_path / "dates", RunSettings(key=KEY, profile=profile))
    src = pydicom.dcmread(folder / "ct.dcm")
    output = written(dated, tmp_path / "dates")["ct.dcm"]
    ds = pydicom.dcmread(output)
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    import datetime as dt

    def day(text: str) -> dt.date:
        return dt.datetime.strptime(text, "%Y%m%d").date()

    offsets = {
        (day(ds[k].value) - day(src[k].value)).days
        for k in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")
    }
    assert len(offsets) == 1 and -730 <= offsets.pop() <= -1
    assert "PatientBirthDate" not in ds or not ds.PatientBirthDate
    assert (
        _surviving(canaries, output) & {v for v in canaries.values if v.startswith("QZX")} == set()
    )
