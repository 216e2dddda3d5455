"""Meetings: attendance and quorum, the agenda with who is recused from each item, the
decisions and the members' votes (shown as the group's settings allow), the notes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.apps import apps
from django.http import HttpRequest, HttpResponse
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status

from radgov.core.jobs_api import JobOut, accepted
from radgov.core.paging import Page, PageQuery, paginate
from radgov.governance import selectors, services
from radgov.governance.api._lookups import get, inv, opt, users
from radgov.governance.models import AgendaItem, Decision, GovernanceGroup, Meeting, ModelRequest
from radgov.governance.recusal import recusals

router = Router()
QUORUM = "quorum_of_the_day"  # where a meeting keeps its quorum once read


def _quorum(meeting: Meeting) -> tuple[bool, str]:
    if not hasattr(meeting, QUORUM):
        setattr(meeting, QUORUM, selectors.quorum(meeting))
    found: tuple[bool, str] = getattr(meeting, QUORUM)
    return found


def _quorums(meetings: list[Meeting]) -> None:
    """A page of meetings: their quorums read at once."""
    found = selectors.quorums(meetings)
    for m in meetings:
        setattr(m, QUORUM, found[m.pk])


def _viewer(context: Any) -> Any:
    return context["request"].user


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

    @staticmethod
    def resolve_attendees(meeting: Meeting) -> list[str]:
        return [u.username for u in meeting.attendees.all()]

    @staticmethod
    def resolve_has_quorum(meeting: Meeting) -> bool:
        return _quorum(meeting)[0]

    @staticmethod
    def resolve_quorum(meeting: Meeting) -> str:
        return _quorum(meeting)[1]

    @staticmethod
    def resolve_closed_by(meeting: Meeting) -> str | None:
        return meeting.closed_by.username if meeting.closed_by else None


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
    member: str = Field(alias="member.username")
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
    final: bool = Field(alias="is_final")
    reconsiders_id: int | None
    reconsidered_by: list[int]
    tally: dict[str, int] | None = Field(
        description="null when the caller's role may not see votes (the group's settings)"
    )
    votes: list[VoteOut] | None
    comparison: dict[str, Any] | None

    @staticmethod
    def resolve_recorded_by(decision: Decision) -> str | None:
        return decision.recorded_by.username if decision.recorded_by else None

    @staticmethod
    def resolve_reconsidered_by(decision: Decision) -> list[int]:
        return [r.pk for r in decision.reconsidered_by.all()]

    @staticmethod
    def resolve_tally(decision: Decision, context: Any) -> dict[str, int] | None:
        shown = selectors.sees_votes(_viewer(context), decision.meeting.group)
        return decision.tally() if shown else None

    @staticmethod
    def resolve_votes(decision: Decision, context: Any) -> list[Any] | None:
        shown = selectors.sees_votes(_viewer(context), decision.meeting.group)
        return list(decision.votes.all()) if shown else None


class MeetingDetailOut(MeetingOut):
    agenda: list[AgendaItemOut]
    decisions: list[DecisionOut]

    @staticmethod
    def resolve_agenda(meeting: Meeting, context: Any) -> list[dict[str, Any]]:
        shown = selectors.sees_conflicts(_viewer(context), meeting.group)
        return [
            _agenda_item(row["item"], row["recusals"] if shown else None)
            for row in selectors.agenda_with_recusals(meeting)
        ]

    @staticmethod
    def resolve_decisions(meeting: Meeting) -> list[Decision]:
        return list(meeting.decisions.all())


def _agenda_item(item: AgendaItem, recused: list[dict[str, str]] | None) -> dict[str, Any]:
    fields = ("order", "title", "request_id", "product_id", "deployment_id", "discussion")
    return {"id": item.pk, **{f: getattr(item, f) for f in fields}, "recused": recused}


class VoteIn(Schema):
    choice: str


class MeetingFilter(FilterSchema):
    group: Annotated[int | None, FilterLookup("group_id")] = None
    held_from: Annotated[dt.date | None, FilterLookup("held_on__gte")] = None
    held_until: Annotated[dt.date | None, FilterLookup("held_on__lte")] = None


@router.get("/meetings", response=Page[MeetingOut])
def list_meetings(
    request: HttpRequest, filters: Query[MeetingFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    rows = Meeting.objects.prefetch_related("attendees").order_by("-held_on", "-pk")
    return paginate(filters.filter(rows), page, prepare=_quorums)


@router.post("/meetings", response={201: MeetingOut})
def create_meeting(request: HttpRequest, payload: MeetingIn) -> Status[Meeting]:
    m = services.create_meeting(
        request.user,
        get(GovernanceGroup, payload.group_id, "governance group"),
        held_on=payload.held_on,
        title=payload.title,
        attendees=users(payload.attendee_ids),
        notes=payload.notes,
    )
    return Status(201, m)


@router.get("/meetings/{meeting_id}", response=MeetingDetailOut)
def get_meeting(request: HttpRequest, meeting_id: int) -> Meeting:
    return get(Meeting, meeting_id, "meeting")


@router.post("/meetings/{meeting_id}/attendees", response=MeetingOut)
def set_attendees(request: HttpRequest, meeting_id: int, payload: AttendeesIn) -> Meeting:
    m = get(Meeting, meeting_id, "meeting")
    services.set_attendees(request.user, m, users(payload.attendee_ids))
    return m


@router.post("/meetings/{meeting_id}/notes", response=MeetingOut)
def record_notes(request: HttpRequest, meeting_id: int, payload: NotesIn) -> Meeting:
    m = get(Meeting, meeting_id, "meeting")
    return services.record_notes(request.user, m, payload.notes)


@router.post("/meetings/{meeting_id}/agenda", response={201: AgendaItemOut})
def add_agenda_item(
    request: HttpRequest, meeting_id: int, payload: AgendaItemIn
) -> Status[dict[str, Any]]:
    m = get(Meeting, meeting_id, "meeting")
    item = services.add_agenda_item(
        request.user,
        m,
        title=payload.title,
        request=opt(ModelRequest, payload.request_id, "request"),
        product=opt(inv("Product"), payload.product_id, "product"),
        deployment=opt(inv("Deployment"), payload.deployment_id, "deployment"),
        discussion=payload.discussion,
    )
    recused = [
        {"user": u.username, "reason": why}
        for u, why in recusals(m.attendees.all(), selectors.subject_products(item))
    ]
    return Status(201, _agenda_item(item, recused))


@router.post("/meetings/{meeting_id}/decisions", response={201: DecisionOut})
def record_decision(request: HttpRequest, meeting_id: int, payload: DecisionIn) -> Status[Decision]:
    m = get(Meeting, meeting_id, "meeting")
    d = services.record_decision(
        request.user,
        m,
        kind=payload.kind,
        motion=payload.motion,
        rationale=payload.rationale,
        agenda_item=opt(AgendaItem, payload.agenda_item_id, "agenda item"),
        deployment=opt(inv("Deployment"), payload.deployment_id, "deployment"),
        product=opt(inv("Product"), payload.product_id, "product"),
        request=opt(ModelRequest, payload.request_id, "request"),
        justification=payload.justification,
        determination=payload.determination,
        reconsiders=opt(Decision, payload.reconsiders_id, "decision"),
        protocol=opt(
            apps.get_model("evaluation", "AcceptanceProtocol"), payload.protocol_id, "protocol"
        ),
    )
    return Status(201, d)


@router.post("/meetings/{meeting_id}/close", response=MeetingOut)
def close_meeting(request: HttpRequest, meeting_id: int) -> Meeting:
    """The chair approves the minutes: the meeting closes and its decisions are final."""
    return services.close_meeting(request.user, get(Meeting, meeting_id, "meeting"))


@router.get("/decisions/{decision_id}", response=DecisionOut)
def get_decision(request: HttpRequest, decision_id: int) -> Decision:
    return get(Decision, decision_id, "decision")


@router.post("/decisions/{decision_id}/votes", response=DecisionOut)
def cast_vote(request: HttpRequest, decision_id: int, payload: VoteIn) -> Decision:
    d = get(Decision, decision_id, "decision")
    services.cast_vote(request.user, d, payload.choice)
    return d


@router.post("/meetings/{meeting_id}/notes.pdf", response={202: JobOut})
def meeting_notes_pdf(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """Queue the meeting notes as a PDF: 202 with the job to follow at ``/api/jobs/{id}``."""
    m = get(Meeting, meeting_id, "meeting")
    return accepted(request, "governance.meeting_notes_pdf", {"meeting": m.pk})
