"""Reads of the governance records: quorum, comparison, checklist, queues."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from radgov.core.roles import Role
from radgov.governance.models import (
    Baa,
    Candidate,
    Choice,
    ConflictDeclaration,
    CriterionCategory,
    Decision,
    DecisionKind,
    Framework,
    GovernanceGroup,
    IssueReport,
    IssueStatus,
    ItemStatus,
    Meeting,
    Membership,
    ModelRequest,
    Position,
    RegulatoryItem,
    RegulatoryProfile,
    Score,
)
from radgov.governance.recusal import recusals as recusals_of


def memberships_on(group: GovernanceGroup, day: dt.date | None = None) -> QuerySet[Membership]:
    """The group's memberships active on ``day`` (today by default)."""
    day = day or timezone.localdate()
    return (
        Membership.objects.filter(group=group, joined_on__lte=day)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=day))
        .select_related("user")
    )


ROSTER_ORDER = (F("left_on").desc(nulls_first=True), "position", "user__username")


def roster(group: GovernanceGroup) -> QuerySet[Membership]:
    """Every membership, current ones first, the chair at the top."""
    return group.memberships.select_related("user").order_by(*ROSTER_ORDER)


def active_membership(group: GovernanceGroup, user: Any) -> Membership | None:
    if user is None or not getattr(user, "pk", None):
        return None
    return Membership.objects.filter(group=group, user=user, left_on__isnull=True).first()


def is_member(user: Any, group: GovernanceGroup | None = None) -> bool:
    if user is None or not getattr(user, "pk", None):
        return False
    rows = Membership.objects.filter(user=user, left_on__isnull=True)
    return rows.filter(group=group).exists() if group is not None else rows.exists()


# Who always sees the group's votes and declared conflicts (besides its members, IV.A.3).
OVERSIGHT_ROLES = frozenset({Role.ADMINISTRATOR, Role.COMPLIANCE})


def _oversees(user: Any, group: GovernanceGroup) -> bool:
    return getattr(user, "role", None) in OVERSIGHT_ROLES or is_member(user, group)


def sees_votes(user: Any, group: GovernanceGroup) -> bool:
    """Vote tallies and who voted how: the group's members, administrators and
    legal/compliance; the practice's other staff when the group's settings allow it."""
    if getattr(user, "role", None) == Role.VENDOR:
        return False
    return group.votes_visible_to_staff or _oversees(user, group)


def sees_conflicts(user: Any, group: GovernanceGroup) -> bool:
    """Declared conflicts of interest (and so the reasons for recusals): as for votes."""
    if getattr(user, "role", None) == Role.VENDOR:
        return False
    return group.conflicts_visible_to_staff or _oversees(user, group)


def visible_conflicts(user: Any) -> QuerySet[ConflictDeclaration]:
    """The declared conflicts ``user`` may read: all of them where some group lets them see
    conflicts (:func:`sees_conflicts`), otherwise only their own."""
    rows = ConflictDeclaration.objects.select_related("user", "product__company")
    if any(sees_conflicts(user, g) for g in GovernanceGroup.objects.all()):
        return rows
    return rows.filter(user_id=getattr(user, "pk", None))


def physician_count(group: GovernanceGroup, *, memberships: Any = None) -> int:
    """Current members who are physicians (``memberships``: the group's, read already)."""
    if memberships is None:
        return group.active_memberships().filter(user__role=Role.PHYSICIAN).count()
    return sum(1 for m in memberships if m.left_on is None and m.user.role == Role.PHYSICIAN)


def _member_on(m: Membership, day: dt.date) -> bool:
    """The rule of ``memberships_on``, for memberships read already."""
    return m.joined_on <= day and (m.left_on is None or m.left_on > day)


def quorums(meetings: list[Meeting]) -> dict[Any, tuple[bool, str]]:
    """``quorum`` of many meetings, their groups' memberships and attendees read once."""
    prefetch_related_objects(meetings, "attendees")
    groups = {m.group_id for m in meetings}
    every = list(Membership.objects.filter(group_id__in=groups).select_related("user"))
    return {
        m.pk: _quorum(
            m, [x for x in every if x.group_id == m.group_id and _member_on(x, m.held_on)]
        )
        for m in meetings
    }


def quorum(meeting: Meeting) -> tuple[bool, str]:
    """IV.A.5: a majority of the members of the day present, at least one of them
    a physician/qualified end-user (III.A.3)."""
    return _quorum(meeting, list(memberships_on(meeting.group, meeting.held_on)))


def _quorum(meeting: Meeting, of_the_day: list[Membership]) -> tuple[bool, str]:
    members = [m.user for m in of_the_day]
    attending = {u.pk for u in meeting.attendees.all()}
    present = [u for u in members if u.pk in attending]
    physicians = [u for u in present if u.role == Role.PHYSICIAN]
    need = len(members) // 2 + 1
    if not members:
        return False, "the group had no members on the day of the meeting"
    if len(present) < need:
        return False, (
            f"{len(present)} of {len(members)} members present; a quorum is a majority ({need})"
        )
    if not physicians:
        return False, (
            "no physician/qualified end-user member present (III.A.3: at least one belongs "
            "to the group)"
        )
    return True, f"{len(present)} of {len(members)} members present, including a physician"


def has_quorum(meeting: Meeting) -> bool:
    return quorum(meeting)[0]


# --- selection (IV.D) --------------------------------------------------------------------------


def criteria_of(group: GovernanceGroup) -> list[Any]:
    """The group's active criteria: clinical, then technical, then business (IV.D.2)."""
    order = [c.value for c in CriterionCategory]
    rows = group.criteria.filter(active=True)
    return sorted(rows, key=lambda c: (order.index(c.category), c.pk))


def comparison(request: ModelRequest) -> dict[str, Any]:
    """The candidates of a request side by side: each criterion's mean score per
    candidate, and the weighted total (sum of weight x mean over the criteria
    scored, divided by their weights: on the 1-5 scale)."""
    candidates = list(Candidate.objects.filter(request=request).select_related("product__company"))
    criteria = criteria_of(request.group)
    scores: dict[tuple[int, int], list[int]] = {}
    for s in Score.objects.filter(candidate__request=request):
        scores.setdefault((s.candidate_id, s.criterion_id), []).append(s.value)
    rows = []
    for c in criteria:
        cells = []
        for cand in candidates:
            values = scores.get((cand.pk, c.pk), [])
            mean = round(sum(values) / len(values), 2) if values else None
            cells.append({"mean": mean, "n": len(values)})
        rows.append(
            {
                "criterion": c.name,
                "category": c.category,
                "weight": float(c.weight),
                "cells": cells,
            }
        )
    totals = []
    for i, cand in enumerate(candidates):
        num, den = Decimal(0), Decimal(0)
        for c, row in zip(criteria, rows, strict=True):
            mean = row["cells"][i]["mean"]
            if mean is not None:
                num += c.weight * Decimal(str(mean))
                den += c.weight
        totals.append(
            {
                "candidate": cand.label,
                "candidate_id": cand.pk,
                "weighted_total": float(round(num / den, 2)) if den else None,
                "criteria_scored": sum(1 for r in rows if r["cells"][i]["mean"] is not None),
            }
        )
    ranked = [t for t in totals if t["weighted_total"] is not None]
    best = max(ranked, key=lambda t: t["weighted_total"])["candidate"] if ranked else None
    return {
        "request_id": request.pk,
        "candidates": [c.label for c in candidates],
        "rows": rows,
        "totals": totals,
        "leader": best,
        "criteria_count": len(criteria),
        "taken_at": timezone.now().isoformat(timespec="seconds"),
    }


# --- meetings ----------------------------------------------------------------------------------


def agenda_with_recusals(meeting: Meeting) -> list[dict[str, Any]]:
    """Each agenda item with the product it concerns and who is recused from it."""
    people = list(meeting.attendees.all()) + [
        m.user for m in memberships_on(meeting.group, meeting.held_on)
    ]
    seen: dict[int, Any] = {u.pk: u for u in people}
    out = []
    for item in meeting.agenda.select_related(
        "request__proposed_product__company",
        "product__company",
        "deployment__model_version__product__company",
    ):
        products = subject_products(item)
        recusals = [
            {"user": user.username, "reason": reason}
            for user, reason in recusals_of(seen.values(), products)
        ]
        out.append(
            {
                "item": item,
                "product": products[0] if products else None,
                "products": products,
                "recusals": recusals,
            }
        )
    return out


def subject_products(subject: Any) -> list[Any]:
    """The products an agenda item or a decision concerns: its product, its
    deployment's, or its request's proposed product and every candidate's."""
    if subject.product_id:
        return [subject.product]
    if subject.deployment_id:
        return [subject.deployment.model_version.product]
    out: list[Any] = []
    if subject.request_id:
        request = subject.request
        if request.proposed_product_id:
            out.append(request.proposed_product)
        for cand in request.candidates.select_related("product__company"):
            if cand.product_id and all(p.pk != cand.product_id for p in out):
                out.append(cand.product)
    return out


def decision_rows(meeting: Meeting) -> list[dict[str, Any]]:
    rows = []
    decisions = meeting.decisions.select_related(
        "deployment__model_version__product__company",
        "product__company",
        "request",
        "recorded_by",
        "reconsiders__meeting",
        "protocol",
    ).prefetch_related("votes__member", "reconsidered_by__meeting")
    for d in decisions:
        votes = sorted(d.votes.all(), key=lambda v: v.member.username)
        tally = {c.value: 0 for c in Choice}
        for v in votes:
            tally[v.choice] += 1
        rows.append(
            {
                "decision": d,
                "votes": votes,
                "tally": tally,
                "outcome": d.outcome,
                "reconsidered_by": list(d.reconsidered_by.all()),
            }
        )
    return rows


def may_approve_minutes(membership: Membership) -> bool:
    """The chair approves the minutes (any member when the group has no chair)."""
    if membership.position == Position.CHAIR:
        return True
    return not membership.group.active_memberships().filter(position=Position.CHAIR).exists()


def meeting_record(meeting: Meeting, *, viewer: Any = None) -> dict[str, Any]:
    """Everything the meeting's page and notes show; ``viewer`` decides whether votes and
    the reasons for recusals (declared conflicts) are shown (None: the full record)."""
    ok, why = quorum(meeting)
    agenda = agenda_with_recusals(meeting)
    members = list(memberships_on(meeting.group, meeting.held_on))
    attendees = list(meeting.attendees.all())
    present = {u.pk for u in attendees}
    full = viewer is None
    return {
        "meeting": meeting,
        "attendees": attendees,
        "members": members,
        "member_ids": {m.user_id for m in members},
        "absent": [m for m in members if m.user_id not in present],
        "quorum": ok,
        "quorum_reason": why,
        "agenda": agenda,
        "recusals": [r for a in agenda for r in a["recusals"]],
        "decisions": decision_rows(meeting),
        "sees_votes": full or sees_votes(viewer, meeting.group),
        "sees_conflicts": full or sees_conflicts(viewer, meeting.group),
    }


def standing(decision: Decision) -> bool:
    """Whether a decision holds: it passed (or was recorded), and no later decision that
    reconsiders it passed."""
    return decision.passed and not any(r.passed for r in decision.reconsidered_by.all())


def with_outcomes(rows: QuerySet[Decision]) -> QuerySet[Decision]:
    """``rows`` with what :func:`standing` reads (votes, and the decisions reconsidering them)."""
    return rows.select_related("meeting").prefetch_related(
        "votes", "reconsidered_by__votes", "reconsidered_by__meeting"
    )


def passed_decisions(kind: str, *, deployment: Any = None, product: Any = None) -> list[Decision]:
    """The standing decisions of ``kind`` about the deployment or the product."""
    q = Q()
    if deployment is not None:
        q |= Q(deployment=deployment)
    if product is not None:
        q |= Q(product=product)
    rows = with_outcomes(Decision.objects.filter(q, kind=kind))
    return [d for d in rows if standing(d)]


def amendment_acceptance(protocol: Any) -> Decision | None:
    """The group's standing decision accepting a protocol amended after results, or None."""
    rows = with_outcomes(
        Decision.objects.filter(kind=DecisionKind.ACCEPT_AMENDMENT, protocol=protocol)
    )
    return next((d for d in rows if standing(d)), None)


VERDICTS = (DecisionKind.APPROVE, DecisionKind.REJECT)


def latest_verdict(deployment: Any) -> Decision | None:
    """The group's latest standing approval or rejection of a deployment."""
    rows = with_outcomes(Decision.objects.filter(deployment=deployment, kind__in=VERDICTS))
    return latest_standing(rows)


def latest_standing(decisions: Any) -> Decision | None:
    """The latest standing decision among ``decisions`` (by meeting date, then recording),
    read with :func:`with_outcomes`'s prefetches."""
    ordered = sorted(
        decisions, key=lambda d: (d.meeting.held_on, d.recorded_at, d.pk), reverse=True
    )
    return next((d for d in ordered if standing(d)), None)


# --- issue reports -----------------------------------------------------------------------------


def review_queue() -> QuerySet[IssueReport]:
    """Issues not yet resolved, most severe and oldest first."""
    order = ["patient_safety", "high", "moderate", "low"]
    rows = IssueReport.objects.filter(status__in=[IssueStatus.OPEN, IssueStatus.TRIAGED])
    rows = rows.select_related(
        "deployment__model_version__product__company", "model_version__product__company", "reporter"
    )
    return sorted(rows, key=lambda r: (order.index(r.severity), r.reported_at))  # type: ignore[return-value]


# --- regulatory checklist (III.H, V) -----------------------------------------------------------


def baa_covers(product: Any, *, on: dt.date | None = None, baas: Any = None) -> bool:
    """Whether a BAA covering PHI with the product's vendor is in force on ``on``
    (``baas``: the BAAs covering PHI, read once for many products)."""
    day = on or timezone.localdate()
    if baas is None:
        baas = Baa.objects.filter(covers_phi=True, signed_on__lte=day)
    for baa in baas:
        if not baa.covers_phi or baa.signed_on > day:
            continue
        if baa.vendor.strip().casefold() != product.vendor.strip().casefold():
            continue
        if baa.expires_on is None or baa.expires_on >= day:
            return True
    return False


NOT_READ = object()


def off_label(product: Any, *, profile: Any = NOT_READ) -> str | None:
    """Why the practice's use of an FDA-regulated product is off-label, or None
    (``profile``: its regulatory profile, when read already)."""
    if profile is NOT_READ:
        profile = RegulatoryProfile.objects.filter(product=product).first()
    if profile is None or not product.is_fda_regulated or not profile.local_use:
        return None
    if profile.local_use == product.category:
        return None
    cleared = product.get_category_display()
    used = dict(type(product)._meta.get_field("category").choices).get(
        profile.local_use, profile.local_use
    )
    return (
        f"V / III.H.1.a: {product} is cleared as {cleared} but used locally as {used}: "
        "off-label use"
    )


def checklist(model_version: Any) -> list[dict[str, Any]]:
    """One line per framework of V (missing ones as not started), then the
    off-label line and the BAA line."""
    product = model_version.product
    items = {
        i.framework: i
        for i in RegulatoryItem.objects.filter(model_version=model_version).select_related(
            "owner", "evidence_document"
        )
    }
    lines = []
    for fw in Framework:
        item = items.get(fw.value)
        status = item.status if item else ItemStatus.NOT_STARTED
        lines.append(
            {
                "key": fw.value,
                "label": fw.label,
                "status": status,
                "status_label": ItemStatus(status).label,
                "ok": status in (ItemStatus.COMPLIANT, ItemStatus.NOT_APPLICABLE),
                "owner": item.owner.username if item and item.owner else "",
                "evidence": item.evidence if item else "",
                "reviewed_on": item.reviewed_on if item else None,
                "item": item,
            }
        )
    profile = RegulatoryProfile.objects.filter(product=product).first()
    why = off_label(product)
    lines.append(
        {
            "key": "off_label",
            "label": "FDA SaMD: local use within the scope of clearance",
            "status": "flagged" if why else "ok",
            "status_label": (
                ("off-label; informed decision recorded" if profile.off_label_decision else why)
                if why and profile
                else ("within clearance" if profile else "no regulatory profile recorded")
            ),
            "ok": (not why or bool(profile and profile.off_label_decision)) and profile is not None,
            "owner": "",
            "evidence": profile.scope_of_clearance if profile else "",
            "reviewed_on": None,
            "item": None,
        }
    )
    phi = bool(profile and profile.phi_reaches_vendor)
    covered = baa_covers(product)
    lines.append(
        {
            "key": "baa",
            "label": "BAA on file when PHI reaches the vendor (HIPAA, V)",
            "status": "ok" if (not phi or covered) else "missing",
            "status_label": (
                "BAA in force"
                if covered
                else ("PHI reaches the vendor and no BAA is on file" if phi else "no PHI to vendor")
            ),
            "ok": (not phi) or covered,
            "owner": "",
            "evidence": "",
            "reviewed_on": None,
            "item": None,
        }
    )
    return lines


def legal_reviews(*, deployment: Any = None, product: Any = None) -> list[Decision]:
    return passed_decisions(DecisionKind.LEGAL_REVIEW, deployment=deployment, product=product)
