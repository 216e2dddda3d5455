"""Sample sizes and power for diagnostic-accuracy and local acceptance-testing studies.

``buderer_sample_size``
    Buderer (1996) Acad Emerg Med 3:895-900: positives needed to estimate sensitivity to a
    confidence-interval half-width ``W`` is ``z^2 Se (1 - Se) / W^2`` (negatives likewise
    for specificity), and the patients to enrol at prevalence ``P`` are ``positives / P``
    (``negatives / (1 - P)``).  Rounding: each reported count is the ceiling of its own
    unrounded value, so the total is ``ceil(z^2 Se (1 - Se) / (W^2 P))``; this reproduces
    Buderer's 692 patients for Se 0.90, W 0.05, P 0.20 (ceiling the 138.3 positives to 139
    first would give 695).
``auc_sample_size``
    Precision mode (``half_width``): the positives ``n`` (and negatives ``ratio x n``) for
    which ``z x SE(AUC) <= half_width`` with the standard error of Hanley & McNeil (1982)
    Radiology 143:29-36.  Test mode (``auc0``): the positives for a one-sample test of
    ``AUC = auc0`` against ``auc`` (Obuchowski 1994; Obuchowski & McClish 1997; the
    binormal variance ``V(A) = 0.0099 exp(-a^2/2) (5 a^2 + 8 + (a^2 + 8) / ratio)``,
    ``a = sqrt(2) Phi^-1(A)``, as in Obuchowski, Lieber & Wians 2004 Clin Chem 50:1118-1125
    Table 4 and R's ``pROC::power.roc.test``):
    ``n = (z_alpha sqrt(V(auc0)) + z_beta sqrt(V(auc)))^2 / (auc - auc0)^2``.
``noninferiority_sensitivity_power`` and ``noninferiority_sensitivity_sample_size``
    The exact one-sided binomial test of ``H0: Se <= claimed - margin`` among ``n`` positives:
    reject when at least ``c`` are detected, ``c`` the smallest count with
    ``P(X >= c | claimed - margin) <= alpha``; power is ``P(X >= c | true sensitivity)``.
    Exact power is a saw-tooth in ``n`` (``c`` jumps by one now and then, and power drops),
    so the sample size reported is the smallest ``n`` from which EVERY larger ``n`` up to
    ``max_n`` also reaches the target power; the first ``n`` that reaches it (which a later
    ``n`` may fail) is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
from scipy.special import ndtri

from ._validation import check_confidence_level, z_value

# scipy.stats is imported where it is used (the non-inferiority functions): importing it costs
# about 0.4 s, which every `radgov` command (the URL configuration reaches this module) and
# every page process paid at start.

__all__ = [
    "Power",
    "SampleSize",
    "auc_sample_size",
    "buderer_sample_size",
    "hanley_mcneil_se",
    "noninferiority_sensitivity_power",
    "noninferiority_sensitivity_sample_size",
]

Alternative = Literal["two-sided", "one-sided"]
InputValue = float | int | str | None


@dataclass(frozen=True, slots=True)
class SampleSize:
    """A planned study size.

    ``n_positives`` / ``n_negatives`` are the cases with and without the condition that are
    needed (None when the design says nothing about that group); ``n_total`` is the number of
    patients to enrol when a prevalence (or both groups) is known.  The ``*_exact`` fields are
    the unrounded values behind them.  ``inputs`` echoes the arguments.
    """

    n_positives: int | None
    n_negatives: int | None
    n_total: int | None
    n_positives_exact: float | None
    n_negatives_exact: float | None
    n_total_exact: float | None
    method: str
    inputs: Mapping[str, InputValue] = field(compare=False)
    note: str = ""


@dataclass(frozen=True, slots=True)
class Power:
    """Exact power of the one-sided binomial non-inferiority test for sensitivity.

    Reject ``H0: Se <= null_sensitivity`` when at least ``critical_count`` of the
    ``n_positives`` are detected.  ``size`` is the exact type I error of that rule (at most
    ``alpha``).
    """

    power: float
    n_positives: int
    critical_count: int
    null_sensitivity: float
    true_sensitivity: float
    alpha: float
    size: float
    method: str
    inputs: Mapping[str, InputValue] = field(compare=False)


def _probability(value: float | None, name: str, *, open_interval: bool = True) -> float:
    if value is None:
        raise ValueError(f"{name} is required")
    v = float(value)
    ok = 0.0 < v < 1.0 if open_interval else 0.0 <= v <= 1.0
    if not ok or math.isnan(v):
        bounds = "strictly between 0 and 1" if open_interval else "in [0, 1]"
        raise ValueError(f"{name} must lie {bounds}; got {v!r}")
    return v


def _positive(value: float, name: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"{name} must be a positive number; got {v!r}")
    return v


def _ceil(x: float) -> int:
    # guard against 40.000000000001 from floating point becoming 41
    return int(math.ceil(x - 1e-9))


# --------------------------------------------------------------------------- Buderer


def buderer_sample_size(
    *,
    sensitivity: float | None = None,
    specificity: float | None = None,
    half_width: float,
    prevalence: float,
    confidence_level: float = 0.95,
) -> SampleSize:
    """Patients needed to estimate sensitivity and/or specificity to +/- ``half_width``.

    With both given, the total is the larger of the two totals (Buderer 1996).

    >>> buderer_sample_size(sensitivity=0.90, half_width=0.05, prevalence=0.20).n_total
    692
    """
    if sensitivity is None and specificity is None:
        raise ValueError("give sensitivity, specificity or both")
    level = check_confidence_level(confidence_level)
    w = _probability(half_width, "half_width")
    p = _probability(prevalence, "prevalence")
    z2 = z_value(level) ** 2
    pos_exact = neg_exact = None
    totals: list[float] = []
    if sensitivity is not None:
        se = _probability(sensitivity, "sensitivity")
        pos_exact = z2 * se * (1.0 - se) / (w * w)
        totals.append(pos_exact / p)
    if specificity is not None:
        sp = _probability(specificity, "specificity")
        neg_exact = z2 * sp * (1.0 - sp) / (w * w)
        totals.append(neg_exact / (1.0 - p))
    total_exact = max(totals)
    return SampleSize(
        n_positives=None if pos_exact is None else _ceil(pos_exact),
        n_negatives=None if neg_exact is None else _ceil(neg_exact),
        n_total=_ceil(total_exact),
        n_positives_exact=pos_exact,
        n_negatives_exact=neg_exact,
        n_total_exact=total_exact,
        method="Buderer 1996 (normal approximation); total = ceil(unrounded count / prevalence)",
        inputs=MappingProxyType(
            {
                "sensitivity": sensitivity,
                "specificity": specificity,
                "half_width": w,
                "prevalence": p,
                "confidence_level": level,
            }
        ),
    )


# --------------------------------------------------------------------------- AUC


def hanley_mcneil_se(auc: float, n_positives: float, n_negatives: float) -> float:
    """Standard error of an AUC (Hanley & McNeil 1982, eq. 2, with Q1 = A/(2-A), Q2 = 2A^2/(1+A))."""
    a = _probability(auc, "auc")
    na = _positive(n_positives, "n_positives")
    nn = _positive(n_negatives, "n_negatives")
    q1, q2 = a / (2.0 - a), 2.0 * a * a / (1.0 + a)
    var = (a * (1.0 - a) + (na - 1.0) * (q1 - a * a) + (nn - 1.0) * (q2 - a * a)) / (na * nn)
    return math.sqrt(var)


def _obuchowski_variance(auc: float, ratio: float) -> float:
    a = math.sqrt(2.0) * float(ndtri(auc))
    return 0.0099 * math.exp(-a * a / 2.0) * (5.0 * a * a + 8.0 + (a * a + 8.0) / ratio)


def auc_sample_size(
    *,
    auc: float,
    half_width: float | None = None,
    auc0: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    ratio_negatives_to_positives: float | None = None,
    prevalence: float | None = None,
    confidence_level: float = 0.95,
) -> SampleSize:
    """Positives and negatives to estimate an AUC (``half_width``) or test it against ``auc0``.

    Give exactly one of ``half_width`` (precision: Hanley-McNeil SE, ``confidence_level``)
    and ``auc0`` (test: Obuchowski's variance, ``alpha``, ``power``, ``alternative``).
    Negatives are ``ratio_negatives_to_positives`` (default 1) times the positives; giving
    ``prevalence`` instead sets the ratio to ``(1 - prevalence) / prevalence`` and reports the
    total to enrol.
    """
    a = _probability(auc, "auc")
    if (half_width is None) == (auc0 is None):
        raise ValueError("give exactly one of half_width (precision) and auc0 (test)")
    if prevalence is not None and ratio_negatives_to_positives is not None:
        raise ValueError("give ratio_negatives_to_positives or prevalence, not both")
    if prevalence is not None:
        prev = _probability(prevalence, "prevalence")
        ratio = (1.0 - prev) / prev
    else:
        ratio = _positive(
            1.0 if ratio_negatives_to_positives is None else ratio_negatives_to_positives,
            "ratio_negatives_to_positives",
        )
    inputs: dict[str, InputValue] = {
        "auc": a,
        "half_width": half_width,
        "auc0": auc0,
        "ratio_negatives_to_positives": ratio,
        "prevalence": prevalence,
    }

    if half_width is not None:
        w = _probability(half_width, "half_width")
        level = check_confidence_level(confidence_level)
        inputs["confidence_level"] = level
        # z^2 SE^2 <= w^2 with nN = R nA is a quadratic in nA:
        #   R k nA^2 - (q1' + R q2') nA - (A(1 - A) - q1' - q2') >= 0,  k = (w / z)^2
        k = (w / z_value(level)) ** 2
        q1 = a / (2.0 - a) - a * a
        q2 = 2.0 * a * a / (1.0 + a) - a * a
        qa, qb, qc = ratio * k, -(q1 + ratio * q2), -(a * (1.0 - a) - q1 - q2)
        n_pos = (-qb + math.sqrt(qb * qb - 4.0 * qa * qc)) / (2.0 * qa)
        method = "Hanley-McNeil 1982 standard error; z x SE <= half_width"
    else:
        assert auc0 is not None  # for the type checker: one of the two is set
        a0 = _probability(auc0, "auc0")
        if a0 == a:
            raise ValueError("auc and auc0 must differ")
        al = _probability(alpha, "alpha")
        pw = _probability(power, "power")
        if alternative not in ("two-sided", "one-sided"):
            raise ValueError(f"alternative must be 'two-sided' or 'one-sided'; got {alternative!r}")
        inputs.update(alpha=al, power=pw, alternative=alternative)
        z_a = float(ndtri(1.0 - al / 2.0)) if alternative == "two-sided" else float(ndtri(1.0 - al))
        z_b = float(ndtri(pw))
        v0, v1 = _obuchowski_variance(a0, ratio), _obuchowski_variance(a, ratio)
        n_pos = (z_a * math.sqrt(v0) + z_b * math.sqrt(v1)) ** 2 / (a - a0) ** 2
        method = f"Obuchowski 1994/1997 binormal variance, {alternative} test of AUC = auc0"

    n_neg = ratio * n_pos
    total_exact = n_pos / prevalence if prevalence is not None else n_pos + n_neg
    n_positives, n_negatives = _ceil(n_pos), _ceil(n_neg)
    return SampleSize(
        n_positives=n_positives,
        n_negatives=n_negatives,
        n_total=_ceil(total_exact) if prevalence is not None else n_positives + n_negatives,
        n_positives_exact=n_pos,
        n_negatives_exact=n_neg,
        n_total_exact=total_exact,
        method=method,
        inputs=MappingProxyType(inputs),
    )


# --------------------------------------------------------------------------- exact binomial


def _critical_counts(n: np.ndarray, p0: float, alpha: float) -> np.ndarray:
    """Smallest c with P(X >= c | n, p0) <= alpha, for every n (c = n + 1: never reject)."""
    from scipy import stats

    c = np.asarray(stats.binom.isf(alpha, n, p0), dtype=np.float64) + 1.0
    # isf works in floating point: step c so that the defining inequalities hold exactly
    too_big = stats.binom.sf(c - 1.0, n, p0) > alpha
    c = np.where(too_big, c + 1.0, c)
    can_lower = (c > 0) & (stats.binom.sf(c - 2.0, n, p0) <= alpha)
    c = np.where(can_lower, c - 1.0, c)
    return np.minimum(c, n + 1.0)


def _ni_inputs(
    claimed_sensitivity: float, margin: float, alpha: float, true_sensitivity: float | None
) -> tuple[float, float, float, float]:
    claimed = _probability(claimed_sensitivity, "claimed_sensitivity")
    m = float(margin)
    if not (0.0 < m < claimed) or math.isnan(m):
        raise ValueError(
            f"margin must be positive and below claimed_sensitivity ({claimed:g}); got {m!r}"
        )
    al = _probability(alpha, "alpha")
    true = (
        claimed
        if true_sensitivity is None
        else _probability(true_sensitivity, "true_sensitivity", open_interval=False)
    )
    # rounded so that 0.3 - 0.1 is the 0.2 the caller meant, not 0.19999999999999998
    return claimed, round(claimed - m, 12), al, true


def noninferiority_sensitivity_power(
    *,
    claimed_sensitivity: float,
    margin: float,
    n_positives: int,
    alpha: float = 0.05,
    true_sensitivity: float | None = None,
) -> Power:
    """Exact power of the one-sided binomial test that sensitivity >= claimed - margin.

    ``true_sensitivity`` (default: the claimed one) is the sensitivity assumed for power.
    """
    from scipy import stats

    claimed, p0, al, true = _ni_inputs(claimed_sensitivity, margin, alpha, true_sensitivity)
    n = int(n_positives)
    if n != n_positives or n < 1:
        raise ValueError(f"n_positives must be a positive whole number; got {n_positives!r}")
    c = float(_critical_counts(np.asarray([n]), p0, al)[0])
    return Power(
        power=float(stats.binom.sf(c - 1.0, n, true)),
        n_positives=n,
        critical_count=int(c),
        null_sensitivity=p0,
        true_sensitivity=true,
        alpha=al,
        size=float(stats.binom.sf(c - 1.0, n, p0)),
        method="exact one-sided binomial test of H0: Se <= claimed - margin",
        inputs=MappingProxyType(
            {
                "claimed_sensitivity": claimed,
                "margin": float(margin),
                "n_positives": n,
                "alpha": al,
                "true_sensitivity": true_sensitivity,
            }
        ),
    )


def noninferiority_sensitivity_sample_size(
    *,
    claimed_sensitivity: float,
    margin: float,
    power: float = 0.8,
    alpha: float = 0.05,
    true_sensitivity: float | None = None,
    prevalence: float | None = None,
    max_n: int = 5000,
) -> SampleSize:
    """Smallest number of positives from which the exact test keeps at least ``power``.

    Power is evaluated for every n from 1 to ``max_n`` at once.  ``n_positives`` is the
    smallest n such that every n' in [n, max_n] reaches ``power`` (robust to the saw-tooth);
    the ``note`` gives the first n that reaches it.  With ``prevalence`` the total to enrol is
    ``ceil(n_positives / prevalence)``.  Raises ValueError when ``max_n`` is not enough.
    """
    from scipy import stats

    claimed, p0, al, true = _ni_inputs(claimed_sensitivity, margin, alpha, true_sensitivity)
    target = _probability(power, "power")
    if true <= p0:
        raise ValueError(
            f"true_sensitivity ({true:g}) must exceed claimed - margin ({p0:g}) for power "
            "to reach the target"
        )
    if int(max_n) != max_n or max_n < 1:
        raise ValueError(f"max_n must be a positive whole number; got {max_n!r}")
    n = np.arange(1, int(max_n) + 1, dtype=np.float64)
    c = _critical_counts(n, p0, al)
    pw = np.asarray(stats.binom.sf(c - 1.0, n, true), dtype=np.float64)
    ok = pw >= target
    if not ok[-1]:
        raise ValueError(f"power {target:g} is not reached by n = {int(max_n)}; raise max_n")
    # all n' >= n reach the target: a suffix "and"
    stable = np.logical_and.accumulate(ok[::-1])[::-1]
    n_robust = int(n[np.argmax(stable)])
    n_first = int(n[np.argmax(ok)])
    prev = None if prevalence is None else _probability(prevalence, "prevalence")
    total_exact = None if prev is None else n_robust / prev
    return SampleSize(
        n_positives=n_robust,
        n_negatives=None,
        n_total=None if total_exact is None else _ceil(total_exact),
        n_positives_exact=float(n_robust),
        n_negatives_exact=None,
        n_total_exact=total_exact,
        method=(
            "exact one-sided binomial test of H0: Se <= claimed - margin; smallest n with "
            f"power >= {target:g} for every larger n up to {int(max_n)}"
        ),
        inputs=MappingProxyType(
            {
                "claimed_sensitivity": claimed,
                "margin": float(margin),
                "power": target,
                "alpha": al,
                "true_sensitivity": true_sensitivity,
                "prevalence": prev,
                "max_n": int(max_n),
            }
        ),
        note=(
            f"power first reaches {target:g} at n = {n_first}"
            + ("" if n_first == n_robust else f" but falls below it again before n = {n_robust}")
        ),
    )
