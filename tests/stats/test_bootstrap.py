"""Bootstrap intervals.

Published example: the law school data of Efron B, Tibshirani RJ (1993), An Introduction to the
Bootstrap, Table 3.1 (LSAT and GPA of 15 American law schools; correlation 0.776, p. 21).  The
percentile (ch. 13) and BCa (ch. 14) intervals are checked to 1e-12 against
``scipy.stats.bootstrap`` drawing the very same resamples (same seed, same draw order), which
shows the quantile rule, the bias correction and the jackknife acceleration are the standard
ones.  The AUC fast path is checked replicate by replicate against scikit-learn on the same
resamples, and its closed-form jackknife against leave-one-out recomputation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score as sk_auc

from radgov.stats.bootstrap import auc_replicates, bootstrap_auc, bootstrap_ci

LSAT = np.array([576, 635, 558, 578, 666, 580, 555, 661, 651, 605, 653, 575, 545, 572, 594.0])
GPA = np.array(
    [3.39, 3.30, 2.81, 3.03, 3.44, 3.07, 3.00, 3.43, 3.36, 3.13, 3.12, 2.74, 2.76, 2.88, 2.96]
)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize(("ours", "scipy_name"), [("percentile", "percentile"), ("bca", "BCa")])
def test_law_school_matches_scipy_on_same_resamples(ours: str, scipy_name: str) -> None:
    """Efron & Tibshirani (1993) Table 3.1; scipy.stats.bootstrap with the same generator."""
    ref = stats.bootstrap(
        (LSAT, GPA),
        corr,
        paired=True,
        vectorized=False,
        n_resamples=2000,
        method=scipy_name,
        rng=np.random.default_rng(42),
    )
    e = bootstrap_ci(corr, LSAT, GPA, n_resamples=2000, method=ours, random_state=42, block_size=7)  # type: ignore[arg-type]
    assert round(e.estimate, 3) == 0.776
    assert e.ci_low == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert e.ci_high == pytest.approx(ref.confidence_interval.high, abs=1e-12)
    assert e.method == f"bootstrap {ours}" and e.n == 15


def test_vectorized_metric_and_block_size_do_not_change_the_answer() -> None:
    def vcorr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a = a - a.mean(axis=-1, keepdims=True)
        b = b - b.mean(axis=-1, keepdims=True)
        return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))

    plain = bootstrap_ci(corr, LSAT, GPA, n_resamples=500, method="bca", random_state=1)
    vec = bootstrap_ci(
        vcorr,
        LSAT,
        GPA,
        n_resamples=500,
        method="bca",
        random_state=1,
        vectorized=True,
        block_size=3,
    )
    one = bootstrap_ci(corr, LSAT, GPA, n_resamples=500, method="bca", random_state=1, block_size=1)
    assert (vec.ci_low, vec.ci_high) == pytest.approx((plain.ci_low, plain.ci_high), abs=1e-12)
    assert (one.ci_low, one.ci_high) == (plain.ci_low, plain.ci_high)


def test_stratification_preserves_class_counts_in_every_replicate() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(97) < 0.2).astype(int)
    s = rng.normal(y, 1)
    seen: list[tuple[int, int]] = []

    def record(yy: np.ndarray, ss: np.ndarray) -> float:
        seen.append((int(yy.sum()), int(yy.size)))
        return sk_auc(yy, ss)

    e = bootstrap_ci(record, y, s, n_resamples=300, random_state=0, block_size=16)
    assert e.method == "stratified bootstrap percentile"
    assert len(seen) == 301  # the estimate plus 300 replicates
    assert set(seen) == {(int(y.sum()), 97)}
    # explicit strata are honoured too
    groups = np.repeat([0, 1, 2], [30, 30, 37])
    sizes: set[tuple[int, int, int]] = set()

    def count(g: np.ndarray) -> float:
        sizes.add(tuple(int((g == k).sum()) for k in range(3)))  # type: ignore[arg-type]
        return float(g.mean())

    bootstrap_ci(count, groups, strata=groups, n_resamples=50, random_state=0)
    assert sizes == {(30, 30, 37)}


def test_auc_replicates_equal_sklearn_on_the_same_resamples() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(y * 0.7, 1), 1)  # many ties
    block = 6
    auc, reps, _ = auc_replicates(y, s, n_resamples=25, random_state=9, block_size=block)
    assert auc == pytest.approx(sk_auc(y, s), abs=1e-14)
    # rebuild the resamples: multiplicities are drawn positives first, then negatives, per block,
    # each over the cases of that class in ascending score order
    order = np.argsort(s)
    pos, neg = order[y[order] == 1], order[y[order] == 0]
    gen = np.random.default_rng(9)
    expected = []
    for start in range(0, 25, block):
        rows = min(block, 25 - start)
        dp = gen.integers(0, pos.size, (rows, pos.size))
        dn = gen.integers(0, neg.size, (rows, neg.size))
        for i in range(rows):
            idx = np.r_[pos[dp[i]], neg[dn[i]]]
            expected.append(sk_auc(y[idx], s[idx]))
    np.testing.assert_allclose(reps, expected, atol=1e-13)


def test_auc_jackknife_closed_form() -> None:
    """Leave-one-out AUCs from the DeLong placements equal recomputed ones."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 60)
    s = rng.integers(0, 5, 60) + y
    _, _, jack = auc_replicates(y, s, n_resamples=2, random_state=0)
    order = np.argsort(s, kind="stable")
    brute = []
    for i in np.r_[order[y[order] == 1], order[y[order] == 0]]:
        keep = np.arange(60) != i
        brute.append(sk_auc(y[keep], s[keep]))
    # the closed form lists positives then negatives in ascending score; compare as multisets
    np.testing.assert_allclose(np.sort(jack), np.sort(brute), atol=1e-13)


def test_bootstrap_auc_intervals() -> None:
    rng = np.random.default_rng(5)
    y = np.r_[np.ones(80, int), np.zeros(120, int)]
    s = rng.normal(y * 1.2, 1)
    for method in ("percentile", "bca"):
        e = bootstrap_auc(y, s, method=method, random_state=0, n_resamples=1000)  # type: ignore[arg-type]
        assert e.ci_low < e.estimate < e.ci_high
        assert e.estimate == pytest.approx(sk_auc(y, s))
        assert e.method == f"stratified bootstrap {method}"
    generic = bootstrap_ci(sk_auc, y, s, n_resamples=400, random_state=0)
    fast = bootstrap_auc(y, s, n_resamples=1000, random_state=0)
    assert abs(generic.ci_low - fast.ci_low) < 0.03 and abs(generic.ci_high - fast.ci_high) < 0.03


def test_percentile_coverage_sanity() -> None:
    """Mean of exponential samples (n = 40): the 90% percentile interval covers about 85-95%."""
    rng = np.random.default_rng(6)
    hits = 0
    for k in range(200):
        x = rng.exponential(1.0, 40)
        e = bootstrap_ci(
            lambda a: a.mean(axis=-1),
            x,
            n_resamples=400,
            confidence_level=0.9,
            random_state=k,
            vectorized=True,
        )
        hits += e.ci_low <= 1.0 <= e.ci_high
    assert 0.8 <= hits / 200 <= 0.96


def test_edge_cases() -> None:
    y = np.r_[np.ones(10, int), np.zeros(10, int)]
    ties = bootstrap_auc(y, np.ones(20), method="bca", random_state=0, n_resamples=200)
    assert (ties.estimate, ties.ci_low, ties.ci_high) == (0.5, 0.5, 0.5)
    perfect = bootstrap_auc(y, y * 1.0, method="bca", random_state=0, n_resamples=200)
    assert (perfect.estimate, perfect.ci_low, perfect.ci_high) == (1.0, 1.0, 1.0)
    none = bootstrap_auc(np.zeros(8, int), np.arange(8.0))
    assert not none.estimable and none.reason == "no positive cases" and math.isnan(none.ci_low)
    nan_metric = bootstrap_ci(lambda a: float("nan"), np.arange(5.0), n_resamples=10)
    assert not nan_metric.estimable
    sometimes = bootstrap_ci(
        lambda a: 1.0 / (a.min() - 0.0) if a.min() > 0 else float("nan"),
        np.arange(6.0),
        n_resamples=50,
        random_state=0,
    )
    assert not sometimes.estimable
    distinct = bootstrap_ci(
        lambda a: float(np.unique(a).size),
        np.arange(10.0),
        method="bca",
        n_resamples=50,
        random_state=0,
    )
    assert not distinct.estimable and "BCa is undefined" in (distinct.reason or "")
    tiny = bootstrap_auc(np.r_[1, np.zeros(5, int)], np.arange(6.0), method="bca")
    assert not tiny.estimable and "two positive" in (tiny.reason or "")
    with pytest.raises(ValueError, match="method must be 'percentile' or 'bca'"):
        bootstrap_auc(y, y, method="basic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same length"):
        bootstrap_ci(corr, LSAT, GPA[:-1])
    with pytest.raises(ValueError, match="y_score must be finite; found nan at index 3"):
        bootstrap_auc(y, np.r_[0, 0, 0, np.nan, np.zeros(16)])
    with pytest.raises(ValueError, match="y_true must contain only 0 and 1; found 2 at index 0"):
        bootstrap_auc(np.r_[2, y[1:]], np.zeros(20))
