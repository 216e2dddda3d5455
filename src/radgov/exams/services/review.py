"""Review before release (issue 16; practice parameter V, IV.F): the release policy of a
deployment, the qualified end-user's review of an AI result, its addenda, and the release
that follows (the messages for the PACS, the RIS and the EMR, built once, kept encrypted,
delivered by ``radgov.exams.release.deliver``).

* Only a physician who is a qualified end-user (or pilot-group member) of the deployment
  and currently trained on its model version (``radgov.training.access``: the training
  gate) reviews; anyone else is refused with the reason, and the refusal is audited.
* A result is reviewed once; a changed mind is an addendum, a new linked row.  An
  addendum that rejects a released result withdraws it and sends each standard's
  correction.
* Release needs an accepting or modifying review, unless the deployment's policy is
  direct release (allowed only under a recorded governance decision).  The guard is
  registered with the status table, so no other path releases an unreviewed result.
"""

from __future__ import annotations

import base64
import uuid
from io import BytesIO
from typing import Any

from django.utils import timezone

from radgov.core.audit import Action, EventCode, record
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.dicom.sr import build_measurement_report
from radgov.exams import access, visibility
from radgov.exams.errors import ExamError, NotPermitted, Problem
from radgov.exams.models import (
    Audience,
    Concordance,
    Delivery,
    Inference,
    RejectReason,
    ReleaseMode,
    ReleasePolicy,
    Review,
    ReviewDecision,
    Standard,
)
from radgov.exams.outputs import Outputs
from radgov.exams.release import content, fhir, hl7
from radgov.exams.services.inference import apply_move
from radgov.exams.statuses import Status
from radgov.inventory.models import Deployment
from radgov.training.access import end_users_of, missing_training

MAX_REASON = 2000
RELEASING = (ReviewDecision.ACCEPT, ReviewDecision.MODIFY)


class ReviewError(ExamError):
    """A review, addendum or policy that breaks a rule; each problem names its field."""


def policy_of(deployment: Deployment) -> ReleasePolicy:
    """The deployment's release policy; review required when none was recorded (V)."""
    found = ReleasePolicy.objects.filter(deployment=deployment).first()
    return found or ReleasePolicy(deployment=deployment, set_at=timezone.now())


def last_review(inference: Inference) -> Review | None:
    """The review that stands: the latest addendum, or the review itself."""
    return inference.reviews.order_by("-reviewed_at", "-id").first()


def release_guard(inference: Inference) -> list[str]:
    """What release still needs (registered for ``released`` in ``ExamsConfig.ready``)."""
    if policy_of(inference.deployment).mode == ReleaseMode.DIRECT_RELEASE:
        return []
    standing = last_review(inference)
    if standing is None:
        return ["V: the AI result has not been reviewed by a qualified end-user"]
    if not standing.releases:
        return ["V: the reviewer rejected the AI result; a rejected result is never released"]
    return []


# -- who may review ---------------------------------------------------------------------


def refusal(actor: Any, inference: Inference) -> str | None:
    """None when ``actor`` may review ``inference`` now; otherwise why not, citing the clause."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return "V: sign in as a qualified end-user to review AI results"
    if actor.role == Role.VENDOR:
        return "III.F: a vendor has no claim on the practice's patient data and does not review"
    if actor.role != Role.PHYSICIAN:
        return "V: only a qualified end-user (a physician) reviews AI results"
    deployment = inference.deployment
    if actor.pk not in {u.pk for u in end_users_of(deployment)}:
        return (
            f"V: {actor.get_username()} is not a qualified end-user of {deployment.model_version} "
            f"at {deployment.site}"
        )
    return missing_training(actor, deployment.model_version)


def _refuse(actor: Any, inference: Inference, what: str, reason: str) -> None:
    """Record the refusal (outside any transaction, so it stays) and raise it."""
    record(
        action=Action.DENIED,
        outcome="denied",
        object_type="exams.inference",
        object_id=str(inference.pk),
        event_code=EventCode.PROCEDURE_RECORD,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        detail={"what": what, "reason": reason[:300]},
    )
    raise NotPermitted(reason)


# -- the review -------------------------------------------------------------------------


def _checked(
    decision: str,
    reason_code: str,
    reason: str,
    findings: Any,
    concordance: str,
    report_states_ai: bool,
    *,
    policy: ReleasePolicy,
) -> dict[str, Any]:
    problems: list[Problem] = []
    if policy.report_states_ai and decision in RELEASING and report_states_ai is not True:
        problems.append(
            Problem(
                "report_states_ai",
                "V: the release policy requires your report to state the AI output and your "
                "read's concordance with it; confirm that it does",
            )
        )
    if decision not in ReviewDecision.values:
        problems.append(Problem("decision", f"must be one of {', '.join(ReviewDecision.values)}"))
    if concordance not in Concordance.values:
        problems.append(Problem("concordance", f"must be one of {', '.join(Concordance.values)}"))
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        problems.append(Problem("reason", f"is longer than {MAX_REASON} characters"))
    if decision == ReviewDecision.REJECT:
        if reason_code not in RejectReason.values:
            problems.append(
                Problem("reason_code", f"a rejection needs one of {', '.join(RejectReason.values)}")
            )
        elif reason_code == RejectReason.OTHER and not reason:
            problems.append(Problem("reason", "say why the result is rejected"))
    elif reason_code:
        problems.append(Problem("reason_code", "only a rejection has a reason code"))
    cleaned: list[dict[str, Any]] = []
    if decision == ReviewDecision.MODIFY:
        try:
            cleaned = Outputs(findings=findings or []).validated()["findings"]
        except ExamError as exc:
            problems.extend(exc.problems)
        if not cleaned and not any(p.field.startswith("findings") for p in problems):
            problems.append(Problem("findings", "a modified result needs the changed findings"))
    elif findings:
        problems.append(
            Problem("findings", "only a modified result carries the reviewer's findings")
        )
    if problems:
        raise ReviewError(problems)
    return {
        "decision": decision,
        "reason_code": reason_code if decision == ReviewDecision.REJECT else "",
        "reason": reason,
        "findings": cleaned,
        "concordance": concordance,
        "report_states_ai": report_states_ai is True,
    }


def _admitted(
    actor: Any,
    inference: Inference,
    what: str,
    *,
    decision: str,
    concordance: str,
    reason_code: str = "",
    reason: str = "",
    findings: Any = None,
    report_states_ai: bool = False,
) -> dict[str, Any]:
    """The reviewer admitted (else refused, audited) and the choice checked (else every
    problem named)."""
    reason_refused = refusal(actor, inference)
    if reason_refused:
        _refuse(actor, inference, what, reason_refused)
    return _checked(
        decision,
        reason_code,
        reason,
        findings,
        concordance,
        report_states_ai,
        policy=policy_of(inference.deployment),
    )


def review(actor: Any, inference: Inference, **choice: Any) -> Review:
    """Accept, modify or reject an AI result: ``decision``, ``concordance`` (the reviewer's
    own read), and for a rejection ``reason_code`` (and ``reason``), for a modification the
    changed ``findings``; ``report_states_ai``: the reviewer confirms their report states the
    AI output and the concordance (required to accept or modify where the policy says so).  An accepted or modified result is released at once.  Refused:
    anyone but a trained qualified end-user of the deployment (``NotPermitted``, audited), a
    second review, or a result that is not waiting for review (``ReviewError``)."""
    return _record_review(actor, inference, _admitted(actor, inference, "review", **choice))


@service
def _record_review(actor: Any, inference: Inference, values: dict[str, Any]) -> Review:
    locked = Inference.objects.select_for_update().get(pk=inference.pk)
    if locked.reviews.exists():
        raise ReviewError(
            [Problem("inference", "this result was already reviewed; add an addendum instead")]
        )
    if locked.status != Status.INFERRED:
        raise ReviewError(
            [Problem("inference", f"the result is {locked.status}, not waiting for review")]
        )
    done = Review.objects.create(
        inference=locked, reviewer=actor, reviewed_at=timezone.now(), **values
    )
    if done.releases:
        _release(actor, locked)
    return done


def add_addendum(actor: Any, original: Review, **choice: Any) -> Review:
    """A changed mind (the choice as for ``review``), as a new review linked to ``original``,
    never an overwrite.  Rejecting a released result withdraws it and sends the
    corrections; accepting one that was rejected releases it."""
    values = _admitted(actor, original.inference, "addendum", **choice)
    return _record_addendum(actor, original, values)


@service
def _record_addendum(actor: Any, original: Review, values: dict[str, Any]) -> Review:
    locked = Inference.objects.select_for_update().get(pk=original.inference_id)
    root = original.amends or original
    added = Review.objects.create(
        inference=locked, reviewer=actor, reviewed_at=timezone.now(), amends=root, **values
    )
    if locked.status == Status.RELEASED and not added.releases:
        apply_move(
            actor,
            locked,
            Status.WITHDRAWN,
            reason_code="result_incorrect",
            reason=values["reason"],
        )
    elif locked.status in (Status.INFERRED, Status.WITHDRAWN) and added.releases:
        _release(actor, locked)
    return added


# -- release ----------------------------------------------------------------------------


def _release(actor: Any, inference: Inference) -> None:
    """Inside a service: the move to ``released`` (the guard checks the review or the
    policy); the move builds the messages (``send_release``)."""
    apply_move(actor, inference, Status.RELEASED)


def send_release(inference: Inference, *, correction: bool) -> None:
    """Inside a service, on every move to ``released`` or ``withdrawn`` (whatever made it):
    the three messages, or their corrections, built now as the standing review left the
    result, kept for the delivery task."""
    _deliveries(inference, last_review(inference), correction=correction)


def _previous_sr(inference: Inference) -> Any:
    from pydicom import dcmread

    last = (
        inference.deliveries.filter(standard=Standard.DICOM_SR)
        .order_by("-created_at", "-id")
        .first()
    )
    if last is None:
        return None
    return dcmread(BytesIO(base64.b64decode(last.message.reveal())))


def _standards(inference: Inference, audience: str, *, correction: bool) -> set[str]:
    """Where a release goes (the policy's after-review audience; V), or a correction: where
    the release it corrects went."""
    if not correction:
        return set(visibility.standards_for(audience))
    sent = inference.deliveries.filter(correction=False).values_list("standard", flat=True)
    return set(sent)


def _deliveries(inference: Inference, standing: Review | None, *, correction: bool) -> None:
    audience = policy_of(inference.deployment).seen_after_review
    standards = _standards(inference, audience, correction=correction)
    released = content.gather(
        inference,
        standing,
        correction=correction,
        patient_may_see=visibility.patient_may_see(audience),
    )
    messages: list[tuple[str, str, str]] = []
    if Standard.DICOM_SR in standards:
        sr = build_measurement_report(
            study=released.study,
            algorithm=released.algorithm,
            findings=released.findings,
            reviewer=released.reviewer,
            statement=released.statement,
            institution=released.deployment_site,
            previous=_previous_sr(inference) if correction else None,
        )
        buffer = BytesIO()
        sr.save_as(buffer, enforce_file_format=True)
        encoded = base64.b64encode(buffer.getvalue()).decode()
        messages.append((Standard.DICOM_SR, str(sr.SOPInstanceUID), encoded))
    if Standard.HL7_ORU in standards:
        control_id = uuid.uuid4().hex[:20]
        messages.append(
            (Standard.HL7_ORU, control_id, hl7.build_oru(released, control_id=control_id))
        )
    if Standard.FHIR in standards:
        bundle_id = str(uuid.uuid4())
        bundle = fhir.build_bundle(released, bundle_id=bundle_id)
        messages.append((Standard.FHIR, bundle_id, bundle.model_dump_json(exclude_none=True)))
    for standard, message_id, text in messages:
        delivery = Delivery(
            inference=inference,
            review=standing,
            standard=standard,
            correction=correction,
            message_id=message_id,
        )
        delivery.message = text
        delivery.save()


def release_if_direct(actor: Any, inference: Inference) -> bool:
    """Inside a service, when a result arrives: release it at once if the deployment's
    policy is direct release (V: the governance group decided it goes out unreviewed)."""
    if policy_of(inference.deployment).mode != ReleaseMode.DIRECT_RELEASE:
        return False
    _release(actor, inference)
    return True


def release_direct(actor: Any, inference: Inference) -> Inference:
    """Release an AI result without review, where the deployment's policy allows it (a
    recorded governance decision); by whoever records the AI's results."""
    access.require_write(actor)
    return _release_direct(actor, inference)


@service
def _release_direct(actor: Any, inference: Inference) -> Inference:
    locked = Inference.objects.select_for_update().get(pk=inference.pk)
    if policy_of(locked.deployment).mode != ReleaseMode.DIRECT_RELEASE:
        raise ReviewError(
            [Problem("deployment", "V: this deployment's results are released after review only")]
        )
    _release(actor, locked)
    return locked


# -- the policy -------------------------------------------------------------------------


def may_set_policy(actor: Any) -> bool:
    return bool(
        actor is not None
        and getattr(actor, "is_active", False)
        and (actor.role == Role.ADMINISTRATOR or actor.is_governance_member)
    )


@service
def set_release_policy(
    actor: Any,
    deployment: Deployment,
    *,
    mode: str,
    decision: Any = None,
    seen_before_review: str = Audience.REVIEWERS,
    seen_after_review: str = Audience.CARE_TEAM,
    report_states_ai: bool = True,
) -> ReleasePolicy:
    """Record the deployment's release policy as the governance group decided it.  Direct
    release needs a recorded decision about this deployment that says why."""
    if not may_set_policy(actor):
        raise NotPermitted(
            "V: the governance group decides how AI output is released; only its members "
            "and administrators record it"
        )
    problems: list[Problem] = []
    if mode not in ReleaseMode.values:
        problems.append(Problem("mode", f"must be one of {', '.join(ReleaseMode.values)}"))
    for name, value in (
        ("seen_before_review", seen_before_review),
        ("seen_after_review", seen_after_review),
    ):
        if value not in Audience.values:
            problems.append(Problem(name, f"must be one of {', '.join(Audience.values)}"))
    if decision is not None and decision.deployment_id != deployment.pk:
        problems.append(Problem("decision", "the decision is not about this deployment"))
    if mode == ReleaseMode.DIRECT_RELEASE:
        if decision is None:
            problems.append(
                Problem("decision", "V: direct release needs the governance decision allowing it")
            )
        elif not (decision.rationale or decision.motion).strip():
            problems.append(
                Problem("decision", "the decision must say why results go out directly")
            )
    if problems:
        raise ReviewError(problems)
    policy = ReleasePolicy.objects.select_for_update().filter(deployment=deployment).first()
    policy = policy or ReleasePolicy(deployment=deployment)
    policy.mode = mode
    policy.decision = decision
    policy.seen_before_review = seen_before_review
    policy.seen_after_review = seen_after_review
    policy.report_states_ai = report_states_ai
    policy.set_by = actor
    policy.set_at = timezone.now()
    policy.save()
    return policy
