"""The demo practice's monitoring (``radgov demo_monitoring``, after ``radgov demo``; kept out
of ``radgov demo`` itself, whose loaders every demo test runs): three months of exams at the demo's two live deployments,
each with its AI call and its report, compared; NeuroTriage ICH holds steady, LungScan
Nodule drifts (its sensitivity falls from 0.90 to 0.50 four weeks ago) and its stop rules
have opened alerts.  The exams come through the exams' bulk service, the reports through
monitoring's, as an orchestrator and the RIS would send them.  Idempotent: a deployment that
is watched already is left as it is."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.utils import timezone

from radgov.exams import services as exams
from radgov.exams.metadata import StudyMetadata
from radgov.exams.outputs import Outputs
from radgov.exams.statuses import Source
from radgov.inventory.models import Deployment
from radgov.monitoring import alarms, configure, intake
from radgov.monitoring.models import Alert, Watch

DAYS = 90
PER_DAY = 3
DRIFT_DAYS_AGO = 28


@dataclass(frozen=True)
class Plan:
    product: str
    finding: str
    modality: str
    body_part: str
    positive: str
    negative: str
    prevalence: float
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
        _record(actor, deployment, plan, start, (days, per_day, days - drift_days_ago))
        alarms.check_deployment(deployment)
    watched = Watch.objects.count()
    alerts = Alert.objects.filter(closed_at__isnull=True).count()
    stdout.write(f"Monitoring: {watched} deployments watched; {alerts} open alerts.")


def _record(
    actor: Any, deployment: Deployment, plan: Plan, start: dt.date, shape: tuple[int, int, int]
) -> None:
    rng = np.random.default_rng(zlib.crc32(plan.product.encode()))
    days, per_day, drift_day = shape
    events, reports = [], []
    for day in range(days):
        for k in range(per_day):
            number = f"{deployment.pk}{day:03d}{k}"
            when = dt.datetime.combine(
                start + dt.timedelta(days=day), dt.time(8 + 3 * k), tzinfo=dt.UTC
            )
            positive = bool(rng.random() < plan.prevalence)
            sensitivity = 0.50 if plan.drifts and day >= drift_day else 0.90
            called = bool(rng.random() < (sensitivity if positive else 0.05))
            study = StudyMetadata(
                study_instance_uid=f"2.25.2026120599{number}",
                patient_id=f"DEMO-M{number}", patient_id_issuer="DEMO_HOSPITAL",
                accession_number=f"DEMOMON{number}", site=deployment.site, study_datetime=when,
                modality=plan.modality, body_part=plan.body_part,
                manufacturer=("SIEMENS", "GE MEDICAL SYSTEMS")[k % 2],
                manufacturer_model=("SOMATOM Force", "Revolution CT")[k % 2],
                patient_age=f"{int(rng.integers(25, 90)):03d}Y", patient_sex="FM"[int(rng.random() < 0.5)],
            )  # fmt: skip
            outputs = Outputs(score=0.9 if called else 0.1, call=("negative", "positive")[called])
            events.append(
                exams.Event(
                    study=study, deployment_id=deployment.pk, status="inferred", status_at=when,
                    outputs=outputs, event_id=f"demo-monitoring:{number}",
                )
            )  # fmt: skip
            reports.append((f"DEMOMON{number}", plan.positive if positive else plan.negative))
    exams.record_events(actor, events, source=Source.DEMO)
    intake.record_reports(actor, reports, source="demo")
