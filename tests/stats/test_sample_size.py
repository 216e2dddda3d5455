"""Sample sizes and power against published numbers.

Sources
-------
* Buderer NM (1996) Acad Emerg Med 3:895-900: sensitivity 0.90, half-width 0.05, prevalence
  0.20 -> 692 patients.
* Hanley JA, McNeil BJ (1982) Radiology 143:29-36, table of SE(AUC): A = 0.85 with 40 and 40
  cases gives 0.0437, with 60 and 60 gives 0.0356 (the values R's presize package tests
  ``prec_auc`` against).
* Obuchowski NA, Lieber ML, Wians FH (2004) Clin Chem 50:1118-1125, Table 4: cases and
  controls for a one-sided test (alpha 0.05, power 0.90) of AUC against 0.5, as transcribed in
  the test suite of R's pROC (tests/testthat/test-power.roc.test.R), including pROC's note that
  two printed cells are one lower than the formula gives.
* DeGroot MH, Schervish MJ, Probability and Statistics (4th ed.), Example 9.2.6 (p. 555), as
  transcribed in the FOSSEE R textbook companion (R_TBC_Uploads, Ex9_2_6.R): n = 10,
  p0 = 0.2, alpha 0.05: reject when Y > 4, with size 0.0328.
* No published table for the exact non-inferiority power itself was found that could be
  sourced; power is checked against scipy.stats.binom and a plain loop.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from radgov.stats.sample_size import (
    auc_sample_size,
    buderer_sample_size,
    hanley_mcneil_se,
    noninferiority_sensitivity_power,
    noninferiority_sensitivity_sample_size,
)

# --------------------------------------------------------------------------- Buderer


def test_buderer_worked_example_692_patients() -> None:
    """Buderer (1996): Se 0.90, W 0.05, prevalence 0.20 -> 692 patients (138.3 positives)."""
    r = buderer_sample_size(sensitivity=0.90, half_width=0.05, prevalence=0.20)
    assert r.n_total == 692
    assert r.n_positives_exact == pytest.approx(138.29, abs=0.01)
    assert r.n_positives == 139
    # ceiling the positives first would have given 695: the convention matters
    assert math.ceil(139 / 0.20) == 695
    assert r.n_negatives is None
    assert r.inputs["sensitivity"] == 0.90
    assert "Buderer" in r.method


def test_buderer_specificity_and_both() -> None:
    """Specificity uses the negatives and 1 - prevalence; with both, the larger total wins.

    No published specificity worked example was sourced; this checks the formula by hand:
    1.96^2 x 0.85 x 0.15 / 0.05^2 = 195.9 negatives, / 0.80 = 244.9 -> 245 patients.
    """
    sp = buderer_sample_size(specificity=0.85, half_width=0.05, prevalence=0.20)
    z2 = stats.norm.ppf(0.975) ** 2
    assert sp.n_negatives_exact == pytest.approx(z2 * 0.85 * 0.15 / 0.0025)
    assert sp.n_negatives == 196
    assert sp.n_total == 245
    both = buderer_sample_size(sensitivity=0.90, specificity=0.85, half_width=0.05, prevalence=0.20)
    assert both.n_total == 692
    assert (both.n_positives, both.n_negatives) == (139, 196)


def test_buderer_bad_input() -> None:
    with pytest.raises(ValueError, match="sensitivity, specificity or both"):
        buderer_sample_size(half_width=0.05, prevalence=0.2)
    with pytest.raises(ValueError, match="prevalence must lie strictly between 0 and 1; got 1.2"):
        buderer_sample_size(sensitivity=0.9, half_width=0.05, prevalence=1.2)
    with pytest.raises(ValueError, match="half_width"):
        buderer_sample_size(sensitivity=0.9, half_width=0.0, prevalence=0.2)


# --------------------------------------------------------------------------- AUC


def test_hanley_mcneil_standard_error_table() -> None:
    """Hanley & McNeil (1982): SE(0.85) is 0.0437 with 40 + 40 and 0.0356 with 60 + 60."""
    assert hanley_mcneil_se(0.85, 40, 40) == pytest.approx(0.0437, abs=0.00005)
    assert hanley_mcneil_se(0.85, 60, 60) == pytest.approx(0.0356, abs=0.00005)


def test_auc_precision_sample_size_inverts_the_standard_error() -> None:
    """The half-width 1.96 x SE(0.85; 40, 40) needs exactly 40 + 40 (Hanley & McNeil 1982)."""
    w = stats.norm.ppf(0.975) * hanley_mcneil_se(0.85, 40, 40)
    r = auc_sample_size(auc=0.85, half_width=w)
    assert (r.n_positives, r.n_negatives, r.n_total) == (40, 40, 80)
    assert r.n_positives_exact == pytest.approx(40.0)
    # unequal groups: the solution makes z x SE equal to the half-width
    r3 = auc_sample_size(auc=0.8, half_width=0.05, ratio_negatives_to_positives=3.0)
    assert stats.norm.ppf(0.975) * hanley_mcneil_se(
        0.8, r3.n_positives_exact, r3.n_negatives_exact
    ) == pytest.approx(0.05)
    # a prevalence sets the ratio and gives the total to enrol
    rp = auc_sample_size(auc=0.8, half_width=0.05, prevalence=0.25)
    assert rp.n_negatives_exact == pytest.approx(r3.n_negatives_exact)
    assert rp.n_total == math.ceil(rp.n_positives_exact / 0.25)
    assert "Hanley" in r.method


# Obuchowski, Lieber & Wians (2004) Table 4 (one-sided alpha 0.05, power 0.90, AUC0 0.5):
# (kappa = controls per case, AUC) -> (cases, controls), leaving out the cells the table
# floors at 10.  The two cells marked * are printed one lower (201, 339) in the paper; pROC's
# test suite notes the discrepancy and expects the formula's 202 and 340, as we do.
OBUCHOWSKI_2004 = {
    (0.25, 0.6): (334, 84),
    (0.25, 0.7): (80, 20),
    (0.5, 0.6): (202, 101),  # *
    (0.5, 0.7): (49, 25),
    (1, 0.6): (135, 135),
    (1, 0.7): (33, 33),
    (1, 0.8): (14, 14),
    (2, 0.6): (102, 203),
    (2, 0.7): (25, 50),
    (2, 0.8): (11, 21),
    (4, 0.6): (85, 340),  # *
    (4, 0.7): (21, 84),
}


@pytest.mark.parametrize(("key", "expected"), list(OBUCHOWSKI_2004.items()))
def test_auc_test_sample_size_reproduces_obuchowski_2004_table_4(
    key: tuple[float, float], expected: tuple[int, int]
) -> None:
    kappa, theta = key
    r = auc_sample_size(
        auc=theta,
        auc0=0.5,
        alpha=0.05,
        power=0.90,
        alternative="one-sided",
        ratio_negatives_to_positives=kappa,
    )
    assert (r.n_positives, r.n_negatives) == expected


def test_auc_test_sample_size_matches_the_closed_form() -> None:
    """Two-sided, AUC 0.8 vs 0.7 with 2 negatives per positive, written out by hand."""
    r = auc_sample_size(auc=0.8, auc0=0.7, ratio_negatives_to_positives=2.0)

    def v(theta: float) -> float:
        a = math.sqrt(2) * stats.norm.ppf(theta)
        return 0.0099 * math.exp(-a * a / 2) * (5 * a * a + 8 + (a * a + 8) / 2.0)

    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    expected = (za * math.sqrt(v(0.7)) + zb * math.sqrt(v(0.8))) ** 2 / 0.01
    assert r.n_positives_exact == pytest.approx(expected)
    assert r.n_positives == math.ceil(expected)
    assert r.n_total == r.n_positives + r.n_negatives


def test_auc_sample_size_bad_input() -> None:
    with pytest.raises(ValueError, match="exactly one of half_width"):
        auc_sample_size(auc=0.8)
    with pytest.raises(ValueError, match="exactly one of half_width"):
        auc_sample_size(auc=0.8, half_width=0.05, auc0=0.5)
    with pytest.raises(ValueError, match="not both"):
        auc_sample_size(auc=0.8, half_width=0.05, prevalence=0.2, ratio_negatives_to_positives=2)
    with pytest.raises(ValueError, match="must differ"):
        auc_sample_size(auc=0.8, auc0=0.8)
    with pytest.raises(ValueError, match="auc must lie strictly between 0 and 1"):
        auc_sample_size(auc=1.0, half_width=0.05)
    with pytest.raises(ValueError, match="alternative"):
        auc_sample_size(auc=0.8, auc0=0.5, alternative="greater")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- exact binomial


def test_noninferiority_critical_count_degroot_example() -> None:
    """DeGroot & Schervish Example 9.2.6: n 10, p0 0.2, alpha 0.05 -> reject when Y >= 5,
    size 0.0328.  Here p0 = claimed 0.3 - margin 0.1."""
    r = noninferiority_sensitivity_power(claimed_sensitivity=0.3, margin=0.1, n_positives=10)
    assert r.critical_count == 5
    assert r.size == pytest.approx(0.0328, abs=0.00005)
    assert r.null_sensitivity == 0.2
    assert r.power == pytest.approx(stats.binom.sf(4, 10, 0.3))


def test_noninferiority_power_agrees_with_scipy_binom() -> None:
    """For many n: c is the smallest count with size <= alpha, and power is sf at the truth."""
    for n in (5, 17, 40, 111, 250):
        r = noninferiority_sensitivity_power(
            claimed_sensitivity=0.9, margin=0.1, n_positives=n, true_sensitivity=0.92
        )
        c = r.critical_count
        assert stats.binom.sf(c - 1, n, 0.8) <= 0.05
        assert c == 0 or stats.binom.sf(c - 2, n, 0.8) > 0.05
        assert r.power == pytest.approx(stats.binom.sf(c - 1, n, 0.92))
        assert r.size == pytest.approx(stats.binom.sf(c - 1, n, 0.8))


def test_noninferiority_sample_size_handles_the_saw_tooth() -> None:
    """p0 0.05 (claimed 0.2 - margin 0.15) vs a true 0.2, alpha 0.05, power 0.8.

    Power first reaches 0.8 at n = 27 (c = 4, power 0.818) but drops to 0.716 at n = 29
    (c becomes 5); every n from 33 on keeps it.  Checked here with a plain loop over scipy.
    """
    r = noninferiority_sensitivity_sample_size(
        claimed_sensitivity=0.2, margin=0.15, true_sensitivity=0.2, power=0.8
    )
    powers = []
    for n in range(1, 400):
        c = next(k for k in range(n + 2) if stats.binom.sf(k - 1, n, 0.05) <= 0.05)
        powers.append(stats.binom.sf(c - 1, n, 0.2))
    ok = np.array(powers) >= 0.8
    first = int(np.argmax(ok)) + 1
    robust = max(n for n in range(1, 400) if not ok[n - 1]) + 1
    assert (first, robust) == (27, 33)
    assert r.n_positives == 33
    assert "n = 27" in r.note
    with_prev = noninferiority_sensitivity_sample_size(
        claimed_sensitivity=0.2, margin=0.15, true_sensitivity=0.2, prevalence=0.1
    )
    assert with_prev.n_total == 330


def test_noninferiority_bad_input() -> None:
    with pytest.raises(ValueError, match="margin must be positive"):
        noninferiority_sensitivity_power(claimed_sensitivity=0.9, margin=0.95, n_positives=10)
    with pytest.raises(ValueError, match="n_positives"):
        noninferiority_sensitivity_power(claimed_sensitivity=0.9, margin=0.1, n_positives=0)
    with pytest.raises(ValueError, match="must exceed claimed - margin"):
        noninferiority_sensitivity_sample_size(
            claimed_sensitivity=0.9, margin=0.1, true_sensitivity=0.8
        )
    with pytest.raises(ValueError, match="raise max_n"):
        noninferiority_sensitivity_sample_size(claimed_sensitivity=0.9, margin=0.01, max_n=50)
