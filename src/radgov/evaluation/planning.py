"""Sample-size questions for an acceptance test, answered with :mod:`radgov.stats.sample_size`.

Three questions, as a governance group asks them:

* **precision**: how many cases to estimate sensitivity, specificity or AUC to within
  +/- a half-width (Buderer 1996; Hanley & McNeil 1982);
* **bound**: how many cases so that, if the AI performs as expected, the lower confidence bound
  clears a protocol's ``ci_low_at_least`` threshold with the wanted probability (power).  For a
  proportion this is the exact one-sided binomial test of ``p <= threshold`` at
  ``alpha = (1 - confidence level) / 2``, which is what "the lower bound of a two-sided
  interval is above the threshold" asks; for the AUC it is Obuchowski's one-sample test;
* **power**: with a given number of positives, the chance the bound clears the threshold.

``plan_protocol`` asks the bound question for every ``ci_low_at_least`` criterion of a
protocol.  A criterion that applies to every subgroup needs that many cases in **each**
subgroup; the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from radgov.stats.sample_size import (
    auc_sample_size,
    buderer_sample_size,
    noninferiority_sensitivity_power,
    noninferiority_sensitivity_sample_size,
)

from .protocol import Protocol

__all__ = ["PlanAnswer", "plan_bound", "plan_power", "plan_precision", "plan_protocol"]

PLANNABLE = ("sensitivity", "specificity", "auc")


@dataclass(frozen=True)
class PlanAnswer:
    question: str
    metric: str
    n_positives: int | None
    n_negatives: int | None
    n_total: int | None
    method: str
    power: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "metric": self.metric,
            "n_positives": self.n_positives,
            "n_negatives": self.n_negatives,
            "n_total": self.n_total,
            "power": self.power,
            "method": self.method,
            "note": self.note,
        }


def _check_metric(metric: str) -> None:
    if metric not in PLANNABLE:
        raise ValueError(f"planning covers {', '.join(PLANNABLE)}; got {metric!r}")


def plan_precision(
    metric: str,
    *,
    expected: float,
    half_width: float,
    prevalence: float,
    confidence_level: float = 0.95,
) -> PlanAnswer:
    _check_metric(metric)
    question = (
        f"cases to estimate {metric} {expected:g} to +/- {half_width:g} "
        f"({100 * confidence_level:g}% CI) at prevalence {prevalence:g}"
    )
    if metric == "auc":
        s = auc_sample_size(
            auc=expected,
            half_width=half_width,
            prevalence=prevalence,
            confidence_level=confidence_level,
        )
    else:
        s = buderer_sample_size(
            **{metric: expected},
            half_width=half_width,
            prevalence=prevalence,
            confidence_level=confidence_level,
        )
    return PlanAnswer(question, metric, s.n_positives, s.n_negatives, s.n_total, s.method,
                      note=s.note)  # fmt: skip


def _binomial_side(metric: str, prevalence: float | None) -> float | None:
    """Sensitivity is a proportion of positives, specificity of negatives."""
    if prevalence is None:
        return None
    return prevalence if metric == "sensitivity" else 1.0 - prevalence


def plan_bound(
    metric: str,
    *,
    expected: float,
    at_least: float,
    prevalence: float | None = None,
    power: float = 0.8,
    confidence_level: float = 0.95,
) -> PlanAnswer:
    """Cases so the lower confidence bound clears ``at_least`` with probability ``power``."""
    _check_metric(metric)
    if not expected > at_least:
        raise ValueError(
            f"the expected {metric} ({expected:g}) must exceed the threshold ({at_least:g}); "
            "otherwise no sample size makes the bound clear it"
        )
    alpha = (1.0 - confidence_level) / 2.0
    question = (
        f"cases for the lower {100 * confidence_level:g}% bound of {metric} to clear "
        f"{at_least:g} with power {power:g} if the true value is {expected:g}"
    )
    if metric == "auc":
        s = auc_sample_size(
            auc=expected, auc0=at_least, alpha=alpha, power=power,
            alternative="one-sided", prevalence=prevalence,
        )  # fmt: skip
        return PlanAnswer(question, metric, s.n_positives, s.n_negatives, s.n_total, s.method,
                          note=s.note)  # fmt: skip
    s = noninferiority_sensitivity_sample_size(
        claimed_sensitivity=expected,
        margin=expected - at_least,
        power=power,
        alpha=alpha,
        prevalence=_binomial_side(metric, prevalence),
        max_n=20000,
    )
    cases = s.n_positives
    who = "positives" if metric == "sensitivity" else "negatives"
    note = f"{cases} {who} needed; {s.note}"
    return PlanAnswer(
        question,
        metric,
        cases if metric == "sensitivity" else None,
        cases if metric == "specificity" else None,
        s.n_total,
        s.method.replace("Se", metric),
        note=note,
    )


def plan_power(
    metric: str,
    *,
    expected: float,
    at_least: float,
    n_cases: int,
    confidence_level: float = 0.95,
) -> PlanAnswer:
    """Chance that the lower bound clears ``at_least`` with ``n_cases`` positives (or negatives)."""
    if metric not in ("sensitivity", "specificity"):
        raise ValueError("the power question covers sensitivity and specificity")
    alpha = (1.0 - confidence_level) / 2.0
    pw = noninferiority_sensitivity_power(
        claimed_sensitivity=expected,
        margin=expected - at_least,
        n_positives=n_cases,
        alpha=alpha,
    )
    who = "positives" if metric == "sensitivity" else "negatives"
    return PlanAnswer(
        f"power of the lower {100 * confidence_level:g}% bound of {metric} to clear "
        f"{at_least:g} with {n_cases} {who} if the true value is {expected:g}",
        metric,
        n_cases if metric == "sensitivity" else None,
        n_cases if metric == "specificity" else None,
        None,
        pw.method.replace("Se", metric),
        power=pw.power,
        note=f"the test passes when at least {pw.critical_count} of {n_cases} are correct",
    )


def plan_protocol(
    protocol: Protocol,
    *,
    expected: dict[str, float],
    prevalence: float,
    power: float = 0.8,
) -> list[PlanAnswer]:
    """The bound question for every ``ci_low_at_least`` criterion on a plannable metric."""
    answers: list[PlanAnswer] = []
    for i, crit in enumerate(protocol.criteria, start=1):
        if crit.ci_low_at_least is None or crit.metric not in PLANNABLE:
            continue
        if crit.metric not in expected:
            raise ValueError(
                f"criterion {i} needs the expected {crit.metric}: give --expect {crit.metric}=VALUE"
            )
        a = plan_bound(
            crit.metric,
            expected=expected[crit.metric],
            at_least=crit.ci_low_at_least,
            prevalence=prevalence,
            power=power,
            confidence_level=protocol.confidence_level,
        )
        where = "overall" if crit.subgroups is None else "in EACH subgroup named by the criterion"
        answers.append(
            PlanAnswer(
                f"criterion {i}: {a.question} ({where})",
                a.metric,
                a.n_positives,
                a.n_negatives,
                a.n_total,
                a.method,
                a.power,
                a.note,
            )  # fmt: skip
        )
    return answers
