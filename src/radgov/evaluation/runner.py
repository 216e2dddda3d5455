"""Running an acceptance test: every metric overall and in every subgroup, then the criteria.

All statistics come from :mod:`radgov.stats`; this module only chooses which to call on which
rows.  A metric that cannot be computed on a subgroup (no positives, too few cases) is a
not-estimable :class:`~radgov.stats.results.Estimate` with its reason, never a number.

A criterion that cannot be checked because its metric is not estimable **fails**, with the
reason: a governance decision cannot rest on a number that does not exist.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from radgov.stats.agreement import (
    bland_altman,
    concordance_correlation,
    icc,
    mean_absolute_error,
)
from radgov.stats.bootstrap import bootstrap_ci
from radgov.stats.calibration import (
    brier_score_loss,
    calibration_curve,
    expected_calibration_error,
)
from radgov.stats.classification import classification_metrics, confusion_counts
from radgov.stats.results import Estimate
from radgov.stats.roc import roc_auc_score, roc_curve, roc_curve_band
from radgov.stats.segmentation import dice_summary

from .cases import Cases
from .protocol import RULES, Protocol
from .subgroups import Subgroup, build_subgroups

__all__ = ["CriterionResult", "Evaluation", "GroupInfo", "evaluate", "evaluate_in_stages"]

OVERALL = "overall"
THRESHOLD_METRICS = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "f1")
ECE_RESAMPLES = 200
MEAN_RESAMPLES = 1000
ROC_POINTS = 300  # points of the ROC curve kept for the report and the JSON

RULE_TEXT = {
    "estimate_at_least": "estimate >= {v}",
    "ci_low_at_least": "lower confidence bound >= {v}",
    "estimate_at_most": "estimate <= {v}",
    "ci_high_at_most": "upper confidence bound <= {v}",
}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class GroupInfo:
    key: str
    column: str | None
    level: str | None
    n: int
    n_positive: int | None = None
    n_negative: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n}
        if self.n_positive is not None:
            out["n_positive"] = self.n_positive
            out["n_negative"] = self.n_negative
        return out


@dataclass(frozen=True)
class CriterionResult:
    index: int  # 1-based, as in the protocol
    metric: str
    subgroup: str  # "overall" or a subgroup key
    rule: str  # e.g. "ci_low_at_least"
    rule_text: str
    threshold: float
    observed: float | None
    passed: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "criterion": self.index,
            "metric": self.metric,
            "subgroup": self.subgroup,
            "rule": self.rule,
            "rule_text": self.rule_text,
            "threshold": self.threshold,
            "observed": self.observed,
            "passed": self.passed,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class Evaluation:
    protocol: Protocol
    cases: Cases
    overall: dict[str, Estimate]
    subgroups: dict[str, dict[str, Estimate]]
    groups: dict[str, GroupInfo]
    criteria: list[CriterionResult]
    curves: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.criteria)


# --- metrics per task -------------------------------------------------------------------


# Small samples each stats call accepts: where the data are too few for a call, the call is
# made on its sample to learn the method it names, so the method is never retyped here
_BINARY_SAMPLE = (
    np.array([False, True, False, True, False, True]),
    np.array([0.1, 0.8, 0.3, 0.6, 0.7, 0.9]),
)
_PAIRED_SAMPLE = (np.array([1.0, 2.0, 3.5, 4.0, 5.5]), np.array([1.2, 1.9, 3.1, 4.4, 5.0]))
_VALUES_SAMPLE = (np.array([0.6, 0.8, 0.7, 0.9]),)
_COUNTS_SAMPLE = (np.array([1.0, 0.0, 2.0, 1.0]), np.array([1.0, 1.0, 2.0, 2.0]))


def _unavailable(reason: str, named: Estimate, n: int) -> Estimate:
    """Not estimable, under the method of ``named`` (a result of the same stats call)."""
    return Estimate.not_estimable(
        reason, method=named.method, n=n, confidence_level=named.confidence_level
    )


def _guard(
    call: Callable[..., Estimate], data: tuple[np.ndarray, ...], sample: tuple[np.ndarray, ...]
) -> Estimate:
    """``call(*data)``, one stats call; with no cases, or a ValueError on too little data, a
    not-estimable result under the method the stats module names for it (``call(*sample)``)."""
    n = int(data[0].shape[0])
    if n:
        try:
            return call(*data)
        except ValueError as err:
            return _unavailable(str(err), call(*sample), n)
    return _unavailable("no cases", call(*sample), 0)


def _binary_metrics(
    protocol: Protocol, data: dict[str, np.ndarray], seed: int
) -> dict[str, Estimate]:
    y, s = data["truth"], data["score"]
    level = protocol.confidence_level
    wanted = protocol.metrics
    out: dict[str, Estimate] = {}
    if any(m in THRESHOLD_METRICS for m in wanted):
        assert protocol.threshold is not None
        threshold = protocol.threshold

        def counted(truth: np.ndarray, score: np.ndarray) -> dict[str, Estimate]:
            return classification_metrics(
                truth, score >= threshold, confidence_level=level, method=protocol.proportion_method
            )

        if y.shape[0]:
            out.update(counted(y, s))
        else:
            named = counted(*_BINARY_SAMPLE)
            out.update({m: _unavailable("no cases", named[m], 0) for m in THRESHOLD_METRICS})
    if "auc" in wanted:
        out["auc"] = _guard(
            lambda t, p: roc_auc_score(t, p, confidence_level=level), (y, s), _BINARY_SAMPLE
        )
    if "brier" in wanted:
        out["brier"] = _guard(
            lambda t, p: brier_score_loss(t, p, confidence_level=level), (y, s), _BINARY_SAMPLE
        )
    if "ece" in wanted:
        out["ece"] = _guard(
            lambda t, p: bootstrap_ci(
                lambda tt, pp: expected_calibration_error(tt, pp),
                t, p,
                n_resamples=ECE_RESAMPLES, confidence_level=level, random_state=seed,
            ),
            (y, s),
            _BINARY_SAMPLE,
        )  # fmt: skip
    return {m: out[m] for m in wanted}


def _quantification_metrics(
    protocol: Protocol, data: dict[str, np.ndarray], seed: int
) -> dict[str, Estimate]:
    paired = (data["score"], data["truth"])  # (AI, reference)
    level = protocol.confidence_level
    n = int(paired[0].shape[0])
    out: dict[str, Estimate] = {}
    wanted = protocol.metrics
    if {"bias", "loa_low", "loa_high"} & set(wanted):
        try:
            ba = bland_altman(*paired, confidence_level=level) if n else None
        except ValueError as err:
            ba = None
            reason = str(err)
        else:
            reason = "no cases"
        named = ba if ba is not None else bland_altman(*_PAIRED_SAMPLE, confidence_level=level)
        for m, attr in (("bias", "bias"), ("loa_low", "lower_limit"), ("loa_high", "upper_limit")):
            est = getattr(named, attr)
            out[m] = est if ba is not None else _unavailable(reason, est, n)
    if "mae" in wanted:
        out["mae"] = _guard(
            lambda a, r: mean_absolute_error(a, r, confidence_level=level), paired, _PAIRED_SAMPLE
        )
    if "icc" in wanted:
        out["icc"] = _guard(
            lambda a, r: icc(np.column_stack([a, r]), form="ICC(2,1)", confidence_level=level),
            paired,
            _PAIRED_SAMPLE,
        )
    if "ccc" in wanted:
        out["ccc"] = _guard(
            lambda a, r: concordance_correlation(a, r, confidence_level=level),
            paired,
            _PAIRED_SAMPLE,
        )
    return {m: out[m] for m in wanted}


def _mean_ci(values: np.ndarray, level: float, seed: int) -> Estimate:
    return bootstrap_ci(
        lambda v: v.mean(axis=-1),
        values,
        n_resamples=MEAN_RESAMPLES,
        confidence_level=level,
        random_state=seed,
        vectorized=True,
        strata=False,
    )


def _segmentation_metrics(
    protocol: Protocol, data: dict[str, np.ndarray], seed: int
) -> dict[str, Estimate]:
    level = protocol.confidence_level
    out: dict[str, Estimate] = {}
    if "dice" in protocol.metrics:
        out["dice"] = _guard(
            lambda d: dice_summary(d, confidence_level=level), (data["dice"],), _VALUES_SAMPLE
        )
    if "hd95" in protocol.metrics:  # the protocol guarantees an hd95 column
        out["hd95"] = _guard(lambda h: _mean_ci(h, level, seed), (data["hd95"],), _VALUES_SAMPLE)
    return out


def _detection_metrics(
    protocol: Protocol, data: dict[str, np.ndarray], seed: int
) -> dict[str, Estimate]:
    """Per-case counts; intervals by resampling cases (a cluster bootstrap over images)."""
    level = protocol.confidence_level
    lesions = data["lesions"].astype(np.float64)
    detected = data["detected"].astype(np.float64)
    fps = data["false_positives"].astype(np.float64)
    out: dict[str, Estimate] = {}
    if "lesion_sensitivity" in protocol.metrics:

        def found(d: np.ndarray, les: np.ndarray) -> Estimate:
            return bootstrap_ci(
                lambda dd, ll: dd.sum(axis=-1) / ll.sum(axis=-1),
                d, les,
                n_resamples=MEAN_RESAMPLES, confidence_level=level, random_state=seed,
                vectorized=True, strata=False,
            )  # fmt: skip

        if lesions.sum() == 0:
            out["lesion_sensitivity"] = _unavailable(
                "no ground-truth lesions", found(*_COUNTS_SAMPLE), int(lesions.shape[0])
            )
        else:
            out["lesion_sensitivity"] = _guard(found, (detected, lesions), _COUNTS_SAMPLE)
    if "fppi" in protocol.metrics:
        out["fppi"] = _guard(lambda f: _mean_ci(f, level, seed), (fps,), _VALUES_SAMPLE)
    return out


def _denominators(protocol: Protocol, data: dict[str, np.ndarray]) -> dict[str, tuple[int, str]]:
    """Per metric: how many cases it rests on, and what they are (for the reason)."""
    if protocol.task == "binary":
        y = data["truth"]
        n = int(y.shape[0])
        pos = int(np.count_nonzero(y))
        out = {m: (n, "cases") for m in protocol.metrics}
        out.update(sensitivity=(pos, "positive cases"), specificity=(n - pos, "negative cases"))
        out["f1"] = (pos, "positive cases")
        out["auc"] = (min(pos, n - pos), "cases in the smaller class")
        if protocol.threshold is not None:
            flagged = int(np.count_nonzero(data["score"] >= protocol.threshold))
            out.update(ppv=(flagged, "flagged cases"), npv=(n - flagged, "unflagged cases"))
        return out
    if protocol.task == "detection":
        lesions = int(data["lesions"].sum())
        n = int(data["lesions"].shape[0])
        return {"lesion_sensitivity": (lesions, "lesions"), "fppi": (n, "images")}
    n = int(next(iter(data.values())).shape[0])
    return {m: (n, "cases") for m in protocol.metrics}


def _too_small(
    protocol: Protocol, data: dict[str, np.ndarray], metrics: dict[str, Estimate]
) -> dict[str, Estimate]:
    """Metrics on fewer cases than the protocol's ``min_denominator`` become not estimable."""
    minimum = protocol.min_denominator
    sizes = _denominators(protocol, data)
    out: dict[str, Estimate] = {}
    for name, est in metrics.items():
        count, what = sizes.get(name, (minimum, ""))
        if est.estimable and count < minimum:
            if count == 1:  # "1 positive case", not "1 positive cases"
                what = what.replace("cases", "case").replace("lesions", "lesion")
            est = Estimate.not_estimable(
                f"only {count} {what}; the protocol asks for at least {minimum} (min_denominator)",
                method=est.method,
                n=est.n,
                confidence_level=est.confidence_level,
            )
        out[name] = est
    return out


_TASK_METRICS = {
    "binary": _binary_metrics,
    "quantification": _quantification_metrics,
    "segmentation": _segmentation_metrics,
    "detection": _detection_metrics,
}


# --- curves for the report ---------------------------------------------------------------


def _thin(n_points: int, keep: int) -> np.ndarray:
    if n_points <= keep:
        return np.arange(n_points)
    return np.unique(np.linspace(0, n_points - 1, keep).round().astype(np.intp))


def _clean(a: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(float(v)) else float(v) for v in a]


def _binary_curves(protocol: Protocol, y: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    """The report's curves but the ROC confidence band (:func:`_roc_band`)."""
    level = protocol.confidence_level
    curves: dict[str, Any] = {}
    if protocol.threshold is not None:
        c = confusion_counts(y, s >= protocol.threshold)
        curves["confusion"] = {"tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn}
    fpr, tpr, thr = roc_curve(y, s)
    keep = _thin(fpr.shape[0], ROC_POINTS)
    curves["roc"] = {"fpr": _clean(fpr[keep]), "tpr": _clean(tpr[keep])}
    if protocol.threshold is not None:
        pred = s >= protocol.threshold
        curves["operating_point"] = {
            "fpr": float(np.count_nonzero(pred & (y == 0)) / max(1, np.count_nonzero(y == 0))),
            "tpr": float(np.count_nonzero(pred & (y == 1)) / max(1, np.count_nonzero(y == 1))),
            "threshold": protocol.threshold,
        }
    if s.min() >= 0.0 and s.max() <= 1.0:
        cal = calibration_curve(y, s, n_bins=10, confidence_level=level)
        curves["calibration"] = {
            "mean_predicted": _clean(cal.mean_predicted),
            "observed": _clean(cal.observed_fraction),
            "observed_low": _clean(cal.observed_low),
            "observed_high": _clean(cal.observed_high),
            "count": [int(c) for c in cal.counts],
            "method": cal.method,
        }
    return curves


def _roc_band(protocol: Protocol, y: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    band = roc_curve_band(
        y,
        s,
        confidence_level=protocol.confidence_level,
        n_resamples=protocol.roc_band_resamples,
        random_state=protocol.seed,
    )
    return {
        "fpr": _clean(band.fpr),
        "tpr": _clean(band.tpr),
        "tpr_low": _clean(band.tpr_low),
        "tpr_high": _clean(band.tpr_high),
        "method": band.method,
        "n_resamples": band.n_resamples,
    }


def _with_band(curves: dict[str, Any], band: dict[str, Any]) -> dict[str, Any]:
    """``curves`` with the band in its place: after the ROC curve and its operating point."""
    out: dict[str, Any] = {}
    for key, value in curves.items():
        if key not in ("confusion", "roc", "operating_point") and "roc_band" not in out:
            out["roc_band"] = band
        out[key] = value
    out.setdefault("roc_band", band)
    return out


def _quantification_curves(protocol: Protocol, ref: np.ndarray, ai: np.ndarray) -> dict[str, Any]:
    try:
        ba = bland_altman(ai, ref, confidence_level=protocol.confidence_level)
    except ValueError:
        return {}
    keep = _thin(ba.means.shape[0], 5000)
    return {
        "bland_altman": {
            "mean": _clean(ba.means[keep]),
            "difference": _clean(ba.differences[keep]),
            "bias": ba.bias.estimate,
            "loa_low": ba.lower_limit.estimate,
            "loa_high": ba.upper_limit.estimate,
            "n_shown": int(keep.shape[0]),
            "n": ba.n,
        }
    }


# --- criteria ----------------------------------------------------------------------------


def _targets(ref: str | list[str] | None, subgroups: list[Subgroup]) -> list[str]:
    if ref is None:
        return [OVERALL]
    if ref == "all":
        return [OVERALL, *(g.key for g in subgroups)]
    keys: list[str] = []
    for r in ref:
        if "=" in r:
            keys.append(r)
        else:
            keys.extend(g.key for g in subgroups if g.column == r)
    return list(dict.fromkeys(keys))


def _judge(est: Estimate, rule: str, threshold: float) -> tuple[float | None, bool, str | None]:
    """What ``est`` shows for ``rule``: the value observed, whether it meets ``threshold``, and
    why it could not be judged (``None`` when it could)."""
    field_name, op = RULES[rule]
    value = float(getattr(est, field_name))
    if not est.estimable or math.isnan(value):
        return None, False, f"not estimable: {est.reason or f'the {field_name} is not available'}"
    return value, (value >= threshold if op == ">=" else value <= threshold), None


def evaluate_criteria(
    protocol: Protocol,
    overall: dict[str, Estimate],
    by_group: dict[str, dict[str, Estimate]],
    subgroups: list[Subgroup],
) -> list[CriterionResult]:
    results: list[CriterionResult] = []
    for i, crit in enumerate(protocol.criteria, start=1):
        for key in _targets(crit.subgroups, subgroups):
            metrics = overall if key == OVERALL else by_group.get(key)
            for rule, threshold in crit.rules():
                text = RULE_TEXT[rule].format(v=f"{threshold:g}")
                if metrics is None:
                    observed, passed, reason = (
                        None,
                        False,
                        f"subgroup {key} has no cases in the data",
                    )
                else:
                    observed, passed, reason = _judge(metrics[crit.metric], rule, threshold)
                results.append(
                    CriterionResult(
                        i, crit.metric, key, rule, text, threshold, observed, passed, reason
                    )
                )
    return results


# --- the run -----------------------------------------------------------------------------


def _columns(cases: Cases) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in cases.frame.columns:
        if name == "case_id":
            continue
        arr = cases.frame.get_column(name).to_numpy()
        out[name] = arr.astype(np.bool_) if name == "truth" and arr.dtype == np.int8 else arr
    return out


def planned_steps(protocol: Protocol, cases: Cases) -> int:
    n_groups = sum(
        (len(s.bins) - 1) if s.bins else cases.groups[s.column].n_unique()
        for s in protocol.subgroups
    )
    return 2 + n_groups + (1 if protocol.task == "binary" and protocol.roc_band_resamples else 0)


def evaluate(protocol: Protocol, cases: Cases, *, progress: Progress | None = None) -> Evaluation:
    """Compute ``overall`` and every subgroup's metrics, the report's curves and the criteria."""
    *_, complete = evaluate_in_stages(protocol, cases, progress=progress)
    return complete


def evaluate_in_stages(
    protocol: Protocol, cases: Cases, *, progress: Progress | None = None
) -> Iterator[Evaluation]:
    """:func:`evaluate` in two stages: first all but the ROC confidence band, then complete.

    The band is a bootstrap, most of the time of a large binary test: a caller can start on
    what does not need it (the report's other charts) while it is computed.  The second
    evaluation is :func:`evaluate`'s; ``progress`` hears the same steps in the same order.
    """
    step: Progress = progress or (lambda _label: None)
    compute = _TASK_METRICS[protocol.task]
    data = _columns(cases)
    seed = protocol.seed

    step("overall")
    overall = _too_small(protocol, data, compute(protocol, data, seed))
    groups: dict[str, GroupInfo] = {}
    truth = data.get("truth")
    binary = protocol.task == "binary"

    def info(key: str, column: str | None, level: str | None, idx: np.ndarray | None) -> GroupInfo:
        n = int(cases.n_rows if idx is None else idx.shape[0])
        if binary and truth is not None:
            pos = int(np.count_nonzero(truth if idx is None else truth[idx]))
            return GroupInfo(key, column, level, n, pos, n - pos)
        return GroupInfo(key, column, level, n)

    groups[OVERALL] = info(OVERALL, None, None, None)
    subgroups = build_subgroups(protocol.subgroups, cases.groups)
    by_group: dict[str, dict[str, Estimate]] = {}
    for i, g in enumerate(subgroups):
        step(f"subgroup {g.key}")
        sub = {k: v[g.index] for k, v in data.items()}
        by_group[g.key] = _too_small(protocol, sub, compute(protocol, sub, seed + 1 + i))
        groups[g.key] = info(g.key, g.column, g.level, g.index)

    curves: dict[str, Any] = {}
    notes: list[str] = []
    if protocol.roc_band_resamples == 0 and binary:
        notes.append("No ROC confidence band: the protocol sets roc_band_resamples to 0.")
    if binary:
        curves = _binary_curves(protocol, data["truth"], data["score"])
        if "calibration" not in curves:
            notes.append(
                "No calibration plot: some AI scores lie outside [0, 1], so they are not "
                "probabilities."
            )
    elif protocol.task == "quantification":
        curves = _quantification_curves(protocol, data["truth"], data["score"])
    criteria = evaluate_criteria(protocol, overall, by_group, subgroups)
    evaluation = Evaluation(
        protocol=protocol,
        cases=cases,
        overall=overall,
        subgroups=by_group,
        groups=groups,
        criteria=criteria,
        curves=curves,
        notes=notes,
    )
    yield evaluation
    if binary and protocol.roc_band_resamples > 0:
        step("ROC confidence band (bootstrap)")
        band = _roc_band(protocol, data["truth"], data["score"])
        evaluation = replace(evaluation, curves=_with_band(curves, band))
    step("criteria")
    yield evaluation
