"""The demo practice's monitoring (``radgov demo_monitoring``, after ``radgov demo``; kept out
of ``radgov demo`` itself, whose loaders every demo test runs): three months of exams at the
demo's two live deployments, each with its AI score and call and its report, compared.

- The scores are calibrated probabilities (each exam's finding is drawn with the model's
  score as its chance), so the label-free estimate (CBPE) passes its calibration check on the
  reference window (the first 30 days) and is shown.
- NeuroTriage ICH holds steady.  LungScan Nodule drifts four weeks ago: the CT scanners'
  software goes from VE10 to VE11 and the model scores its true nodules far lower, so its
  sensitivity falls, its stop rules open alerts, the drift page names VE11 first seen that
  day, and the estimate moves.
- Five radiologists read the results in the PACS, which reports what each did (viewed,
  accepted, modified, rejected, not opened); one overrides the AI far more often and one
  leaves many results unopened, so the override page flags both on its funnel.

The exams come through the exams' bulk service, the reports through monitoring's and the
viewer's events through the interaction ingest, as an orchestrator, the RIS and the PACS
would send them.  Idempotent: a deployment that is watched already is left as it is."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.utils import timezone

from radgov.core.roles import Role
from radgov.exams import services as exams
from radgov.exams.metadata import StudyMetadata
from radgov.exams.models import Inference
from radgov.exams.outputs import Outputs
from radgov.exams.statuses import Source
from radgov.inventory.models import Deployment
from radgov.monitoring import alarms, configure, drift, intake, interactions, overrides
from radgov.monitoring.models import Alert, Watch

DAYS = 90
PER_DAY = 8  # enough compared exams in the reference window for the calibration check
DRIFT_DAYS_AGO = 28
REFERENCE_DAYS = 30
# the radiologists reading in the PACS: (username, chance of overriding, of not opening)
READERS = (
    ("dr.chen", 0.08, 0.03), ("dr.okafor", 0.10, 0.04), ("dr.rossi", 0.09, 0.03),
    ("dr.ng", 0.10, 0.35), ("dr.patel", 0.40, 0.03),
)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    product: str
    finding: str
    modality: str
    body_part: str
    positive: str
    negative: str
    share_high: float  # exams the model scores high (about 0.9); the rest score about 0.05
    drifts: bool


PLANS = (
    Plan(
        "NeuroTriage ICH", "intracranial_hemorrhage", "CT", "HEAD",
        "IMPRESSION: Acute intraparenchymal hemorrhage in the right parietal lobe.",
        "IMPRESSION: No acute intracranial hemorrhage.", 0.15, False,
    ),
    Plan(
        "LungScan Nodule", "pulmonary_nodule", "CT", "CHEST",
        "IMPRESSION: 6 mm solid pulmonary nodule in the right upper lobe.",
        "IMPRESSION: No pulmonary nodules.", 0.25, True,
    ),
)  # fmt: skip


def load(
    stdout: Any, *, days: int = DAYS, per_day: int = PER_DAY, drift_days_ago: int = DRIFT_DAYS_AGO
) -> None:
    users = get_user_model().objects
    actor = users.filter(username="informatics").first()
    chair = users.filter(is_governance_member=True, is_active=True).order_by("pk").first()
    if actor is None or chair is None:
        stdout.write("Monitoring: no informatics account or governance member yet; skipped.")
        return
    today = timezone.localdate()
    start = today - dt.timedelta(days=days)
    readers = _readers()
    for plan in PLANS:
        deployment = Deployment.objects.filter(
            model_version__product__name=plan.product, status__in=("pilot", "deployed")
        ).first()
        if deployment is None or Watch.objects.filter(deployment=deployment).exists():
            continue
        configure.set_watch(
            chair, deployment, finding=plan.finding, baseline_start=start,
            baseline_end=start + dt.timedelta(days=29), arl0=2000,
        )  # fmt: skip
        drift.set_reference(
            chair, deployment, reference_start=start,
            reference_end=start + dt.timedelta(days=REFERENCE_DAYS - 1),
        )  # fmt: skip
        rng = np.random.default_rng(zlib.crc32(plan.product.encode()))
        shape = (days, per_day, days - drift_days_ago)
        _record(actor, deployment, plan, start, shape, rng)
        _interactions(actor, deployment, readers, rng)
        alarms.check_deployment(deployment)
        drift.check(deployment, today)
    watched = Watch.objects.count()
    alerts = Alert.objects.filter(closed_at__isnull=True).count()
    flagged = ", ".join(r.username for r in overrides.practice_rates().flagged) or "nobody"
    stdout.write(
        f"Monitoring: {watched} deployments watched; {alerts} open alerts; "
        f"beyond the usage funnel: {flagged}."
    )


def _readers() -> list[str]:
    """The five demo radiologists' usernames, the accounts made when missing (the PACS
    reports by username; those made here cannot log in until an administrator resets them)."""
    from radgov.accounts import services as accounts

    users = get_user_model().objects
    for number, (name, _, _) in enumerate(READERS, start=1):
        if not users.filter(username=name).exists():
            accounts.create_user(
                name, role=Role.PHYSICIAN, email=f"{name}@demo.invalid",
                license_number=f"CA A-DEMO-2{number:03d}",
            )  # fmt: skip
    return [name for name, _, _ in READERS]


def _score(rng: np.random.Generator, plan: Plan) -> float:
    high = rng.random() < plan.share_high
    return float(np.round(rng.beta(18, 2) if high else rng.beta(1, 19), 3))


def _record(
    actor: Any, deployment: Deployment, plan: Plan, start: dt.date,
    shape: tuple[int, int, int], rng: np.random.Generator,
) -> None:  # fmt: skip
    days, per_day, drift_day = shape
    events, reports = [], []
    for day in range(days):
        drifted = plan.drifts and day >= drift_day
        for k in range(per_day):
            number = f"{deployment.pk}{day:03d}{k:02d}"
            when = dt.datetime.combine(
                start + dt.timedelta(days=day), dt.time(7 + k % 12, 5 * k % 60), tzinfo=dt.UTC
            )
            score = _score(rng, plan)
            positive = bool(rng.random() < score)  # calibrated: the score is the chance
            if drifted and positive:
                score = round(score * 0.4, 3)  # the new software's images: nodules scored low
            study = StudyMetadata(
                study_instance_uid=f"2.25.2026120599{number}",
                patient_id=f"DEMO-M{number}", patient_id_issuer="DEMO_HOSPITAL",
                accession_number=f"DEMOMON{number}", site=deployment.site, study_datetime=when,
                modality=plan.modality, body_part=plan.body_part,
                manufacturer=("SIEMENS", "GE MEDICAL SYSTEMS")[k % 2],
                manufacturer_model=("SOMATOM Force", "Revolution CT")[k % 2],
                software_versions=("VE11" if drifted else "VE10") if k % 2 == 0 else "GE-24.1",
                patient_age=f"{int(rng.integers(25, 90)):03d}Y", patient_sex="FM"[int(rng.random() < 0.5)],
            )  # fmt: skip
            outputs = Outputs(score=score, call=("negative", "positive")[score >= 0.5])
            events.append(
                exams.Event(
                    study=study, deployment_id=deployment.pk, status="inferred", status_at=when,
                    outputs=outputs, event_id=f"demo-monitoring:{number}",
                )
            )  # fmt: skip
            reports.append((f"DEMOMON{number}", plan.positive if positive else plan.negative))
    exams.record_events(actor, events, source=Source.DEMO)
    intake.record_reports(actor, reports, source="demo")


def _interactions(
    actor: Any, deployment: Deployment, readers: list[str], rng: np.random.Generator
) -> None:
    """What the PACS reports of each result: its reader (in turn) opened it or not, and
    accepted it or overrode it (modified or rejected), at their own rates."""
    rows = []
    inferences = Inference.objects.filter(deployment=deployment).order_by("status_at", "pk")
    chances = {name: (override, closed) for name, override, closed in READERS}
    for index, (pk, at) in enumerate(inferences.values_list("pk", "status_at")):
        name = readers[index % len(readers)]
        override, closed = chances[name]
        seen = at + dt.timedelta(minutes=20)
        if rng.random() < closed:
            rows.append({"inference_id": pk, "username": name, "action": "not_opened", "at": seen})
            continue
        decided = "accepted"
        if rng.random() < override:
            decided = ("modified", "rejected")[int(rng.random() < 0.5)]
        rows.append({"inference_id": pk, "username": name, "action": "viewed", "at": seen})
        rows.append({"inference_id": pk, "username": name, "action": decided,
                     "at": seen + dt.timedelta(minutes=3)})  # fmt: skip
    interactions.record_interactions(actor, rows, source=Source.DEMO, what="demo PACS events")
