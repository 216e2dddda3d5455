"""``radgov evaluate`` end to end, as a user runs it (a subprocess; no database is touched)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from .conftest import EXAMPLE_CASES, EXAMPLE_PROTOCOL, ROOT

RADGOV = ROOT / ".venv" / "bin" / "radgov"


def radgov(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # a database that cannot be opened: the command must never need one
    env = {**os.environ, "COLUMNS": "200", "DATABASE_URL": "sqlite:////nonexistent/dir/no.db"}
    return subprocess.run(
        [str(RADGOV), "evaluate", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )  # fmt: skip


def test_example_end_to_end(tmp_path: Path) -> None:
    out, html, pdf = tmp_path / "out.json", tmp_path / "r.html", tmp_path / "r.pdf"
    run = radgov(
        "--protocol", EXAMPLE_PROTOCOL, "--cases", EXAMPLE_CASES,
        "--json", out, "--html", html, "--pdf", pdf, cwd=tmp_path,
    )  # fmt: skip
    data = json.loads(out.read_text())
    # the example's children subgroup has a single positive case: its AUC is not estimable,
    # so criterion 3 fails there and the run says so (exit status 1, outputs still written)
    assert run.returncode == (0 if data["passed"] else 1), run.stderr
    assert not data["passed"]
    failing = [c for c in data["criteria"] if not c["passed"]]
    assert [c["subgroup"] for c in failing] == ["age=[0,18)"]
    assert "not estimable" in failing[0]["reason"]
    assert "FAILED" in run.stdout and "age=[0,18)" in run.stdout
    assert data["cases"]["synthetic"] is True
    assert html.read_text().count("<svg") >= 4
    assert pdf.read_bytes().startswith(b"%PDF")


def _passing_protocol(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    data = yaml.safe_load(EXAMPLE_PROTOCOL.read_text())
    data["criteria"][2] = {"metric": "auc", "ci_low_at_least": 0.85, "subgroups": ["sex"]}
    data["roc_band_resamples"] = 50
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, data


def test_passing_run_and_protocol_lock(tmp_path: Path) -> None:
    from radgov.evaluation.protocol import load_protocol

    protocol, _ = _passing_protocol(tmp_path)
    locked = load_protocol(protocol).canonical_hash()
    run = radgov(
        "--protocol", protocol, "--cases", EXAMPLE_CASES, "--json", tmp_path / "o.json",
        "--expect-protocol-hash", locked, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr + run.stdout
    data = json.loads((tmp_path / "o.json").read_text())
    assert data["passed"] and data["protocol"]["hash"] == locked
    assert "matches the locked hash" in data["protocol"]["lock"]

    wrong = radgov(
        "--protocol", protocol, "--cases", EXAMPLE_CASES, "--json", tmp_path / "o2.json",
        "--expect-protocol-hash", "0" * 64, cwd=tmp_path,
    )  # fmt: skip
    assert wrong.returncode == 2
    assert "has changed since it was locked" in wrong.stderr
    assert not (tmp_path / "o2.json").exists()


def test_subgroup_without_positives_is_warned_about(tmp_path: Path) -> None:
    frame = pl.read_csv(EXAMPLE_CASES)
    frame = frame.with_columns(
        label=pl.when(pl.col("manufacturer") == "Canon").then(0).otherwise(pl.col("label"))
    )
    path = tmp_path / "c.csv"
    frame.write_csv(path)
    run = radgov(
        "--protocol", EXAMPLE_PROTOCOL, "--cases", path, "--json", tmp_path / "o.json", cwd=tmp_path
    )  # fmt: skip
    assert run.returncode == 1
    assert "warning: subgroup manufacturer=Canon has no positive cases" in run.stdout
    data = json.loads((tmp_path / "o.json").read_text())
    canon = data["subgroups"]["manufacturer=Canon"]
    assert canon["sensitivity"]["estimate"] is None
    assert canon["sensitivity"]["not_estimable"] == "no positive cases"
    assert canon["auc"]["not_estimable"] == "no positive cases"


def test_bad_input_exits_2_naming_row_and_column(tmp_path: Path) -> None:
    frame = pl.read_csv(EXAMPLE_CASES)
    labels = frame["label"].to_list()
    labels[41] = 7
    bad = tmp_path / "bad.csv"
    frame.with_columns(label=pl.Series(labels)).write_csv(bad)
    run = radgov(
        "--protocol", EXAMPLE_PROTOCOL, "--cases", bad, "--json", tmp_path / "o.json", cwd=tmp_path
    )  # fmt: skip
    assert run.returncode == 2
    assert "column 'label', data row 42 (spreadsheet row 43): '7'" in run.stderr
    assert not (tmp_path / "o.json").exists()


def test_a_file_unreadable_at_the_identifier_screen_is_named_as_any_unusable_file(
    tmp_path: Path,
) -> None:
    sheet = tmp_path / "cases.xlsx"
    sheet.write_bytes(b"not a table")
    run = radgov(
        "--protocol", EXAMPLE_PROTOCOL, "--cases", sheet, "--json", tmp_path / "o.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 2
    assert "the cases file cases.xlsx cannot be used:\n  - 'cases.xlsx': unknown file type" in (
        run.stderr
    )
    assert not (tmp_path / "o.json").exists()


def test_identifiers_are_refused_unless_allowed_with_a_reason(tmp_path: Path) -> None:
    frame = pl.read_csv(EXAMPLE_CASES).with_columns(
        MRN=pl.Series([f"{9000000 + 17 * i}" for i in range(1000)])
    )
    path = tmp_path / "phi.parquet"
    frame.write_parquet(path)
    args = ("--protocol", EXAMPLE_PROTOCOL, "--cases", path, "--json", tmp_path / "o.json")
    refused = radgov(*args, cwd=tmp_path)
    assert refused.returncode == 2
    assert "column 'MRN': medical record number" in refused.stderr
    assert "--allow-identifiers" in refused.stderr
    allowed = radgov(*args, "--allow-identifiers", "BAA with vendor, 2025-03", cwd=tmp_path)
    assert allowed.returncode in (0, 1), allowed.stderr
    privacy = json.loads((tmp_path / "o.json").read_text())["privacy"]
    assert privacy["allowed"] and privacy["reason"] == "BAA with vendor, 2025-03"
    assert {f["column"] for f in privacy["identifier_columns"]} == {"MRN"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--metric", "sensitivity", "--expected", "0.9", "--half-width", "0.05",
          "--prevalence", "0.2"), {"n_positives": 139, "n_total": 692}),  # Buderer's example
        (("--metric", "sensitivity", "--expected", "0.9", "--at-least", "0.8",
          "--positives", "100"), {"n_positives": 100}),
    ],
)  # fmt: skip
def test_plan(tmp_path: Path, args: tuple[str, ...], expected: dict[str, int]) -> None:
    run = radgov("plan", *args, "--json", tmp_path / "plan.json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    (answer,) = json.loads((tmp_path / "plan.json").read_text())
    for key, value in expected.items():
        assert answer[key] == value
    assert "Sample size" in run.stdout


def test_plan_from_the_protocol(tmp_path: Path) -> None:
    run = radgov(
        "plan", "--protocol", EXAMPLE_PROTOCOL, "--prevalence", "0.1",
        "--expect", "sensitivity=0.9", "--expect", "auc=0.95", "--json", tmp_path / "p.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    answers = json.loads((tmp_path / "p.json").read_text())
    assert [a["metric"] for a in answers] == ["sensitivity", "auc"]
    missing = radgov("plan", "--protocol", EXAMPLE_PROTOCOL, "--prevalence", "0.1", cwd=tmp_path)
    assert missing.returncode == 2 and "--expect sensitivity=VALUE" in missing.stderr


def _same_run(
    fast: subprocess.CompletedProcess[str], full: subprocess.CompletedProcess[str]
) -> None:
    """The same exit status and messages; only the report's time stamp may differ."""

    def plain(text: str) -> str:
        return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", text)

    assert (fast.returncode, plain(fast.stdout), plain(fast.stderr)) == (
        full.returncode,
        plain(full.stdout),
        plain(full.stderr),
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("plan", "--metric", "sensitivity", "--expected", "0.9", "--half-width", "0.05",
         "--prevalence", "0.2"),
        ("plan", "--metric", "sensitivity", "--expected", "0.9"),  # bad input: exit 2
        ("--protocol", EXAMPLE_PROTOCOL, "--json", "o.json"),  # --cases missing: exit 2
        ("--protocol", "nonexistent.yaml", "--cases", EXAMPLE_CASES, "--json", "o.json"),
        ("--no-such-option",),  # the parser's own error: exit 2
    ],
)  # fmt: skip
def test_without_apps_as_through_djangos_dispatcher(tmp_path: Path, args: tuple[str, ...]) -> None:
    """``radgov evaluate`` runs without django.setup(); ``--settings`` sends it through Django's
    own dispatcher (every app loaded): what a user sees must not differ."""
    fast = radgov(*args, cwd=tmp_path)
    full = radgov("--settings", "radgov.settings", *args, cwd=tmp_path)
    _same_run(fast, full)


def test_report_without_apps_as_through_djangos_dispatcher(tmp_path: Path) -> None:
    protocol, _ = _passing_protocol(tmp_path)
    runs, outputs = [], []
    for name, extra in (("fast", ()), ("full", ("--settings", "radgov.settings"))):
        folder = tmp_path / name
        folder.mkdir()
        runs.append(
            radgov(
                *extra, "--protocol", protocol, "--cases", EXAMPLE_CASES, "--json", "o.json",
                "--html", "r.html", "--pdf", "r.pdf", cwd=folder,
            )
        )  # fmt: skip
        data = json.loads((folder / "o.json").read_text())
        del data["generated_at"]
        page = re.sub(r"generated \S+Z", "", (folder / "r.html").read_text())
        outputs.append((data, page, (folder / "r.pdf").read_bytes()[:5]))
    fast, full = runs
    assert fast.returncode == 0, fast.stderr
    _same_run(fast, full)
    assert outputs[0] == outputs[1]
    assert outputs[0][2] == b"%PDF-"


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("2", "2")])
def test_evaluate_sets_one_blas_thread_unless_told_otherwise(
    tmp_path: Path, given: str | None, expected: str
) -> None:
    """The report's engines need the second core, so OpenBLAS's spinning threads are not
    wanted; a value the user set is theirs."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    script = (
        "import os, sys\n"
        "from radgov import cli\n"
        "try:\n"
        "    cli.main(['evaluate', '--help'])\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "--protocol" in run.stdout
    assert run.stderr.strip().splitlines()[-1] == expected
