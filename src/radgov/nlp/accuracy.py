"""How accurate the labeller is, measured against a person's labels of a sample of reports.

Per finding, every (report, finding) pair of the sample is one case.  A label is one of
positive, negative, uncertain, or none (the report was not labelled for the finding: not
mentioned, or only in an ignored section or a question).

- **Sensitivity**: of the pairs the person labelled positive, the share the labeller also
  labelled positive.
- **Specificity**: of the pairs the person labelled negative or left unlabelled, the share
  the labeller did not label positive.
- Pairs the person labelled uncertain have no truth to score against: they are left out of
  both and counted (``human_uncertain``).
- **Agreement**: the share of all pairs where the two labels are the same (positive,
  negative, uncertain or none), uncertain pairs included.

Intervals are :func:`radgov.stats.proportions.proportion_ci`'s (Wilson by default;
``method="clopper-pearson"`` for the exact interval).

**Too small a sample.**  A sensitivity measured on few positives is too imprecise to tell a
good labeller from a poor one: Buderer (1996, Acad Emerg Med 3:895-900) gives the positives
needed for a confidence interval of half-width ``W`` as ``z^2 Se (1 - Se) / W^2``, about 35
positives for a sensitivity near 0.90 and ``W = 0.10``.  A warning is given when an interval
is wider than ``max_width`` (default 0.20, i.e. coarser than +/-0.10), naming the number of
cases Buderer's formula asks for at the estimate found (at least ``MIN_CASES``, since the
formula's normal approximation is poor below that), or when there is no case at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from radgov.stats.proportions import ProportionMethod, proportion_ci
from radgov.stats.results import Estimate
from radgov.stats.sample_size import buderer_sample_size

__all__ = ["FindingAccuracy", "MIN_CASES", "labeller_accuracy"]

PairLabel = Literal["positive", "negative", "uncertain"] | None
ALLOWED = ("positive", "negative", "uncertain", None)
MIN_CASES = 10  # below this many positives (or negatives) Buderer's normal approximation fails


@dataclass(frozen=True, slots=True)
class FindingAccuracy:
    finding: str
    n: int  # pairs scored
    tp: int
    fn: int
    tn: int
    fp: int
    human_uncertain: int
    sensitivity: Estimate
    specificity: Estimate
    agreement: Estimate
    warnings: tuple[str, ...] = field(default=())

    @property
    def human_positives(self) -> int:
        return self.tp + self.fn

    @property
    def human_negatives(self) -> int:
        return self.tn + self.fp


def _ratio(k: int, n: int, what: str, method: ProportionMethod, level: float) -> Estimate:
    if n == 0:
        return Estimate.not_estimable(what, method=method, n=0, confidence_level=level)
    return proportion_ci(k, n, method=method, confidence_level=level)


def _too_wide(
    metric: str, estimate: Estimate, cases: str, max_width: float, level: float
) -> str | None:
    if not estimate.estimable:
        return f"{metric}: {estimate.reason} in the sample, so it cannot be estimated"
    width = estimate.ci_high - estimate.ci_low
    if width <= max_width:
        return None
    # Buderer's count at the estimate found (an estimate of 0 or 1 gives no variance:
    # take the count for 0.95 / 0.05 instead, and never fewer than MIN_CASES)
    p = min(max(estimate.estimate, 0.05), 0.95)
    needed = buderer_sample_size(
        sensitivity=p, half_width=max_width / 2, prevalence=0.5, confidence_level=level
    ).n_positives
    needed = max(int(needed or 0), MIN_CASES)
    return (
        f"{metric}: the {level:.0%} interval is {width:.2f} wide ({estimate.n} {cases}), "
        f"too few to judge the labeller; about {needed} {cases} give +/-{max_width / 2:.2f} "
        f"at {p:.2f} (Buderer 1996)"
    )


def labeller_accuracy(
    pairs: Iterable[tuple[str, PairLabel, PairLabel]],
    *,
    findings: Sequence[str] | None = None,
    method: ProportionMethod = "wilson",
    confidence_level: float = 0.95,
    max_width: float = 0.20,
) -> list[FindingAccuracy]:
    """Per finding, the labeller's accuracy from ``(finding, human, labeller)`` triples.

    Each label is ``"positive"``, ``"negative"``, ``"uncertain"`` or None (not labelled).
    ``findings`` orders the result (and adds findings without pairs, which then warn);
    by default the findings in order of first appearance.
    """
    if not 0 < max_width < 1:
        raise ValueError(f"max_width must be between 0 and 1; got {max_width!r}")
    counts: dict[str, list[int]] = {}  # tp fn tn fp uncertain same n
    for i, (finding, human, machine) in enumerate(pairs):
        for who, value in (("human", human), ("labeller", machine)):
            if value not in ALLOWED:
                raise ValueError(
                    f"pair {i} ({finding}): the {who} label must be positive, negative, "
                    f"uncertain or empty; got {value!r}"
                )
        c = counts.setdefault(finding, [0] * 7)
        c[6] += 1
        c[5] += human == machine
        if human == "uncertain":
            c[4] += 1
        elif human == "positive":
            c[0 if machine == "positive" else 1] += 1
        else:
            c[3 if machine == "positive" else 2] += 1
    order = list(findings) if findings is not None else list(counts)
    out: list[FindingAccuracy] = []
    for name in order:
        tp, fn, tn, fp, unsure, same, n = counts.get(name, [0] * 7)
        sens = _ratio(tp, tp + fn, "no positive pairs", method, confidence_level)
        spec = _ratio(tn, tn + fp, "no negative pairs", method, confidence_level)
        agree = _ratio(same, n, "no pairs", method, confidence_level)
        warnings = tuple(
            w
            for w in (
                _too_wide("sensitivity", sens, "positives", max_width, confidence_level),
                _too_wide("specificity", spec, "negatives", max_width, confidence_level),
            )
            if w is not None
        )
        out.append(FindingAccuracy(name, n, tp, fn, tn, fp, unsure, sens, spec, agree, warnings))
    return out
