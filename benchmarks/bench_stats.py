"""Side-by-side benchmark of radgov.stats against its peers (run by ``make bench``, never by tests).

    .venv/bin/python benchmarks/bench_stats.py [--quick]

1. AUC + DeLong interval on 1,000,000 cases, against one ``np.argsort`` of the scores
   (target: at most 2x) and against the ``confidenceinterval`` package's DeLong (target: at
   least 3x faster).
2. 2,000 stratified bootstrap replicates of the AUC on 100,000 cases, against a Python loop of
   ``sklearn.metrics.roc_auc_score`` over the very same resamples (target: at least 10x).  The
   sklearn loop is timed on a subset of the replicates and scaled linearly (stated in the output).
3. Peak memory of the bootstrap on 1,000,000 cases (tracemalloc, which numpy reports to), against
   what holding every replicate's n resample indices at once would take.

Times are medians of several repeats measured with ``time.perf_counter`` in this one process;
the ratio to ``np.argsort`` is the median of ratios of runs taken in pairs (ours, argsort).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from radgov.stats.bootstrap import bootstrap_auc
from radgov.stats.roc import roc_auc_score


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_times(
    fn_a: Callable[[], Any], fn_b: Callable[[], Any], repeats: int
) -> tuple[float, float, float]:
    """(median time of a, median time of b, median of the ratios a/b), timed a, b, a, b, ...

    Taking each ratio from a pair run back to back cancels the machine's drifts in speed,
    which two blocks of runs one after the other would each catch differently."""
    fn_a(), fn_b()  # warm: first-call allocations and caches
    times_a, times_b, ratios = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        fn_a()
        middle = time.perf_counter()
        fn_b()
        end = time.perf_counter()
        times_a.append(middle - start)
        times_b.append(end - middle)
        ratios.append((middle - start) / (end - middle))
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    s = rng.normal(y * 0.8, 1.0)
    return y, s


Row = tuple[str, str, str, float, str, bool]
rows: list[Row] = []
notes: list[str] = []


def bench_delong(n: int, repeats: int) -> None:
    y, s = data(n, 0)
    ours, sort, ratio = paired_times(lambda: roc_auc_score(y, s), lambda: np.argsort(s), repeats)
    rows.append(
        (
            f"AUC+DeLong, n={n:,}",
            f"{ours * 1e3:.0f} ms",
            f"argsort {sort * 1e3:.0f} ms",
            ratio,
            "<= 2.0x argsort",
            ratio <= 2.0,
        )
    )
    try:
        from confidenceinterval import roc_auc_score as ci_auc
    except ImportError:  # pragma: no cover - the bench extra is missing
        notes.append("confidenceinterval is not installed: peer (1b) skipped")
        return
    peer = median_time(
        lambda: ci_auc(y, s, confidence_level=0.95, method="delong"), max(1, repeats // 2)
    )
    ours_est = roc_auc_score(y, s)
    peer_auc, (peer_lo, peer_hi) = ci_auc(y, s, confidence_level=0.95, method="delong")
    speedup = peer / ours
    rows.append(
        (
            f"AUC+DeLong, n={n:,}",
            f"{ours * 1e3:.0f} ms",
            f"confidenceinterval {peer * 1e3:.0f} ms",
            speedup,
            ">= 3x faster",
            speedup >= 3.0,
        )
    )
    notes.append(
        f"agreement with confidenceinterval: AUC {ours_est.estimate:.6f} vs {float(peer_auc):.6f}, "
        f"CI ({ours_est.ci_low:.6f}, {ours_est.ci_high:.6f}) vs ({peer_lo:.6f}, {peer_hi:.6f})"
    )


def sklearn_loop_time(y: np.ndarray, s: np.ndarray, seed: int, block: int, n_timed: int) -> float:
    """sklearn on the very resamples bootstrap_auc draws (same generator, same draw order)."""
    from sklearn.metrics import roc_auc_score as sk_auc

    order = np.argsort(s)
    pos, neg = order[y[order] == 1], order[y[order] == 0]
    gen = np.random.default_rng(seed)
    resamples = []
    while len(resamples) < n_timed:
        dp = gen.integers(0, pos.size, (block, pos.size))
        dn = gen.integers(0, neg.size, (block, neg.size))
        resamples.extend(np.concatenate((pos[dp], neg[dn]), axis=1)[: n_timed - len(resamples)])
    start = time.perf_counter()
    for idx in resamples:
        sk_auc(y[idx], s[idx])
    return time.perf_counter() - start


def bench_bootstrap(n: int, n_resamples: int, n_timed: int, repeats: int) -> None:
    y, s = data(n, 1)
    block = 40  # fixed so that the sklearn loop can rebuild the very same resamples
    ours = median_time(
        lambda: bootstrap_auc(y, s, n_resamples=n_resamples, random_state=7, block_size=block),
        repeats,
    )
    per_rep = statistics.median(
        sklearn_loop_time(y, s, 7, block, n_timed) / n_timed for _ in range(2)
    )
    peer = per_rep * n_resamples
    speedup = peer / ours
    rows.append(
        (
            f"bootstrap AUC, {n_resamples:,} reps, n={n:,}",
            f"{ours:.2f} s",
            f"sklearn loop {peer:.1f} s*",
            speedup,
            ">= 10x faster",
            speedup >= 10.0,
        )
    )
    notes.append(
        f"* sklearn's roc_auc_score was timed on the first {n_timed} of the same {n_resamples:,} "
        f"resamples ({per_rep * 1e3:.1f} ms each) and scaled linearly; the indexing of each "
        f"resample is not counted in its time."
    )


def bench_memory(n: int, n_resamples: int) -> None:
    y, s = data(n, 2)
    tracemalloc.start()
    bootstrap_auc(y, s, n_resamples=n_resamples, random_state=3)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    inputs = y.nbytes + s.nbytes
    naive = n_resamples * n * 8  # one int64 index per case per replicate, all at once
    rows.append(
        (
            f"bootstrap AUC peak memory, n={n:,}",
            f"{peak / 2**20:.0f} MiB",
            f"all replicates x n at once {naive / 2**30:.1f} GiB",
            naive / peak,
            "bounded (< 1 GiB)",
            peak < 2**30,
        )
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    notes.append(
        f"memory: tracemalloc peak {peak / 2**20:.0f} MiB during bootstrap_auc "
        f"({n_resamples} replicates; inputs {inputs / 2**20:.0f} MiB); process ru_maxrss so far "
        f"{rss:.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    q = args.quick
    bench_delong(100_000 if q else 1_000_000, 5 if q else 21)
    bench_bootstrap(20_000 if q else 100_000, 200 if q else 2000, 20 if q else 100, 1 if q else 3)
    bench_memory(200_000 if q else 1_000_000, 50 if q else 200)

    header = ("what", "ours", "peer", "ratio", "target", "")
    table = [header] + [
        (w, o, p, f"{r:.2f}", t, "met" if ok else "MISSED") for w, o, p, r, t, ok in rows
    ]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        print("  ".join(str(c).ljust(widths[j]) for j, c in enumerate(r)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for note in notes:
        print(note)
    print(
        "ratio: ours/argsort for the first row, peer/ours (speed-up) otherwise, "
        "naive/ours for memory"
    )
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
