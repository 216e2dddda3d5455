"""The label-free performance estimate of a deployment (CBPE; issue 17; docs/monitoring.md,
"The label-free estimate").

Before the reports arrive, a model whose scores are calibrated probabilities says how often it
should be right: ``radgov.stats.cbpe`` sums the scores of the model's own calls into an
expected confusion matrix, as NannyML's confidence-based performance estimation does.  It is
valid only for calibrated scores, so the scores are first checked against the truth of the
reference window: the exams of the drift reference window (the acceptance-test period or a
chosen baseline) that were compared with their reports (the watch's ``Concordance``).  When
the check fails, or there are too few compared exams to tell, the estimate is refused with the
reason.  An estimate is always labelled as one, never as a measured figure.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from radgov.monitoring.drift import current_start, in_window
from radgov.monitoring.models import DriftReference, Outcome
from radgov.monitoring.rollups import FINISHED
from radgov.stats import cbpe

SCORED = (Outcome.TP, Outcome.FP, Outcome.FN, Outcome.TN)
LABEL = "estimate from calibrated scores (CBPE), not measured"


def _window(reference: DriftReference, start: dt.date, end: dt.date) -> Any:
    return in_window(reference.deployment, start, end).filter(
        status__in=FINISHED, call__in=("positive", "negative"), score__isnull=False
    )


def _calibration(reference: DriftReference) -> cbpe.CalibrationCheck | str:
    """The check on the reference window's compared exams, or why there is none."""
    rows = list(
        _window(reference, reference.reference_start, reference.reference_end)
        .filter(concordance__outcome__in=SCORED)
        .values_list("score", "concordance__outcome")
    )
    if not rows:
        return (
            "no exam of the reference window has been compared with its report (the watch "
            "compares them): calibration cannot be checked"
        )
    scores = np.array([s for s, _ in rows], dtype=float)
    truth = np.array([o in (Outcome.TP, Outcome.FN) for _, o in rows])
    try:
        check = cbpe.check_calibration(truth, scores)
    except ValueError as exc:  # scores outside [0, 1] are not probabilities
        return f"the model's scores are not probabilities: {exc}"
    if math.isnan(check.spiegelhalter_z):  # too few of a class to test
        return str(check.reason)
    return check


def _period(
    reference: DriftReference, check: cbpe.CalibrationCheck, start: dt.date, end: dt.date
) -> dict[str, Any]:
    rows = list(_window(reference, start, end).values_list("score", "call"))
    out: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat(), "n": len(rows)}
    try:
        found = cbpe.estimate_performance(
            [s for s, _ in rows], y_pred=[c == "positive" for _, c in rows], calibration=check
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
