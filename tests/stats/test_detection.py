"""Lesion-level detection metrics: a hand-worked FROC and a brute-force per-threshold loop.

The counting convention is that of the LUNA16 evaluation (Setio AAA, Traverso A, et al.
Med Image Anal 2017;42:1-13): a detection whose centre falls within a nodule's radius hits it;
extra hits on a found nodule are ignored; the CPM averages the sensitivity at 1/8, 1/4, 1/2,
1, 2, 4 and 8 false positives per scan (ANODE09: van Ginneken B, et al. Med Image Anal
2010;14:707-722).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radgov.stats.detection import (
    STANDARD_FP_RATES,
    false_positives_per_image,
    froc_curve,
    lesion_sensitivity,
    match_detections,
)
from radgov.stats.proportions import proportion_ci

# Two images.  Image 0: lesion L1 centre (10, 10) radius 5, lesion L2 (40, 40) radius 3.
# Detections: (11, 11) 0.9 hits L1; (12, 9) 0.4 hits L1 again (ignored); (25, 25) 0.8 is a
# false positive; (41, 40) 0.3 hits L2.  Image 1: lesion L3 (20, 20) radius 4.  Detections:
# (50, 50) 0.7 false positive; (21, 22) 0.2 hits L3 (distance sqrt 5); (0, 0) 0.1 false
# positive.  So the lesions' best scores are 0.9, 0.3, 0.2 and the false positives' 0.8,
# 0.7, 0.1 over 2 images:
#   threshold  0.9  0.8  0.7  0.3  0.2  0.1
#   found      1    1    1    2    3    3      (of 3 lesions)
#   FP/image   0    0.5  1    1    1    1.5
# Best sensitivity with FP/image <= 1/8, 1/4, 1/2: 1/3; <= 1, 2, 4, 8: 1.
# CPM = (3 x 1/3 + 4 x 1) / 7 = 5/7.
LESIONS = [[[10, 10, 5], [40, 40, 3]], [[20, 20, 4]]]
DETECTIONS = [[[11, 11], [12, 9], [25, 25], [41, 40]], [[50, 50], [21, 22], [0, 0]]]
SCORES = [[0.9, 0.4, 0.8, 0.3], [0.7, 0.2, 0.1]]


def test_froc_hand_worked_example() -> None:
    f = froc_curve(LESIONS, DETECTIONS, SCORES)
    np.testing.assert_allclose(f.thresholds, [0.9, 0.8, 0.7, 0.3, 0.2, 0.1])
    np.testing.assert_allclose(f.sensitivity, [1 / 3, 1 / 3, 1 / 3, 2 / 3, 1, 1])
    np.testing.assert_allclose(f.fp_per_image, [0, 0.5, 1, 1, 1, 1.5])
    assert f.fp_rates == STANDARD_FP_RATES
    np.testing.assert_allclose(f.sensitivity_at_fp, [1 / 3] * 3 + [1.0] * 4)
    assert f.cpm == pytest.approx(5 / 7)
    assert (f.n_lesions, f.n_images) == (3, 2)


def test_sensitivity_and_fp_per_image_at_a_threshold() -> None:
    s = lesion_sensitivity(LESIONS, DETECTIONS, SCORES, threshold=0.3)
    wilson = proportion_ci(2, 3, method="wilson")
    assert (s.estimate, s.ci_low, s.ci_high) == pytest.approx(
        (wilson.estimate, wilson.ci_low, wilson.ci_high)
    )
    assert s.n == 3
    assert "Wilson" in s.method
    assert false_positives_per_image(LESIONS, DETECTIONS, SCORES, threshold=0.3) == 1.0
    # the duplicate hit at 0.4 is not a false positive; None keeps every detection
    assert false_positives_per_image(LESIONS, DETECTIONS, SCORES) == 1.5
    assert lesion_sensitivity(LESIONS, DETECTIONS, SCORES).estimate == 1.0


def test_iou_criterion_on_boxes() -> None:
    """Box (0,0)-(10,10) vs (5,0)-(15,10): IoU 50/150 = 1/3; vs (1,0)-(11,10): 90/110."""
    lesions = [[[0, 0, 10, 10]]]
    m_low = match_detections(lesions, [[[5, 0, 15, 10]]], [[0.9]], criterion="iou")
    assert m_low.lesion_scores.tolist() == [-math.inf]
    assert m_low.fp_scores.tolist() == [0.9]
    m_third = match_detections(
        lesions, [[[5, 0, 15, 10]]], [[0.9]], criterion="iou", iou_threshold=1 / 3
    )
    assert m_third.lesion_scores.tolist() == [0.9]
    m_high = match_detections(lesions, [[[1, 0, 11, 10]]], [[0.6]], criterion="iou")
    assert m_high.lesion_scores.tolist() == [0.6]
    assert m_high.fp_scores.size == 0


def _brute_force(lesions, detections, scores, thresholds):  # type: ignore[no-untyped-def]
    """Per-threshold loop straight from the definitions (no reduction to best scores)."""
    sens, fppi = [], []
    for t in thresholds:
        found = total = fp = 0
        for les, det, sc in zip(lesions, detections, scores, strict=True):
            kept = [d for d, s in zip(det, sc, strict=True) if s >= t]
            for lesion in les:
                total += 1
                c, r = np.asarray(lesion[:-1]), lesion[-1]
                found += any(np.linalg.norm(np.asarray(d) - c) <= r for d in kept)
            for d in kept:
                hit = any(
                    np.linalg.norm(np.asarray(d) - np.asarray(lesion[:-1])) <= lesion[-1]
                    for lesion in les
                )
                fp += not hit
        sens.append(found / total)
        fppi.append(fp / len(lesions))
    return np.array(sens), np.array(fppi)


def test_froc_agrees_with_a_brute_force_threshold_loop() -> None:
    rng = np.random.default_rng(5)
    lesions, detections, scores = [], [], []
    for _ in range(15):
        n_les, n_det = rng.integers(0, 4), rng.integers(0, 7)
        les = np.c_[rng.uniform(0, 50, (n_les, 3)), rng.uniform(2, 8, n_les)]
        near = les[rng.integers(0, max(n_les, 1), n_det) % max(n_les, 1), :3] if n_les else None
        det = rng.uniform(0, 50, (n_det, 3))
        if near is not None:
            half = n_det // 2
            det[:half] = near[:half] + rng.normal(0, 3, (half, 3))
        lesions.append(les)
        detections.append(det)
        scores.append(np.round(rng.uniform(0, 1, n_det), 2))  # rounded: ties happen
    f = froc_curve(lesions, detections, scores)
    sens, fppi = _brute_force(lesions, detections, scores, f.thresholds)
    np.testing.assert_allclose(f.sensitivity, sens)
    np.testing.assert_allclose(f.fp_per_image, fppi)
    # and at every detection score, not just the ones the curve keeps
    every = np.unique(np.concatenate([np.asarray(s) for s in scores]))
    for t in every[::3]:
        s_b, f_b = _brute_force(lesions, detections, scores, [t])
        assert lesion_sensitivity(lesions, detections, scores, threshold=t).estimate == (
            pytest.approx(s_b[0])
        )
        assert false_positives_per_image(lesions, detections, scores, threshold=t) == pytest.approx(
            f_b[0]
        )


def test_images_without_lesions_or_detections() -> None:
    f = froc_curve([[[5, 5, 2]], [], []], [[], [[1, 1]], []], [[], [0.5], []])
    assert f.n_images == 3
    np.testing.assert_allclose(f.sensitivity, [0.0])
    np.testing.assert_allclose(f.fp_per_image, [1 / 3])
    assert f.cpm == 0.0
    assert not lesion_sensitivity([[]], [[[1, 1]]], [[0.5]]).estimable
    with pytest.raises(ValueError, match="at least one ground-truth lesion"):
        froc_curve([[]], [[[1, 1]]], [[0.5]])


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(ValueError, match="same images"):
        froc_curve(LESIONS, DETECTIONS[:1], SCORES)
    with pytest.raises(ValueError, match=r"scores\[1\] must have one score per detection"):
        froc_curve(LESIONS, DETECTIONS, [SCORES[0], [0.1]])
    with pytest.raises(ValueError, match=r"detections\[0\] must be finite; found nan at row 2"):
        froc_curve(LESIONS, [[[11, 11], [12, 9], [np.nan, 1], [41, 40]], DETECTIONS[1]], SCORES)
    with pytest.raises(ValueError, match=r"scores\[0\] must be finite"):
        froc_curve(LESIONS, DETECTIONS, [[0.9, np.nan, 0.8, 0.3], SCORES[1]])
    with pytest.raises(ValueError, match=r"lesions\[1\] rows must have 3 values"):
        froc_curve([LESIONS[0], [[20, 20]]], DETECTIONS, SCORES)
    with pytest.raises(ValueError, match=r"radius must be positive; found -4.0 at row 0"):
        froc_curve([LESIONS[0], [[20, 20, -4]]], DETECTIONS, SCORES)
    with pytest.raises(ValueError, match="max below its min"):
        match_detections([[[0, 0, 10, 10]]], [[[5, 5, 1, 1]]], [[0.5]], criterion="iou")
    with pytest.raises(ValueError, match="criterion"):
        froc_curve(LESIONS, DETECTIONS, SCORES, criterion="overlap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fp_rates"):
        froc_curve(LESIONS, DETECTIONS, SCORES, fp_rates=(0.5, 0.0))
    with pytest.raises(ValueError, match=r"detections\[1\] must be rows of numbers"):
        froc_curve(LESIONS, [DETECTIONS[0], [[50, 50], [21]]], SCORES[:1] + [[0.7, 0.2]])
    with pytest.raises(ValueError, match="threshold"):
        lesion_sensitivity(LESIONS, DETECTIONS, SCORES, threshold=float("nan"))
