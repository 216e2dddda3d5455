"""The governance group's settings for monitoring: what a deployment is watched for, and the
labeller's measured accuracy from a sample of reports a person labelled (docs/monitoring.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from radgov.core import policy
from radgov.core.services import service
from radgov.exams.errors import BatchError, ExamError, NotPermitted, Problem
from radgov.inventory.models import Deployment
from radgov.monitoring import intake
from radgov.monitoring.models import Concordance, LabellerCheck, Watch
from radgov.monitoring.options import problems_of, store_settings
from radgov.nlp.accuracy import labeller_accuracy

LABELS = ("positive", "negative", "uncertain")
SAMPLE_COLUMNS = ("report_id", "text", "finding", "label")
WATCH_RANGES = {
    "run_length": lambda v: isinstance(v, int) and 1 <= v <= 60,
    "cusum_shift": lambda v: isinstance(v, int | float) and 1.1 <= v <= 20,
    "arl0": lambda v: isinstance(v, int) and 10 <= v <= 1_000_000,
    "ewma_lambda": lambda v: isinstance(v, int | float) and 0 < v <= 1,
    "ewma_arl0": lambda v: isinstance(v, int) and 10 <= v <= 100_000,
    "absent_is_negative": lambda v: isinstance(v, bool),
}


MONITORING_RULE = (
    "IV.G: only governance-group members and administrators set how a model is monitored"
)


@service
def set_watch(
    user: Any,
    deployment: Deployment,
    *,
    finding: str,
    baseline_start: dt.date,
    baseline_end: dt.date,
    **options: Any,
) -> Watch:
    """Watch ``deployment`` for ``finding`` against a baseline period (and the stop rules'
    options: run_length, cusum_shift, arl0, ewma_lambda, ewma_arl0, absent_is_negative)."""
    policy.require_governance(user, MONITORING_RULE, denied=NotPermitted)
    names = intake.labeller().rules.finding_names
    problems = []
    if finding not in names:
        problems.append(
            Problem("finding", f"is not a finding of the labeller's rules ({', '.join(names)})")
        )
    period = {"baseline_start": baseline_start, "baseline_end": baseline_end}
    problems += problems_of("a watch", WATCH_RANGES, options, period)
    if problems:
        raise ExamError(problems)
    before = (
        Watch.objects.filter(deployment=deployment)
        .values_list("finding", "absent_is_negative")
        .first()
    )
    watch = store_settings(Watch, deployment, {"finding": finding, **period, **options})
    if before != (watch.finding, watch.absent_is_negative):
        # what is compared changed: compare every report of this deployment again
        Concordance.objects.filter(deployment=deployment).delete()
        intake.compare_pending()
    return watch


@service
def record_labeller_check(user: Any, data: bytes) -> LabellerCheck:
    """Label a sample of reports (CSV ``report_id,text,finding,label``: a person's label per
    report and finding, empty when the person found it not mentioned) and keep the labeller's
    accuracy per finding.  The reports' text is not kept."""
    policy.require_governance(user, MONITORING_RULE, denied=NotPermitted)
    frame = intake.read_csv(data, SAMPLE_COLUMNS)
    names = intake.labeller().rules.finding_names
    texts: dict[str, str] = {}
    human: dict[tuple[str, str], str | None] = {}
    problems = []
    for i, (rid, text, finding, label) in enumerate(frame.select(SAMPLE_COLUMNS).rows(), start=2):
        if not rid:
            problems.append(Problem(f"row {i}, report_id", "is required"))
            continue
        if finding not in names:
            problems.append(Problem(f"row {i}, finding", "is not a finding of the rules"))
        if label not in (*LABELS, None):
            problems.append(
                Problem(f"row {i}, label", f"must be one of {', '.join(LABELS)} or empty")
            )
        if (rid, finding) in human:
            problems.append(Problem(f"row {i}, finding", "repeats a report and finding"))
        if text:
            texts.setdefault(rid, text)
        human[(rid, finding)] = label
    problems += [
        Problem("text", f"report {n} of the sample has no text")
        for n, rid in enumerate(sorted({r for r, _ in human}), start=1)
        if rid not in texts
    ]
    if problems:
        raise BatchError(problems)
    machine = {
        rid: {lab.finding: lab.label for lab in intake.labeller().label(t)}
        for rid, t in texts.items()
    }
    pairs = [(f, h, machine[rid].get(f)) for (rid, f), h in human.items()]
    found = labeller_accuracy(pairs)  # type: ignore[arg-type]
    results = {
        a.finding: {
            "n": a.n, "tp": a.tp, "fn": a.fn, "tn": a.tn, "fp": a.fp,
            "sensitivity": a.sensitivity.to_dict(), "specificity": a.specificity.to_dict(),
            "warnings": list(a.warnings),
        }
        for a in found
    }  # fmt: skip
    return LabellerCheck.objects.create(
        labeller_version=intake.labeller().version,
        rules_sha256=intake.labeller().rules_hash,
        reports=len(texts),
        results=results,
        sha256=hashlib.sha256(data).hexdigest(),
        by=user,
    )
