"""The statistics contract (ARCHITECTURE.md rule 7), checked over every registered metric the
way scikit-learn's ``check_estimator`` checks every estimator: keyword-only options, a frozen
result with the estimate, the interval, the method and n, the same answer whatever the order
of the cases, and a refusal or a not-estimable result where the data can give no number."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import pkgutil
from typing import Any

import numpy as np
import pytest

import radgov.stats
from radgov.stats.metrics import METRICS, Metric
from radgov.stats.results import Estimate

N = 60
# public functions returning an Estimate that are not metrics over cases, and why
NOT_CASE_METRICS = {
    "bootstrap_auc": "a resampling interval: its draws follow the cases' order (test_bootstrap)",
    "bootstrap_ci": "wraps a metric given to it",
    "proportion_ci": "reads counts, not cases",
    "predictive_values_at_prevalence_ci": "reads two Estimates and a prevalence",
}


def cases(inputs: str, seed: int = 7) -> tuple[Any, ...]:
    """``N`` cases of the kind a metric reads, with both classes and some disagreement."""
    rng = np.random.default_rng(seed)
    truth = np.r_[np.ones(N // 2, int), np.zeros(N - N // 2, int)]
    rng.shuffle(truth)
    noisy = truth + rng.normal(0, 0.8, N)
    a = rng.normal(50, 10, N)
    return {
        "labels": (truth, (noisy > 0.5).astype(int)),
        "scores": (truth, noisy),
        "probabilities": (truth, 1 / (1 + np.exp(-3 * (noisy - 0.5)))),
        "paired": (a, a + rng.normal(1, 3, N)),
        "ratings": (np.column_stack([a, a + rng.normal(0, 3, N), a + rng.normal(2, 3, N)]),),
        "per_case": (rng.uniform(0.6, 0.95, N),),
        "detections": (  # one lesion per image, hit by its first detection or not
            [np.array([[10.0, 10.0, 5.0]]) for _ in range(N)],
            [np.array([[11.0, 11.0] if t else [50.0, 50.0], [80.0, 80.0]]) for t in truth],
            [rng.uniform(0, 1, 2) for _ in range(N)],
        ),
    }[inputs]


def reorder(values: Any, order: np.ndarray) -> Any:
    return values[order] if isinstance(values, np.ndarray) else [values[i] for i in order]


def poison(values: Any) -> Any:
    """``values`` with a NaN among them (in the fourth case)."""
    if isinstance(values, np.ndarray):
        out = values.astype(float)
        out.flat[3] = np.nan
        return out
    return [*values[:3], np.full_like(values[3], np.nan, dtype=float), *values[4:]]


# the data each metric can give no number for (Metric.not_estimable_when)
DEGENERATE: dict[str, tuple[Any, ...]] = {
    "sensitivity": ([0, 0, 0, 0], [0, 1, 0, 1]),
    "specificity": ([1, 1, 1, 1], [0, 1, 0, 1]),
    "ppv": ([0, 1, 0, 1], [0, 0, 0, 0]),
    "npv": ([0, 1, 0, 1], [1, 1, 1, 1]),
    "accuracy": ([], []),
    "f1": ([0, 0, 0, 0], [0, 1, 0, 1]),
    "auc": ([1, 1, 1, 1], [0.2, 0.4, 0.6, 0.8]),
    "brier": ([], []),
    "mae": ([], []),
    "ccc": ([3.0, 3.0, 3.0, 3.0], [1.0, 2.0, 3.0, 4.0]),
    "icc": (np.array([[1.0, 2.0, 3.0]]),),
    "dice": ([0.8],),
    "lesion_sensitivity": ([np.empty((0, 3))], [[[1.0, 1.0]]], [[0.5]]),
}

metrics = pytest.mark.parametrize("metric", METRICS.values(), ids=list(METRICS))


def refused_or_not_estimable(metric: Metric, *args: Any) -> str:
    """Why ``metric`` gives no number on ``args``; fails when it gives one."""
    try:
        result = metric.function(*args)
    except ValueError as refused:
        return str(refused)
    assert isinstance(result, Estimate) and not result.estimable, result
    assert all(math.isnan(x) for x in (result.estimate, result.ci_low, result.ci_high))
    assert result.reason, "a not-estimable result says why"
    return result.reason


def test_every_public_metric_over_cases_is_registered() -> None:
    returning_estimates = set()
    for module in pkgutil.iter_modules(radgov.stats.__path__):
        mod = importlib.import_module(f"radgov.stats.{module.name}")
        for name in getattr(mod, "__all__", ()):
            fn = getattr(mod, name)
            if inspect.isfunction(fn) and inspect.signature(fn).return_annotation == "Estimate":
                returning_estimates.add(name)
    registered = {m.function.__name__ for m in METRICS.values()}
    assert returning_estimates - set(NOT_CASE_METRICS) == registered


@metrics
def test_options_are_keyword_only(metric: Metric) -> None:
    params = list(inspect.signature(metric.function).parameters.values())
    arrays = len(cases(metric.inputs))
    assert [p.kind for p in params[:arrays]] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * arrays
    assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in params[arrays:])
    assert "confidence_level" in {p.name for p in params[arrays:]}
    with pytest.raises(TypeError):
        metric.function(*cases(metric.inputs), 0.9)


@metrics
def test_the_result_is_a_frozen_estimate_with_interval_method_and_n(metric: Metric) -> None:
    result = metric.function(*cases(metric.inputs))
    assert isinstance(result, Estimate) and result.estimable
    assert result.ci_low <= result.estimate <= result.ci_high
    assert isinstance(result.method, str) and result.method
    assert 0 < result.n <= N and result.confidence_level == 0.95
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.estimate = 0.0  # type: ignore[misc]
    wider = metric.function(*cases(metric.inputs), confidence_level=0.99)
    assert wider.estimate == pytest.approx(result.estimate)
    assert wider.ci_high - wider.ci_low > result.ci_high - result.ci_low
    with pytest.raises(ValueError, match="confidence_level"):
        metric.function(*cases(metric.inputs), confidence_level=1.5)


@metrics
def test_the_order_of_the_cases_changes_nothing(metric: Metric) -> None:
    arrays = cases(metric.inputs)
    order = np.random.default_rng(11).permutation(N)
    before = metric.function(*arrays)
    after = metric.function(*(reorder(a, order) for a in arrays))
    assert after.n == before.n and after.method == before.method
    assert (after.estimate, after.ci_low, after.ci_high) == pytest.approx(
        (before.estimate, before.ci_low, before.ci_high), rel=1e-12
    )


@metrics
def test_degenerate_data_is_refused_or_not_estimable(metric: Metric) -> None:
    refused_or_not_estimable(metric, *DEGENERATE[metric.name])
    arrays = cases(metric.inputs)
    if len(arrays) > 1:
        with pytest.raises(ValueError):
            metric.function(*arrays[:-1], arrays[-1][:-1])  # one case short
    refused_or_not_estimable(metric, *arrays[:-1], poison(arrays[-1]))


def test_every_metric_has_its_degenerate_case() -> None:
    assert set(DEGENERATE) == set(METRICS)
