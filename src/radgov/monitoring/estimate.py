"""The label-free performance estimate of a deployment (CBPE; issue 17; docs/monitoring.md,
"The label-free estimate").

Before the reports arrive, a model whose scores are calibrated probabilities says how often it
should be right: ``radgov.stats.cbpe`` sums the scores of the model's own calls into an
expected confusion matrix, as NannyML's confidence-based performance estimation does.  It is
valid only for calibrated scores, so the scores are first checked against the truth of the
reference window: the exams of the drift reference window (the acceptance-test period or a
chosen baseline) that were compared with their reports (the watch's ``Concordance``).  When
the check fails, or there are too few compared exams to tell, the estimate is refused with the
reason.  An estimate is always labelled as one, never as a measured figure.  The scores are
read from the daily rollups (``radgov.monitoring.rollups``), in its 0.01 bins.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from radgov.monitoring import rollups
from radgov.monitoring.drift import current_start
from radgov.monitoring.models import DriftReference
from radgov.stats import cbpe

LABEL = "estimate from calibrated scores (CBPE), not measured"


def _scores(
    reference: DriftReference, start: dt.date, end: dt.date, column: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window's binned scores, per score the call (``score_call``) or the report's truth
    (``score_truth``, "1": present), and how many exams have each pair, summed by the database
    from the daily rollups (in value order: the Hosmer-Lemeshow groups take a score's exams
    with truth absent first)."""
    rows = rollups.totals(reference.deployment_id, start, end, (column,)).get(column, [])
    counts = np.array([n for _, _, n, _ in rows], dtype=np.int64)
    pairs = [value.split("|") for _, value, _, _ in rows]
    scores = np.array([float(score) for score, _ in pairs], dtype=float)
    # a score the rollup rounded to 0 or 1 stands for half a bin (0.005) from that end: the
    # calibration tests and the estimate are undefined at a probability of exactly 0 or 1
    half = 0.5 * 10.0 ** -rollups.BINS["score"]
    scores = np.clip(scores, half, 1 - half)
    labels = np.array([label for _, label in pairs], dtype=object)
    return scores, labels, counts


def _calibration(reference: DriftReference) -> cbpe.CalibrationCheck | str:
    """The check on the reference window's compared exams, or why there is none."""
    window = (reference.reference_start, reference.reference_end)
    scores, truth, counts = _scores(reference, *window, "score_truth")
    if not counts.sum():
        return (
            "no exam of the reference window has been compared with its report (the watch "
            "compares them): calibration cannot be checked"
        )
    try:
        check = cbpe.check_calibration(truth == "1", scores, sample_weight=counts)
    except ValueError as exc:  # scores outside [0, 1] are not probabilities
        return f"the model's scores are not probabilities: {exc}"
    if math.isnan(check.spiegelhalter_z):  # too few of a class to test
        return str(check.reason)
    return check


def _period(
    reference: DriftReference, check: cbpe.CalibrationCheck, start: dt.date, end: dt.date
) -> dict[str, Any]:
    scores, calls, counts = _scores(reference, start, end, "score_call")
    n = int(counts.sum())
    out: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat(), "n": n}
    try:
        found = cbpe.estimate_performance(
            scores, y_pred=calls == "positive", calibration=check, sample_weight=counts
        )
    except ValueError as exc:
        out["reason"] = f"the model's scores are not probabilities: {exc}"
        return out
    out["reason"] = found.reason
    out["metrics"] = {name: e.to_dict() for name, e in found.metrics.items()}
    return out


def view(deployment: Any, as_of: dt.date) -> dict[str, Any] | None:
    """The estimate of the reference window and of the current window up to ``as_of``, with the
    calibration check, or the reason it is refused; None without a reference window."""
    reference = DriftReference.objects.filter(deployment=deployment).first()
    if reference is None:
        return None
    check = _calibration(reference)
    if isinstance(check, str):
        return {"is_estimate": True, "label": LABEL, "refused": check}
    out: dict[str, Any] = {
        "is_estimate": True,
        "label": LABEL,
        "refused": None if check.calibrated else check.reason,
        "calibration": {
            "n": check.n,
            "n_positive": check.n_positive,
            "spiegelhalter_z": check.spiegelhalter_z,
            "spiegelhalter_p": check.spiegelhalter_p,
            "hosmer_lemeshow": check.hosmer_lemeshow,
            "hosmer_lemeshow_p": check.hosmer_lemeshow_p,
            "expected_calibration_error": check.expected_calibration_error,
            "alpha": check.alpha,
        },
    }
    if check.calibrated:
        out["periods"] = [
            _period(reference, check, reference.reference_start, reference.reference_end),
            _period(reference, check, current_start(reference, as_of), as_of),
        ]
    return out
