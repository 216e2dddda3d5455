"""Input checks shared by the metrics (scikit-learn's contract: array-likes in, clear errors out).

Every message names the argument, the problem and, where there is one, the first offending
index and value, so that a caller can find the bad row in the table it came from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "check_binary",
    "check_confidence_level",
    "check_finite",
    "check_probabilities",
    "check_counts",
    "check_same_length",
    "check_weights",
    "z_value",
]


def _as_1d(values: ArrayLike, name: str) -> NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a 1-D array-like; got a scalar")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array-like; got shape {arr.shape}")
    return arr


def check_binary(values: ArrayLike, name: str = "y_true") -> NDArray[np.bool_]:
    """Return ``values`` as a boolean array, or raise naming the first value that is not 0/1."""
    arr = _as_1d(values, name)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must contain only 0 and 1; got values of type {arr.dtype}")
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must contain only 0 and 1; found {arr[i].item()!r} at index {i}")
    out: NDArray[np.bool_] = arr == 1
    return out


def check_finite(values: ArrayLike, name: str = "y_score") -> NDArray[np.float64]:
    """Return ``values`` as float64, or raise naming the first NaN or infinite value."""
    arr = _as_1d(values, name)
    if arr.dtype.kind not in "iufb":
        raise ValueError(f"{name} must be numeric; got values of type {arr.dtype}")
    out = arr.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must be finite; found {out[i].item()!r} at index {i}")
    return out


def check_probabilities(values: ArrayLike, name: str = "y_prob") -> NDArray[np.float64]:
    """Finite values in [0, 1]."""
    out = check_finite(values, name)
    bad = np.flatnonzero((out < 0.0) | (out > 1.0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must lie in [0, 1]; found {out[i].item()!r} at index {i}")
    return out


def check_counts(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """Whole counts >= 0 as float64, or raise naming the first that is not."""
    arr = check_finite(values, name)
    bad = np.flatnonzero((arr < 0) | (arr != np.floor(arr)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must hold whole counts >= 0; found {arr[i]:g} at index {i}")
    return arr


def check_weights(sample_weight: ArrayLike | None, size: int) -> NDArray[np.float64]:
    """Each case's count (``sample_weight``: whole counts, as when equal cases are counted
    once; None: one each), one per case."""
    if sample_weight is None:
        return np.ones(size, dtype=np.float64)
    counts = check_counts(sample_weight, "sample_weight")
    if counts.size != size:
        raise ValueError(f"sample_weight needs one count per case; got {counts.size} for {size}")
    return counts


def check_same_length(**arrays: NDArray[Any]) -> int:
    """All arrays have one length; return it."""
    lengths = {name: int(a.shape[0]) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"inputs must have the same length; {described}")
    return next(iter(lengths.values()), 0)


def check_confidence_level(confidence_level: float) -> float:
    level = float(confidence_level)
    if not (0.0 < level < 1.0) or math.isnan(level):
        raise ValueError(f"confidence_level must lie strictly between 0 and 1; got {level!r}")
    return level


def z_value(confidence_level: float) -> float:
    """Two-sided standard normal quantile for ``confidence_level``."""
    from scipy.special import ndtri

    level = check_confidence_level(confidence_level)
    return float(ndtri(0.5 + level / 2.0))
