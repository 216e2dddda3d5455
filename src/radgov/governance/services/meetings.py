"""Meetings of the governance group (IV.A.5): attendance, notes, the agenda, decisions with
their rationale, votes, and the chair's approval of the minutes that makes them final."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, TypeVar

from django.utils import timezone

from radgov.core.bounds import planned_refusal
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.governance import selectors
from radgov.governance.models import (
    RECORD_KINDS_VALUES,
    AgendaItem,
    Choice,
    Decision,
    DecisionKind,
    GovernanceGroup,
    Meeting,
    ModelRequest,
    Position,
    RequestStatus,
    Vote,
)
from radgov.governance.recusal import recused_from_any
from radgov.governance.services import common
from radgov.governance.services.common import PHYSICIAN_RULE
from radgov.governance.services.errors import GovernanceError, GovernancePermissionError

Written = TypeVar("Written", Meeting, AgendaItem)


def _require_open(meeting: Meeting, what: str) -> None:
    """IV.A.5: a closed meeting's record is final."""
    if meeting.is_closed:
        raise GovernanceError(
            f"IV.A.5: {meeting} closed on {meeting.closed_at:%Y-%m-%d} when its minutes were "
            f"approved; its decisions are final and {what} is refused. To change an outcome, "
            "record a new decision at a later meeting that reconsiders the old one"
        )


def _require_member_while_open(actor: Any, meeting: Meeting, doing: str, what: str) -> None:
    """Only a member of the meeting's group may ``doing``, and only while the meeting is open."""
    common.require_member(meeting.group, actor, doing)
    _require_open(meeting, what)


def _save_text(row: Written, field: str, text: str) -> Written:
    """Keep ``text``, without its surrounding white space, as ``field`` of ``row``."""
    setattr(row, field, text.strip())
    row.save()
    return row


def _require_held(meeting: Meeting, what: str) -> None:
    if meeting.held_on > timezone.localdate():
        raise GovernanceError(
            f"IV.A.5: {meeting} has not taken place yet; {what} at or after the meeting"
        )


@service
def create_meeting(
    actor: Any,
    group: GovernanceGroup,
    *,
    held_on: dt.date,
    title: str = "Governance group meeting",
    attendees: Iterable[Any] = (),
    notes: str = "",
) -> Meeting:
    common.require_member_or(group, actor, {Role.ADMINISTRATOR}, "schedule meetings")
    common.refuse(planned_refusal("held_on", held_on, what="a meeting"))
    meeting = Meeting.objects.create(
        group=group,
        held_on=held_on,
        title=common.text(title, "a meeting title"),
        notes=notes.strip(),
    )
    people = list(attendees)
    if people:
        meeting.attendees.set(people)
    return meeting


@service
def set_attendees(actor: Any, meeting: Meeting, attendees: Iterable[Any]) -> Meeting:
    common.require_member_or(meeting.group, actor, {Role.ADMINISTRATOR}, "record attendance")
    _require_open(meeting, "a change of attendance")
    if meeting.decisions.exists():
        raise GovernanceError(
            "attendance cannot change once decisions are recorded: it is what their quorum stood on"
        )
    meeting.attendees.set(list(attendees))
    return meeting


@service
def record_notes(actor: Any, meeting: Meeting, notes: str) -> Meeting:
    _require_member_while_open(actor, meeting, "keep meeting notes", "a change of its notes")
    return _save_text(meeting, "notes", notes)


@service
def add_agenda_item(
    actor: Any,
    meeting: Meeting,
    *,
    title: str,
    request: ModelRequest | None = None,
    product: Any = None,
    deployment: Any = None,
    discussion: str = "",
) -> AgendaItem:
    _require_member_while_open(actor, meeting, "set the agenda", "a new agenda item")
    if sum(x is not None for x in (request, product, deployment)) > 1:
        raise GovernanceError("an agenda item is about one request, one product or one deployment")
    if request is not None and request.group_id != meeting.group_id:
        raise GovernanceError(f"request #{request.pk} was brought to another group")
    order = meeting.agenda.count() + 1
    item = AgendaItem.objects.create(
        meeting=meeting,
        order=order,
        title=common.text(title, "an agenda item title"),
        request=request,
        product=product,
        deployment=deployment,
        discussion=discussion.strip(),
    )
    if request is not None and request.status == RequestStatus.SUBMITTED:
        request.status = RequestStatus.UNDER_REVIEW
        request.save()
    return item


@service
def record_discussion(actor: Any, item: AgendaItem, discussion: str) -> AgendaItem:
    _require_member_while_open(
        actor, item.meeting, "record discussions", "a change of its discussions"
    )
    common.refuse(
        recused_from_any(actor, selectors.subject_products(item)),
        "they cannot record its discussion",
    )
    return _save_text(item, "discussion", discussion)


@service
def record_decision(
    actor: Any,
    meeting: Meeting,
    *,
    kind: str,
    motion: str,
    rationale: str,
    agenda_item: AgendaItem | None = None,
    deployment: Any = None,
    product: Any = None,
    request: ModelRequest | None = None,
    justification: str = "",
    determination: str = "",
    reconsiders: Decision | None = None,
    protocol: Any = None,
) -> Decision:
    group = meeting.group
    _require_member_while_open(actor, meeting, "record decisions", "a new decision")
    _require_held(meeting, "decisions are recorded")
    common.choice(kind, DecisionKind, "decision kind")
    if selectors.physician_count(group) < 1:
        raise GovernanceError(f"{PHYSICIAN_RULE}; {group} has none, so it cannot decide")
    ok, why = selectors.quorum(meeting)
    if not ok:
        raise GovernanceError(
            f"IV.A.5: the meeting has no quorum ({why}); no decision can be recorded"
        )
    if agenda_item is not None:
        if agenda_item.meeting_id != meeting.pk:
            raise GovernanceError("the agenda item belongs to another meeting")
        if deployment is None and product is None and request is None:
            deployment, product, request = (
                agenda_item.deployment,
                agenda_item.product,
                agenda_item.request,
            )
    if reconsiders is not None:
        deployment, product, request = _reconsidered_subject(
            meeting, reconsiders, deployment, product, request
        )
    if kind == DecisionKind.ACCEPT_AMENDMENT:
        deployment = _amended_deployment(protocol, deployment)
    elif protocol is not None:
        raise GovernanceError("only a decision accepting an amendment names a protocol")
    if request is not None and request.group_id != group.pk:
        raise GovernanceError(f"request #{request.pk} was brought to another group")
    if kind in (DecisionKind.APPROVE, DecisionKind.REJECT) and not (
        deployment or product or request
    ):
        raise GovernanceError(
            "an approval or rejection names the deployment, product or request it is about"
        )
    if kind == DecisionKind.ACCEPTANCE_TEST_WAIVER:
        if deployment is None:
            raise GovernanceError("IV.E: a waiver of local acceptance testing names its deployment")
        justification = common.text(
            justification,
            "a written justification",
            "IV.E: local acceptance testing is waived only with a recorded justification",
        )
    if kind == DecisionKind.IRB_DETERMINATION:
        determination = common.text(
            determination, "the IRB's determination", "IV.H.3: record what the IRB determined"
        )
    if kind in RECORD_KINDS_VALUES and deployment is None and product is None:
        raise GovernanceError(
            "an IRB determination or legal review names its deployment or product"
        )
    if kind == DecisionKind.LEGAL_REVIEW and actor.role != Role.COMPLIANCE:
        raise GovernancePermissionError(
            "III.H: a legal/compliance review is recorded by a legal/compliance/privacy "
            f"professional of the group; {actor.username} is {actor.role_label}"
        )
    decision = Decision(
        meeting=meeting,
        agenda_item=agenda_item,
        kind=kind,
        motion=common.text(motion, "the motion"),
        rationale=common.text(
            rationale, "the rationale", "IV.A.5: decisions are kept with their rationale"
        ),
        deployment=deployment,
        product=product,
        request=request,
        justification=justification,
        determination=determination,
        reconsiders=reconsiders,
        protocol=protocol,
        recorded_by=actor,
    )
    common.refuse(
        recused_from_any(actor, selectors.subject_products(decision)),
        "they cannot record this decision",
    )
    if request is not None and request.candidates.exists():
        decision.comparison = selectors.comparison(request)
    decision.save()
    return decision


def _amended_deployment(protocol: Any, deployment: Any) -> Any:
    """IV.E.2: a protocol amended after results were seen is acceptance evidence only once
    the group accepts the amendment, with its reason (the decision's rationale)."""
    if protocol is None:
        raise GovernanceError(
            "IV.E.2: a decision accepting an amendment names the protocol version it accepts"
        )
    if not protocol.amended_after_results:
        raise GovernanceError(
            f"IV.E.2: {protocol} was not amended after results; there is nothing to accept"
        )
    if deployment is not None and deployment.pk != protocol.deployment_id:
        raise GovernanceError(f"{protocol} belongs to another deployment")
    return protocol.deployment


def _reconsidered_subject(
    meeting: Meeting, old: Decision, deployment: Any, product: Any, request: Any
) -> tuple[Any, Any, Any]:
    """The subject of a decision that reconsiders ``old``: the same as the old one's.  Only
    a final decision (its meeting closed) of the same group, from an earlier meeting, is
    reconsidered; an open one is simply voted on again."""
    if old.meeting.group_id != meeting.group_id:
        raise GovernanceError(f"decision #{old.pk} was taken by another group")
    if not old.meeting.is_closed:
        raise GovernanceError(
            f"decision #{old.pk} is still open (its meeting has not closed); members vote on it "
            "again instead of reconsidering it"
        )
    if meeting.held_on <= old.meeting.held_on or meeting.pk == old.meeting_id:
        raise GovernanceError(
            f"decision #{old.pk} of {old.meeting.held_on:%Y-%m-%d} is reconsidered at a later "
            "meeting"
        )
    given = (deployment, product, request)
    subject = (old.deployment, old.product, old.request)
    if any(g is not None for g in given) and given != subject:
        raise GovernanceError(
            f"a decision that reconsiders decision #{old.pk} is about the same deployment, "
            "product or request as it"
        )
    return subject


@service
def close_meeting(actor: Any, meeting: Meeting) -> Meeting:
    """IV.A.5: the chair approves the minutes, which closes the meeting: its decisions are
    final from now on."""
    group = meeting.group
    membership = common.require_member(group, actor, "approve the minutes")
    has_chair = group.active_memberships().filter(position=Position.CHAIR).exists()
    if has_chair and membership.position != Position.CHAIR:
        raise GovernancePermissionError(
            f"IV.A.5: the chair of {group} approves the minutes; {common.who(actor)} is a member"
        )
    _require_open(meeting, "approving its minutes again")
    if not meeting.notes.strip():
        raise GovernanceError(
            "IV.A.5: the meeting's notes are kept with it; write them before approving the minutes"
        )
    _require_held(meeting, "its minutes are approved")
    meeting.closed_at = timezone.now()
    meeting.closed_by = actor
    meeting.save()
    return meeting


@service
def cast_vote(actor: Any, decision: Decision, choice: str) -> Vote:
    meeting = decision.meeting
    common.choice(choice, Choice, "vote")
    if not decision.is_voted:
        raise GovernanceError(f"a {decision.get_kind_display()} is recorded, not voted on")
    _require_member_while_open(actor, meeting, "vote", f"a vote on decision #{decision.pk}")
    _require_held(meeting, "votes are cast")
    if not meeting.attendees.filter(pk=actor.pk).exists():
        raise GovernanceError(
            f"IV.A.5: only members attending the meeting vote; {actor.username} is not recorded "
            f"as attending {meeting}"
        )
    common.refuse(
        recused_from_any(actor, selectors.subject_products(decision)), "their vote is refused"
    )
    ok, why = selectors.quorum(meeting)
    if not ok:
        raise GovernanceError(f"IV.A.5: the meeting has no quorum ({why}); no vote can be taken")
    return common.upsert(Vote, {"decision": decision, "member": actor}, choice=choice)
