"""Statistics of values held as counts (each distinct value and how many times it occurred),
as monitoring's daily rollups keep them, without repeating the values."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["percentile"]


def percentile(values: ArrayLike, counts: ArrayLike, *, q: float) -> float:
    """``numpy.percentile(np.repeat(values, counts), q)`` (its default "linear" method,
    Hyndman & Fan's type 7) without repeating the values: the two order statistics around
    the index ``(n - 1) q / 100``, interpolated as numpy does."""
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(counts, dtype=np.int64)
    if v.shape != c.shape or v.ndim != 1:
        raise ValueError("values and counts must be one-dimensional and of one length")
    if np.any(c < 0) or not 0 <= q <= 100:
        raise ValueError("counts must not be negative and q must lie in [0, 100]")
    order = np.argsort(v, kind="stable")
    v, ends = v[order], np.cumsum(c[order])
    n = int(ends[-1]) if ends.size else 0
    if n == 0:
        raise ValueError("no value is counted")
    at = (n - 1) * (q / 100)
    low = min(max(int(np.floor(at)), 0), n - 1)
    t = at - np.floor(at)
    a, b = (float(v[np.searchsorted(ends, k, side="right")]) for k in (low, min(low + 1, n - 1)))
    return float(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)
