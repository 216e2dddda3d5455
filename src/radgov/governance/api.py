"""The governance group's API: /api/governance/.  Every write calls a service;
a broken rule answers 422 (403 when the caller lacks the role or capacity) with
the rule and its clause as the problem's detail, and nothing changes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.http import HttpRequest, HttpResponse
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status

from radgov.core.errors import NotFound
from radgov.core.jobs_api import JobOut, accepted
from radgov.core.paging import Page, PageQuery, paginate
from radgov.governance import selectors, services
from radgov.governance.conformance.api import router as conformance_router
from radgov.governance.models import (
    AgendaItem,
    Baa,
    Candidate,
    ConflictDeclaration,
    Decision,
    GovernanceGroup,
    IssueReport,
    Meeting,
    Membership,
    ModelRequest,
    SelectionCriterion,
)
from radgov.governance.recusal import recusals
from radgov.inventory import selectors as inventory

router = Router(tags=["governance"])
M = TypeVar("M", bound=models.Model)


def _get(model: type[M] | models.QuerySet[M], pk: int | None, kind: str) -> M:
    """The row (of a model, or of a queryset of what the caller may see), or 404."""
    rows = model if isinstance(model, models.QuerySet) else model._default_manager.all()
    row = rows.filter(pk=pk).first() if pk is not None else None
    if row is None:
        raise NotFound(f"no {kind} {pk}")
    return row


def _opt(model: type[M] | models.QuerySet[M], pk: int | None, kind: str) -> M | None:
    return None if pk is None else _get(model, pk, kind)


def _inv(name: str) -> Any:
    return apps.get_model("inventory", name)


# --- schemas -----------------------------------------------------------------------------------


class MemberOut(Schema):
    membership_id: int
    user_id: int
    username: str
    role: str
    position: str
    joined_on: dt.date
    left_on: dt.date | None


class GroupOut(Schema):
    id: int
    name: str
    charter: str
    members: list[MemberOut]
    physician_members: int
    votes_visible_to_staff: bool
    conflicts_visible_to_staff: bool


class MemberIn(Schema):
    user_id: int
    position: str = "member"


class GroupSettingsIn(Schema):
    votes_visible_to_staff: bool
    conflicts_visible_to_staff: bool


class GroupIn(Schema):
    name: str
    charter: str = ""
    members: list[MemberIn]


class ChampionIn(Schema):
    champion: bool = True


class UserCapacityOut(Schema):
    id: int
    username: str
    capacities: list[str]


class ConflictIn(Schema):
    user_id: int | None = None
    product_id: int | None = None
    vendor: str = ""
    description: str
    declared_on: dt.date | None = None


class ConflictOut(Schema):
    id: int
    user_id: int
    username: str
    product_id: int | None
    vendor: str
    subject: str
    description: str
    declared_on: dt.date


class RequestIn(Schema):
    group_id: int
    clinical_need: str
    proposed_product_id: int | None = None
    candidate_name: str = ""
    expected_benefit: str = ""


class RequestOut(Schema):
    id: int
    group_id: int
    champion: str
    clinical_need: str
    proposed_product_id: int | None
    candidate_name: str
    expected_benefit: str
    status: str
    decision_id: int | None


class StatusIn(Schema):
    status: str
    decision_id: int | None = None


class MeetingIn(Schema):
    group_id: int
    held_on: dt.date
    title: str = "Governance group meeting"
    attendee_ids: list[int] = []
    notes: str = ""


class AttendeesIn(Schema):
    attendee_ids: list[int]


class NotesIn(Schema):
    notes: str


class MeetingOut(Schema):
    id: int
    group_id: int
    held_on: dt.date
    title: str
    attendees: list[str]
    has_quorum: bool
    quorum: str
    notes: str
    closed_at: dt.datetime | None
    closed_by: str | None


class RecusalOut(Schema):
    user: str
    reason: str


class AgendaItemIn(Schema):
    title: str
    request_id: int | None = None
    product_id: int | None = None
    deployment_id: int | None = None
    discussion: str = ""


class AgendaItemOut(Schema):
    id: int
    order: int
    title: str
    request_id: int | None
    product_id: int | None
    deployment_id: int | None
    discussion: str
    recused: list[RecusalOut] | None = Field(
        description="null when the caller's role may not see declared conflicts"
    )


class VoteOut(Schema):
    member: str
    choice: str


class DecisionIn(Schema):
    kind: str
    motion: str
    rationale: str
    agenda_item_id: int | None = None
    deployment_id: int | None = None
    product_id: int | None = None
    request_id: int | None = None
    justification: str = ""
    determination: str = ""
    reconsiders_id: int | None = None
    protocol_id: int | None = Field(
        None, description="the protocol amended after results that an accept_amendment accepts"
    )


class DecisionOut(Schema):
    id: int
    meeting_id: int
    kind: str
    motion: str
    rationale: str
    justification: str
    determination: str
    deployment_id: int | None
    product_id: int | None
    request_id: int | None
    protocol_id: int | None
    recorded_by: str | None
    outcome: str
    final: bool
    reconsiders_id: int | None
    reconsidered_by: list[int]
    tally: dict[str, int] | None = Field(
        description="null when the caller's role may not see votes (the group's settings)"
    )
    votes: list[VoteOut] | None
    comparison: dict[str, Any] | None


class MeetingDetailOut(MeetingOut):
    agenda: list[AgendaItemOut]
    decisions: list[DecisionOut]


class VoteIn(Schema):
    choice: str


class CriterionIn(Schema):
    group_id: int
    category: str
    name: str
    weight: float
    description: str = ""


class CriterionOut(Schema):
    id: int
    group_id: int
    category: str
    name: str
    weight: float
    description: str


class CandidateIn(Schema):
    product_id: int | None = None
    name: str = ""


class CandidateOut(Schema):
    id: int
    request_id: int
    product_id: int | None
    label: str


class ScoreIn(Schema):
    criterion_id: int
    value: int
    comment: str = ""


class ScoreOut(Schema):
    id: int
    candidate_id: int
    criterion_id: int
    member: str
    value: int
    comment: str


class IssueIn(Schema):
    description: str
    deployment_id: int | None = None
    model_version_id: int | None = None
    severity: str = "moderate"


class IssueUpdateIn(Schema):
    status: str
    resolution: str = ""


class IssueOut(Schema):
    id: int
    reporter: str | None
    deployment_id: int | None
    model_version_id: int | None
    description: str
    severity: str
    status: str
    resolution: str


class ChecklistLineOut(Schema):
    key: str
    label: str
    status: str
    status_label: str
    ok: bool
    owner: str
    evidence: str
    reviewed_on: dt.date | None


class RegulatoryItemIn(Schema):
    framework: str
    status: str
    owner_id: int | None = None
    evidence: str = ""
    evidence_document_id: int | None = None
    reviewed_on: dt.date | None = None


class ProfileIn(Schema):
    local_use: str
    scope_of_clearance: str = ""
    off_label_decision: str = ""
    phi_reaches_vendor: bool = False


class ProfileOut(Schema):
    product_id: int
    local_use: str
    scope_of_clearance: str
    off_label_decision: str
    phi_reaches_vendor: bool
    off_label: str | None
    baa_on_file: bool


class BaaIn(Schema):
    vendor: str
    signed_on: dt.date
    covers_phi: bool = True
    expires_on: dt.date | None = None
    document_reference: str = ""
    notes: str = ""


class BaaOut(Schema):
    id: int
    vendor: str
    covers_phi: bool
    signed_on: dt.date
    expires_on: dt.date | None
    document_reference: str


# --- converters --------------------------------------------------------------------------------


def _member_out(m: Membership) -> MemberOut:
    return MemberOut(
        membership_id=m.pk,
        user_id=m.user_id,
        username=m.user.username,
        role=m.user.role,
        position=m.position,
        joined_on=m.joined_on,
        left_on=m.left_on,
    )


def _group_out(g: GovernanceGroup) -> GroupOut:
    rows = getattr(g, "roster_rows", None)  # read for a whole list
    members = list(selectors.roster(g)) if rows is None else rows
    return GroupOut(
        id=g.pk,
        name=g.name,
        charter=g.charter,
        members=[_member_out(m) for m in members],
        physician_members=selectors.physician_count(g, memberships=members),
        votes_visible_to_staff=g.votes_visible_to_staff,
        conflicts_visible_to_staff=g.conflicts_visible_to_staff,
    )


def _conflict_out(c: ConflictDeclaration) -> ConflictOut:
    return ConflictOut(
        id=c.pk,
        user_id=c.user_id,
        username=c.user.username,
        product_id=c.product_id,
        vendor=c.vendor,
        subject=c.subject,
        description=c.description,
        declared_on=c.declared_on,
    )


def _request_out(r: ModelRequest) -> RequestOut:
    return RequestOut(
        id=r.pk,
        group_id=r.group_id,
        champion=r.champion.username,
        clinical_need=r.clinical_need,
        proposed_product_id=r.proposed_product_id,
        candidate_name=r.candidate_name,
        expected_benefit=r.expected_benefit,
        status=r.status,
        decision_id=r.decision_id,
    )


def _meeting_out(m: Meeting, quorum: tuple[bool, str] | None = None) -> MeetingOut:
    ok, why = quorum or selectors.quorum(m)
    return MeetingOut(
        id=m.pk,
        group_id=m.group_id,
        held_on=m.held_on,
        title=m.title,
        attendees=[u.username for u in m.attendees.all()],
        has_quorum=ok,
        quorum=why,
        notes=m.notes,
        closed_at=m.closed_at,
        closed_by=m.closed_by.username if m.closed_by else None,
    )


def _decision_out(d: Decision, viewer: Any) -> DecisionOut:
    shown = selectors.sees_votes(viewer, d.meeting.group)
    return DecisionOut(
        id=d.pk,
        meeting_id=d.meeting_id,
        kind=d.kind,
        motion=d.motion,
        rationale=d.rationale,
        justification=d.justification,
        determination=d.determination,
        deployment_id=d.deployment_id,
        product_id=d.product_id,
        request_id=d.request_id,
        protocol_id=d.protocol_id,
        recorded_by=d.recorded_by.username if d.recorded_by else None,
        outcome=d.outcome,
        final=d.is_final,
        reconsiders_id=d.reconsiders_id,
        reconsidered_by=[r.pk for r in d.reconsidered_by.all()],
        tally=d.tally() if shown else None,
        votes=(
            [VoteOut(member=v.member.username, choice=v.choice) for v in d.votes.all()]
            if shown
            else None
        ),
        comparison=d.comparison,
    )


def _issue_out(i: IssueReport) -> IssueOut:
    return IssueOut(
        id=i.pk,
        reporter=i.reporter.username if i.reporter else None,
        deployment_id=i.deployment_id,
        model_version_id=i.model_version_id,
        description=i.description,
        severity=i.severity,
        status=i.status,
        resolution=i.resolution,
    )


def _criterion_out(c: SelectionCriterion) -> CriterionOut:
    return CriterionOut(
        id=c.pk,
        group_id=c.group_id,
        category=c.category,
        name=c.name,
        weight=float(c.weight),
        description=c.description,
    )


def _profile_out(p: Any) -> ProfileOut:
    return ProfileOut(
        product_id=p.product_id,
        local_use=p.local_use,
        scope_of_clearance=p.scope_of_clearance,
        off_label_decision=p.off_label_decision,
        phi_reaches_vendor=p.phi_reaches_vendor,
        off_label=selectors.off_label(p.product),
        baa_on_file=selectors.baa_covers(p.product),
    )


def _users(ids: list[int]) -> list[Any]:
    return [_get(get_user_model(), pk, "user") for pk in ids]


# --- the group (administrators manage it: /admin/...) ------------------------------------------


@router.get("/groups", response=Page[GroupOut])
def list_groups(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    roster = Membership.objects.select_related("user").order_by(*selectors.ROSTER_ORDER)
    rows = GovernanceGroup.objects.order_by("name", "pk").prefetch_related(
        models.Prefetch("memberships", queryset=roster, to_attr="roster_rows")
    )
    return paginate(rows, page, _group_out)


@router.get("/groups/{group_id}", response=GroupOut)
def get_group(request: HttpRequest, group_id: int) -> GroupOut:
    return _group_out(_get(GovernanceGroup, group_id, "governance group"))


@router.post("/admin/groups", response={201: GroupOut})
def create_group(request: HttpRequest, payload: GroupIn) -> Status[GroupOut]:
    members = [(_get(get_user_model(), m.user_id, "user"), m.position) for m in payload.members]
    group = services.create_group(
        request.user,
        name=payload.name,
        charter=payload.charter,
        members=members,
    )
    return Status(201, _group_out(group))


@router.post("/admin/groups/{group_id}/settings", response=GroupOut)
def update_group_settings(
    request: HttpRequest, group_id: int, payload: GroupSettingsIn
) -> GroupOut:
    group = _get(GovernanceGroup, group_id, "governance group")
    return _group_out(
        services.update_group_settings(
            request.user,
            group,
            votes_visible_to_staff=payload.votes_visible_to_staff,
            conflicts_visible_to_staff=payload.conflicts_visible_to_staff,
        )
    )


@router.post("/admin/groups/{group_id}/members", response={201: MemberOut})
def add_member(request: HttpRequest, group_id: int, payload: MemberIn) -> Status[MemberOut]:
    group = _get(GovernanceGroup, group_id, "governance group")
    user = _get(get_user_model(), payload.user_id, "user")
    m = services.add_member(request.user, group, user, position=payload.position)
    return Status(201, _member_out(m))


@router.post("/admin/memberships/{membership_id}/remove", response=MemberOut)
def remove_member(request: HttpRequest, membership_id: int) -> MemberOut:
    m = _get(Membership, membership_id, "membership")
    return _member_out(services.remove_member(request.user, m))


@router.post("/admin/champions/{user_id}", response=UserCapacityOut)
def designate_champion(request: HttpRequest, user_id: int, payload: ChampionIn) -> UserCapacityOut:
    user = _get(get_user_model(), user_id, "user")
    services.designate_champion(request.user, user, champion=payload.champion)
    return UserCapacityOut(id=user.pk, username=user.username, capacities=user.capacities)


# --- conflicts ---------------------------------------------------------------------------------


class ConflictFilter(FilterSchema):
    user: Annotated[int | None, FilterLookup("user_id")] = None
    product: Annotated[int | None, FilterLookup("product_id")] = None
    vendor: Annotated[str | None, FilterLookup("vendor__icontains")] = None


@router.get("/conflicts", response=Page[ConflictOut])
def list_conflicts(
    request: HttpRequest, filters: Query[ConflictFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    """Every declared conflict for the group's members, administrators and legal/compliance
    (and all staff when the group allows it); otherwise the caller's own declarations."""
    rows = selectors.visible_conflicts(request.user).order_by("-pk")
    return paginate(filters.filter(rows), page, _conflict_out)


@router.post("/conflicts", response={201: ConflictOut})
def declare_conflict(request: HttpRequest, payload: ConflictIn) -> Status[ConflictOut]:
    holder = _get(get_user_model(), payload.user_id, "user") if payload.user_id else request.user
    c = services.declare_conflict(
        request.user,
        holder,
        product=_opt(_inv("Product"), payload.product_id, "product"),
        vendor=payload.vendor,
        description=payload.description,
        declared_on=payload.declared_on,
    )
    return Status(201, _conflict_out(c))


# --- requests and selection --------------------------------------------------------------------


class RequestFilter(FilterSchema):
    status: str | None = None
    group: Annotated[int | None, FilterLookup("group_id")] = None
    champion: Annotated[int | None, FilterLookup("champion_id")] = None


@router.get("/requests", response=Page[RequestOut])
def list_requests(
    request: HttpRequest, filters: Query[RequestFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    rows = ModelRequest.objects.select_related("champion").order_by("-pk")
    return paginate(filters.filter(rows), page, _request_out)


@router.post("/requests", response={201: RequestOut})
def submit_request(request: HttpRequest, payload: RequestIn) -> Status[RequestOut]:
    r = services.submit_request(
        request.user,
        _get(GovernanceGroup, payload.group_id, "governance group"),
        clinical_need=payload.clinical_need,
        proposed_product=_opt(_inv("Product"), payload.proposed_product_id, "product"),
        candidate_name=payload.candidate_name,
        expected_benefit=payload.expected_benefit,
    )
    return Status(201, _request_out(r))


@router.get("/requests/{request_id}", response=RequestOut)
def get_request(request: HttpRequest, request_id: int) -> RequestOut:
    return _request_out(_get(ModelRequest, request_id, "request"))


@router.post("/requests/{request_id}/status", response=RequestOut)
def set_request_status(request: HttpRequest, request_id: int, payload: StatusIn) -> RequestOut:
    r = _get(ModelRequest, request_id, "request")
    decision = _opt(Decision, payload.decision_id, "decision")
    services.set_request_status(request.user, r, status=payload.status, decision=decision)
    return _request_out(r)


class CriterionFilter(FilterSchema):
    group: Annotated[int | None, FilterLookup("group_id")] = None
    category: str | None = None


@router.get("/criteria", response=Page[CriterionOut])
def list_criteria(
    request: HttpRequest, filters: Query[CriterionFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    rows = SelectionCriterion.objects.filter(active=True).order_by("category", "name", "pk")
    return paginate(filters.filter(rows), page, _criterion_out)


@router.post("/criteria", response={201: CriterionOut})
def define_criterion(request: HttpRequest, payload: CriterionIn) -> Status[CriterionOut]:
    c = services.define_criterion(
        request.user,
        _get(GovernanceGroup, payload.group_id, "governance group"),
        category=payload.category,
        name=payload.name,
        weight=payload.weight,
        description=payload.description,
    )
    return Status(201, _criterion_out(c))


@router.post("/requests/{request_id}/candidates", response={201: CandidateOut})
def add_candidate(
    request: HttpRequest, request_id: int, payload: CandidateIn
) -> Status[CandidateOut]:
    c = services.add_candidate(
        request.user,
        _get(ModelRequest, request_id, "request"),
        product=_opt(_inv("Product"), payload.product_id, "product"),
        name=payload.name,
    )
    return Status(
        201, CandidateOut(id=c.pk, request_id=c.request_id, product_id=c.product_id, label=c.label)
    )


@router.post("/candidates/{candidate_id}/scores", response={201: ScoreOut})
def score_candidate(request: HttpRequest, candidate_id: int, payload: ScoreIn) -> Status[ScoreOut]:
    s = services.score_candidate(
        request.user,
        _get(Candidate, candidate_id, "candidate"),
        _get(SelectionCriterion, payload.criterion_id, "criterion"),
        payload.value,
        comment=payload.comment,
    )
    return Status(
        201,
        ScoreOut(
            id=s.pk,
            candidate_id=s.candidate_id,
            criterion_id=s.criterion_id,
            member=s.member.username,
            value=s.value,
            comment=s.comment,
        ),
    )


@router.get("/requests/{request_id}/comparison", response=dict[str, Any])
def get_comparison(request: HttpRequest, request_id: int) -> dict[str, Any]:
    return selectors.comparison(_get(ModelRequest, request_id, "request"))


# --- meetings, decisions, votes ----------------------------------------------------------------


class MeetingFilter(FilterSchema):
    group: Annotated[int | None, FilterLookup("group_id")] = None
    held_from: Annotated[dt.date | None, FilterLookup("held_on__gte")] = None
    held_until: Annotated[dt.date | None, FilterLookup("held_on__lte")] = None


@router.get("/meetings", response=Page[MeetingOut])
def list_meetings(
    request: HttpRequest, filters: Query[MeetingFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    rows = Meeting.objects.prefetch_related("attendees").order_by("-held_on", "-pk")
    found: dict[Any, tuple[bool, str]] = {}
    return paginate(
        filters.filter(rows),
        page,
        lambda m: _meeting_out(m, found[m.pk]),
        prepare=lambda chunk: found.update(selectors.quorums(chunk)),
    )


@router.post("/meetings", response={201: MeetingOut})
def create_meeting(request: HttpRequest, payload: MeetingIn) -> Status[MeetingOut]:
    m = services.create_meeting(
        request.user,
        _get(GovernanceGroup, payload.group_id, "governance group"),
        held_on=payload.held_on,
        title=payload.title,
        attendees=_users(payload.attendee_ids),
        notes=payload.notes,
    )
    return Status(201, _meeting_out(m))


@router.get("/meetings/{meeting_id}", response=MeetingDetailOut)
def get_meeting(request: HttpRequest, meeting_id: int) -> MeetingDetailOut:
    m = _get(Meeting, meeting_id, "meeting")
    conflicts_shown = selectors.sees_conflicts(request.user, m.group)
    agenda = [
        AgendaItemOut(
            id=row["item"].pk,
            order=row["item"].order,
            title=row["item"].title,
            request_id=row["item"].request_id,
            product_id=row["item"].product_id,
            deployment_id=row["item"].deployment_id,
            discussion=row["item"].discussion,
            recused=[RecusalOut(**r) for r in row["recusals"]] if conflicts_shown else None,
        )
        for row in selectors.agenda_with_recusals(m)
    ]
    return MeetingDetailOut(
        **_meeting_out(m).dict(),
        agenda=agenda,
        decisions=[_decision_out(d, request.user) for d in m.decisions.all()],
    )


@router.post("/meetings/{meeting_id}/attendees", response=MeetingOut)
def set_attendees(request: HttpRequest, meeting_id: int, payload: AttendeesIn) -> MeetingOut:
    m = _get(Meeting, meeting_id, "meeting")
    services.set_attendees(request.user, m, _users(payload.attendee_ids))
    return _meeting_out(m)


@router.post("/meetings/{meeting_id}/notes", response=MeetingOut)
def record_notes(request: HttpRequest, meeting_id: int, payload: NotesIn) -> MeetingOut:
    m = _get(Meeting, meeting_id, "meeting")
    return _meeting_out(services.record_notes(request.user, m, payload.notes))


@router.post("/meetings/{meeting_id}/agenda", response={201: AgendaItemOut})
def add_agenda_item(
    request: HttpRequest, meeting_id: int, payload: AgendaItemIn
) -> Status[AgendaItemOut]:
    m = _get(Meeting, meeting_id, "meeting")
    item = services.add_agenda_item(
        request.user,
        m,
        title=payload.title,
        request=_opt(ModelRequest, payload.request_id, "request"),
        product=_opt(_inv("Product"), payload.product_id, "product"),
        deployment=_opt(_inv("Deployment"), payload.deployment_id, "deployment"),
        discussion=payload.discussion,
    )
    recused = [
        RecusalOut(user=u.username, reason=why)
        for u, why in recusals(m.attendees.all(), selectors.subject_products(item))
    ]
    return Status(
        201,
        AgendaItemOut(
            id=item.pk,
            order=item.order,
            title=item.title,
            request_id=item.request_id,
            product_id=item.product_id,
            deployment_id=item.deployment_id,
            discussion=item.discussion,
            recused=recused,
        ),
    )


@router.post("/meetings/{meeting_id}/decisions", response={201: DecisionOut})
def record_decision(
    request: HttpRequest, meeting_id: int, payload: DecisionIn
) -> Status[DecisionOut]:
    m = _get(Meeting, meeting_id, "meeting")
    d = services.record_decision(
        request.user,
        m,
        kind=payload.kind,
        motion=payload.motion,
        rationale=payload.rationale,
        agenda_item=_opt(AgendaItem, payload.agenda_item_id, "agenda item"),
        deployment=_opt(_inv("Deployment"), payload.deployment_id, "deployment"),
        product=_opt(_inv("Product"), payload.product_id, "product"),
        request=_opt(ModelRequest, payload.request_id, "request"),
        justification=payload.justification,
        determination=payload.determination,
        reconsiders=_opt(Decision, payload.reconsiders_id, "decision"),
        protocol=_opt(
            apps.get_model("evaluation", "AcceptanceProtocol"), payload.protocol_id, "protocol"
        ),
    )
    return Status(201, _decision_out(d, request.user))


@router.post("/meetings/{meeting_id}/close", response=MeetingOut)
def close_meeting(request: HttpRequest, meeting_id: int) -> MeetingOut:
    """The chair approves the minutes: the meeting closes and its decisions are final."""
    m = _get(Meeting, meeting_id, "meeting")
    return _meeting_out(services.close_meeting(request.user, m))


@router.get("/decisions/{decision_id}", response=DecisionOut)
def get_decision(request: HttpRequest, decision_id: int) -> DecisionOut:
    return _decision_out(_get(Decision, decision_id, "decision"), request.user)


@router.post("/decisions/{decision_id}/votes", response=DecisionOut)
def cast_vote(request: HttpRequest, decision_id: int, payload: VoteIn) -> DecisionOut:
    d = _get(Decision, decision_id, "decision")
    services.cast_vote(request.user, d, payload.choice)
    return _decision_out(d, request.user)


@router.post("/meetings/{meeting_id}/notes.pdf", response={202: JobOut})
def meeting_notes_pdf(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """Queue the meeting notes as a PDF: 202 with the job to follow at ``/api/jobs/{id}``."""
    m = _get(Meeting, meeting_id, "meeting")
    return accepted(request, "governance.meeting_notes_pdf", {"meeting": m.pk})


# --- issue reports -----------------------------------------------------------------------------


class IssueFilter(FilterSchema):
    status: str | None = None
    severity: str | None = None
    deployment: Annotated[int | None, FilterLookup("deployment_id")] = None
    model_version: Annotated[int | None, FilterLookup("model_version_id")] = None


@router.get("/issues", response=Page[IssueOut])
def list_issues(
    request: HttpRequest, filters: Query[IssueFilter], page: Query[PageQuery], queue: bool = False
) -> dict[str, Any]:
    """``queue=true``: the unresolved ones, most severe and oldest first."""
    if queue:
        return paginate(selectors.review_queue(), page, _issue_out)
    rows = IssueReport.objects.select_related("reporter").order_by("-pk")
    return paginate(filters.filter(rows), page, _issue_out)


@router.post("/issue-reports", response={201: IssueOut})
def report_issue(request: HttpRequest, payload: IssueIn) -> Status[IssueOut]:
    i = services.report_issue(
        request.user,
        description=payload.description,
        deployment=_opt(
            inventory.visible_deployments(request.user), payload.deployment_id, "deployment"
        ),
        model_version=_opt(
            inventory.visible_versions(request.user), payload.model_version_id, "model version"
        ),
        severity=payload.severity,
    )
    return Status(201, _issue_out(i))


@router.post("/issues/{issue_id}", response=IssueOut)
def update_issue(request: HttpRequest, issue_id: int, payload: IssueUpdateIn) -> IssueOut:
    i = _get(IssueReport, issue_id, "issue report")
    services.update_issue(request.user, i, status=payload.status, resolution=payload.resolution)
    return _issue_out(i)


# --- regulatory checklist ----------------------------------------------------------------------


@router.get("/model-versions/{version_id}/checklist", response=list[ChecklistLineOut])
def get_checklist(request: HttpRequest, version_id: int) -> list[ChecklistLineOut]:
    version = _get(_inv("ModelVersion"), version_id, "model version")
    return [
        ChecklistLineOut(**{k: v for k, v in line.items() if k != "item"})
        for line in selectors.checklist(version)
    ]


@router.post("/model-versions/{version_id}/checklist", response=list[ChecklistLineOut])
def set_regulatory_item(
    request: HttpRequest, version_id: int, payload: RegulatoryItemIn
) -> list[ChecklistLineOut]:
    version = _get(_inv("ModelVersion"), version_id, "model version")
    services.set_regulatory_item(
        request.user,
        version,
        payload.framework,
        status=payload.status,
        owner=_opt(get_user_model(), payload.owner_id, "user"),
        evidence=payload.evidence,
        evidence_document=_opt(_inv("Document"), payload.evidence_document_id, "document"),
        reviewed_on=payload.reviewed_on,
    )
    return get_checklist(request, version_id)


@router.post("/products/{product_id}/regulatory-profile", response=ProfileOut)
def set_regulatory_profile(request: HttpRequest, product_id: int, payload: ProfileIn) -> ProfileOut:
    product = _get(_inv("Product"), product_id, "product")
    p = services.set_regulatory_profile(request.user, product, **payload.dict())
    return _profile_out(p)


class BaaFilter(FilterSchema):
    vendor: Annotated[str | None, FilterLookup("vendor__icontains")] = None
    covers_phi: bool | None = None


@router.get("/baas", response=Page[BaaOut])
def list_baas(
    request: HttpRequest, filters: Query[BaaFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    return paginate(filters.filter(Baa.objects.order_by("vendor", "pk")), page)


@router.post("/baas", response={201: BaaOut})
def record_baa(request: HttpRequest, payload: BaaIn) -> Status[Baa]:
    return Status(201, services.record_baa(request.user, **payload.dict()))


router.add_router("/conformance", conformance_router)
