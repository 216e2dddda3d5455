"""Percentiles of counted values: numpy's percentile of the values repeated, without
repeating them.  Worked example: numpy's documentation of ``numpy.percentile`` (the array
[[10, 7, 4], [3, 2, 1]]: 50th percentile 3.5), Hyndman & Fan (1996) type 7."""

from __future__ import annotations

import numpy as np
import pytest

from radgov.stats.counted import percentile


def test_numpy_documentation_example() -> None:
    # numpy.percentile docs: a = [[10, 7, 4], [3, 2, 1]]; np.percentile(a, 50) -> 3.5
    assert percentile([10, 7, 4, 3, 2, 1], [1] * 6, q=50) == pytest.approx(3.5)
    # the same values counted: 1 and 2 twice, 10 not at all
    assert percentile([1, 2, 10], [2, 2, 0], q=50) == pytest.approx(1.5)


def test_equals_numpy_on_the_values_repeated() -> None:
    rng = np.random.default_rng(17)
    for _ in range(500):
        size = int(rng.integers(1, 12))
        values = rng.choice(rng.normal(size=6).round(2), size=size)
        counts = rng.integers(0, 5, size=size)
        counts[int(rng.integers(size))] += 1  # at least one value counted
        q = float(rng.choice([0, 10, 50, 90, 100, rng.uniform(0, 100)]))
        expected = np.percentile(np.repeat(values, counts), q)
        assert percentile(values, counts, q=q) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("values", "counts", "q"),
    [([1.0], [0], 50), ([1.0, 2.0], [1], 50), ([1.0], [-1], 50), ([1.0], [1], 101)],
)
def test_refuses_what_has_no_percentile(values, counts, q) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        percentile(values, counts, q=q)
