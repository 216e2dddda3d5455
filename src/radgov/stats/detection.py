"""Lesion-level detection metrics: matching, lesion sensitivity, false positives per image, FROC.

Inputs are per image (one list element per image, in the same order in every argument):

``lesions[i]``
    The ground-truth lesions of image ``i`` as rows.  With ``criterion="centre"`` a row is the
    lesion centre followed by its radius, ``(c_0, ..., c_{d-1}, r)``; with ``criterion="iou"``
    a row is an axis-aligned box ``(min_0, ..., min_{d-1}, max_0, ..., max_{d-1})``.
``detections[i]``
    The detections of image ``i`` as rows: a point ``(c_0, ..., c_{d-1})`` for ``"centre"``,
    a box as above for ``"iou"``.  Coordinates are in one consistent unit (mm, or voxels).
``scores[i]``
    One confidence per detection of image ``i``; higher means more confident.

An image with no lesion or no detection is an empty list (or a ``(0, columns)`` array).

Hit criterion (two are supported)
---------------------------------
``"centre"``
    A detection hits a lesion when its point lies within the lesion's radius
    (Euclidean distance <= radius), as in LUNA16 (Setio et al. Med Image Anal 2017;42:1-13)
    and ANODE09 (van Ginneken et al. Med Image Anal 2010;14:707-722).
``"iou"``
    A detection box hits a lesion box when their intersection over union is at least
    ``iou_threshold`` (default 0.5).

Counting (the LUNA16 convention, which makes every metric monotone in the threshold)
-------------------------------------------------------------------------------------
At a score threshold ``t`` the detections with ``score >= t`` are kept.  A lesion is detected
when at least one kept detection hits it.  A kept detection that hits no lesion is a false
positive.  A second detection on an already-detected lesion is neither a true nor a false
positive, and a detection that hits two lesions counts for both.  So each lesion reduces to
the highest score among the detections hitting it, and each false positive to its score,
which is what lets :func:`froc_curve` evaluate every threshold at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_confidence_level
from .proportions import proportion_ci
from .results import Estimate

__all__ = [
    "FROC",
    "STANDARD_FP_RATES",
    "LesionMatches",
    "false_positives_per_image",
    "froc_curve",
    "lesion_sensitivity",
    "match_detections",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Criterion = Literal["centre", "iou"]

STANDARD_FP_RATES: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Mean false positives per image at which LUNA16 and ANODE09 read the FROC curve."""


@dataclass(frozen=True, slots=True)
class LesionMatches:
    """Per-lesion and per-false-positive scores: everything the metrics need.

    ``lesion_scores[j]`` is the highest score of a detection hitting lesion ``j`` (``-inf`` when
    none does); ``lesion_image[j]`` is its image.  ``fp_scores`` holds the scores of the
    detections that hit no lesion, ``fp_image`` their images.
    """

    lesion_scores: FloatArray = field(compare=False)
    lesion_image: IntArray = field(compare=False)
    fp_scores: FloatArray = field(compare=False)
    fp_image: IntArray = field(compare=False)
    n_images: int
    n_lesions: int
    criterion: str


def _rows(value: ArrayLike, name: str, image: int, columns: int | None) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}[{image}] must be rows of numbers, all of one length ({exc})"
        ) from None
    if arr.size == 0:
        arr = np.zeros((0, columns or 0))
    if arr.ndim == 1 and columns is not None and arr.size == columns:
        arr = arr[np.newaxis]
    if arr.ndim != 2:
        raise ValueError(
            f"{name}[{image}] must be a 2-D array of rows; got shape {np.shape(value)}"
        )
    if columns is not None and arr.shape[0] and arr.shape[1] != columns:
        raise ValueError(f"{name}[{image}] rows must have {columns} values; got {arr.shape[1]}")
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        r, c = (int(v) for v in bad[0])
        raise ValueError(
            f"{name}[{image}] must be finite; found {float(arr[r, c])!r} at row {r}, column {c}"
        )
    return arr


def _first_width(rows_per_image: Sequence[ArrayLike]) -> int | None:
    for rows in rows_per_image:
        try:
            arr = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            continue  # reported with its image by _rows
        if arr.size:
            return int(arr.shape[-1])
    return None


def _layout(
    lesions: Sequence[ArrayLike], detections: Sequence[ArrayLike], criterion: str
) -> tuple[int | None, int | None]:
    """Columns of a detection row and of a lesion row, from the first non-empty rows."""
    det = _first_width(detections)
    les = _first_width(lesions)
    if criterion == "centre":
        # a lesion row is the centre plus its radius
        if det is None and les is not None:
            det = les - 1
        return det, (None if det is None else det + 1)
    width = det if det is not None else les
    if width is not None and width % 2:
        raise ValueError(f"boxes need an even number of values (min..., max...); got {width}")
    return width, width


def match_detections(
    lesions: Sequence[ArrayLike],
    detections: Sequence[ArrayLike],
    scores: Sequence[ArrayLike],
    *,
    criterion: Criterion = "centre",
    iou_threshold: float = 0.5,
) -> LesionMatches:
    """Reduce per-image lesions and scored detections to lesion and false-positive scores."""
    if criterion not in ("centre", "iou"):
        raise ValueError(f"criterion must be 'centre' or 'iou'; got {criterion!r}")
    if not 0.0 < float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must lie in (0, 1]; got {iou_threshold!r}")
    n_images = len(lesions)
    if len(detections) != n_images or len(scores) != n_images:
        raise ValueError(
            "lesions, detections and scores must list the same images; got "
            f"{n_images}, {len(detections)} and {len(scores)} images"
        )
    if n_images == 0:
        raise ValueError("at least one image is needed; got 0")

    det_cols, les_cols = _layout(lesions, detections, criterion)

    lesion_scores: list[FloatArray] = []
    lesion_image: list[IntArray] = []
    fp_scores: list[FloatArray] = []
    fp_image: list[IntArray] = []
    for i in range(n_images):
        les = _rows(lesions[i], "lesions", i, les_cols)
        det = _rows(detections[i], "detections", i, det_cols)
        sc = np.asarray(scores[i], dtype=np.float64).reshape(-1)
        if sc.size != det.shape[0]:
            raise ValueError(
                f"scores[{i}] must have one score per detection; got {sc.size} scores "
                f"for {det.shape[0]} detections"
            )
        bad = np.flatnonzero(~np.isfinite(sc))
        if bad.size:
            raise ValueError(
                f"scores[{i}] must be finite; found {float(sc[bad[0]])!r} at index {bad[0]}"
            )
        hits = _hits(les, det, criterion, float(iou_threshold), i)  # (lesions, detections)
        best = np.where(hits, sc[np.newaxis, :], -np.inf).max(axis=1, initial=-np.inf)
        lesion_scores.append(best)
        lesion_image.append(np.full(les.shape[0], i, dtype=np.int64))
        is_fp = ~hits.any(axis=0)
        fp_scores.append(sc[is_fp])
        fp_image.append(np.full(int(is_fp.sum()), i, dtype=np.int64))
    ls = np.concatenate(lesion_scores)
    return LesionMatches(
        lesion_scores=ls,
        lesion_image=np.concatenate(lesion_image),
        fp_scores=np.concatenate(fp_scores),
        fp_image=np.concatenate(fp_image),
        n_images=n_images,
        n_lesions=int(ls.size),
        criterion=criterion if criterion == "centre" else f"iou>={float(iou_threshold):g}",
    )


def _hits(
    les: FloatArray, det: FloatArray, criterion: str, iou_threshold: float, image: int
) -> NDArray[np.bool_]:
    if les.shape[0] == 0 or det.shape[0] == 0:
        return np.zeros((les.shape[0], det.shape[0]), dtype=bool)
    if criterion == "centre":
        centre, radius = les[:, :-1], les[:, -1]
        bad = np.flatnonzero(radius <= 0)
        if bad.size:
            raise ValueError(
                f"lesions[{image}] radius must be positive; found {float(radius[bad[0]])!r} "
                f"at row {bad[0]}"
            )
        d2 = ((centre[:, np.newaxis, :] - det[np.newaxis, :, :]) ** 2).sum(axis=2)
        out: NDArray[np.bool_] = d2 <= (radius**2)[:, np.newaxis]
        return out
    d = les.shape[1] // 2
    for name, boxes in (("lesions", les), ("detections", det)):
        inverted = np.flatnonzero((boxes[:, d:] < boxes[:, :d]).any(axis=1))
        if inverted.size:
            r = int(inverted[0])
            raise ValueError(f"{name}[{image}] box at row {r} has a max below its min")
    lo = np.maximum(les[:, np.newaxis, :d], det[np.newaxis, :, :d])
    hi = np.minimum(les[:, np.newaxis, d:], det[np.newaxis, :, d:])
    inter = np.clip(hi - lo, 0.0, None).prod(axis=2)
    vol_l = (les[:, d:] - les[:, :d]).prod(axis=1)
    vol_d = (det[:, d:] - det[:, :d]).prod(axis=1)
    union = vol_l[:, np.newaxis] + vol_d[np.newaxis, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    out = iou >= iou_threshold
    return out


def lesion_sensitivity(
    lesions: Sequence[ArrayLike],
    detections: Sequence[ArrayLike],
    scores: Sequence[ArrayLike],
    *,
    threshold: float | None = None,
    criterion: Criterion = "centre",
    iou_threshold: float = 0.5,
    confidence_level: float = 0.95,
) -> Estimate:
    """Fraction of lesions hit by a detection with ``score >= threshold``, Wilson interval.

    ``threshold=None`` keeps every detection.  The Wilson interval treats lesions as
    independent.  They are not when patients have several lesions (lesions in one patient
    tend to be all found or all missed), so the interval is then too narrow; resample
    patients (a cluster bootstrap) for an honest interval.  No lesion: not estimable.
    """
    level = check_confidence_level(confidence_level)
    m = match_detections(
        lesions, detections, scores, criterion=criterion, iou_threshold=iou_threshold
    )
    t = _threshold(threshold)
    found = int(np.count_nonzero(m.lesion_scores >= t))
    est = proportion_ci(found, m.n_lesions, method="wilson", confidence_level=level)
    method = f"lesion-level sensitivity ({m.criterion}), Wilson interval, lesions as independent"
    if not est.estimable:
        return Estimate.not_estimable(
            "no ground-truth lesions", method=method, n=0, confidence_level=level
        )
    return Estimate(est.estimate, est.ci_low, est.ci_high, method, m.n_lesions, level)


def false_positives_per_image(
    lesions: Sequence[ArrayLike],
    detections: Sequence[ArrayLike],
    scores: Sequence[ArrayLike],
    *,
    threshold: float | None = None,
    criterion: Criterion = "centre",
    iou_threshold: float = 0.5,
) -> float:
    """Mean number of false-positive detections (``score >= threshold``) per image."""
    m = match_detections(
        lesions, detections, scores, criterion=criterion, iou_threshold=iou_threshold
    )
    t = _threshold(threshold)
    return float(np.count_nonzero(m.fp_scores >= t)) / m.n_images


def _threshold(value: float | None) -> float:
    """``None`` keeps every detection."""
    if value is None:
        return -math.inf
    t = float(value)
    if math.isnan(t):
        raise ValueError("threshold must be a number; got nan")
    return t


@dataclass(frozen=True, slots=True)
class FROC:
    """Free-response ROC curve and its summary.

    ``thresholds`` are the distinct scores at which the curve moves (the best score on each
    lesion and the scores of false positives), descending; ``sensitivity[i]`` and
    ``fp_per_image[i]`` are the lesion sensitivity and mean false positives per image when
    detections with ``score >= thresholds[i]`` are kept.  ``sensitivity_at_fp[j]`` is the
    highest sensitivity of an operating point with at most ``fp_rates[j]`` false positives
    per image (0 when none qualifies); ``cpm`` is their mean, the competition performance
    metric of ANODE09 and LUNA16 at the standard rates 1/8 to 8.
    """

    thresholds: FloatArray = field(compare=False)
    sensitivity: FloatArray = field(compare=False)
    fp_per_image: FloatArray = field(compare=False)
    fp_rates: tuple[float, ...]
    sensitivity_at_fp: tuple[float, ...]
    cpm: float
    n_lesions: int
    n_images: int
    method: str


def froc_curve(
    lesions: Sequence[ArrayLike],
    detections: Sequence[ArrayLike],
    scores: Sequence[ArrayLike],
    *,
    criterion: Criterion = "centre",
    iou_threshold: float = 0.5,
    fp_rates: Sequence[float] = STANDARD_FP_RATES,
) -> FROC:
    """FROC curve over every distinct score, evaluated at once (no loop over thresholds).

    The sensitivity at a false-positive rate is read from the curve as a step function (the
    best operating point not exceeding the rate), with no interpolation between operating
    points.  The LUNA16 evaluation script interpolates linearly instead, so its CPM can be
    slightly higher on a coarse curve.
    """
    rates = tuple(float(r) for r in fp_rates)
    for i, r in enumerate(rates):
        if not (math.isfinite(r) and r > 0.0):
            raise ValueError(f"fp_rates must be positive; found {r!r} at index {i}")
    m = match_detections(
        lesions, detections, scores, criterion=criterion, iou_threshold=iou_threshold
    )
    method = f"FROC ({m.criterion}), LUNA16 counting; sensitivity at FP rate by step function"
    if m.n_lesions == 0:
        raise ValueError("an FROC curve needs at least one ground-truth lesion; got 0")
    all_scores = np.concatenate([m.lesion_scores[np.isfinite(m.lesion_scores)], m.fp_scores])
    thresholds = np.unique(all_scores)[::-1]
    # counts of values >= t for every threshold t, via sorted arrays
    les_sorted = np.sort(m.lesion_scores)
    fp_sorted = np.sort(m.fp_scores)
    found = les_sorted.size - np.searchsorted(les_sorted, thresholds, side="left")
    fps = fp_sorted.size - np.searchsorted(fp_sorted, thresholds, side="left")
    sensitivity = found / m.n_lesions
    fppi = fps / m.n_images
    # best sensitivity with fppi <= rate; sensitivity and fppi are non-decreasing along the curve
    idx = np.searchsorted(fppi, np.asarray(rates, dtype=np.float64), side="right")
    at = np.where(idx > 0, sensitivity[np.maximum(idx - 1, 0)], 0.0)
    return FROC(
        thresholds=thresholds.astype(np.float64),
        sensitivity=sensitivity.astype(np.float64),
        fp_per_image=fppi.astype(np.float64),
        fp_rates=rates,
        sensitivity_at_fp=tuple(float(v) for v in at),
        cpm=float(np.mean(at)) if at.size else math.nan,
        n_lesions=m.n_lesions,
        n_images=m.n_images,
        method=method,
    )
