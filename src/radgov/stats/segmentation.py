"""Overlap and boundary metrics for binary segmentation masks (2-D and 3-D).

Empty masks (one convention, applied by every function here)
-------------------------------------------------------------
An empty mask has no foreground voxel.  Following the recommendation of Metrics Reloaded
(Maier-Hein L, Reinke A, et al. Nat Methods 2024;21:195-212: empty reference and empty
prediction is a correct result; an empty reference with a non-empty prediction, or the
reverse, is the worst result):

================================  ==========  =================================
case                              Dice        HD95
================================  ==========  =================================
both empty                        1.0         0.0
exactly one empty                 0.0         NaN (not estimable: no surface)
================================  ==========  =================================

HD95 is NaN rather than infinite when one mask is empty, so that a mean over cases cannot
silently become infinite or be mistaken for a distance; count such cases separately.

Definitions
-----------
Dice
    ``2 |P & T| / (|P| + |T|)``.
Surface
    The foreground voxels removed by one binary erosion with the face-connected structuring
    element (``scipy.ndimage.generate_binary_structure(ndim, 1)``); foreground touching the
    array border counts as surface.
HD95
    The 95th percentile (numpy's linear interpolation) of the pooled symmetric surface
    distances: the distance from every surface voxel of the prediction to the nearest surface
    voxel of the truth, together with the distance from every truth surface voxel to the
    nearest prediction surface voxel (the MedPy ``hd95`` definition; MONAI instead takes the
    larger of the two directed 95th percentiles).  Distances are Euclidean between voxel
    centres, in the units of ``spacing`` (voxels when it is None), from
    ``scipy.ndimage.distance_transform_edt(..., sampling=spacing)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_confidence_level, check_finite
from .results import Estimate

# scipy.ndimage and scipy.stats are imported where they are used: ``radgov evaluate``
# imports this module for every task and should not pay for them on the others.

__all__ = [
    "dice_score",
    "dice_scores",
    "dice_summary",
    "hausdorff_distance_95",
    "surface_distances",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _binary(mask: ArrayLike, name: str) -> BoolArray:
    arr = np.asarray(mask)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        raise ValueError(
            f"{name} must be a binary mask (bool or 0/1); got values of type {arr.dtype}"
        )
    bad = np.argwhere((arr != 0) & (arr != 1))
    if bad.size:
        idx = tuple(int(v) for v in bad[0])
        raise ValueError(
            f"{name} must be a binary mask of 0 and 1; found {arr[idx].item()!r} at index {idx}"
        )
    out: BoolArray = arr == 1
    return out


def _pair(pred: ArrayLike, truth: ArrayLike) -> tuple[BoolArray, BoolArray]:
    p = _binary(pred, "pred")
    t = _binary(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"pred and truth must have the same shape; got {p.shape} and {t.shape}")
    return p, t


def dice_score(pred: ArrayLike, truth: ArrayLike) -> float:
    """Dice similarity coefficient of two binary masks (1.0 when both are empty)."""
    p, t = _pair(pred, truth)
    return float(dice_scores(p[np.newaxis], t[np.newaxis])[0])


def dice_scores(pred: ArrayLike, truth: ArrayLike) -> FloatArray:
    """Dice per case for a stack of masks; the first axis indexes the cases.

    >>> dice_scores([[1, 1, 0], [0, 0, 0]], [[1, 0, 0], [0, 0, 0]]).tolist()
    [0.6666666666666666, 1.0]
    """
    p, t = _pair(pred, truth)
    if p.ndim < 2:
        raise ValueError(
            f"pred and truth must be stacks of masks with the case on the first axis; got shape {p.shape}"
        )
    axes = tuple(range(1, p.ndim))
    inter = np.count_nonzero(p & t, axis=axes).astype(np.float64)
    total = (np.count_nonzero(p, axis=axes) + np.count_nonzero(t, axis=axes)).astype(np.float64)
    both_empty = total == 0
    out: FloatArray = np.where(both_empty, 1.0, 2.0 * inter / np.where(both_empty, 1.0, total))
    return out


def dice_summary(dice: ArrayLike, *, confidence_level: float = 0.95) -> Estimate:
    """Mean Dice over cases with a t interval (``mean +/- t_{n-1} sd / sqrt(n)``).

    ``dice`` holds one Dice per case (e.g. from :func:`dice_scores`).  The interval is
    clipped to [0, 1].  It treats cases as independent; Dice is bounded and often skewed
    near 1, so for small n a bootstrap interval is the better choice.  Fewer than two cases
    are not estimable.
    """
    level = check_confidence_level(confidence_level)
    d = check_finite(dice, "dice")
    bad = np.flatnonzero((d < 0.0) | (d > 1.0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"dice must lie in [0, 1]; found {d[i].item()!r} at index {i}")
    n = d.size
    method = "mean Dice, t interval over cases (clipped to [0, 1])"
    if n < 2:
        return Estimate.not_estimable(
            f"a t interval needs at least 2 cases; got {n}",
            method=method,
            n=n,
            confidence_level=level,
        )
    from scipy import stats

    mean = float(d.mean())
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    return Estimate(mean, max(mean - half, 0.0), min(mean + half, 1.0), method, n, level)


def _spacing(spacing: Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    if spacing is None:
        return (1.0,) * ndim
    s = tuple(float(v) for v in np.atleast_1d(np.asarray(spacing, dtype=np.float64)))
    if len(s) != ndim:
        raise ValueError(f"spacing must give one value per axis ({ndim}); got {len(s)}")
    for i, v in enumerate(s):
        if not (math.isfinite(v) and v > 0.0):
            raise ValueError(f"spacing must be finite and positive; found {v!r} at index {i}")
    return s


def _surface(mask: BoolArray) -> BoolArray:
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    eroded = ndimage.binary_erosion(mask, structure=structure, border_value=0)
    out: BoolArray = mask & ~eroded
    return out


def surface_distances(
    pred: ArrayLike, truth: ArrayLike, *, spacing: Sequence[float] | None = None
) -> tuple[FloatArray, FloatArray]:
    """Directed surface distances ``(pred -> truth, truth -> pred)`` for non-empty masks.

    Raises ValueError when either mask is empty (see the module's empty-mask convention).
    """
    p, t = _pair(pred, truth)
    if p.ndim not in (2, 3):
        raise ValueError(f"masks must be 2-D or 3-D; got {p.ndim}-D shape {p.shape}")
    sampling = _spacing(spacing, p.ndim)
    if not p.any() or not t.any():
        raise ValueError("surface distances need two non-empty masks")
    from scipy import ndimage

    sp, st = _surface(p), _surface(t)
    dist_to_t = ndimage.distance_transform_edt(~st, sampling=sampling)
    dist_to_p = ndimage.distance_transform_edt(~sp, sampling=sampling)
    return (
        np.asarray(dist_to_t[sp], dtype=np.float64),
        np.asarray(dist_to_p[st], dtype=np.float64),
    )


def hausdorff_distance_95(
    pred: ArrayLike, truth: ArrayLike, *, spacing: Sequence[float] | None = None
) -> float:
    """95th percentile of the pooled symmetric surface distances (the module docstring).

    Both masks empty gives 0.0; exactly one empty gives NaN (not estimable).
    """
    p, t = _pair(pred, truth)
    if p.ndim not in (2, 3):
        raise ValueError(f"masks must be 2-D or 3-D; got {p.ndim}-D shape {p.shape}")
    _spacing(spacing, p.ndim)
    has_p, has_t = bool(p.any()), bool(t.any())
    if not has_p and not has_t:
        return 0.0
    if has_p != has_t:
        return math.nan
    d_pt, d_tp = surface_distances(p, t, spacing=spacing)
    return float(np.percentile(np.concatenate([d_pt, d_tp]), 95))
