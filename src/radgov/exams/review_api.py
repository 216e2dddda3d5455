"""Review before release on the exams API (issue 16): the reviewer's worklist, one result
for review, the review and its addenda, direct release where the policy allows it, and the
deployment's release policy.  Registered on the exams router (``radgov.exams.api``), so
the routes are ``api:exams_<name>``; refusals are problem+json, a refusal to review names
the reason (training, end-user, role) and is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Schema, Status

from radgov.core.errors import NotFound, Refused
from radgov.exams import review_selectors
from radgov.exams.api import router
from radgov.exams.lookups import row_or_404
from radgov.exams.models import Inference, Review
from radgov.exams.services import review as gate
from radgov.inventory.models import Deployment


class ChoiceIn(Schema):
    decision: str
    concordance: str
    reason_code: str = ""
    reason: str = ""
    findings: list[dict[str, Any]] | None = None
    report_states_ai: bool = False


class ReviewOut(Schema):
    id: int
    inference_id: int
    reviewer: str
    decision: str
    reason_code: str
    reason: str
    findings: list[dict[str, Any]] | None
    concordance: str
    report_states_ai: bool
    reviewed_at: str
    amends_id: int | None


class DeliveryOut(Schema):
    standard: str
    correction: bool
    status: str
    attempts: int
    answer: str


class WorkItemOut(Schema):
    inference_id: int
    exam_id: int
    deployment_id: int
    model: str
    call: str | None
    score: float | None
    confidence: float | None
    hidden_reason: str | None
    inferred_at: str | None
    may_review: bool
    why_not: str | None
    ifu_url: str | None


class ForReviewOut(Schema):
    inference_id: int
    status: str
    call: str | None
    score: float | None
    confidence: float | None
    findings: list[dict[str, Any]] | None
    hidden_reason: str | None
    release_mode: str
    may_review: bool
    why_not: str | None
    ifu_url: str | None
    reviews: list[ReviewOut]
    deliveries: list[DeliveryOut]


class PolicyIn(Schema):
    mode: str
    decision_id: int | None = None
    seen_before_review: str = "reviewers"
    seen_after_review: str = "care_team"
    report_states_ai: bool = True


class PolicyOut(Schema):
    deployment_id: int
    mode: str
    decision_id: int | None
    seen_before_review: str
    seen_after_review: str
    report_states_ai: bool


def _review_out(r: Review, *, hidden: str | None = None) -> dict[str, Any]:
    """A review; its findings (the AI's as modified) null where the output is hidden."""
    return {
        "id": r.pk,
        "inference_id": r.inference_id,
        "reviewer": r.reviewer.get_username(),
        "decision": r.decision,
        "reason_code": r.reason_code,
        "reason": r.reason,
        "findings": None if hidden else r.findings,
        "concordance": r.concordance,
        "report_states_ai": r.report_states_ai,
        "reviewed_at": r.reviewed_at.isoformat(),
        "amends_id": r.amends_id,
    }


def _fields(row: Any, schema: type[Schema]) -> dict[str, Any]:
    """The schema's fields, read off the row as they are named."""
    return {name: getattr(row, name) for name in schema.model_fields}


def _output(row: Any) -> dict[str, Any]:
    """The AI's call, score and confidence, or nulls and why (``visibility.mark``)."""
    hidden = row.ai_hidden
    return {
        "call": None if hidden else row.call,
        "score": None if hidden else row.score,
        "confidence": None if hidden else row.confidence,
        "hidden_reason": hidden,
    }


@router.get("/reviews/worklist", response=list[WorkItemOut])
def review_worklist(request: HttpRequest) -> Any:
    """AI results awaiting your review, positive calls first, then the oldest."""
    items = review_selectors.worklist(request.user)
    return [
        {
            "inference_id": w.inference.pk,
            "exam_id": w.inference.exam_id,
            "deployment_id": w.inference.deployment_id,
            "model": str(w.inference.deployment.model_version),
            **_output(w.inference),
            "inferred_at": w.inference.inferred_at.isoformat() if w.inference.inferred_at else None,
            "may_review": w.trained,
            "why_not": w.why_not,
            "ifu_url": w.ifu_url,
        }
        for w in items
    ]


@router.get("/inferences/{inference_id}/review", response=ForReviewOut)
def get_review(request: HttpRequest, inference_id: int) -> Any:
    """One AI result as its reviewer sees it (an audited read), with its reviews and
    deliveries, and whether you may review it (``why_not`` says why not)."""
    view = review_selectors.for_review(request.user, inference_id)
    if view is None:
        raise NotFound(f"no inference {inference_id}")
    hidden = view.inference.ai_hidden
    return {
        "inference_id": view.inference.pk,
        "status": view.inference.status,
        **_output(view.inference),
        "findings": None if hidden else view.inference.findings,
        "release_mode": view.policy.mode,
        "may_review": view.why_not is None,
        "why_not": view.why_not,
        "ifu_url": view.ifu_url,
        "reviews": [_review_out(r, hidden=hidden) for r in view.reviews],
        "deliveries": [_fields(d, DeliveryOut) for d in view.inference.deliveries.all()],
    }


@router.post("/inferences/{inference_id}/reviews", response={201: ReviewOut})
def review_result(request: HttpRequest, inference_id: int, payload: ChoiceIn) -> Any:
    """Accept, modify or reject the AI result, with your own read (concordant or
    discordant); accepted or modified, it is released.  403 with the reason when you may
    not review it; 422 naming each bad field, or when it was reviewed already."""
    done = gate.review(request.user, row_or_404(Inference, inference_id), **payload.dict())
    return Status(201, _review_out(done))


@router.post("/reviews/{review_id}/addenda", response={201: ReviewOut})
def add_addendum(request: HttpRequest, review_id: int, payload: ChoiceIn) -> Any:
    """A changed mind: a new review linked to the first, never an overwrite.  Rejecting a
    released result withdraws it and sends the corrections."""
    original = Review.objects.select_related("inference").filter(pk=review_id).first()
    if original is None:
        raise NotFound(f"no review {review_id}")
    done = gate.add_addendum(request.user, original, **payload.dict())
    return Status(201, _review_out(done))


@router.post("/inferences/{inference_id}/release")
def release_direct(request: HttpRequest, inference_id: int) -> Any:
    """Release without review, where the deployment's policy is direct release."""
    done = gate.release_direct(request.user, row_or_404(Inference, inference_id))
    return {"inference_id": done.pk, "status": done.status}


def _deployment(deployment_id: int) -> Deployment:
    found = Deployment.objects.filter(pk=deployment_id).first()
    if found is None:
        raise NotFound(f"no deployment {deployment_id}")
    return found


@router.get("/deployments/{deployment_id}/release-policy", response=PolicyOut)
def get_release_policy(request: HttpRequest, deployment_id: int) -> Any:
    """How the deployment's results are released (review required when none is recorded)."""
    return _fields(gate.policy_of(_deployment(deployment_id)), PolicyOut)


@router.put("/deployments/{deployment_id}/release-policy", response=PolicyOut)
def set_release_policy(request: HttpRequest, deployment_id: int, payload: PolicyIn) -> Any:
    """Record the governance group's release policy; direct release needs ``decision_id``,
    a decision about this deployment that says why."""
    from radgov.governance.models import Decision

    deployment = _deployment(deployment_id)
    data = payload.dict()
    decision_id = data.pop("decision_id")
    decision = None
    if decision_id is not None:
        decision = Decision.objects.filter(pk=decision_id).first()
        if decision is None:
            raise Refused(f"decision_id: no decision {decision_id}")
    done = gate.set_release_policy(request.user, deployment, decision=decision, **data)
    return _fields(done, PolicyOut)


class DestinationIn(Schema):
    host: str = ""
    port: int | None = None
    called_ae: str = ""
    calling_ae: str = "RADGOV"
    base_url: str = ""
    tls: bool = False
    active: bool = True


class DestinationOut(DestinationIn):
    standard: str
    failures_in_a_row: int
    failing_since: datetime | None


class AnswerOut(Schema):
    delivered: bool
    words: str


@router.get("/destinations", response=list[DestinationOut])
def list_destinations(request: HttpRequest) -> Any:
    """Where each standard's releases go: the PACS, the RIS, the EMR's FHIR endpoint."""
    from radgov.exams.models import Destination

    return [_fields(d, DestinationOut) for d in Destination.objects.order_by("standard")]


@router.put("/destinations/{standard}", response=DestinationOut)
def set_destination(request: HttpRequest, standard: str, payload: DestinationIn) -> Any:
    """Record a destination (``dicom_sr``: host, port, called_ae; ``hl7_oru``: host, port;
    ``fhir``: base_url); 422 names each missing or bad setting."""
    from radgov.exams.services import delivery

    done = delivery.set_destination(request.user, standard, **payload.dict())
    return _fields(done, DestinationOut)


@router.post("/destinations/{standard}/test", response=AnswerOut)
def probe_destination(request: HttpRequest, standard: str) -> Any:
    """Test the connection: C-ECHO the PACS, an MLLP round trip with the RIS (a test
    message and its ACK), read the FHIR metadata."""
    from radgov.exams.services import delivery

    answer = delivery.probe_destination(request.user, standard)
    return {"delivered": answer.delivered, "words": answer.words}
