"""Canary corpus: real test objects where every Table E.1-1 text/date attribute holds a unique value.

Each canary is unique and easy to find in raw bytes, so "no canary survives" is checked by
scanning the output files, whatever the encoding or nesting.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from radgov.dicom.deid.profile import load_table

TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR", "DA", "DT", "TM", "AS"}
STUDY_UID = "1.2.826.0.1.3680043.8.498.424242.1"

# file name -> pydicom test file (bundled with pydicom or provided by pydicom-data)
SOURCES = {
    "ct.dcm": "CT_small.dcm",
    "mr.dcm": "MR_small.dcm",
    "cr.dcm": "RG3_UNCR.dcm",
    "us.dcm": "US1_UNCR.dcm",
    "sr.dcm": "test-SR.dcm",
    "seg.dcm": "liver.dcm",
    "rtstruct.dcm": "rtstruct.dcm",
    "rtplan.dcm": "rtplan.dcm",
    "rtdose.dcm": "rtdose.dcm",
}


@dataclass
class Canaries:
    values: set[str] = field(default_factory=set)
    n: int = 0

    def make(self, vr: str) -> str:
        self.n += 1
        n = self.n
        day = dt.date(1700, 1, 1) + dt.timedelta(days=n)
        if vr == "DA":
            value = day.strftime("%Y%m%d")
        elif vr == "DT":
            value = day.strftime("%Y%m%d") + "010203"
        elif vr == "TM":
            value = f"2301{n % 60:02d}.{n:06d}"
        elif vr == "AS":
            value = f"{900 + n % 99:03d}W"
        else:
            value = f"QZX{n:05d}Q"
        self.values.add(value)
        return value

    def pattern(self) -> re.Pattern[bytes]:
        return re.compile(rb"QZX\d{5}Q|17\d{6}(?:010203)?|2301\d\d\.\d{6}|9\d\dW")


def text_rows() -> list[tuple[int, str]]:
    """(tag, VR) of every Table E.1-1 row that can hold text or a date (VR known to pydicom)."""
    rows = []
    for row in load_table():
        tag = row.tag_int
        if tag is None or tag >> 16 in (0x0000, 0x0002):
            continue
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            continue
        if vr in TEXT_VRS:
            rows.append((tag, vr))
    return rows


def sequence_rows() -> list[int]:
    result = []
    for row in load_table():
        tag = row.tag_int
        if tag is None:
            continue
        try:
            if dictionary_VR(tag) == "SQ":
                result.append(tag)
        except KeyError:
            continue
    return result


def _fill(ds: Dataset, canaries: Canaries, with_sequences: bool) -> None:
    for tag, vr in text_rows():
        ds.add_new(tag, vr, canaries.make(vr))
    # A private block, as a scanner would write it.
    block = ds.private_block(0x0009, "QZX CANARY CREATOR", create=True)
    block.add_new(0x10, "LO", canaries.make("LO"))
    block.add_new(0x11, "PN", canaries.make("PN"))
    block.add_new(0x12, "DA", canaries.make("DA"))
    if with_sequences:
        for tag in sequence_rows():
            item = Dataset()
            item.PatientName = canaries.make("PN")
            item.InstitutionName = canaries.make("LO")
            item.StudyDate = canaries.make("DA")
            if tag in ds and ds[tag].VR == "SQ" and ds[tag].value:
                ds[tag].value.append(item)  # keep e.g. an SR's own content tree
            else:
                ds.add_new(tag, "SQ", Sequence([item]))


def add_canaries(ds: Dataset, canaries: Canaries, reference: tuple[str, str, str] | None) -> None:
    """Fill ``ds`` at the top level, three sequences deep, and in private blocks."""
    _fill(ds, canaries, with_sequences=True)
    deepest = Dataset()
    _fill(deepest, canaries, with_sequences=False)
    if reference is not None:
        deepest.ReferencedSOPClassUID = reference[0]
        deepest.ReferencedSOPInstanceUID = reference[1]
    series = Dataset()
    series.SeriesInstanceUID = reference[2] if reference else "1.2.3.4.5.6"
    series.ReferencedSOPSequence = Sequence([deepest])
    _fill(series, canaries, with_sequences=False)
    study = Dataset()
    study.StudyInstanceUID = STUDY_UID
    study.ReferencedSeriesSequence = Sequence([series])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([study])


def build_corpus(folder: Path) -> tuple[Canaries, dict[str, dict[str, str]]]:
    """Write the canary corpus into ``folder``; return the canaries and each file's UIDs."""
    folder.mkdir(parents=True, exist_ok=True)
    canaries = Canaries()
    patient_id = canaries.make("LO")  # one patient across the study, itself a canary
    issuer = canaries.make("LO")
    originals: dict[str, dict[str, str]] = {}
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    reference = (str(ct.SOPClassUID), str(ct.SOPInstanceUID), str(ct.SeriesInstanceUID))
    for name, source in SOURCES.items():
        path = get_testdata_file(source)
        assert path is not None, source
        ds = pydicom.dcmread(path, force=True)
        if not getattr(ds, "file_meta", None) or "TransferSyntaxUID" not in ds.file_meta:
            meta = FileMetaDataset()
            implicit = ds.original_encoding[0] if ds.original_encoding else True
            meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
            meta.MediaStorageSOPClassUID = ds.SOPClassUID
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.file_meta = meta
        ds.StudyInstanceUID = STUDY_UID
        if name == "seg.dcm":
            ref = ds.ReferencedSeriesSequence[0]
            ref.SeriesInstanceUID = reference[2]
            ref.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID = reference[1]
        originals[name] = {
            "sop": str(ds.SOPInstanceUID),
            "series": str(ds.SeriesInstanceUID),
            "study": STUDY_UID,
        }
        add_canaries(ds, canaries, reference if name != "ct.dcm" else None)
        ds.PatientID = patient_id
        ds.IssuerOfPatientID = issuer
        ds.save_as(folder / name, enforce_file_format=True)
    return canaries, originals
