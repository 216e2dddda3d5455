"""Dice and HD95 on masks whose answer is provable by hand, plus a brute-force cross-check.

The empty-mask convention under test is the module's (after Metrics Reloaded, Maier-Hein L,
Reinke A, et al. Nat Methods 2024;21:195-212): both empty -> Dice 1, HD95 0; exactly one
empty -> Dice 0, HD95 NaN.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from radgov.stats.segmentation import (
    dice_score,
    dice_scores,
    dice_summary,
    hausdorff_distance_95,
    surface_distances,
)


def square(shape: tuple[int, ...], start: tuple[int, ...], size: tuple[int, ...]) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[tuple(slice(s, s + k) for s, k in zip(start, size, strict=True))] = True
    return m


# --------------------------------------------------------------------------- Dice


def test_dice_of_offset_squares() -> None:
    """10x10 squares offset by 3 columns overlap in 10x7 = 70 pixels: Dice = 140/200 = 0.7."""
    a = square((30, 30), (5, 5), (10, 10))
    b = square((30, 30), (5, 8), (10, 10))
    assert dice_score(a, b) == pytest.approx(0.7)
    assert dice_score(a, a) == 1.0


def test_dice_of_offset_cubes() -> None:
    """4x4x4 cubes offset by 1 voxel on two axes overlap in 4x3x3 = 36: Dice = 72/128."""
    a = square((8, 8, 8), (1, 1, 1), (4, 4, 4))
    b = square((8, 8, 8), (1, 2, 2), (4, 4, 4))
    assert dice_score(a, b) == pytest.approx(72 / 128)


def test_dice_empty_mask_convention() -> None:
    empty = np.zeros((5, 5), int)
    full = square((5, 5), (1, 1), (2, 2))
    assert dice_score(empty, empty) == 1.0
    assert dice_score(empty, full) == 0.0
    assert dice_score(full, empty) == 0.0


def test_dice_scores_batch_equals_per_case_loop() -> None:
    rng = np.random.default_rng(11)
    pred = rng.random((12, 6, 7, 5)) < 0.3
    truth = rng.random((12, 6, 7, 5)) < 0.3
    pred[3] = truth[3] = False  # both empty
    pred[4] = False  # one empty
    batch = dice_scores(pred, truth)
    loop = [dice_score(p, t) for p, t in zip(pred, truth, strict=True)]
    np.testing.assert_allclose(batch, loop)
    assert batch[3] == 1.0 and batch[4] == 0.0


def test_dice_summary_is_a_clipped_t_interval() -> None:
    d = np.array([0.91, 0.85, 0.88, 0.95, 0.79, 0.9])
    r = dice_summary(d)
    half = stats.t.ppf(0.975, 5) * d.std(ddof=1) / math.sqrt(6)
    assert (r.estimate, r.ci_low, r.ci_high) == pytest.approx(
        (d.mean(), d.mean() - half, d.mean() + half)
    )
    assert r.n == 6
    assert dice_summary([1.0, 1.0, 0.98]).ci_high == 1.0
    assert not dice_summary([0.9]).estimable
    with pytest.raises(ValueError, match=r"\[0, 1\].*index 1"):
        dice_summary([0.5, 1.2])


def test_dice_bad_input_names_the_problem() -> None:
    with pytest.raises(ValueError, match="same shape"):
        dice_score(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"found 2 at index \(1, 2\)"):
        dice_score([[0, 0, 0], [0, 0, 2]], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="truth must be a binary mask"):
        dice_score(np.zeros((2, 2)), [[0, 0.5], [0, 0]])
    with pytest.raises(ValueError, match="stacks"):
        dice_scores([1, 0], [1, 0])


# --------------------------------------------------------------------------- HD95


def test_hd95_single_voxels_3_4_5_triangle() -> None:
    """One pixel each, offset (3, 4): every surface distance is 5, so HD95 = 5.

    With spacing (2, 0.5) the offset is (6 mm, 2 mm): sqrt(40).
    """
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[1, 1] = True
    b[4, 5] = True
    assert hausdorff_distance_95(a, b) == pytest.approx(5.0)
    assert hausdorff_distance_95(a, b, spacing=(2.0, 0.5)) == pytest.approx(math.sqrt(40))


def test_hd95_disjoint_cubes_with_anisotropic_spacing() -> None:
    """2x2x2 cubes 10 voxels apart along axis 0.  Every voxel of a 2x2x2 cube is surface.

    From cube A (x = 0, 1) to cube B (x = 10, 11): the 4 voxels at x = 1 are 9 away and the 4 at
    x = 0 are 10 away; B to A likewise.  Pooled: eight 9s and eight 10s; the 95th percentile
    (linear, position 0.95 x 15 = 14.25 in the sorted 16) is 10.  With 2.5 mm along axis 0
    (and other spacings irrelevant to a shift along axis 0) HD95 = 25 mm.
    """
    a = square((14, 4, 4), (0, 1, 1), (2, 2, 2))
    b = square((14, 4, 4), (10, 1, 1), (2, 2, 2))
    assert hausdorff_distance_95(a, b) == pytest.approx(10.0)
    assert hausdorff_distance_95(a, b, spacing=(2.5, 0.7, 0.7)) == pytest.approx(25.0)
    d_ab, d_ba = surface_distances(a, b)
    assert sorted(d_ab) == [9.0] * 4 + [10.0] * 4
    assert sorted(d_ba) == [9.0] * 4 + [10.0] * 4


def test_hd95_identical_masks_is_zero_and_symmetric() -> None:
    a = square((20, 20), (3, 4), (7, 9))
    b = square((20, 20), (5, 2), (6, 12))
    assert hausdorff_distance_95(a, a) == 0.0
    assert hausdorff_distance_95(a, b) == pytest.approx(hausdorff_distance_95(b, a))


def test_hd95_empty_mask_convention() -> None:
    empty = np.zeros((6, 6), bool)
    one = square((6, 6), (2, 2), (2, 2))
    assert hausdorff_distance_95(empty, empty) == 0.0
    assert math.isnan(hausdorff_distance_95(empty, one))
    assert math.isnan(hausdorff_distance_95(one, empty))
    with pytest.raises(ValueError, match="non-empty"):
        surface_distances(empty, one)


def _brute_surface(mask: np.ndarray) -> np.ndarray:
    """Foreground voxels with a face neighbour that is background or outside the array."""
    padded = np.pad(mask, 1, constant_values=False)
    interior = np.ones_like(mask)
    centre = tuple(slice(1, -1) for _ in range(mask.ndim))
    for axis, step in itertools.product(range(mask.ndim), (-1, 1)):
        shifted = np.roll(padded, step, axis=axis)[centre]
        interior &= shifted
    return np.argwhere(mask & ~interior)


def _brute_hd95(a: np.ndarray, b: np.ndarray, spacing: tuple[float, ...]) -> float:
    pa = _brute_surface(a) * np.asarray(spacing)
    pb = _brute_surface(b) * np.asarray(spacing)
    d = cdist(pa, pb)
    return float(np.percentile(np.concatenate([d.min(axis=1), d.min(axis=0)]), 95))


@pytest.mark.parametrize(
    ("shape", "spacing"),
    [((9, 11), (1.0, 1.0)), ((12, 7), (0.7, 2.3)), ((6, 7, 5), (1.0, 1.0, 1.0)),
     ((7, 6, 8), (3.0, 0.8, 1.2))],
)  # fmt: skip
def test_hd95_agrees_with_brute_force_point_sets(
    shape: tuple[int, ...], spacing: tuple[float, ...]
) -> None:
    """Random small masks: distance transform vs all-pairs cdist on the surface point sets."""
    rng = np.random.default_rng(sum(shape))
    for _ in range(8):
        a = rng.random(shape) < 0.35
        b = rng.random(shape) < 0.35
        assert hausdorff_distance_95(a, b, spacing=spacing) == pytest.approx(
            _brute_hd95(a, b, spacing), rel=1e-12
        )


def test_hd95_bad_input_names_the_problem() -> None:
    a = square((5, 5), (1, 1), (2, 2))
    with pytest.raises(ValueError, match="one value per axis"):
        hausdorff_distance_95(a, a, spacing=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match=r"positive; found -1.0 at index 1"):
        hausdorff_distance_95(a, a, spacing=(1.0, -1.0))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        hausdorff_distance_95([1, 0, 1], [1, 1, 0])
    with pytest.raises(ValueError, match="same shape"):
        hausdorff_distance_95(a, a[:4])
