"""Drift of one deployment over a month of 100,000 exams, radgov.stats against NannyML.

    .venv/bin/python benchmarks/bench_drift.py [--quick] [--peer-python PATH]

Synthetic exams: a reference window and a current month of 100,000 exams each, with seven
categorical columns (manufacturer, scanner model, software version, station, protocol, body
part, contrast) and five continuous ones (slice thickness, kVp, age, pixel spacing, AI score).
In the current month a scanner's software version changes on day 30 (a value never seen in the
reference) and the scores shift.

radgov: ``categorical_drift`` (chi-square, PSI, new values with their first day) for each
categorical column and ``continuous_drift`` (Kolmogorov-Smirnov, PSI over reference deciles) for
each continuous one.  NannyML: ``UnivariateDriftCalculator`` with its chi-square for the
categorical columns and the exact Kolmogorov-Smirnov for the continuous ones, one chunk, fit on
the reference and calculated on the month.  NannyML 0.13.1 ignores ``computation_params`` for
its KS method, whose default above 10,000 reference rows bins the values into 10,000 bins and
gives an approximate D; the harness sets each KS method to "exact" so that the statistics can be
compared, and also reports the time of NannyML's default.  NannyML computes no PSI and no new values, so radgov
does more work in its time.  Target: radgov at least 3x faster, with the same chi-square
statistics and KS D to 1e-6 (radgov's chi-square with Yates's correction on the 2-category
column, as ``chi2_contingency`` does by default and so NannyML).

NannyML is a peer outside the bench extra: NannyML 0.13 declares ``python-dateutil<3`` and
radgov's lock pins python-dateutil 4.0.0 (through pandas).  It therefore runs in a Python
environment of its own, ``.venv/peers/nannyml``, made on first use from the hashed lock
``benchmarks/peers/nannyml-requirements.txt`` (the same numpy, scipy and pandas releases as
radgov's lock), or given by ``--peer-python``, as a subprocess on the very same data (an .npz
file), timing fit + calculate inside that process after one warm-up run.  Times are medians
of repeated runs.

Evidently (0.7.23, in an environment with pandas < 3) is not the peer: its report gives each
column's p-value only, and its chi-square drift test is a goodness-of-fit test of the current
counts against the reference's proportions (``scipy.stats.chisquare``), not the test of
homogeneity NannyML and radgov compute, so no statistic could be compared.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from bench_stats import median_time  # this folder is on sys.path when run as a script
from peer_env import peer_python

from radgov.stats.drift import categorical_drift, continuous_drift

CATEGORICAL = {
    "manufacturer": ["SIEMENS", "GE MEDICAL SYSTEMS", "Philips", "Canon Medical", "FUJIFILM"],
    "model": [f"Scanner {i}" for i in range(18)],
    "software_version": ["VE10", "VB20", "VA40", "syngo 8", "R5.1", "R6.0", "4.1", "4.2"],
    "station": [f"CT{i:02d}" for i in range(30)],
    "protocol": [f"PROTO_{i}" for i in range(15)],
    "body_part": ["HEAD", "CHEST", "ABDOMEN", "SPINE", "EXTREMITY"],
    "contrast": ["WITH", "WITHOUT"],
}
CONTINUOUS = ["slice_thickness", "kvp", "age", "pixel_spacing", "score"]


def month(n: int, seed: int, *, current: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for name, values in CATEGORICAL.items():
        weights = rng.dirichlet(np.ones(len(values)) * 3)
        data[name] = np.asarray(values, dtype=object)[rng.choice(len(values), n, p=weights)]
    day = np.sort(rng.integers(0, 31, n))
    data["day"] = (np.datetime64("2026-03-01") + day).astype("datetime64[D]")
    if current:  # the software update on day 30 of the month
        updated = (day >= 29) & (data["station"] == "CT03")
        data["software_version"][updated] = "VE11"
    data["slice_thickness"] = rng.choice(
        [0.625, 1.0, 1.25, 2.5, 5.0], n, p=[0.2, 0.3, 0.2, 0.1, 0.2]
    )
    data["kvp"] = rng.choice([80.0, 100.0, 120.0, 140.0], n) + rng.normal(0, 0.01, n)
    data["age"] = np.clip(rng.normal(62, 16, n), 18, 100).round()
    data["pixel_spacing"] = rng.uniform(0.5, 0.98, n)
    data["score"] = rng.beta(1.2, 5.0 if not current else 4.2, n)
    return data


def ours(ref: dict[str, np.ndarray], cur: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in CATEGORICAL:
        out[name] = categorical_drift(ref[name], cur[name], times=cur["day"], correction=True)
    for name in CONTINUOUS:
        out[name] = continuous_drift(ref[name], cur[name])
    return out


PEER = r"""
import json, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
try:
    import pandas as pd
    import nannyml as nml
except Exception as error:
    print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
    sys.exit(0)
data = np.load(sys.argv[1], allow_pickle=True)
categorical, continuous, repeats = json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
def frame(prefix):
    columns = {c: data[prefix + c] for c in categorical + continuous}
    columns["timestamp"] = pd.to_datetime(data[prefix + "day"])
    return pd.DataFrame(columns)
ref, cur = frame("ref_"), frame("cur_")
from nannyml.drift.univariate import methods

original_init = methods.KolmogorovSmirnovStatistic.__init__
def exact_init(self, **kwargs):
    original_init(self, **kwargs)
    self.calculation_method = exact  # computation_params is ignored by NannyML 0.13.1
methods.KolmogorovSmirnovStatistic.__init__ = exact_init

def run():
    calc = nml.UnivariateDriftCalculator(
        column_names=categorical + continuous,
        treat_as_categorical=categorical,
        timestamp_column_name="timestamp",
        continuous_methods=["kolmogorov_smirnov"],
        categorical_methods=["chi2"],
        chunk_number=1,
    )
    calc.fit(ref)
    return calc.calculate(cur)
def timed():
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
exact = "auto"
default_seconds, _ = timed()
exact = "exact"
seconds, result = timed()
frame_out = result.filter(period="analysis").to_df()
values = {}
for c in categorical:
    values[c] = float(frame_out[(c, "chi2", "value")].iloc[0])
for c in continuous:
    values[c] = float(frame_out[(c, "kolmogorov_smirnov", "value")].iloc[0])
print(json.dumps({"seconds": seconds, "default_seconds": default_seconds, "values": values,
                  "version": nml.__version__}))
"""


def run_peer(
    python: str, ref: dict[str, np.ndarray], cur: dict[str, np.ndarray], repeats: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "month.npz"
        arrays = {f"ref_{k}": v for k, v in ref.items()} | {f"cur_{k}": v for k, v in cur.items()}
        np.savez(path, **arrays)  # type: ignore[arg-type]
        done = subprocess.run(
            [
                python,
                "-c",
                PEER,
                str(path),
                json.dumps(list(CATEGORICAL)),
                json.dumps(CONTINUOUS),
                str(repeats),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 exams, 3 repeats")
    parser.add_argument(
        "--peer-python",
        help="a Python with nannyml (default: .venv/peers/nannyml, made from its lock)",
    )
    args = parser.parse_args()
    n, repeats = (10_000, 3) if args.quick else (100_000, 7)
    ref, cur = month(n, 1, current=False), month(n, 2, current=True)

    result = ours(ref, cur)  # also warms
    ours_time = median_time(lambda: ours(ref, cur), repeats)
    version = result["software_version"].new_values[0]
    print(f"radgov.stats drift, {len(CATEGORICAL)} categorical + {len(CONTINUOUS)} continuous")
    print(f"  columns, {n:,} reference and {n:,} current exams: {ours_time * 1e3:.0f} ms")
    print(f"  new value: software_version {version.value} first seen {version.first_seen}")

    peer = run_peer(args.peer_python or str(peer_python("nannyml")), ref, cur, repeats)
    if "error" in peer:
        print(f"MISSED: NannyML could not be run: {peer['error']}")
        return 1
    ratio = peer["seconds"] / ours_time
    worst = 0.0
    for name in CATEGORICAL:
        worst = max(worst, abs(result[name].chi_square.statistic - peer["values"][name]))
    for name in CONTINUOUS:
        worst = max(worst, abs(result[name].ks.statistic - peer["values"][name]))
    print(f"NannyML {peer['version']} chi2 + exact KS: {peer['seconds'] * 1e3:.0f} ms")
    print(
        f"  (NannyML's default KS, binned above 10,000 reference rows and so approximate: "
        f"{peer['default_seconds'] * 1e3:.0f} ms, {peer['default_seconds'] / ours_time:.1f}x radgov)"
    )
    print(
        f"  ratio NannyML / radgov: {ratio:.1f}x (target >= 3x): {'ok' if ratio >= 3 else 'MISSED'}"
    )
    print(f"  largest difference in chi-square / KS statistics: {worst:.2e} (target <= 1e-6)")
    return 0 if ratio >= 3 and worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
