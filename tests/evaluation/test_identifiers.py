from __future__ import annotations

import polars as pl
import pytest

from radgov.evaluation.identifiers import find_identifiers
from radgov.evaluation.synthetic import generate_ich_cases


def _kinds(frame: pl.DataFrame) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in find_identifiers(frame):
        out.setdefault(f.column, set()).add(f.kind)
    return out


def test_synthetic_cases_are_clean() -> None:
    frame = generate_ich_cases(2000, seed=3).select(pl.all().cast(pl.String))
    assert find_identifiers(frame, ignore=frozenset({"synthetic"})) == []


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("PatientName", "name"),
        ("patient_name", "name"),
        ("last_name", "name"),
        ("MRN", "medical record number"),
        ("medical_record_number", "medical record number"),
        ("PatientID", "medical record number"),
        ("AccessionNumber", "accession number"),
        ("acc_no", "accession number"),
        ("DOB", "full date"),
        ("StudyDate", "full date"),
        ("phone", "phone or fax number"),
        ("email", "e-mail address"),
        ("street_address", "address"),
        ("zip_code", "address"),
        ("SSN", "social security number"),
    ],
)
def test_identifier_column_names(column: str, kind: str) -> None:
    frame = pl.DataFrame({column: ["x", "y"]})
    assert kind in _kinds(frame)[column]


VALUES = {
    "a": ["Doe, John", "Roe, Jane", "Poe, Edgar", "Smith, Anna", "Lee, Kim"],
    "b": ["555-123-4567", "(555) 222-3333", "555.987.6543", "555 111 2222", "+1 555 333 4444"],
    "c": ["2021-03-04", "2020-12-31", "2019-01-15", "2022-07-08", "2018-11-30"],
    "d": ["03/04/2021", "12/31/2020", "1/15/2019", "7/8/2022", "11/30/2018"],
    "e": ["123-45-6789", "987-65-4321", "111-22-3333", "222-33-4444", "555-66-7777"],
    "f": ["a@b.org", "c.d@e.com", "x+y@z.net", "p@q.io", "m@n.edu"],
    "g": ["12 Main Street", "4 Elm Ave", "100 Oak Road", "7 Pine Ln", "55 Lake Dr"],
    "h": ["MRN00012345", "MRN00012346", "MRN00012347", "MRN00012348", "MRN00012349"],
    "i": ["10234567", "10234568", "10934569", "11234570", "12234571"],
    "j": ["John Smith", "Mary Jones", "Ann Lee", "Peter Brown", "Sara White"],
    "k": ["20210304", "20201231", "20190115", "20220708", "20181130"],
}


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("a", "name"),
        ("b", "phone or fax number"),
        ("c", "full date"),
        ("d", "full date"),
        ("e", "social security number"),
        ("f", "e-mail address"),
        ("g", "address"),
        ("h", "medical record or accession number"),
        ("i", "medical record or accession number"),
        ("j", "name"),
        ("k", "full date"),
    ],
)
def test_identifier_values(column: str, kind: str) -> None:
    frame = pl.DataFrame(VALUES)
    assert kind in _kinds(frame)[column]


def test_findings_never_quote_values() -> None:
    frame = pl.DataFrame(VALUES)
    text = " ".join(str(f) for f in find_identifiers(frame))
    for values in VALUES.values():
        for v in values:
            assert v not in text


def test_ages_over_90_but_not_the_90_plus_group() -> None:
    assert _kinds(pl.DataFrame({"age": ["40", "90", "90"]})) == {}
    assert "age over 89" in _kinds(pl.DataFrame({"age": ["40", "93"]}))["age"]


def test_harmless_columns_pass() -> None:
    frame = pl.DataFrame(
        {
            "case_id": [f"SYN-{i:06d}" for i in range(20)],
            "manufacturer": ["Siemens Healthineers", "GE HealthCare"] * 10,
            "study_year": ["2021"] * 20,
            "slice_thickness": ["5.0"] * 20,
            "label": ["0", "1"] * 10,
        }
    )
    assert find_identifiers(frame) == []


def test_names_that_only_look_alike_pass() -> None:
    frame = pl.DataFrame(
        {c: ["1"] * 3 for c in ("acc_score", "cell_count", "station_name", "update_flag")}
    )
    assert find_identifiers(frame) == []
