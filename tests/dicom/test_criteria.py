"""Inclusion and exclusion criteria as data: strict reading, round trip, evaluation."""

from __future__ import annotations

import pytest

from radgov.dicom.criteria import Criteria, CriteriaError, parse_age
from tests.dicom.reads import Reads

HEAD_CT = {
    "modalities": ["ct"],
    "body_parts": ["HEAD", "BRAIN"],
    "min_age_years": 18,
    "max_age_years": 120,
    "sexes": ["M", "F"],
    "manufacturers": ["GE*", "SIEMENS*"],
    "protocol_patterns": ["*HEAD*WO*"],
    "max_slice_thickness_mm": 5,
    "min_kvp": 100,
    "max_kvp": 140,
    "contrast": "no",
}

GOOD_STUDY = {
    "Modality": "CT",
    "BodyPartExamined": "HEAD",
    "PatientAge": "065Y",
    "PatientSex": "F",
    "Manufacturer": "GE MEDICAL SYSTEMS",
    "ProtocolName": "Routine Head WO contrast",
    "SliceThickness": "2.5",
    "KVP": "120",
}


def test_empty_criteria_admit_everything() -> None:
    assert Criteria.from_dict({}).evaluate({}) == (True, [])
    assert Criteria.from_dict(None).is_empty
    assert Criteria().describe() == []


def test_round_trip() -> None:
    c = Criteria.from_dict(HEAD_CT)
    assert c.modalities == ("CT",)  # upper-cased
    assert Criteria.from_dict(c.to_dict()) == c
    assert c.to_dict()["manufacturers"] == ["GE*", "SIEMENS*"]


def test_matching_study_is_included() -> None:
    assert Criteria.from_dict(HEAD_CT).evaluate(GOOD_STUDY) == (True, [])


def test_every_failing_constraint_gives_a_reason() -> None:
    study = {
        "Modality": "MR",
        "BodyPartExamined": "CHEST",
        "PatientAge": "010Y",
        "PatientSex": "O",
        "Manufacturer": "Philips",
        "ProtocolName": "Chest PE",
        "SliceThickness": 7.5,
        "KVP": 80,
        "ContrastBolusAgent": "Omnipaque",
    }
    included, reasons = Criteria.from_dict(HEAD_CT).evaluate(study)
    assert not included
    assert len(reasons) == 9
    text = "\n".join(reasons)
    for needle in (
        "Modality 'MR' is not one of CT",
        "BodyPartExamined 'CHEST'",
        "PatientAge 10 years is below 18",
        "PatientSex 'O'",
        "Manufacturer 'Philips' matches none of GE*, SIEMENS*",
        "ProtocolName 'Chest PE'",
        "SliceThickness 7.5 mm is above the maximum 5 mm",
        "KVP 80 kVp is below the minimum 100 kVp",
        "ContrastBolusAgent 'Omnipaque' present",
    ):
        assert needle in text


def test_missing_attribute_excludes_with_its_name() -> None:
    included, reasons = Criteria.from_dict(HEAD_CT).evaluate({"Modality": "CT"})
    assert not included
    assert any(r.startswith("PatientAge missing") for r in reasons)
    assert any(r.startswith("SliceThickness missing") for r in reasons)
    assert any(r.startswith("BodyPartExamined missing") for r in reasons)


def test_pediatric_only_and_contrast_required() -> None:
    c = Criteria.from_dict({"max_age_years": 17.99, "contrast": "yes"})
    assert c.evaluate({"PatientAge": "010Y", "ContrastBolusAgent": "Iohexol"}) == (True, [])
    included, reasons = c.evaluate({"PatientAge": "040Y"})
    assert not included and len(reasons) == 2
    assert "above 17.99" in reasons[0] and "require contrast" in reasons[1]


@pytest.mark.parametrize(
    ("value", "years"),
    [("065Y", 65.0), ("018M", 1.5), ("052W", 52 * 7 / 365.25), ("010D", 10 / 365.25), (42, 42.0)],
)
def test_parse_age(value: object, years: float) -> None:
    assert parse_age(value) == pytest.approx(years)


@pytest.mark.parametrize("value", [None, "", "65", "65Y", "065X", -1, True, float("nan")])
def test_parse_age_refuses_what_is_not_an_age(value: object) -> None:
    assert parse_age(value) is None


def test_bad_age_string_is_a_reason() -> None:
    _, reasons = Criteria(min_age_years=18).evaluate({"PatientAge": "sixty"})
    assert reasons == [
        "PatientAge 'sixty' is not a DICOM age (e.g. 065Y); the criteria set an age range"
    ]


def test_multivalue_and_numeric_strings() -> None:
    c = Criteria(max_slice_thickness_mm=3)
    assert c.evaluate({"SliceThickness": ["2.0", "2.0"]}) == (True, [])
    assert c.evaluate({"SliceThickness": "thin"})[1] == [
        "SliceThickness 'thin' is not a number; the criteria set limits on it"
    ]


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"modality": ["CT"]}, "modality", "unknown key"),
        ({"modalities": "CT "}, None, None),  # one string is read as a list of one
        ({"modalities": 5}, "modalities", "list of strings"),
        ({"modalities": ["CT", ""]}, "modalities", "non-empty string"),
        ({"sexes": ["X"]}, "sexes", "PatientSex"),
        ({"min_age_years": "old"}, "min_age_years", "must be a number"),
        ({"min_age_years": -1}, "min_age_years", "from 0 to 130 (years)"),
        ({"max_age_years": 200}, "max_age_years", "from 0 to 130 (years)"),
        ({"max_slice_thickness_mm": 500}, "max_slice_thickness_mm", "from 0 to 50 (mm)"),
        ({"max_kvp": 1000}, "max_kvp", "from 0 to 200 (kVp)"),
        ({"max_kvp": True}, "max_kvp", "must be a number"),
        ({"min_age_years": 30, "max_age_years": 18}, "min_age_years", "greater than max_age_years"),
        ({"min_kvp": 140, "max_kvp": 80}, "min_kvp", "greater than max_kvp"),
        ({"contrast": "maybe"}, "contrast", "'yes', 'no' or 'any'"),
    ],
)
def test_strict_validation_names_the_key(data: dict, key: str | None, fragment: str | None) -> None:
    if key is None:
        assert Criteria.from_dict(data).modalities == ("CT",)
        return
    with pytest.raises(CriteriaError) as err:
        Criteria.from_dict(data)
    assert err.value.key == key
    assert f"'{key}'" in str(err.value) and fragment in str(err.value)


def test_not_a_mapping() -> None:
    with pytest.raises(CriteriaError, match="must be an object"):
        Criteria.from_dict(["CT"])  # type: ignore[arg-type]


def test_describe_in_plain_words() -> None:
    lines = Criteria.from_dict(HEAD_CT).describe()
    assert "Modality: CT" in lines
    assert "Age (years): 18 to 120" in lines
    assert "Slice thickness (mm): any to 5" in lines
    assert "Contrast: none" in lines


def test_no_django_import() -> None:
    import subprocess
    import sys

    code = "import sys, radgov.dicom.criteria; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_evaluate_reads_only_the_keywords_it_declares() -> None:
    """A reader parses only ``Criteria.KEYWORDS`` from a header (the gateway does), so a
    keyword read but not declared would always look missing."""
    attributes = Reads(GOOD_STUDY)
    Criteria.from_dict({**HEAD_CT, "contrast": "yes"}).evaluate(attributes)
    assert attributes.asked == set(Criteria.KEYWORDS)
