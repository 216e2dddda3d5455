"""The labeller on the hand-labelled test set (tests/nlp/data): its size and coverage, and
a floor under its accuracy, so that a rule change that makes it worse fails here.
benchmarks/bench_label.py prints the same figures beside medspacy's ConText."""

from __future__ import annotations

from collections import Counter

import pytest

from radgov.nlp import Labeller
from radgov.nlp.accuracy import labeller_accuracy

from .testset import FINDINGS, load_items, pairs

ITEMS = load_items()
LABELLER = Labeller()


def predict(text: str) -> dict[str, str]:
    return {lab.finding: lab.label for lab in LABELLER.label(text)}


def test_the_test_set_is_large_and_covers_every_target_and_label() -> None:
    snippets = [i for i in ITEMS if i.id.startswith("s")]
    reports = [i for i in ITEMS if i.id.startswith("r")]
    assert len(snippets) >= 300 and len(reports) >= 30
    assert all("IMPRESSION" in r.text.upper() for r in reports)
    seen = Counter((f, v) for i in ITEMS for f, v in i.gold.items())
    for finding in FINDINGS.values():
        for value in ("positive", "negative", "uncertain"):
            assert seen[(finding, value)] >= 5, (finding, value)
    assert sum(not i.gold for i in ITEMS) >= 10  # items that must get no label


@pytest.mark.parametrize("holdout", [False, True], ids=["all", "held-out"])
def test_accuracy_floor(holdout: bool) -> None:
    chosen = [i for i in ITEMS if i.holdout] if holdout else ITEMS
    scored = pairs(chosen, predict)
    agreement = sum(g == p for _, g, p, _ in scored) / len(scored)
    assert agreement >= 0.97
    for result in labeller_accuracy([(f, g, p) for f, g, p, _ in scored]):
        assert result.agreement.estimate >= 0.9, result
        assert result.sensitivity.estimate >= 0.9, result
        assert result.specificity.estimate >= 0.95, result
