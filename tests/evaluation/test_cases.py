"""Every bad input named in the issue gets a clear error naming row, column and value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from radgov.evaluation.cases import CasesError, load_cases, row_label
from radgov.evaluation.protocol import Protocol
from radgov.evaluation.synthetic import write_cases

from .conftest import write_rows

HEADER = "case_id,sex,manufacturer,age,label,ai_score"
GOOD = [
    "c1,F,GE,40,1,0.9",
    "c2,M,GE,70,0,0.1",
    "c3,F,Siemens,10,0,0.3",
    "c4,M,Siemens,50,1,0.7",
]


def _problems(path: Path, protocol: Protocol) -> list[str]:
    with pytest.raises(CasesError) as info:
        load_cases(path, protocol)
    return info.value.problems


def test_good_file_loads_typed(tmp_path: Path, example_protocol: Protocol) -> None:
    cases = load_cases(write_rows(tmp_path / "c.csv", HEADER, GOOD), example_protocol)
    assert cases.n_rows == 4
    assert cases.frame["truth"].dtype == pl.Int8
    assert cases.frame["score"].dtype == pl.Float64
    assert cases.groups["age"].to_list() == [40.0, 70.0, 10.0, 50.0]
    assert len(cases.sha256) == 64 and not cases.synthetic


def test_row_convention() -> None:
    assert row_label(0) == "data row 1 (spreadsheet row 2)"
    assert row_label(4, csv=False) == "data row 5"


def test_missing_column_is_named_with_a_suggestion(
    tmp_path: Path, example_protocol: Protocol
) -> None:
    path = write_rows(
        tmp_path / "c.csv",
        "case_id,sex,manufacturer,age,label,AI_Score",
        [r for r in GOOD],
    )
    (problem,) = _problems(path, example_protocol)
    assert "column 'ai_score' (columns.score) is not in the cases file" in problem
    assert "did you mean 'AI_Score'?" in problem


def test_several_missing_columns_are_all_reported(
    tmp_path: Path, example_protocol: Protocol
) -> None:
    path = write_rows(tmp_path / "c.csv", "case_id,label,ai_score", ["c1,1,0.5"])
    problems = _problems(path, example_protocol)
    assert len(problems) == 3
    assert any("'manufacturer' (subgroup 2)" in p for p in problems)


def test_label_other_than_0_1(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [*GOOD[:2], "c3,F,Siemens,10,2,0.3", GOOD[3]]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert problem.startswith("column 'label', data row 3 (spreadsheet row 4): '2'")
    assert "labels must be 0 (negative) or 1 (positive)" in problem


def test_label_that_is_text(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [*GOOD[:3], "c4,M,Siemens,50,yes,0.7"]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert "column 'label', data row 4 (spreadsheet row 5): 'yes' is not 0 or 1" in problem


def test_score_not_a_number(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [GOOD[0], "c2,M,GE,70,0,high", *GOOD[2:]]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert problem == "column 'ai_score', data row 2 (spreadsheet row 3): 'high' is not a number"


@pytest.mark.parametrize("value", ["NaN", "nan"])
def test_score_nan(tmp_path: Path, example_protocol: Protocol, value: str) -> None:
    rows = [*GOOD[:3], f"c4,M,Siemens,50,1,{value}"]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert "column 'ai_score', data row 4 (spreadsheet row 5)" in problem
    assert "is NaN" in problem


def test_score_empty_and_infinite(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = ["c1,F,GE,40,1,", "c2,M,GE,70,0,inf", *GOOD[2:]]
    problems = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert any("data row 1 (spreadsheet row 2) is empty" in p for p in problems)
    assert any("data row 2 (spreadsheet row 3): 'inf' is infinite" in p for p in problems)


def test_many_bad_rows_are_counted_and_listed(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [f"c{i},F,GE,40,{i % 2},x{i}" for i in range(10)]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert "(10 rows in all; data rows 1, 2, 3, 4, 5, ...)" in problem


def test_single_class_in_the_whole_file(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [r.replace(",1,", ",0,") for r in GOOD]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert "every case has label 0 (negative)" in problem


def test_duplicate_case_ids_name_rows_not_ids(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [*GOOD[:3], GOOD[3].replace("c4", "c1")]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert "case ids must be unique; 2 rows share an id (data rows 1, 4)" in problem
    assert "'c1'" not in problem  # ids may be PHI: never echoed


def test_binned_value_outside_the_bins(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [*GOOD[:3], "c4,M,Siemens,250,1,0.7"]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert (
        "column 'age', data row 4 (spreadsheet row 5): '250.0' is outside the protocol's bins [0, 200)"
        in problem
    )


def test_missing_category_becomes_its_own_level(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [GOOD[0], "c2,,GE,70,0,0.1", *GOOD[2:]]
    cases = load_cases(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert cases.groups["sex"].to_list() == ["F", "(missing)", "F", "M"]


def test_header_only(tmp_path: Path, example_protocol: Protocol) -> None:
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, []), example_protocol)
    assert "no data rows" in problem


def test_unknown_file_type(tmp_path: Path, example_protocol: Protocol) -> None:
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"PK")
    (problem,) = _problems(path, example_protocol)
    assert "unknown file type '.xlsx'" in problem


def test_parquet_with_synthetic_metadata(
    tmp_path: Path, example_protocol: Protocol, synthetic_frame: pl.DataFrame
) -> None:
    path = write_cases(synthetic_frame.drop("synthetic"), tmp_path / "c.parquet")
    cases = load_cases(path, example_protocol)
    assert cases.format == "parquet" and cases.synthetic
    assert np.array_equal(cases.array("score"), synthetic_frame["ai_score"].to_numpy())


def test_parquet_string_scores_are_checked(tmp_path: Path, example_protocol: Protocol) -> None:
    frame = pl.DataFrame(
        {
            "case_id": ["a", "b", "c"],
            "sex": ["F", "M", "F"],
            "manufacturer": ["GE", "GE", "GE"],
            "age": [30, 40, 50],
            "label": [0, 1, 0],
            "ai_score": ["0.1", "0.9", "oops"],
        }
    )
    path = tmp_path / "c.parquet"
    frame.write_parquet(path)
    (problem,) = _problems(path, example_protocol)
    assert problem == "column 'ai_score', data row 3: 'oops' is not a number"


def test_synthetic_csv_is_recognised(synthetic_csv: Path, example_protocol: Protocol) -> None:
    assert load_cases(synthetic_csv, example_protocol).synthetic


def test_too_many_levels_for_a_subgroup_column(tmp_path: Path, example_dict: dict) -> None:
    from radgov.evaluation.protocol import parse_protocol

    example_dict["subgroups"] = ["sex", "age"]  # age without bins: one subgroup per age
    protocol = parse_protocol(example_dict)
    rows = [f"c{i},F,GE,{i},{i % 2},0.5" for i in range(60)]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), protocol)
    assert "column 'age' has 60 distinct values, too many for subgroups (at most 50)" in problem
    assert "give bins" in problem


def test_calibration_metrics_need_probabilities(tmp_path: Path, example_dict: dict) -> None:
    from radgov.evaluation.protocol import parse_protocol

    example_dict["metrics"].append("brier")
    protocol = parse_protocol(example_dict)
    rows = [*GOOD[:3], "c4,M,Siemens,50,1,7.5"]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), protocol)
    assert problem.startswith(
        "column 'ai_score', data row 4 (spreadsheet row 5): '7.5' is outside [0, 1]"
    )


def test_ragged_csv_names_the_row(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [GOOD[0], GOOD[1] + ",extra", *GOOD[2:]]
    (problem,) = _problems(write_rows(tmp_path / "c.csv", HEADER, rows), example_protocol)
    assert problem == (
        "c.csv: data row 2 (spreadsheet row 3) has 7 fields but the header has 6; "
        "check for a stray comma or an unquoted value"
    )


def test_semicolon_separated_file_gets_a_hint(tmp_path: Path, example_protocol: Protocol) -> None:
    rows = [r.replace(",", ";") for r in GOOD]
    path = write_rows(tmp_path / "c.csv", HEADER.replace(",", ";"), rows)
    (problem,) = _problems(path, example_protocol)
    assert "contains semicolons" in problem
