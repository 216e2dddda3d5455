"""The engine on single datasets: combined actions, private tags, dates, ages, burned-in text."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from radgov.dicom.deid.burnedin import PixelMask, review_reason
from radgov.dicom.deid.engine import Deidentifier, aggregate_age
from radgov.dicom.deid.keyed import KeyedMapper, shift_da, shift_dt
from radgov.dicom.deid.profile import Option, compile_profile

KEY = b"0123456789abcdef0123456789abcdef"


def _ct() -> Dataset:
    return pydicom.dcmread(get_testdata_file("CT_small.dcm"))


def _deid(ds: Dataset, options=(), **kwargs):
    return Deidentifier(KEY, compile_profile(options), **kwargs).deidentify(ds)


def test_key_must_be_long_enough():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        KeyedMapper(b"short")


def test_uid_remap_is_keyed_and_deterministic():
    a, b = KeyedMapper(KEY), KeyedMapper(KEY)
    uid = "1.2.840.113619.2.1.2411.1031152382.365.1.736169244"
    assert a.uid(uid) == b.uid(uid)
    assert a.uid(uid).startswith("2.25.") and len(a.uid(uid)) <= 64
    assert KeyedMapper(KEY[::-1]).uid(uid) != a.uid(uid)
    assert a.uid(uid) != a.uid(uid + "1")


def test_date_shift_helpers():
    assert shift_da("20240301", -1) == "20240229"
    assert shift_da("20240101-20240131", -1) == "20231231-20240130"
    assert shift_da("garbage", -3) == ""
    assert shift_dt("20240301101500.5+0100", -1) == "20240229101500.5+0100"


def test_ages_over_89_are_aggregated():
    assert aggregate_age("091Y") == "090Y"
    assert aggregate_age("089Y") == "089Y"
    assert aggregate_age("1100M") == "1100M"  # not a valid AS; left for the VR check
    assert aggregate_age("999M") == "999M"  # 83 years
    ds = _ct()
    ds.PatientAge = "093Y"
    _deid(ds, [Option.RETAIN_PATIENT_CHARACTERISTICS])
    assert ds.PatientAge == "090Y"
    ds = _ct()
    ds.PatientAge = "093Y"
    _deid(ds)
    assert "PatientAge" not in ds


def test_combined_actions_follow_the_iod_type():
    ct = _ct()  # CT Image: Content Date is Type 2C -> emptied; Acquisition Date Type 3 -> removed
    _deid(ct)
    assert ct.ContentDate == "" and "AcquisitionDate" not in ct
    assert "InstitutionName" not in ct and "OperatorsName" not in ct
    sr = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    sr.ContentDate, sr.ContentTime = "20200101", "101010"
    _deid(sr)  # SR Document General: Content Date/Time are Type 1 -> a dummy, never removed
    assert sr.ContentDate == "19000101" and sr.ContentTime == "000000"
    pr = _ct()  # a presentation state: Presentation Creation Date (X) is Type 1 there
    pr.SOPClassUID = "1.2.840.10008.5.1.4.1.1.11.1"
    pr.PresentationCreationDate, pr.PresentationCreationTime = "20200101", "101010"
    _deid(pr)
    assert pr.PresentationCreationDate == "19000101"
    emr = pydicom.dcmread(get_testdata_file("emri_small.dcm"))
    emr.DeviceSerialNumber = "SN-1234"
    _deid(emr)  # Enhanced General Equipment: Device Serial Number Type 1 (X/Z/D) -> dummy
    assert emr.DeviceSerialNumber == "ANONYMIZED"


def test_patient_pseudonym_and_identity_attributes():
    ds = _ct()
    original = ds.PatientID
    _deid(ds)
    assert ds.PatientID.startswith("RG") and ds.PatientID != original
    assert ds.PatientName == ds.PatientID
    assert ds.PatientBirthDate == ""
    assert ds.PatientIdentityRemoved == "YES"


def test_private_blocks_removed_unless_on_the_safe_list():
    ds = _ct()
    assert any(e.tag.is_private for e in ds)
    _deid(ds)
    assert not any(e.tag.is_private for e in ds)

    ds = _ct()
    block = ds.private_block(0x0011, "ACME SAFE", create=True)
    block.add_new(0x10, "LO", "keep me")
    block.add_new(0x11, "LO", "drop me")
    safe = [(None, "ACME SAFE", 0x10)]
    _deid(ds, [Option.RETAIN_SAFE_PRIVATE], safe_private=safe)
    kept = ds.private_block(0x0011, "ACME SAFE")
    assert kept[0x10].value == "keep me"
    assert 0x11 not in kept
    assert sum(1 for e in ds if e.tag.is_private) == 2  # creator + the safe element

    ds = _ct()
    block = ds.private_block(0x0011, "ACME SAFE", create=True)
    block.add_new(0x10, "LO", "keep me")
    _deid(ds, safe_private=safe)  # without the option the list does not apply
    assert not any(e.tag.is_private for e in ds)


def test_nested_sequences_and_private_items_are_cleaned():
    ds = _ct()
    inner = Dataset()
    inner.PatientName = "Doe^Jane"
    inner.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    inner.private_block(0x0029, "ACME", create=True).add_new(0x01, "LO", "secret")
    middle = Dataset()
    middle.ReferencedSOPSequence = Sequence([inner])
    ds.ReferencedSeriesSequence = Sequence([middle])
    sop = ds.SOPInstanceUID
    _deid(ds)
    item = ds.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert item.PatientName == ""
    assert item.ReferencedSOPInstanceUID == ds.SOPInstanceUID != sop
    assert not any(e.tag.is_private for e in item)


def test_overlays_and_group_lengths_are_removed():
    ds = pydicom.dcmread(get_testdata_file("MR-SIEMENS-DICOM-WithOverlays.dcm"))
    assert any(0x6000 <= e.tag.group <= 0x601E for e in ds)
    _deid(ds)
    assert not any(0x6000 <= e.tag.group <= 0x601E for e in ds)
    assert not any(e.tag.element == 0 for e in ds)


def test_clean_descriptors_removes_the_datasets_own_identifiers():
    ds = _ct()
    ds.PatientName = "Smith^Johanna"
    ds.PatientID = "MRN778899"
    ds.StudyDescription = "CT head for SMITH johanna mrn778899 on 2024-01-05"
    _deid(ds, [Option.CLEAN_DESCRIPTORS])
    text = ds.StudyDescription.lower()
    assert "smith" not in text and "johanna" not in text and "778899" not in text
    assert "2024" not in text and "ct head" in text


def test_retain_modified_dates_shifts_consistently_per_patient():
    a, b = _ct(), _ct()
    b.SOPInstanceUID = generate_uid()
    for ds in (a, b):
        ds.StudyDate = "20240115"
    _deid(a, [Option.RETAIN_LONGITUDINAL_MODIFIED_DATES])
    _deid(b, [Option.RETAIN_LONGITUDINAL_MODIFIED_DATES])
    assert a.StudyDate == b.StudyDate != "20240115"
    assert a.StudyTime == _ct().StudyTime  # times of day are kept


def test_burned_in_rules():
    ct = _ct()
    assert review_reason(ct) is None
    ct.BurnedInAnnotation = "YES"
    assert "YES" in review_reason(ct)
    sc = pydicom.dcmread(get_testdata_file("SC_rgb.dcm"))
    assert review_reason(sc) is not None
    xa = _ct()
    xa.SOPClassUID = "1.2.840.10008.5.1.4.1.1.12.1"
    assert review_reason(xa) is not None
    xa.BurnedInAnnotation = "NO"
    assert review_reason(xa) is None
    sr = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    assert review_reason(sr) is None


def test_pixel_mask_cleans_instead_of_quarantine():
    ds = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm"))
    assert _deid(Dataset(ds)).status == "quarantined"
    ds = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm"))
    mask = PixelMask(
        manufacturer=str(ds.Manufacturer),
        model=str(ds.ManufacturerModelName),
        rows=ds.Rows,
        columns=ds.Columns,
        regions=((0, 0, ds.Columns, 40),),
    )
    before = ds.pixel_array.copy()
    assert before[:40].any()
    outcome = _deid(ds, [Option.CLEAN_PIXEL_DATA], pixel_masks=[mask])
    assert outcome.status == "ok" and outcome.pixel_mask_applied
    after = ds.pixel_array
    assert not after[:40].any()
    assert np.array_equal(after[40:], before[40:])
    assert ds.BurnedInAnnotation == "NO"
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert "113101" in [i.CodeValue for i in ds.DeidentificationMethodCodeSequence]
    # without the option the mask does not apply
    ds = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm"))
    assert _deid(ds, pixel_masks=[mask]).status == "quarantined"


def test_dates_outside_the_table_follow_the_date_options():
    ds = _ct()
    ds.ExpiryDate = "20250101"  # a DA attribute that is not a row of Table E.1-1
    assert ds["ExpiryDate"].VR == "DA"
    _deid(ds)
    assert "ExpiryDate" not in ds
    ds = _ct()
    ds.ExpiryDate = "20250101"
    _deid(ds, [Option.RETAIN_LONGITUDINAL_FULL_DATES])
    assert ds.ExpiryDate == "20250101"
    ds = _ct()
    ds.ExpiryDate = "20250101"
    _deid(ds, [Option.RETAIN_LONGITUDINAL_MODIFIED_DATES])
    assert ds.ExpiryDate not in ("20250101", "")


def test_attributes_the_engine_adds_are_written(tmp_path):
    ds = _ct()
    del ds.PatientID, ds.PatientName  # the pseudonym is added, not only replaced
    _deid(ds)
    ds.save_as(tmp_path / "out.dcm", enforce_file_format=True)
    back = pydicom.dcmread(tmp_path / "out.dcm")
    assert back.PatientID.startswith("RG") and back.PatientIdentityRemoved == "YES"
