"""Fixtures for the acceptance-testing engine: the example protocol and small case tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from radgov.evaluation.protocol import Protocol, parse_protocol
from radgov.evaluation.synthetic import generate_ich_cases, write_cases

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PROTOCOL = ROOT / "src" / "radgov" / "evaluation" / "examples" / "ich-triage-protocol.yaml"
EXAMPLE_CASES = ROOT / "docs" / "examples" / "ich-triage-cases.csv"


@pytest.fixture
def example_dict() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE_PROTOCOL.read_text())
    return data


@pytest.fixture
def example_protocol(example_dict: dict[str, Any]) -> Protocol:
    return parse_protocol(example_dict)


@pytest.fixture
def synthetic_frame() -> pl.DataFrame:
    return generate_ich_cases(3000, seed=11)


@pytest.fixture
def synthetic_csv(tmp_path: Path, synthetic_frame: pl.DataFrame) -> Path:
    return write_cases(synthetic_frame, tmp_path / "cases.csv")


def write_rows(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path
