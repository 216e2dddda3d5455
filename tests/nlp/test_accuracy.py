"""labeller_accuracy: the counts, the intervals and the small-sample warning."""

from __future__ import annotations

import pytest

from radgov.nlp.accuracy import MIN_CASES, labeller_accuracy
from radgov.stats.sample_size import buderer_sample_size


def _pairs(tp: int, fn: int, tn: int, fp: int, finding: str = "pe") -> list:
    return (
        [(finding, "positive", "positive")] * tp
        + [(finding, "positive", "negative")] * fn
        + [(finding, None, None)] * tn
        + [(finding, "negative", "positive")] * fp
    )


def test_intervals_match_newcombes_worked_example() -> None:
    """Newcombe RG (1998) Stat Med 17:857-872, Table II: 81/263 gives the Wilson interval
    0.2553-0.3662 (method 3) and the Clopper-Pearson interval 0.2527-0.3676 (method 5)."""
    pairs = _pairs(tp=81, fn=182, tn=81, fp=182)
    (wilson,) = labeller_accuracy(pairs)
    assert wilson.sensitivity.estimate == pytest.approx(81 / 263)
    assert (round(wilson.sensitivity.ci_low, 4), round(wilson.sensitivity.ci_high, 4)) == (
        0.2553, 0.3662,
    )  # fmt: skip
    assert (round(wilson.specificity.ci_low, 4), round(wilson.specificity.ci_high, 4)) == (
        0.2553, 0.3662,
    )  # fmt: skip
    (exact,) = labeller_accuracy(pairs, method="clopper-pearson")
    assert (round(exact.sensitivity.ci_low, 4), round(exact.sensitivity.ci_high, 4)) == (
        0.2527, 0.3676,
    )  # fmt: skip


def test_counts_uncertain_pairs_and_agreement() -> None:
    pairs = [
        ("ptx", "positive", "positive"),
        ("ptx", "positive", "uncertain"),  # labeller not positive: a miss
        ("ptx", "negative", "negative"),
        ("ptx", None, "negative"),  # not positive: a true negative, but no agreement
        ("ptx", "uncertain", "positive"),  # no truth: out of sensitivity and specificity
        ("ptx", "uncertain", "uncertain"),
    ]
    (r,) = labeller_accuracy(pairs)
    assert (r.tp, r.fn, r.tn, r.fp, r.human_uncertain, r.n) == (1, 1, 2, 0, 2, 6)
    assert r.sensitivity.estimate == 0.5
    assert r.specificity.estimate == 1.0
    assert r.agreement.estimate == pytest.approx(3 / 6)


def test_a_small_sample_warns_and_names_the_cases_needed() -> None:
    (small,) = labeller_accuracy(_pairs(tp=9, fn=1, tn=200, fp=2))
    assert len(small.warnings) == 1
    warning = small.warnings[0]
    assert warning.startswith("sensitivity: the 95% interval is")
    needed = buderer_sample_size(sensitivity=0.9, half_width=0.10, prevalence=0.5).n_positives
    assert needed == 35
    assert f"about {needed} positives" in warning and "Buderer 1996" in warning

    (large,) = labeller_accuracy(_pairs(tp=90, fn=10, tn=200, fp=2))
    assert large.warnings == ()


def test_no_positive_pairs_is_not_estimable_and_warns() -> None:
    (r,) = labeller_accuracy(_pairs(tp=0, fn=0, tn=50, fp=0), findings=["pe", "fracture"])[:1]
    assert not r.sensitivity.estimable
    assert (
        r.warnings[0] == "sensitivity: no positive pairs in the sample, so it cannot be estimated"
    )
    missing = labeller_accuracy([], findings=["fracture"])[0]
    assert missing.n == 0 and len(missing.warnings) == 2


def test_a_perfect_small_sample_still_warns_with_at_least_min_cases() -> None:
    (r,) = labeller_accuracy(_pairs(tp=3, fn=0, tn=100, fp=0))
    assert r.sensitivity.estimate == 1.0
    needed = int(r.warnings[0].split("about ")[1].split()[0])
    assert needed >= MIN_CASES


def test_bad_labels_and_options_are_refused() -> None:
    with pytest.raises(ValueError, match=r"pair 1 \(pe\): the labeller label must be"):
        labeller_accuracy([("pe", "positive", "positive"), ("pe", "positive", "yes")])
    with pytest.raises(ValueError, match="max_width"):
        labeller_accuracy([], max_width=0)
