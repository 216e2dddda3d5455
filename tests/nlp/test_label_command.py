"""``radgov label`` end to end, as a user runs it (a subprocess; no database is touched)."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RADGOV = ROOT / ".venv" / "bin" / "radgov"

REPORTS = [
    ("A1", "FINDINGS: No pneumothorax. Small left pleural effusion.\nIMPRESSION: Small effusion."),
    ("A2", "INDICATION: Rule out PE.\nIMPRESSION: Acute pulmonary embolism, right lower lobe."),
    ("A3", "IMPRESSION: Possible nondisplaced fracture of the left 7th rib."),
    ("A4", "IMPRESSION: Normal chest."),
]


def radgov(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # a database that cannot be opened: the command must never need one
    env = {**os.environ, "COLUMNS": "200", "DATABASE_URL": "sqlite:////nonexistent/dir/no.db"}
    return subprocess.run(
        [str(RADGOV), "label", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
    )  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "reports.csv", ["report_id", "text"], REPORTS)


def test_labels_are_written_one_row_per_report_and_finding(tmp_path: Path, reports: Path) -> None:
    out = tmp_path / "labels.csv"
    run = radgov("--reports", reports, "--out", out, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["report_id", "finding", "label", "evidence", "section", "rule",
                             "version"]  # fmt: skip
    got = {(r["report_id"], r["finding"]): r["label"] for r in rows}
    assert got == {
        ("A1", "pneumothorax"): "negative",
        ("A1", "pleural_effusion"): "positive",
        ("A2", "pulmonary_embolism"): "positive",
        ("A3", "fracture"): "uncertain",
    }
    a3 = next(r for r in rows if r["report_id"] == "A3")
    assert a3["evidence"] == "Possible nondisplaced fracture of the left 7th rib."
    assert a3["section"] == "impression" and a3["rule"] == "uncertain forward 'possible'"
    assert a3["version"].startswith("radgov-nlp/1+rules.")
    assert "labelled 4 reports: 4 labels written" in run.stdout


def test_a_practice_rule_file(tmp_path: Path, reports: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("history: ignore\nfindings:\n  - name: effusion\n    terms: [effusion]\n")
    out = tmp_path / "labels.csv"
    run = radgov("--rules", rules, "--reports", reports, "--out", out, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["report_id"], r["finding"], r["label"]) for r in rows] == [
        ("A1", "effusion", "positive")
    ]


BAD_REPORTS = [
    (["id", "text"], [("A1", "x")], "REPORTS.csv reports.csv has no column 'report_id'"),
    (["report_id", "text"], [("A1", "x"), ("", "y")], "REPORTS.csv row 2: column 'report_id' is empty"),
    (["report_id", "text"], [("A1", "x"), ("A2", "y"), ("A1", "z")],
     "REPORTS.csv row 3: column 'report_id' repeats the id of row 1"),
    (["report_id", "text"], [("A1", "x"), ("A2", "")], "REPORTS.csv row 2: column 'text' is empty"),
]  # fmt: skip


@pytest.mark.parametrize(("header", "rows", "message"), BAD_REPORTS)
def test_bad_reports_are_refused_naming_row_and_column(
    tmp_path: Path, header: list[str], rows: list[tuple[str, ...]], message: str
) -> None:
    path = write_csv(tmp_path / "reports.csv", header, rows)
    out = tmp_path / "labels.csv"
    run = radgov("--reports", path, "--out", out, cwd=tmp_path)
    assert run.returncode == 2
    assert message in run.stderr
    assert not out.exists() and not Path(f"{out}.tmp").exists()


def test_a_malformed_csv_is_refused_without_quoting_the_report(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    path.write_text('report_id,text\nA1,"unclosed quote, patient Jane Roe\nA2,x,y,z\n')
    run = radgov("--reports", path, "--out", tmp_path / "labels.csv", cwd=tmp_path)
    assert run.returncode == 2
    assert "REPORTS.csv reports.csv cannot be read as CSV" in run.stderr
    assert "Jane" not in run.stderr and "unclosed" not in run.stderr
    assert not (tmp_path / "labels.csv").exists()


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("findings: [{name: x, terms: [a]}]\nhistroy: positive\n", "unknown key 'histroy'"),
        ("findings: [{name: x, patterns: ['[a-']}]\n",
         "findings[0] (x).patterns[0]: not a valid regular expression"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused(tmp_path: Path, reports: Path, rules: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    out = tmp_path / "labels.csv"
    run = radgov("--rules", path, "--reports", reports, "--out", out, cwd=tmp_path)
    assert run.returncode == 2
    assert "the rule file cannot be used" in run.stderr and message in run.stderr
    assert not out.exists()


def test_evaluate_prints_sensitivity_and_specificity(tmp_path: Path, reports: Path) -> None:
    human = write_csv(
        tmp_path / "human.csv",
        ["report_id", "finding", "label"],
        [("A1", "pneumothorax", "negative"), ("A1", "pleural_effusion", "positive"),
         ("A2", "pulmonary_embolism", "positive"), ("A4", "pleural_effusion", "positive")],
    )  # fmt: skip
    run = radgov("--reports", reports, "--evaluate", human, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = {line.split()[0]: line for line in run.stdout.splitlines() if "_" in line[:30]}
    # effusion: A1 found, A4 missed (sensitivity 1/2); the other three reports not positive
    assert lines["pleural_effusion"].split()[1:3] == ["2/2/0", "0.500"]
    assert "1.000 (0.342–1.000)" in lines["pleural_effusion"]  # specificity 2/2, Wilson
    assert "pulmonary_embolism" in lines and "fracture" not in lines
    assert "warning:" in run.stdout and "Buderer 1996" in run.stdout


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("A9", "pneumothorax", "negative")],
         "HUMAN_LABELS.csv row 1: column 'report_id' names no report of REPORTS.csv"),
        ([("A1", "pneumothorax", "negative"), ("A1", "ptx", "negative")],
         "HUMAN_LABELS.csv row 2: column 'finding' is 'ptx', not a finding of the rules"),
        ([("A1", "pneumothorax", "absent")], "HUMAN_LABELS.csv row 1: column 'label' is 'absent'"),
        ([("A1", "pneumothorax", "negative"), ("A1", "pneumothorax", "positive")],
         "HUMAN_LABELS.csv row 2: repeats the report and finding of row 1"),
    ],
)  # fmt: skip
def test_bad_human_labels_are_refused(
    tmp_path: Path, reports: Path, rows: list[tuple[str, ...]], message: str
) -> None:
    human = write_csv(tmp_path / "human.csv", ["report_id", "finding", "label"], rows)
    out = tmp_path / "labels.csv"
    run = radgov("--reports", reports, "--evaluate", human, "--out", out, cwd=tmp_path)
    assert run.returncode == 2
    assert message in run.stderr
    assert not out.exists()


def test_options_are_checked(tmp_path: Path, reports: Path) -> None:
    run = radgov("--reports", reports, cwd=tmp_path)
    assert run.returncode == 2 and "give --out LABELS.csv, --evaluate" in run.stderr
    run = radgov("--out", tmp_path / "x.csv", cwd=tmp_path)
    assert run.returncode == 2 and "missing required option --reports" in run.stderr
    run = radgov("--reports", reports, "--out", tmp_path / "no" / "x.csv", cwd=tmp_path)
    assert run.returncode == 2 and "does not exist" in run.stderr
