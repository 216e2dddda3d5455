"""Benchmark of ``radgov evaluate``: report time at 100,000 cases and peak memory at 1,000,000.

Targets (from the issue):

* the whole report for 100,000 cases, 12 subgroups, every metric with its interval: < 3 s;
* ``radgov evaluate`` on 1,000,000 cases: peak resident memory < 1 GiB, bootstrap included.

Measured here:

1. **the command** (the target): ``radgov evaluate --protocol P --cases C --json OUT --html
   R.html --pdf R.pdf`` as a user runs it, a new process each time (Python start, settings,
   imports, the chart and PDF engines' start-up, load + validate the CSV, identifier screen,
   every metric overall and in 12 subgroups, ROC band bootstrap, OUT.json, HTML with 4 charts,
   PDF), wall time from start to exit; one run first, not counted, then the median of
   ``--repeat`` runs against the target (min and max show the spread);
2. **pipeline in process**, for reference (no target): the same work
   (:func:`radgov.evaluation.pipeline.run`, then the PDF) with imports done and the chart and
   PDF engines warm, as in a running server;
3. **peak RSS** of ``radgov evaluate`` on 1,000,000 cases (JSON + HTML), from
   ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` in a fresh wrapper process, so that no
   other child's peak is mixed in (the largest single process: the command or an engine).

How the command stays this fast is explained in one place, the docstring of
``radgov.evaluation.pipeline``.  Exits 1 when a target is missed.  Run:
``.venv/bin/python benchmarks/bench_evaluate.py [--repeat 5] [--skip-million]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RADGOV = ROOT / ".venv" / "bin" / "radgov"

# 12 subgroups: sex (2) + manufacturer (4) + age in 6 bins
PROTOCOL = {
    "name": "ICH triage benchmark",
    "task": "binary",
    "columns": {"case_id": "case_id", "truth": "label", "score": "ai_score"},
    "threshold": 0.5,
    "confidence_level": 0.95,
    "metrics": ["sensitivity", "specificity", "ppv", "npv", "accuracy", "f1", "auc", "brier"],
    "subgroups": ["sex", "manufacturer", {"column": "age", "bins": [0, 18, 40, 50, 65, 80, 200]}],
    "criteria": [
        {"metric": "sensitivity", "ci_low_at_least": 0.80},
        {"metric": "specificity", "estimate_at_least": 0.85},
        {"metric": "auc", "ci_low_at_least": 0.85, "subgroups": "all"},
    ],
}


def _write_inputs(folder: Path, n: int) -> tuple[Path, Path]:
    from radgov.evaluation.synthetic import generate_ich_cases, write_cases

    protocol = folder / "protocol.yaml"
    protocol.write_text(yaml.safe_dump(PROTOCOL, sort_keys=False))
    cases = write_cases(generate_ich_cases(n, seed=2024), folder / f"cases-{n}.csv")
    return protocol, cases


class _AnyFile:
    """A privacy policy for the benchmark's synthetic cases, which hold no identifiers."""

    def allow(self, findings: list[object]) -> str | None:
        assert not findings
        return None


def pipeline_seconds(
    protocol_path: Path, cases_path: Path, out: Path, repeat: int
) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds of this process, all threads) per repetition."""
    from radgov.evaluation import pipeline
    from radgov.evaluation.protocol import load_protocol
    from radgov.evaluation.report import charts, render

    charts.warm_up()
    render.load_pdf_engine()
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        protocol = load_protocol(protocol_path)
        outcome = pipeline.run(
            protocol,
            cases_path,
            privacy=_AnyFile(),
            page=pipeline.InProcessPage(),
            json_out=out / "out.json",
        )
        (out / "report.html").write_text(outcome.html)
        render.render_pdf(outcome.html, out / "report.pdf")
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert len(outcome.result["subgroups"]) == 12
    return times, cpu


def _cli_args(protocol: Path, cases: Path, out: Path, *, pdf: bool) -> list[str]:
    args = [
        str(RADGOV), "evaluate", "--protocol", str(protocol), "--cases", str(cases),
        "--json", str(out / "cli.json"), "--html", str(out / "cli.html"),
    ]  # fmt: skip
    if pdf:
        args += ["--pdf", str(out / "cli.pdf")]
    return args


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_seconds(
    protocol: Path, cases: Path, out: Path, repeat: int
) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds of the command and its engines) per counted run, each in a new
    process after one run that is not counted."""
    times, cpu = [], []
    for i in range(repeat + 1):
        for name in ("cli.json", "cli.html", "cli.pdf"):
            (out / name).unlink(missing_ok=True)
        t0, c0 = time.perf_counter(), _children_cpu()
        run = subprocess.run(
            _cli_args(protocol, cases, out, pdf=True), capture_output=True, text=True
        )
        wall, used = time.perf_counter() - t0, _children_cpu() - c0
        if run.returncode not in (0, 1):
            raise SystemExit(f"radgov evaluate failed:\n{run.stderr}")
        assert len(json.loads((out / "cli.json").read_text())["subgroups"]) == 12
        assert (out / "cli.html").stat().st_size and (out / "cli.pdf").read_bytes()[:5] == b"%PDF-"
        if i:  # the first run warms the disk cache
            times.append(wall)
            cpu.append(used)
    return times, cpu


def child_peak_rss(args: list[str]) -> tuple[int, float, int]:
    """Run ``args`` from a fresh wrapper; return (peak RSS in bytes, seconds, exit status)."""
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(json.loads(sys.argv[1]), stdout=subprocess.DEVNULL).returncode\n"
        "dt = time.perf_counter() - t\n"
        "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, dt, rc]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", wrapper, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
    )
    kib, seconds, rc = json.loads(run.stdout)
    return int(kib) * 1024, float(seconds), int(rc)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radgov.settings")

    from rich.console import Console
    from rich.table import Table

    rows: list[tuple[str, str, str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        folder = Path(tmp)
        protocol, cases_100k = _write_inputs(folder, 100_000)
        cli, cli_cpu = cli_seconds(protocol, cases_100k, folder, args.repeat)
        median = statistics.median(cli)
        rows.append(
            (f"radgov evaluate --json --html --pdf, 100,000 cases x 12 subgroups, a new process "
             f"each run: wall median (min-max of {len(cli)}); CPU median, engines included",
             f"{median:.2f} s ({min(cli):.2f}-{max(cli):.2f}); "
             f"CPU {statistics.median(cli_cpu):.2f} s",
             "< 3 s", median < 3.0)
        )  # fmt: skip
        pipe, pipe_cpu = pipeline_seconds(protocol, cases_100k, folder, args.repeat)
        rows.append(
            ("for reference: the same in this process, imports done and engines warm: wall "
             "median (min); CPU median",
             f"{statistics.median(pipe):.2f} s ({min(pipe):.2f}); "
             f"CPU {statistics.median(pipe_cpu):.2f} s",
             "", True)
        )  # fmt: skip
        if not args.skip_million:
            _, cases_1m = _write_inputs(folder, 1_000_000)
            (cases_100k).unlink()
            peak, seconds, rc = child_peak_rss(_cli_args(protocol, cases_1m, folder, pdf=False))
            if rc not in (0, 1):
                raise SystemExit(f"radgov evaluate on 1,000,000 cases failed with status {rc}")
            rows.append(
                (f"peak RSS, radgov evaluate, 1,000,000 cases (took {seconds:.1f} s)",
                 f"{peak / 2**20:.0f} MiB", "< 1024 MiB", peak < 2**30)
            )  # fmt: skip

    load = os.getloadavg()[0]
    table = Table(
        title=f"radgov evaluate benchmark ({os.cpu_count()} cores, load average {load:.1f})"
    )
    for col in ("measurement", "result", "target", "met"):
        table.add_column(col)
    for name, value, target, met in rows:
        verdict = "" if not target else "[green]met[/]" if met else "[red]missed[/]"
        table.add_row(name, value, target, verdict)
    Console().print(table)
    return 0 if all(met for *_, met in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
