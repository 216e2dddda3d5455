"""The runner against radgov.stats called directly, subgroup by subgroup, and the criteria."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from radgov.evaluation.cases import load_cases
from radgov.evaluation.protocol import Protocol, parse_protocol
from radgov.evaluation.result import to_json_dict
from radgov.evaluation.runner import evaluate, evaluate_in_stages
from radgov.stats.agreement import bland_altman, concordance_correlation, icc, mean_absolute_error
from radgov.stats.classification import classification_metrics
from radgov.stats.roc import roc_auc_score
from radgov.stats.segmentation import dice_summary

from .conftest import write_rows

NOW = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.fixture
def evaluation(synthetic_csv: Path, example_protocol: Protocol) -> Any:
    return evaluate(example_protocol, load_cases(synthetic_csv, example_protocol))


def _same(a: Any, b: Any) -> None:
    assert a.method == b.method and a.n == b.n and a.reason == b.reason
    for x, y in ((a.estimate, b.estimate), (a.ci_low, b.ci_low), (a.ci_high, b.ci_high)):
        assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, abs=1e-12)


def test_overall_matches_stats(evaluation: Any, synthetic_frame: pl.DataFrame) -> None:
    y = synthetic_frame["label"].to_numpy()
    s = synthetic_frame["ai_score"].to_numpy()
    expected = classification_metrics(y, s >= 0.5, confidence_level=0.95)
    for m in ("sensitivity", "specificity", "ppv", "npv", "accuracy"):
        _same(evaluation.overall[m], expected[m])
    _same(evaluation.overall["auc"], roc_auc_score(y, s, confidence_level=0.95))
    assert list(evaluation.overall) == [
        "sensitivity",
        "specificity",
        "ppv",
        "npv",
        "accuracy",
        "auc",
    ]


def _same_or_too_small(ours: Any, expected: Any, denominator: int, minimum: int = 10) -> None:
    """Equal to radgov.stats, unless the protocol's min_denominator makes it not estimable."""
    if denominator < minimum and expected.estimable:
        assert not ours.estimable and math.isnan(ours.estimate)
        assert ours.reason.startswith(f"only {denominator} ")
        assert ours.reason.endswith("the protocol asks for at least 10 (min_denominator)")
    else:
        _same(ours, expected)


def test_every_subgroup_matches_stats(evaluation: Any, synthetic_frame: pl.DataFrame) -> None:
    f = synthetic_frame
    masks = {
        "sex=F": f["sex"] == "F",
        "sex=M": f["sex"] == "M",
        **{
            f"manufacturer={m}": f["manufacturer"] == m
            for m in ("Canon", "GE", "Philips", "Siemens")
        },
        "age=[0,18)": f["age"] < 18,
        "age=[18,65)": (f["age"] >= 18) & (f["age"] < 65),
        "age=[65,200)": f["age"] >= 65,
    }
    assert list(evaluation.subgroups) == list(masks)
    for key, mask in masks.items():
        sub = f.filter(mask)
        y, s = sub["label"].to_numpy(), sub["ai_score"].to_numpy()
        expected = classification_metrics(y, s >= 0.5, confidence_level=0.95)
        for m in ("sensitivity", "specificity", "ppv", "npv", "accuracy"):
            _same_or_too_small(evaluation.subgroups[key][m], expected[m], expected[m].n)
        smaller = min(int(y.sum()), int((1 - y).sum()))
        auc = roc_auc_score(y, s, confidence_level=0.95)
        _same_or_too_small(evaluation.subgroups[key]["auc"], auc, smaller)
        assert evaluation.groups[key].n == sub.height
        assert evaluation.groups[key].n_positive == int(y.sum())


def test_criteria_all_covers_overall_and_every_subgroup(evaluation: Any) -> None:
    auc_checks = [c for c in evaluation.criteria if c.index == 3]
    assert [c.subgroup for c in auc_checks] == ["overall", *evaluation.subgroups]
    for c in auc_checks:
        est = (
            evaluation.overall["auc"]
            if c.subgroup == "overall"
            else evaluation.subgroups[c.subgroup]["auc"]
        )
        if est.estimable:
            assert c.observed == est.ci_low and c.passed == (est.ci_low >= 0.85)
    assert evaluation.passed == all(c.passed for c in evaluation.criteria)


HEADER = "case_id,sex,label,score"


def _protocol(**over: Any) -> Protocol:
    data: dict[str, Any] = {
        "name": "t",
        "task": "binary",
        "columns": {"case_id": "case_id", "truth": "label", "score": "score"},
        "threshold": 0.5,
        "metrics": ["sensitivity", "specificity", "auc"],
        "subgroups": ["sex"],
        "criteria": [{"metric": "sensitivity", "estimate_at_least": 0.5, "subgroups": "all"}],
        "roc_band_resamples": 50,
    }
    data.update(over)
    return parse_protocol(data)


def test_subgroup_with_no_positives_is_not_estimable(tmp_path: Path) -> None:
    rows = [
        "a,F,1,0.9",
        "b,F,0,0.2",
        "c,F,1,0.7",
        "d,F,0,0.4",
        "e,M,0,0.3",
        "f,M,0,0.6",
        "g,M,0,0.1",
    ]
    protocol = _protocol(min_denominator=1)
    ev = evaluate(protocol, load_cases(write_rows(tmp_path / "c.csv", HEADER, rows), protocol))
    men = ev.subgroups["sex=M"]
    assert not men["sensitivity"].estimable and men["sensitivity"].reason == "no positive cases"
    assert math.isnan(men["sensitivity"].estimate)
    assert not men["auc"].estimable and men["auc"].reason == "no positive cases"
    assert men["specificity"].estimable
    failing = [c for c in ev.criteria if not c.passed]
    assert [(c.subgroup, c.observed) for c in failing] == [("sex=M", None)]
    assert failing[0].reason == "not estimable: no positive cases"
    assert not ev.passed


def test_subgroup_list_with_a_single_key_and_a_missing_key(tmp_path: Path) -> None:
    rows = ["a,F,1,0.9", "b,F,0,0.2", "c,M,1,0.7", "d,M,0,0.4"]
    protocol = _protocol(
        criteria=[
            {"metric": "specificity", "ci_high_at_most": 1.0, "subgroups": ["sex=F", "sex=X"]}
        ],
        min_denominator=1,
    )
    ev = evaluate(protocol, load_cases(write_rows(tmp_path / "c.csv", HEADER, rows), protocol))
    assert [(c.subgroup, c.passed) for c in ev.criteria] == [("sex=F", True), ("sex=X", False)]
    assert ev.criteria[1].reason == "subgroup sex=X has no cases in the data"


def test_small_subgroup_metric_is_not_estimable_never_a_number(tmp_path: Path) -> None:
    rows = [f"r{i},F,{int(i < 20)},{0.9 if i < 18 else 0.1}" for i in range(100)]
    rows += ["m1,M,1,0.9", "m2,M,0,0.2", "m3,M,0,0.3", "m4,M,1,0.4"]
    protocol = _protocol(
        min_denominator=5, criteria=[{"metric": "sensitivity", "estimate_at_least": 0.5}]
    )
    ev = evaluate(protocol, load_cases(write_rows(tmp_path / "c.csv", HEADER, rows), protocol))
    assert ev.subgroups["sex=F"]["sensitivity"].estimate == pytest.approx(0.9)
    men = ev.subgroups["sex=M"]
    assert men["sensitivity"].reason == (
        "only 2 positive cases; the protocol asks for at least 5 (min_denominator)"
    )
    assert men["auc"].reason.startswith("only 2 cases in the smaller class")
    assert men["specificity"].reason.startswith("only 2 negative cases")
    data = men["sensitivity"].to_dict()
    assert data["estimate"] is None and "min_denominator" in data["not_estimable"]


def test_empty_bin_is_listed_with_no_cases(tmp_path: Path) -> None:
    rows = ["a,F,1,0.9,30", "b,F,0,0.2,40", "c,M,1,0.7,50", "d,M,0,0.4,60"]
    protocol = _protocol(
        subgroups=[{"column": "age", "bins": [0, 18, 200]}],
        criteria=[{"metric": "specificity", "estimate_at_least": 0.5}],
    )
    path = write_rows(tmp_path / "c.csv", HEADER + ",age", rows)
    ev = evaluate(protocol, load_cases(path, protocol))
    assert list(ev.subgroups) == ["age=[0,18)", "age=[18,200)"]
    assert ev.groups["age=[0,18)"].n == 0
    assert all(not e.estimable for e in ev.subgroups["age=[0,18)"].values())
    assert ev.subgroups["age=[0,18)"]["auc"].reason == "no cases"


def test_progress_reports_every_step(synthetic_csv: Path, example_protocol: Protocol) -> None:
    from radgov.evaluation.runner import planned_steps

    cases = load_cases(synthetic_csv, example_protocol)
    steps: list[str] = []
    evaluate(example_protocol, cases, progress=steps.append)
    assert len(steps) == planned_steps(example_protocol, cases)
    assert steps[0] == "overall" and steps[-1] == "criteria"


def test_curves(evaluation: Any) -> None:
    curves = evaluation.curves
    assert curves["roc"]["fpr"][0] == 0.0 and curves["roc"]["tpr"][-1] == 1.0
    assert len(curves["roc_band"]["fpr"]) == 101
    assert sum(curves["calibration"]["count"]) == 3000
    cm = curves["confusion"]
    assert cm["tp"] + cm["fn"] == evaluation.groups["overall"].n_positive


def test_quantification(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(30, 8, 200)
    ai = ref + rng.normal(0.5, 2, 200)
    sex = np.where(rng.random(200) < 0.5, "F", "M")
    rows = [f"q{i},{sex[i]},{ref[i]:.6f},{ai[i]:.6f}" for i in range(200)]
    protocol = parse_protocol(
        {
            "name": "volume",
            "task": "quantification",
            "columns": {"case_id": "case_id", "truth": "ref", "score": "ai"},
            "metrics": ["mae", "bias", "loa_low", "loa_high", "icc", "ccc"],
            "subgroups": ["sex"],
            "criteria": [{"metric": "mae", "ci_high_at_most": 3.0}],
        }
    )
    path = write_rows(tmp_path / "q.csv", "case_id,sex,ref,ai", rows)
    ev = evaluate(protocol, load_cases(path, protocol))
    r = np.array([float(x.split(",")[2]) for x in rows])
    a = np.array([float(x.split(",")[3]) for x in rows])
    ba = bland_altman(a, r)
    _same(ev.overall["bias"], ba.bias)
    _same(ev.overall["loa_low"], ba.lower_limit)
    _same(ev.overall["mae"], mean_absolute_error(a, r))
    _same(ev.overall["icc"], icc(np.column_stack([a, r]), form="ICC(2,1)"))
    _same(ev.overall["ccc"], concordance_correlation(a, r))
    assert ev.curves["bland_altman"]["n"] == 200
    assert ev.passed


def test_segmentation_and_detection(tmp_path: Path) -> None:
    seg = parse_protocol(
        {
            "name": "seg",
            "task": "segmentation",
            "columns": {"case_id": "case_id", "dice": "dice", "hd95": "hd95"},
            "metrics": ["dice", "hd95"],
            "criteria": [{"metric": "dice", "ci_low_at_least": 0.7}],
        }
    )
    rows = [f"s{i},{0.8 + 0.01 * (i % 10):.2f},{2 + i % 3}" for i in range(40)]
    ev = evaluate(seg, load_cases(write_rows(tmp_path / "s.csv", "case_id,dice,hd95", rows), seg))
    dice = np.array([0.8 + 0.01 * (i % 10) for i in range(40)]).round(2)
    _same(ev.overall["dice"], dice_summary(dice))
    assert ev.overall["hd95"].estimate == pytest.approx(np.mean([2 + i % 3 for i in range(40)]))
    assert ev.passed

    det = parse_protocol(
        {
            "name": "det",
            "task": "detection",
            "columns": {
                "case_id": "case_id", "lesions": "n_lesions",
                "detected": "n_found", "false_positives": "n_fp",
            },
            "metrics": ["lesion_sensitivity", "fppi"],
            "criteria": [{"metric": "fppi", "estimate_at_most": 1.0}],
        }
    )  # fmt: skip
    rows = [f"d{i},{i % 3},{max(0, i % 3 - (i % 2))},{i % 2}" for i in range(30)]
    path = write_rows(tmp_path / "d.csv", "case_id,n_lesions,n_found,n_fp", rows)
    ev = evaluate(det, load_cases(path, det))
    lesions = sum(i % 3 for i in range(30))
    found = sum(max(0, i % 3 - (i % 2)) for i in range(30))
    assert ev.overall["lesion_sensitivity"].estimate == pytest.approx(found / lesions)
    assert ev.overall["fppi"].estimate == pytest.approx(15 / 30)
    low, high = ev.overall["lesion_sensitivity"].ci_low, ev.overall["lesion_sensitivity"].ci_high
    assert low < found / lesions < high


def test_staged_evaluation_is_the_evaluation(
    synthetic_csv: Path, example_dict: dict[str, Any]
) -> None:
    example_dict["roc_band_resamples"] = 40
    protocol = parse_protocol(example_dict)
    cases = load_cases(synthetic_csv, protocol)
    steps: list[str] = []
    preliminary, complete = evaluate_in_stages(protocol, cases, progress=steps.append)
    once: list[str] = []
    plain = evaluate(protocol, cases, progress=once.append)
    assert steps == once and steps[-2:] == ["ROC confidence band (bootstrap)", "criteria"]
    assert to_json_dict(complete, now=NOW) == to_json_dict(plain, now=NOW)
    first, last = to_json_dict(preliminary, now=NOW), to_json_dict(complete, now=NOW)
    assert "roc_band" not in first["curves"]
    assert list(last["curves"]) == [
        "confusion",
        "roc",
        "operating_point",
        "roc_band",
        "calibration",
    ]
    del last["curves"]["roc_band"]
    assert first == last


# every task with every metric: (columns, metrics, header, one row per case from i)
TASKS = {
    "binary": (
        {"case_id": "case_id", "truth": "label", "score": "score"},
        ["sensitivity", "specificity", "ppv", "npv", "accuracy", "f1", "auc", "brier", "ece"],
        "case_id,label,score,age",
        lambda i: f"b{i},{i % 2},{(i % 10) / 10 + 0.05:.2f}",
    ),
    "quantification": (
        {"case_id": "case_id", "truth": "ref", "score": "ai"},
        ["mae", "bias", "loa_low", "loa_high", "icc", "ccc"],
        "case_id,ref,ai,age",
        lambda i: f"q{i},{10 + i},{10 + i + (i % 3) - 1}",
    ),
    "segmentation": (
        {"case_id": "case_id", "dice": "dice", "hd95": "hd95"},
        ["dice", "hd95"],
        "case_id,dice,hd95,age",
        lambda i: f"s{i},{0.7 + (i % 5) / 20:.2f},{1 + i % 4}",
    ),
    "detection": (
        {"case_id": "case_id", "lesions": "lesions", "detected": "found", "false_positives": "fp"},
        ["lesion_sensitivity", "fppi"],
        "case_id,lesions,found,fp,age",
        lambda i: f"d{i},{1 + i % 2},{i % 2},{i % 3}",
    ),
}


@pytest.mark.parametrize("task", TASKS)
def test_a_metric_without_enough_cases_names_the_method_radgov_stats_names(
    tmp_path: Path, task: str
) -> None:
    """A subgroup with no case (an empty bin) and one with a single case: every metric there is
    not estimable, under the very method radgov.stats gives the metric where it is estimable
    (the runner once retyped these names, and they drifted: "mean Dice" against "mean Dice, t
    interval over cases")."""
    columns, metrics, header, row = TASKS[task]
    ages = [30] * 40 + [70]  # none under 18, one of 65 or more
    rows = [f"{row(i)},{age}" for i, age in enumerate(ages)]
    protocol = parse_protocol(
        {
            "name": task,
            "task": task,
            "columns": columns,
            **({"threshold": 0.5} if task == "binary" else {}),
            "metrics": metrics,
            "subgroups": [{"column": "age", "bins": [0, 18, 65, 200]}],
            "criteria": [{"metric": metrics[0], "estimate_at_least": 0.0}],
            "min_denominator": 1,
        }
    )
    ev = evaluate(protocol, load_cases(write_rows(tmp_path / "c.csv", header, rows), protocol))
    assert all(e.estimable for e in ev.overall.values()), ev.overall
    empty, single = ev.subgroups["age=[0,18)"], ev.subgroups["age=[65,200)"]
    assert (ev.groups["age=[0,18)"].n, ev.groups["age=[65,200)"].n) == (0, 1)
    assert not any(e.estimable for e in empty.values())
    if task == "quantification":  # radgov.stats refuses a single pair (a ValueError)
        assert not any(e.estimable for e in single.values())
    for group in (empty, single):
        for metric, est in group.items():
            if est.estimable or (group is single and metric == "ece"):
                continue  # ece on one case: radgov.stats's bootstrap answers, unstratified
            assert est.method == ev.overall[metric].method, (metric, est.reason)
    assert empty[metrics[-1]].reason == "no cases"
