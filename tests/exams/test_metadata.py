"""What a source says about a study: mapped from DICOM keywords, normalized, and refused
with every bad field named (never its value: it may be an identifier)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from radgov.exams.errors import ExamError
from radgov.exams.metadata import StudyMetadata
from radgov.exams.statuses import age_band
from tests.dicom.reads import Reads

UID = "1.2.826.0.1.3680043.10.54.1"
MRN = "MRN-CANARY-7Q4X2"


def test_age_bands_are_five_years_and_ninety_or_older_is_one_band() -> None:
    assert [age_band(a) for a in (0, 0.4, 4.99, 5, 17, 18, 64, 89.9, 90, 104)] == [
        0,
        0,
        0,
        5,
        15,
        15,
        60,
        85,
        90,
        90,
    ]


def test_from_dicom_maps_the_keywords_monitoring_needs() -> None:
    meta = StudyMetadata.from_dicom(
        {
            "StudyInstanceUID": UID,
            "PatientID": MRN,
            "IssuerOfPatientID": "HOSP_A",
            "AccessionNumber": "ACC1",
            "StudyDate": "20260301",
            "StudyTime": "101502.25",
            "Modality": "ct",
            "BodyPartExamined": "head",
            "Manufacturer": "SIEMENS",
            "ManufacturerModelName": "SOMATOM Force",
            "SoftwareVersions": ["syngo CT VB10", "SOMARIS/7"],
            "StationName": "CTMAIN1",
            "ProtocolName": "HEAD ROUTINE",
            "SeriesDescription": "Head 5mm",
            "SliceThickness": "5.0",
            "KVP": 120,
            "PixelSpacing": ["0.45", "0.46"],
            "ContrastBolusAgent": "Iohexol",
            "ContrastBolusAgentPhase": "arterial",
            "PatientAge": "067Y",
            "PatientSex": "f",
        },
        site="Main Hospital CT",
    )
    study = meta.validated()
    assert study.study_uid == UID and study.patient_id == MRN and study.patient_issuer == "HOSP_A"
    assert study.accession_number == "ACC1"
    fields = study.fields
    when = fields.pop("study_datetime")
    assert timezone.is_aware(when)
    assert timezone.localtime(when).replace(tzinfo=None) == dt.datetime(
        2026, 3, 1, 10, 15, 2, 250000
    )
    assert fields == {
        "site": "Main Hospital CT",
        "modality": "CT",
        "body_part": "HEAD",
        "manufacturer": "SIEMENS",
        "manufacturer_model": "SOMATOM Force",
        "software_versions": "syngo CT VB10\\SOMARIS/7",
        "station_name": "CTMAIN1",
        "protocol_name": "HEAD ROUTINE",
        "series_description": "Head 5mm",
        "slice_thickness_mm": 5.0,
        "kvp": 120.0,
        "pixel_spacing_mm": 0.45,
        "contrast": "yes",
        "contrast_agent": "Iohexol",
        "contrast_phase": "ARTERIAL",
        "age_band": 65,
        "sex": "F",
    }


def test_from_dicom_reads_no_contrast_module_as_no_contrast() -> None:
    """The Contrast/Bolus module is present only when contrast was used (PS3.3), so a
    dataset without ContrastBolusAgent had none; an empty agent means contrast, agent unknown."""
    assert (
        StudyMetadata.from_dicom({"StudyInstanceUID": UID}).validated().fields["contrast"] == "no"
    )
    empty = StudyMetadata.from_dicom({"StudyInstanceUID": UID, "ContrastBolusAgent": ""})
    assert empty.validated().fields["contrast"] == "yes"


def test_ages_in_dicom_form_and_in_years_become_bands() -> None:
    for given, band in (("003M", 0), ("017Y", 15), ("095Y", 90), (42, 40), ("42", 40), ("90+", 90)):
        assert (
            StudyMetadata(study_instance_uid=UID, patient_age=given).validated().fields["age_band"]
            == band
        ), given


def test_a_naive_study_time_is_read_in_the_servers_time_zone() -> None:
    naive = dt.datetime(2026, 3, 1, 10, 0)
    when = (
        StudyMetadata(study_instance_uid=UID, study_datetime=naive)
        .validated()
        .fields["study_datetime"]
    )
    assert when == timezone.make_aware(naive)


def _problems(**given: object) -> dict[str, str]:
    with pytest.raises(ExamError) as info:
        StudyMetadata(**{"study_instance_uid": UID, **given}).validated()  # type: ignore[arg-type]
    return {p.field: p.message for p in info.value.problems}


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"study_instance_uid": ""}, "study_instance_uid"),
        ({"study_instance_uid": MRN}, "study_instance_uid"),
        ({"study_instance_uid": "1.2." + "3" * 70}, "study_instance_uid"),
        ({"study_instance_uid": "1.02.3"}, "study_instance_uid"),
        ({"accession_number": "ACC1"}, "accession_number"),
        ({"slice_thickness_mm": 0}, "slice_thickness_mm"),
        ({"slice_thickness_mm": float("nan")}, "slice_thickness_mm"),
        ({"slice_thickness_mm": "thick"}, "slice_thickness_mm"),
        ({"kvp": 500}, "kvp"),
        ({"pixel_spacing_mm": -1}, "pixel_spacing_mm"),
        ({"patient_age": 131}, "patient_age"),
        ({"patient_age": "-3"}, "patient_age"),
        ({"patient_age": "old"}, "patient_age"),
        ({"patient_sex": "X"}, "patient_sex"),
        ({"contrast": "maybe"}, "contrast"),
        ({"contrast": "no", "contrast_agent": "Iohexol"}, "contrast_agent"),
        ({"modality": "C T"}, "modality"),
        ({"station_name": "S" * 65}, "station_name"),
        ({"study_datetime": dt.datetime(1850, 1, 1)}, "study_datetime"),
        ({"study_datetime": timezone.now() + dt.timedelta(days=2)}, "study_datetime"),
    ],
)
def test_bad_fields_are_named(given: dict[str, object], field: str) -> None:
    problems = _problems(**given)
    assert field in problems, problems


def test_every_problem_is_listed_and_no_value_is_echoed() -> None:
    problems = _problems(
        study_instance_uid=MRN, kvp="MRN-CANARY-7Q4X2", accession_number="MRN-CANARY-7Q4X2"
    )
    assert set(problems) == {"study_instance_uid", "kvp", "accession_number"}
    assert not any(MRN in message for message in problems.values())


def test_identifiers_are_trimmed_and_empty_ones_are_absent() -> None:
    study = StudyMetadata(
        study_instance_uid=f" {UID} ", patient_id="  ", accession_number=""
    ).validated()
    assert study.study_uid == UID and study.patient_id == "" and study.accession_number == ""


def test_from_dicom_reads_only_the_keywords_it_declares() -> None:
    """A reader parses only ``StudyMetadata.DICOM_KEYWORDS`` from a header (the gateway
    does), so a keyword read but not declared would always look missing."""

    attributes = Reads(StudyInstanceUID=UID)
    StudyMetadata.from_dicom(attributes)
    assert attributes.asked == set(StudyMetadata.DICOM_KEYWORDS)
