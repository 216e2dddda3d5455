"""Reads for review before release (issue 16): the reviewer's worklist and one result
opened for review.  Both are audited reads of patient data (DICOM 110111)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Prefetch, Q, Value, When

from radgov.exams import access, audit, visibility
from radgov.exams.models import Inference, Review
from radgov.exams.services.review import policy_of, refusal
from radgov.exams.statuses import Status
from radgov.inventory.models import Deployment
from radgov.training.access import current_ifu, training_statuses
from radgov.training.selectors import document_url

MAX_WORKLIST = 200


@dataclass
class WorkItem:
    inference: Inference
    trained: bool
    why_not: str | None  # why the person may not review it yet (training), None when they may
    ifu_url: str | None


def reviewable_deployments(user: Any) -> list[Deployment]:
    """Deployments whose results ``user`` reviews: those they are a qualified end-user (or a
    pilot-group member) of."""
    return list(
        Deployment.objects.filter(Q(end_users=user) | Q(pilot_users=user))
        .distinct()
        .select_related("model_version__product__company")
    )


def worklist(user: Any) -> list[WorkItem]:
    """AI results awaiting review for the deployments ``user`` is an end-user of, positive
    calls first, then oldest first; each with where the person stands on training and the
    IFU one click away.  The read is audited (an empty list too)."""
    access.require_read(user)
    deployments = reviewable_deployments(user)
    rows = list(
        Inference.objects.filter(
            status=Status.INFERRED, deployment__in=deployments, reviews__isnull=True
        )
        .select_related("exam", "deployment__model_version__product__company")
        .order_by(
            Case(
                When(call="positive", then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            "inferred_at",
            "id",
        )[:MAX_WORKLIST]
    )
    statuses = training_statuses([(user, d.model_version) for d in deployments])
    ifus = {d.model_version_id: current_ifu(d.model_version) for d in deployments}
    items = []
    for row in rows:
        status = statuses[(user.pk, row.deployment.model_version_id)]
        items.append(
            WorkItem(
                inference=row,
                trained=status.trained,
                why_not=status.reason,
                ifu_url=document_url(ifus.get(row.deployment.model_version_id)),
            )
        )
    audit.read_exams(user, [r.exam_id for r in rows], what="review worklist", total=len(rows))
    visibility.mark(user, rows, what="review worklist")
    return items


@dataclass
class ReviewView:
    inference: Inference
    reviews: list[Review]
    why_not: str | None
    ifu_url: str | None
    policy: Any


def for_review(user: Any, inference_id: int) -> ReviewView | None:
    """One AI result as its reviewer sees it, with its reviews and deliveries; the read is
    audited.  ``why_not`` says why the person may not review it (None: they may)."""
    access.require_read(user)
    inference = (
        Inference.objects.select_related("exam", "deployment__model_version__product__company")
        .prefetch_related(
            Prefetch("reviews", queryset=Review.objects.select_related("reviewer")), "deliveries"
        )
        .filter(pk=inference_id)
        .first()
    )
    if inference is None:
        return None
    audit.read_exams(user, [inference.exam_id], what="AI result for review")
    visibility.mark(user, [inference], what="AI result for review")
    return ReviewView(
        inference=inference,
        reviews=list(inference.reviews.all()),
        why_not=refusal(user, inference),
        ifu_url=document_url(current_ifu(inference.deployment.model_version)),
        policy=policy_of(inference.deployment),
    )
