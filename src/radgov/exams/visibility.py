"""Who may see an AI result's output (issue 16; practice parameter V): the one place that
decides, per viewer and inference, whether the score, call, confidence, findings and
result objects may be shown, from the deployment's release policy (``seen_before_review``,
``seen_after_review``).  Every page and API answer that shows AI output marks its
inferences with :func:`mark` and shows a marked one's output only when ``ai_hidden`` is
None; a hidden output is "not visible before review" on a page and null with the reason
on the API.

The audiences widen in order: ``reviewers`` (the deployment's qualified end-users and
pilot-group members who are physicians: whoever may review it, who always sees what they
review), ``care_team`` (those and every physician and technologist), ``patient_portal``
(the care team; radgov has no patient accounts, so the setting is kept for the EMR's
portal).  Other roles (informatics, administrators, compliance, physicists, data
scientists) see AI output only where they record it: the operator at the console and
machines holding ``exams.record`` (the gateway, an orchestrator) supply it.

The same after-review audience decides where a release goes (:func:`standards_for`):
reviewers only, the SR to the PACS (the radiologists' archive) and nothing to the RIS or the
EMR; the care team, all three, the FHIR report labelled not for the patient; the patient
portal, all three without that label.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from radgov.core.audit import Action, EventCode, record
from radgov.core.roles import Role
from radgov.exams import access
from radgov.exams.models import Audience, Inference, ReleasePolicy, Standard
from radgov.exams.statuses import Status
from radgov.inventory.models import Deployment

BEFORE_REVIEW = "not visible before review"
AFTER_REVIEW = "not visible to your role after review"
CARE_TEAM = frozenset({Role.PHYSICIAN.value, Role.TECHNOLOGIST.value})
MAX_IDS_LISTED = 500
_DEFAULTS = {"before": Audience.REVIEWERS, "after": Audience.CARE_TEAM}


def standards_for(audience: str) -> tuple[str, ...]:
    """The standards a release reaches when its output is for ``audience`` (V)."""
    if audience == Audience.REVIEWERS:
        return (Standard.DICOM_SR,)
    return tuple(Standard.values)


def patient_may_see(audience: str) -> bool:
    return audience == Audience.PATIENT_PORTAL


def has_output(inference: Inference) -> bool:
    """Whether there is AI output to show (a result received, or any of its values)."""
    return inference.status in (Status.INFERRED, Status.RELEASED, Status.WITHDRAWN) or bool(
        inference.call
        or inference.findings
        or inference.score is not None
        or inference.confidence is not None
    )


def reviewed(inference: Inference, has_review: bool) -> bool:
    """After review: reviewed, or released or withdrawn (under direct release unreviewed)."""
    return has_review or inference.status in (Status.RELEASED, Status.WITHDRAWN)


def _sees(audience: str, *, reviewer: bool, role: str | None) -> bool:
    if reviewer:
        return True
    return audience in (Audience.CARE_TEAM, Audience.PATIENT_PORTAL) and role in CARE_TEAM


def hidden_reasons(viewer: Any, inferences: Iterable[Inference]) -> dict[int, str]:
    """The inferences whose AI output ``viewer`` may not see, each with why (the words a
    page shows and the API's reason); three queries whatever the number of inferences."""
    rows = [r for r in inferences if has_output(r)]
    if not rows or access.is_operator(viewer) or access.machine_records(viewer):
        return {}
    role = access.person_role(viewer)
    deployment_ids = {r.deployment_id for r in rows}
    audiences = {
        p["deployment_id"]: {"before": p["seen_before_review"], "after": p["seen_after_review"]}
        for p in ReleasePolicy.objects.filter(deployment_id__in=deployment_ids).values(
            "deployment_id", "seen_before_review", "seen_after_review"
        )
    }
    reviews_of: set[int] = set()
    if role == Role.PHYSICIAN:
        reviews_of = set(
            Deployment.objects.filter(
                Q(end_users=viewer) | Q(pilot_users=viewer), pk__in=deployment_ids
            ).values_list("pk", flat=True)
        )
    with_review = set(
        Inference.objects.filter(pk__in=[r.pk for r in rows], reviews__isnull=False).values_list(
            "pk", flat=True
        )
    )
    hidden: dict[int, str] = {}
    for row in rows:
        after = reviewed(row, row.pk in with_review)
        audience = audiences.get(row.deployment_id, _DEFAULTS)["after" if after else "before"]
        if not _sees(audience, reviewer=row.deployment_id in reviews_of, role=role):
            hidden[row.pk] = AFTER_REVIEW if after else BEFORE_REVIEW
    return hidden


def mark(viewer: Any, inferences: Iterable[Inference], *, what: str) -> dict[int, str]:
    """Set ``ai_hidden`` (the reason, or None) on each inference for ``viewer``; when any is
    hidden, one ``denied`` audit entry names them (ids only) and what was being read."""
    rows = list(inferences)
    hidden = hidden_reasons(viewer, rows)
    for row in rows:
        row.ai_hidden = hidden.get(row.pk)
    if hidden:
        ids = sorted(hidden)
        record(
            action=Action.DENIED,
            outcome="denied",
            object_type="exams.inference",
            object_id=str(ids[0]) if len(ids) == 1 else None,
            event_code=EventCode.PROCEDURE_RECORD,
            actor=viewer if getattr(viewer, "is_authenticated", False) else None,
            actor_name=access.actor_name(viewer),
            detail={
                "what": f"AI output in {what}",
                "reason": "V: the release policy does not show it to this viewer",
                "inferences": ids[:MAX_IDS_LISTED],
                "hidden": len(ids),
            },
        )
    return hidden
