"""The demo practice's record of AI use: a dozen head and chest CTs at the sites of the
demo's live deployments (NeuroTriage ICH at Main Hospital CT, deployed; LungScan Nodule at
the Outpatient Imaging Center, in pilot), with inferences in every stage of the way: queued,
sent, processing, inferred (with findings), rejected for a reason a technologist can fix,
failed, and excluded by the deployment's own criteria.

They come through the exams services as a vendor's orchestrator reporting through the API
would (acting as the demo's informatics account); the gateway, when it lands, sends such
studies through a simulated model node instead.  A deployment that is not live yet (the
inventory's demo may take two passes) gets its inferences on the pass where it is.
Idempotent: a study is recorded once, and every move carries an event id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from radgov.exams import services
from radgov.exams.metadata import StudyMetadata
from radgov.exams.models import Exam, Inference, ReleasePolicy
from radgov.exams.outputs import Outputs
from radgov.exams.statuses import Source
from radgov.inventory.models import Deployment

LIVE = ("pilot", "deployed")
ICH = ("NeuroTriage ICH", "2.0", "Main Hospital CT")
NODULE = ("LungScan Nodule", "1.4", "Outpatient Imaging Center")
CRITERIA = "criteria"  # an exclusion explained by the deployment's own criteria


@dataclass(frozen=True)
class Step:
    status: str
    reason_code: str = ""
    detail: str = ""
    outputs: Outputs | None = None
    vendor_reason: str = ""


@dataclass(frozen=True)
class DemoStudy:
    number: int
    hours_ago: float
    deployment: tuple[str, str, str]
    attributes: dict[str, Any]
    steps: list[Step] = field(default_factory=list)


def _head(**more: Any) -> dict[str, Any]:
    return {
        "Modality": "CT",
        "BodyPartExamined": "HEAD",
        "Manufacturer": "SIEMENS",
        "ManufacturerModelName": "SOMATOM Force",
        "SoftwareVersions": "syngo CT VB10",
        "StationName": "CTMAIN1",
        "ProtocolName": "HEAD ROUTINE",
        "SeriesDescription": "Head 5mm",
        "SliceThickness": "5",
        "KVP": "120",
        "PixelSpacing": ["0.449", "0.449"],
        **more,
    }


def _chest(**more: Any) -> dict[str, Any]:
    return {
        "Modality": "CT",
        "BodyPartExamined": "CHEST",
        "Manufacturer": "CANON",
        "ManufacturerModelName": "Aquilion ONE",
        "SoftwareVersions": "V10.8",
        "StationName": "OPCT1",
        "ProtocolName": "CHEST LOW DOSE",
        "SeriesDescription": "Lung 1mm",
        "SliceThickness": "1",
        "KVP": "100",
        "PixelSpacing": ["0.68", "0.68"],
        **more,
    }


TO_MODEL = [Step("queued"), Step("sent")]
ICH_FOUND = Outputs(
    score=0.94,
    call="positive",
    confidence=0.88,
    model_version="2.0",
    vendor_status="COMPLETED",
    findings=[
        {
            "label": "intracranial hemorrhage",
            "present": True,
            "score": 0.94,
            "location": "right parietal",
            "code": {"scheme": "SCT", "value": "1386000", "meaning": "Intracranial hemorrhage"},
            "measurements": [{"name": "volume", "value": 8.2, "unit": "ml"}],
        }
    ],
)
NODULE_FOUND = Outputs(
    score=0.81,
    call="positive",
    confidence=0.74,
    model_version="1.4",
    findings=[
        {
            "label": "pulmonary nodule",
            "present": True,
            "location": "right upper lobe",
            "measurements": [
                {"name": "diameter", "value": 6.0, "unit": "mm"},
                {"name": "volume", "value": 113.0, "unit": "mm3"},
            ],
        }
    ],
)

STUDIES = [
    DemoStudy(
        1,
        30,
        ICH,
        _head(PatientAge="071Y", PatientSex="M"),
        [*TO_MODEL, Step("processing"), Step("inferred", outputs=ICH_FOUND)],
    ),
    DemoStudy(
        2,
        27,
        ICH,
        _head(
            PatientAge="048Y",
            PatientSex="F",
            StationName="CTMAIN2",
            Manufacturer="GE MEDICAL SYSTEMS",
            ManufacturerModelName="Revolution CT",
            SoftwareVersions="revo_ct_22",
            SliceThickness="2.5",
        ),
        [
            *TO_MODEL,
            Step(
                "inferred",
                outputs=Outputs(
                    score=0.04,
                    call="negative",
                    confidence=0.95,
                    model_version="2.0",
                    findings=[
                        {"label": "intracranial hemorrhage", "present": False, "score": 0.04}
                    ],
                ),
            ),
        ],
    ),
    DemoStudy(
        3,
        20,
        ICH,
        _head(PatientAge="083Y", PatientSex="F", SliceThickness="1.25"),
        [
            *TO_MODEL,
            Step(
                "rejected", "image_quality", vendor_reason="Severe motion artifact in 40% of slices"
            ),
        ],
    ),
    DemoStudy(
        4,
        9,
        ICH,
        _head(
            PatientAge="062Y",
            PatientSex="M",
            StationName="CTMAIN2",
            SliceThickness="7.5",
            SeriesDescription="Head 7.5mm",
        ),
        [
            Step(
                "rejected",
                "slice_thickness",
                "SliceThickness 7.5 mm; the IFU accepts 0.625 to 5 mm. Reconstruct at 5 mm or thinner and resend.",
            )
        ],
    ),
    DemoStudy(
        5,
        6,
        ICH,
        _head(PatientAge="057Y", PatientSex="F"),
        [*TO_MODEL, Step("failed", "timeout", "No answer from the model node within 10 minutes.")],
    ),
    DemoStudy(
        6, 0.4, ICH, _head(PatientAge="035Y", PatientSex="M"), [*TO_MODEL, Step("processing")]
    ),
    DemoStudy(7, 0.1, ICH, _head(PatientAge="069Y", PatientSex="F"), [Step("queued")]),
    DemoStudy(
        8,
        15,
        ICH,
        _head(
            PatientAge="066Y", PatientSex="M", ContrastBolusAgent="Iohexol", ProtocolName="HEAD CTA"
        ),
        [Step("excluded", "criteria_not_met", CRITERIA)],
    ),
    DemoStudy(
        9,
        12,
        ICH,
        _head(PatientAge="012Y", PatientSex="F", ProtocolName="HEAD PAEDIATRIC"),
        [Step("excluded", "criteria_not_met", CRITERIA)],
    ),
    DemoStudy(
        10,
        26,
        NODULE,
        _chest(PatientAge="064Y", PatientSex="F"),
        [*TO_MODEL, Step("inferred", outputs=NODULE_FOUND)],
    ),
    DemoStudy(
        11,
        8,
        NODULE,
        _chest(
            PatientAge="059Y", PatientSex="M", SliceThickness="5", SeriesDescription="Chest 5mm"
        ),
        [Step("excluded", "criteria_not_met", CRITERIA)],
    ),
    DemoStudy(
        12, 0.3, NODULE, _chest(PatientAge="071Y", PatientSex="M", SliceThickness="0.625"), TO_MODEL
    ),
    # reviewed by a trained end-user (issue 16): one accepted and released, one rejected
    DemoStudy(
        13,
        50,
        ICH,
        _head(PatientAge="077Y", PatientSex="F"),
        [*TO_MODEL, Step("inferred", outputs=ICH_FOUND)],
    ),
    DemoStudy(
        14,
        46,
        ICH,
        _head(PatientAge="059Y", PatientSex="M"),
        [*TO_MODEL, Step("inferred", outputs=ICH_FOUND)],
    ),
]


def _uid(number: int) -> str:
    return f"2.25.2026120500000000000000000{number:03d}"


def _deployment(product: str, version: str, site: str) -> Deployment | None:
    return Deployment.objects.filter(
        model_version__product__name=product,
        model_version__version=version,
        site=site,
        status__in=LIVE,
    ).first()


def load(stdout: Any) -> None:
    actor = get_user_model().objects.filter(username="informatics").first()
    targets = {key: _deployment(*key) for key in (ICH, NODULE)}
    if actor is None or not any(targets.values()):
        stdout.write("Exams (AI use): no live deployment of the demo yet; skipped.")
        return
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for study in STUDIES:
        deployment = targets[study.deployment]
        if deployment is not None:
            _record(actor, study, deployment, now)
    _reviews(targets[ICH])
    counts = dict(
        Inference.objects.values_list("status").annotate(n=Count("id")).order_by("status")
    )
    shown = ", ".join(f"{n} {status}" for status, n in counts.items())
    stdout.write(f"Exams (AI use): {Exam.objects.count()} studies; inferences: {shown}.")


def _record(actor: Any, study: DemoStudy, deployment: Deployment, now: dt.datetime) -> None:
    exam = services.find_exam(_uid(study.number))
    if exam is None:
        attributes = {
            **study.attributes,
            "StudyInstanceUID": _uid(study.number),
            "PatientID": f"DEMO-{7000 + study.number}",
            "IssuerOfPatientID": "DEMO_HOSPITAL",
            "AccessionNumber": f"DEMOACC{26000 + study.number}",
        }
        when = now - dt.timedelta(hours=study.hours_ago)
        attributes.update(
            StudyDate=f"{timezone.localtime(when):%Y%m%d}",
            StudyTime=f"{timezone.localtime(when):%H%M%S}",
        )
        meta = StudyMetadata.from_dicom(attributes, site=deployment.site)
        exam = services.record_exam(actor, meta, source=Source.DEMO).exam
    start = exam.study_datetime or now
    inference = services.record_inference(
        actor, exam, deployment, at=start + dt.timedelta(minutes=1)
    )
    for n, step in enumerate(study.steps, start=2):
        at = start + dt.timedelta(minutes=2 * n)
        event_id = f"demo:{study.number}:{deployment.pk}:{step.status}"
        if step.outputs is not None:
            services.record_outputs(actor, inference, step.outputs, at=at, event_id=event_id)
            continue
        detail = step.detail
        if detail == CRITERIA:
            detail = "; ".join(deployment.criteria.evaluate(study.attributes)[1])
        services.move(
            actor,
            inference,
            step.status,
            reason_code=step.reason_code,
            reason=detail,
            at=at,
            event_id=event_id,
            vendor_reason=step.vendor_reason,
        )


# (study number, decision, concordance, reason code, reason) of the demo's reviews
REVIEWS = [
    (13, "accept", "concordant", "", ""),
    (14, "reject", "discordant", "result_not_correct", "Beam-hardening artifact, no bleed."),
]


def _reviews(deployment: Deployment | None) -> None:
    """The ICH deployment's policy (review required) and two reviews by a trained end-user;
    study 1 stays waiting for review.  Each once."""
    from radgov.exams.services import review as gate
    from radgov.training.access import end_users_of, is_trained

    admin = get_user_model().objects.filter(username="admin").first()
    if deployment is None or admin is None:
        return
    if not ReleasePolicy.objects.filter(deployment=deployment).exists():
        gate.set_release_policy(admin, deployment, mode="review_required")
    mv = deployment.model_version
    reviewer = next((u for u in end_users_of(deployment) if is_trained(u, mv)), None)
    if reviewer is None:
        return
    for number, decision, concordance, code, reason in REVIEWS:
        exam = services.find_exam(_uid(number))
        inference = exam.inferences.filter(deployment=deployment).first() if exam else None
        if inference is None or inference.reviews.exists():
            continue
        gate.review(
            reviewer,
            inference,
            decision=decision,
            concordance=concordance,
            reason_code=code,
            reason=reason,
            report_states_ai=True,  # the demo policy's default: the report states it
        )
