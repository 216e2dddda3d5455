from __future__ import annotations

from pathlib import Path

import polars as pl

from radgov.evaluation.synthetic import generate_ich_cases, write_cases

from .conftest import EXAMPLE_CASES


def test_deterministic_from_the_seed() -> None:
    assert generate_ich_cases(500, seed=5).equals(generate_ich_cases(500, seed=5))
    assert not generate_ich_cases(500, seed=5).equals(generate_ich_cases(500, seed=6))


def test_labelled_synthetic_and_plausible() -> None:
    f = generate_ich_cases(20000, seed=1)
    assert f["synthetic"].all()
    assert f["case_id"].str.starts_with("SYN-").all()
    assert set(f["label"].unique()) == {0, 1}
    assert 0.07 < f["label"].mean() < 0.14  # ICH prevalence in an ED head-CT population
    assert f["age"].max() <= 90 and f["age"].min() >= 1
    assert f["ai_score"].is_between(0, 1).all()
    older = f.filter(pl.col("age") >= 65)["label"].mean()
    younger = f.filter(pl.col("age") < 65)["label"].mean()
    assert older > younger


def test_parquet_carries_the_flag(tmp_path: Path) -> None:
    path = write_cases(generate_ich_cases(10, seed=1), tmp_path / "c.parquet")
    assert pl.read_parquet_metadata(path)["radgov.synthetic"] == "true"


def test_example_file_is_the_generator_output() -> None:
    """docs/examples/ich-triage-cases.csv = python -m radgov.evaluation.synthetic --n 1000 --seed 7"""
    assert pl.read_csv(EXAMPLE_CASES).equals(
        pl.read_csv(generate_ich_cases(1000, seed=7).write_csv().encode())
    )
