"""Binary classification metrics with confidence intervals, from one confusion count.

Sensitivity, specificity, PPV, NPV and accuracy are binomial proportions and take any interval
of :mod:`radgov.stats.proportions` (Wilson by default).

F1 uses the delta-method (Wald) interval under the multinomial model of the 2x2 table, as in
Takahashi, Yamamoto, Kuchiba & Koyama (2022), "Confidence interval for micro-averaged F1 and
macro-averaged F1 scores", Applied Intelligence 52:4961-4972.  With cell proportions
``a = TP/N, b = FP/N, c = FN/N`` the F1 score ``2a / (2a + b + c)`` has asymptotic variance
``4 a (b + c) (a + b + c) / (N (2a + b + c)^4)``; the interval is truncated to [0, 1].

Predictive values at another prevalence follow Bayes' theorem; their interval is the
standard logit interval of Mercaldo, Lau & Zhou (2007), "Confidence intervals for predictive
values with an emphasis to case-control studies", Statistics in Medicine 26:2170-2183, eqs. 8-11.
When a cell is zero the logit is infinite and their adjusted estimates (add z^2/2 to each cell
count, Table II) are used instead, with a bound widened to the observed value when that lies
outside; ``method`` says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_binary, check_confidence_level, check_same_length, z_value
from .proportions import ProportionMethod, proportion_ci
from .results import Estimate

__all__ = [
    "ConfusionCounts",
    "ExpectedOutcomes",
    "ProportionScore",
    "accuracy_score",
    "classification_metrics",
    "confusion_counts",
    "expected_outcomes",
    "f1_score",
    "metrics_from_counts",
    "npv_score",
    "ppv_score",
    "predictive_values_at_prevalence",
    "predictive_values_at_prevalence_ci",
    "sensitivity_score",
    "specificity_score",
]

F1_METHOD = "delta-method (Takahashi et al. 2022)"


@dataclass(frozen=True, slots=True)
class ConfusionCounts:
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.tn + self.fp


def confusion_counts(y_true: ArrayLike, y_pred: ArrayLike) -> ConfusionCounts:
    """Count TP, FP, TN and FN; both inputs must hold only 0 and 1 (or booleans)."""
    truth = check_binary(y_true, "y_true")
    pred = check_binary(y_pred, "y_pred")
    check_same_length(y_true=truth, y_pred=pred)
    # one pass: code = 2 * truth + pred -> 0 TN, 1 FP, 2 FN, 3 TP
    codes = np.bincount(2 * truth.astype(np.intp) + pred, minlength=4)
    tn, fp, fn, tp = (int(c) for c in codes)
    return ConfusionCounts(tp=tp, fp=fp, tn=tn, fn=fn)


@dataclass(frozen=True, slots=True)
class _Proportion:
    """A metric that is a binomial proportion of the confusion counts, ``successes / total``;
    not estimable (for the reason ``empty``) when the total is zero."""

    successes: Callable[[ConfusionCounts], int]
    total: Callable[[ConfusionCounts], int]
    empty: str

    def of(self, c: ConfusionCounts, method: ProportionMethod, level: float) -> Estimate:
        n = self.total(c)
        if n == 0:
            return Estimate.not_estimable(self.empty, method=method, n=0, confidence_level=level)
        return proportion_ci(self.successes(c), n, method=method, confidence_level=level)


_PROPORTIONS: dict[str, _Proportion] = {
    "sensitivity": _Proportion(lambda c: c.tp, lambda c: c.positives, "no positive cases"),
    "specificity": _Proportion(lambda c: c.tn, lambda c: c.negatives, "no negative cases"),
    "ppv": _Proportion(lambda c: c.tp, lambda c: c.tp + c.fp, "no positive predictions"),
    "npv": _Proportion(lambda c: c.tn, lambda c: c.tn + c.fn, "no negative predictions"),
    "accuracy": _Proportion(lambda c: c.tp + c.tn, lambda c: c.n, "no cases"),
}


def _f1(c: ConfusionCounts, level: float) -> Estimate:
    if c.positives == 0:  # with positives, 2 TP + FP + FN > 0
        return Estimate.not_estimable(
            "no positive cases", method=F1_METHOD, n=c.n, confidence_level=level
        )
    n = c.n
    a, b_plus_c = c.tp / n, (c.fp + c.fn) / n
    f1 = 2.0 * a / (2.0 * a + b_plus_c)
    var = 4.0 * a * b_plus_c * (a + b_plus_c) / (n * (2.0 * a + b_plus_c) ** 4)
    half = z_value(level) * math.sqrt(var)
    return Estimate(f1, max(0.0, f1 - half), min(1.0, f1 + half), F1_METHOD, n, level)


def _counts_and_level(
    y_true: ArrayLike, y_pred: ArrayLike, confidence_level: float
) -> tuple[ConfusionCounts, float]:
    return confusion_counts(y_true, y_pred), check_confidence_level(confidence_level)


class ProportionScore(Protocol):
    """The signature of the proportion scores (sensitivity, specificity, PPV, NPV, accuracy)."""

    def __call__(
        self,
        y_true: ArrayLike,
        y_pred: ArrayLike,
        *,
        method: ProportionMethod = "wilson",
        confidence_level: float = 0.95,
    ) -> Estimate: ...


def _proportion_score(name: str, doc: str) -> ProportionScore:
    """The public ``<name>_score`` function of the proportion ``name``: one confusion count of
    the cases, then the proportion with its interval (``method``, Wilson by default)."""
    proportion = _PROPORTIONS[name]

    def score(
        y_true: ArrayLike,
        y_pred: ArrayLike,
        *,
        method: ProportionMethod = "wilson",
        confidence_level: float = 0.95,
    ) -> Estimate:
        c, level = _counts_and_level(y_true, y_pred, confidence_level)
        return proportion.of(c, method, level)

    score.__name__ = score.__qualname__ = f"{name}_score"
    score.__doc__ = doc
    return score


sensitivity_score = _proportion_score(
    "sensitivity", "TP / (TP + FN), the true-positive rate (recall)."
)
specificity_score = _proportion_score("specificity", "TN / (TN + FP), the true-negative rate.")
ppv_score = _proportion_score(
    "ppv", "TP / (TP + FP), positive predictive value (precision) at the sample's prevalence."
)
npv_score = _proportion_score(
    "npv", "TN / (TN + FN), negative predictive value at the sample's prevalence."
)
accuracy_score = _proportion_score("accuracy", "(TP + TN) / N.")


def f1_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    confidence_level: float = 0.95,
) -> Estimate:
    """2 TP / (2 TP + FP + FN) with the delta-method interval (see the module docstring);
    the result's ``method`` names it.  No positive cases gives a not-estimable result."""
    c, level = _counts_and_level(y_true, y_pred, confidence_level)
    return _f1(c, level)


def classification_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    confidence_level: float = 0.95,
    method: ProportionMethod = "wilson",
) -> dict[str, Estimate]:
    """Sensitivity, specificity, PPV, NPV, accuracy and F1 from one confusion count."""
    c, level = _counts_and_level(y_true, y_pred, confidence_level)
    return metrics_from_counts(c, confidence_level=level, method=method)


def metrics_from_counts(
    counts: ConfusionCounts,
    *,
    confidence_level: float = 0.95,
    method: ProportionMethod = "wilson",
) -> dict[str, Estimate]:
    """The metrics of :func:`classification_metrics` from counts already made.

    For a period, a subgroup or a daily rollup whose counts were summed elsewhere.
    """
    level = check_confidence_level(confidence_level)
    metrics = {name: p.of(counts, method, level) for name, p in _PROPORTIONS.items()}
    return metrics | {"f1": _f1(counts, level)}


def _check_rate(value: float, name: str, *, open_interval: bool = False) -> float:
    v = float(value)
    ok = (0.0 < v < 1.0) if open_interval else (0.0 <= v <= 1.0)
    if not ok or math.isnan(v):
        bounds = "strictly between 0 and 1" if open_interval else "in [0, 1]"
        raise ValueError(f"{name} must lie {bounds}; got {v!r}")
    return v


def predictive_values_at_prevalence(
    sensitivity: float, specificity: float, prevalence: float
) -> tuple[float, float]:
    """(PPV, NPV) by Bayes' theorem for a population with the given prevalence.

    A value whose denominator is zero (e.g. PPV when sensitivity = 0 and specificity = 1) is NaN.
    """
    se = _check_rate(sensitivity, "sensitivity")
    sp = _check_rate(specificity, "specificity")
    p = _check_rate(prevalence, "prevalence")
    ppv_den = se * p + (1.0 - sp) * (1.0 - p)
    npv_den = sp * (1.0 - p) + (1.0 - se) * p
    ppv = se * p / ppv_den if ppv_den > 0 else math.nan
    npv = sp * (1.0 - p) / npv_den if npv_den > 0 else math.nan
    return ppv, npv


@dataclass(frozen=True)
class ExpectedOutcomes:
    """What a model with a given sensitivity and specificity does to ``per`` studies at a
    prevalence: expected true and false positives and negatives, and the predictive values
    (NaN where undefined, as in :func:`predictive_values_at_prevalence`)."""

    per: int
    prevalence: float
    tp: float
    fp: float
    fn: float
    tn: float
    ppv: float
    npv: float

    @property
    def flagged(self) -> float:
        return self.tp + self.fp


def expected_outcomes(
    sensitivity: float, specificity: float, prevalence: float, *, per: int = 1000
) -> ExpectedOutcomes:
    """The expected outcomes among ``per`` studies at ``prevalence`` (III.A.2: how disease
    prevalence affects what the model's flags mean)."""
    ppv, npv = predictive_values_at_prevalence(sensitivity, specificity, prevalence)
    diseased = per * prevalence
    tp = diseased * sensitivity
    tn = (per - diseased) * specificity
    return ExpectedOutcomes(
        per=per,
        prevalence=prevalence,
        tp=tp,
        fp=per - diseased - tn,
        fn=diseased - tp,
        tn=tn,
        ppv=ppv,
        npv=npv,
    )


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def predictive_values_at_prevalence_ci(
    sensitivity: Estimate,
    specificity: Estimate,
    prevalence: float,
    *,
    confidence_level: float = 0.95,
) -> tuple[Estimate, Estimate]:
    """(PPV, NPV) at ``prevalence`` with Mercaldo, Lau & Zhou (2007) logit intervals.

    ``sensitivity`` and ``specificity`` are the :class:`Estimate` objects of
    :func:`sensitivity_score` and :func:`specificity_score`: their ``estimate * n`` are the
    counts of true positives among the diseased and true negatives among the non-diseased
    (a case-control sample is fine: prevalence comes from elsewhere).  Variances
    (their eqs. 9 and 11): ``var logit PPV = (1 - Se) / (n1 Se) + Sp / (n0 (1 - Sp))`` and
    ``var logit NPV = Se / (n1 (1 - Se)) + (1 - Sp) / (n0 Sp)``.
    """
    level = check_confidence_level(confidence_level)
    p = _check_rate(prevalence, "prevalence", open_interval=True)
    method = "logit (Mercaldo, Lau & Zhou 2007)"
    if not sensitivity.estimable or not specificity.estimable:
        reason = "sensitivity or specificity is not estimable"
        return (
            Estimate.not_estimable(reason, method=method, n=0, confidence_level=level),
            Estimate.not_estimable(reason, method=method, n=0, confidence_level=level),
        )
    n1, n0 = int(sensitivity.n), int(specificity.n)
    x1 = round(sensitivity.estimate * n1)  # true positives among the diseased
    x0 = round(specificity.estimate * n0)  # true negatives among the non-diseased
    z = z_value(level)
    if x1 in (0, n1) or x0 in (0, n0):
        # adjusted estimates: add z^2/2 to each of the four cells (Mercaldo et al., Table II)
        half = z * z / 2.0
        se = (x1 + half) / (n1 + 2 * half)
        sp = (x0 + half) / (n0 + 2 * half)
        m1, m0 = n1 + 2 * half, n0 + 2 * half
        method = "adjusted logit (Mercaldo, Lau & Zhou 2007)"
    else:
        se, sp = x1 / n1, x0 / n0
        m1, m0 = float(n1), float(n0)
    ppv, npv = predictive_values_at_prevalence(x1 / n1, x0 / n0, p)

    logit_ppv = math.log(p * se / ((1.0 - p) * (1.0 - sp)))
    var_ppv = (1.0 - se) / (m1 * se) + sp / (m0 * (1.0 - sp))
    logit_npv = math.log((1.0 - p) * sp / (p * (1.0 - se)))
    var_npv = se / (m1 * (1.0 - se)) + (1.0 - sp) / (m0 * sp)

    def build(point: float, centre: float, var: float) -> Estimate:
        half_width = z * math.sqrt(var)
        low, high = _expit(centre - half_width), _expit(centre + half_width)
        # with a zero cell the observed value can be 0 or 1, outside the adjusted interval:
        # the bound is then the observed value itself
        return Estimate(point, min(low, point), max(high, point), method, n1 + n0, level)

    return build(ppv, logit_ppv, var_ppv), build(npv, logit_npv, var_npv)
