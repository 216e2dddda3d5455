"""Every change to governance records.  Each service takes the acting user, checks
the rules of the practice parameter, writes in one transaction and leaves the
audit trail; a broken rule raises ``GovernanceError`` naming it, and nothing changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from radgov.core.audit import Action, record
from radgov.core.bounds import date_refusal, past_refusal, planned_refusal, years_from_today
from radgov.core.errors import Denied, Refused
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.governance import selectors
from radgov.governance.models import (
    RECORD_KINDS_VALUES,
    AgendaItem,
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
    RequestStatus,
    Score,
    SelectionCriterion,
    Severity,
    Vote,
)
from radgov.governance.recusal import recused, recused_from_any

CHAMPION_RULE = (
    "IV.A.4: a clinical champion brings requests for new AI models to the governance group "
    "and should not be a member of it"
)
PHYSICIAN_RULE = (
    "III.A.3 / IV.A.2: the governance group includes at least one physician/qualified end-user"
)


class GovernanceError(Refused):
    """A governance request that breaks a rule; the message says which."""


class GovernancePermissionError(GovernanceError, Denied):
    """The acting person lacks the role or capacity the action needs."""


# --- checks ------------------------------------------------------------------------------------


def _name(user: Any) -> str:
    return getattr(user, "username", None) or "an anonymous caller"


def _require_admin(actor: Any, what: str) -> None:
    if getattr(actor, "role", None) != Role.ADMINISTRATOR:
        raise GovernancePermissionError(
            f"III.G: administrators manage the governance group; {_name(actor)} may not {what}"
        )


def _require_member(group: GovernanceGroup, actor: Any, what: str) -> Membership:
    membership = selectors.active_membership(group, actor)
    if membership is None:
        raise GovernancePermissionError(
            f"IV.A: only members of the governance group {group} may {what}; "
            f"{_name(actor)} is not an active member"
        )
    return membership


def _require_member_or(group: GovernanceGroup, actor: Any, roles: Iterable[str], what: str) -> None:
    if getattr(actor, "role", None) in set(roles):
        return
    _require_member(group, actor, what)


def _text(value: str | None, what: str, rule: str = "") -> str:
    value = (value or "").strip()
    if not value:
        raise GovernanceError(f"{what} is required" + (f" ({rule})" if rule else ""))
    return value


def _dated(refusal: str | None) -> None:
    if refusal:
        raise GovernanceError(refusal)


def _choice(value: str, choices: Any, what: str) -> str:
    if value not in choices.values:
        raise GovernanceError(
            f"unknown {what} {value!r}; choose one of: {', '.join(choices.values)}"
        )
    return value


def _require_open(meeting: Meeting, what: str) -> None:
    """IV.A.5: a closed meeting's record is final."""
    if meeting.is_closed:
        raise GovernanceError(
            f"IV.A.5: {meeting} closed on {meeting.closed_at:%Y-%m-%d} when its minutes were "
            f"approved; its decisions are final and {what} is refused. To change an outcome, "
            "record a new decision at a later meeting that reconsiders the old one"
        )


def _require_held(meeting: Meeting, what: str) -> None:
    if meeting.held_on > timezone.localdate():
        raise GovernanceError(
            f"IV.A.5: {meeting} has not taken place yet; {what} at or after the meeting"
        )


def _set_member_flag(user: Any, value: bool) -> None:
    """User is not an AuditedModel: change the capacity flag and record it."""
    if user.is_governance_member == value:
        return
    user.is_governance_member = value
    user.save(update_fields=["is_governance_member"])
    record(action=Action.UPDATE, obj=user, changes={"is_governance_member": [not value, value]})


def _check_can_join(user: Any) -> None:
    if not user.is_active:
        raise GovernanceError(f"{user.username} has a disabled account and cannot join the group")
    if user.is_clinical_champion:
        raise GovernanceError(
            f"{CHAMPION_RULE}; {user.username} is a clinical champion and cannot be added"
        )


# --- the group and its members -----------------------------------------------------------------


@service
def create_group(
    actor: Any,
    *,
    name: str,
    members: list[tuple[Any, str]],
    charter: str = "",
    joined_on: dt.date | None = None,
) -> GovernanceGroup:
    """A group is created with its first members, at least one a physician."""
    _require_admin(actor, "create a governance group")
    name = _text(name, "a group name")
    if GovernanceGroup.objects.filter(name__iexact=name).exists():
        raise GovernanceError(f"a governance group named {name!r} already exists")
    if not any(user.role == Role.PHYSICIAN for user, _ in members):
        raise GovernanceError(f"{PHYSICIAN_RULE}; name a physician among the first members")
    group = GovernanceGroup.objects.create(name=name, charter=charter.strip())
    for user, position in members:
        _add(group, user, position, joined_on)
    return group


def _add(group: GovernanceGroup, user: Any, position: str, joined_on: dt.date | None) -> Membership:
    _choice(position, Position, "position")
    _dated(planned_refusal("joined_on", joined_on, what="joining the group", years=1))
    _check_can_join(user)
    if selectors.active_membership(group, user) is not None:
        raise GovernanceError(f"{user.username} is already a member of {group}")
    membership = Membership.objects.create(
        group=group, user=user, position=position, joined_on=joined_on or timezone.localdate()
    )
    _set_member_flag(user, True)
    return membership


@service
def add_member(
    actor: Any,
    group: GovernanceGroup,
    user: Any,
    *,
    position: str = Position.MEMBER,
    joined_on: dt.date | None = None,
) -> Membership:
    _require_admin(actor, "add members to the governance group")
    return _add(group, user, position, joined_on)


@service
def remove_member(
    actor: Any, membership: Membership, *, left_on: dt.date | None = None
) -> Membership:
    _require_admin(actor, "remove members from the governance group")
    if not membership.is_active:
        raise GovernanceError(f"{membership.user.username} already left {membership.group}")
    group, user = membership.group, membership.user
    if user.role == Role.PHYSICIAN and selectors.physician_count(group) <= 1:
        raise GovernanceError(
            f"{PHYSICIAN_RULE}; {user.username} is its last physician member: add another "
            "physician before removing them"
        )
    _dated(planned_refusal("left_on", left_on, what="leaving the group", years=1))
    left = left_on or timezone.localdate()
    if left < membership.joined_on:
        raise GovernanceError("a member cannot leave before joining")
    membership.left_on = left
    membership.save()
    if not selectors.is_member(user):
        _set_member_flag(user, False)
    return membership


@service
def update_group_settings(
    actor: Any,
    group: GovernanceGroup,
    *,
    votes_visible_to_staff: bool,
    conflicts_visible_to_staff: bool,
) -> GovernanceGroup:
    """Whether the practice's staff beyond the group, administrators and legal/compliance
    see vote tallies and declared conflicts."""
    _require_admin(actor, "change the governance group's settings")
    group.votes_visible_to_staff = bool(votes_visible_to_staff)
    group.conflicts_visible_to_staff = bool(conflicts_visible_to_staff)
    group.save()
    return group


@service
def designate_champion(actor: Any, user: Any, *, champion: bool = True) -> Any:
    """Give or take the clinical-champion capacity; never to a group member."""
    _require_admin(actor, "designate clinical champions")
    if champion and selectors.is_member(user):
        raise GovernanceError(
            f"{CHAMPION_RULE}; {user.username} is a member of the group and cannot be made "
            "a clinical champion"
        )
    if champion and user.role == Role.VENDOR:
        raise GovernanceError(
            "IV.A.4: a clinical champion is a clinician of the practice, not a vendor"
        )
    if user.is_clinical_champion != champion:
        user.is_clinical_champion = champion
        user.save(update_fields=["is_clinical_champion"])
        record(
            action=Action.UPDATE,
            obj=user,
            changes={"is_clinical_champion": [not champion, champion]},
        )
    return user


@service
def declare_conflict(
    actor: Any,
    user: Any,
    *,
    description: str,
    product: Any = None,
    vendor: str = "",
    declared_on: dt.date | None = None,
) -> ConflictDeclaration:
    """IV.A.3: a person declares their own conflict (an administrator may record it for them)."""
    if actor != user and getattr(actor, "role", None) != Role.ADMINISTRATOR:
        raise GovernancePermissionError(
            "IV.A.3: a conflict of interest is declared by the person who has it "
            "(or recorded by an administrator)"
        )
    vendor = (vendor or "").strip()
    if product is None and not vendor:
        raise GovernanceError("a conflict of interest names a product or a vendor")
    _dated(past_refusal("declared_on", declared_on, what="a declaration"))
    return ConflictDeclaration.objects.create(
        user=user,
        product=product,
        vendor=vendor,
        description=_text(description, "a description of the conflict"),
        declared_on=declared_on or timezone.localdate(),
    )


# --- requests from clinical champions ----------------------------------------------------------


@service
def submit_request(
    actor: Any,
    group: GovernanceGroup,
    *,
    clinical_need: str,
    proposed_product: Any = None,
    candidate_name: str = "",
    expected_benefit: str = "",
) -> ModelRequest:
    if not getattr(actor, "is_clinical_champion", False):
        raise GovernancePermissionError(
            f"IV.A.4: requests for new AI models are brought by a clinical champion; "
            f"{_name(actor)} is not one"
        )
    if selectors.is_member(actor):
        raise GovernanceError(
            f"{CHAMPION_RULE}; {actor.username} is a member and cannot file requests"
        )
    candidate_name = (candidate_name or "").strip()
    if proposed_product is None and not candidate_name:
        raise GovernanceError("a request names the proposed product or a candidate")
    return ModelRequest.objects.create(
        group=group,
        champion=actor,
        clinical_need=_text(clinical_need, "the clinical need"),
        proposed_product=proposed_product,
        candidate_name=candidate_name,
        expected_benefit=(expected_benefit or "").strip(),
    )


@service
def set_request_status(
    actor: Any, request: ModelRequest, *, status: str, decision: Decision | None = None
) -> ModelRequest:
    _require_member(request.group, actor, "change a request's status")
    _choice(status, RequestStatus, "request status")
    if status in (RequestStatus.ACCEPTED, RequestStatus.DECLINED):
        if decision is None or decision.request_id != request.pk:
            raise GovernanceError(
                "IV.A.5: a request is accepted or declined by a recorded decision of the group "
                "about that request"
            )
        approved = decision.kind == DecisionKind.APPROVE and decision.outcome == "passed"
        if status == RequestStatus.ACCEPTED and not approved:
            raise GovernanceError(
                f"decision #{decision.pk} is not a passed approval ({decision.outcome}); "
                "the request cannot be accepted on it"
            )
        if status == RequestStatus.DECLINED and approved:
            raise GovernanceError(
                f"decision #{decision.pk} approved the request; it cannot be declined on it"
            )
        request.decision = decision
    request.status = status
    request.save()
    return request


# --- meetings, agenda, decisions, votes --------------------------------------------------------


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
    _require_member_or(group, actor, {Role.ADMINISTRATOR}, "schedule meetings")
    _dated(planned_refusal("held_on", held_on, what="a meeting"))
    meeting = Meeting.objects.create(
        group=group, held_on=held_on, title=_text(title, "a meeting title"), notes=notes.strip()
    )
    people = list(attendees)
    if people:
        meeting.attendees.set(people)
    return meeting


@service
def set_attendees(actor: Any, meeting: Meeting, attendees: Iterable[Any]) -> Meeting:
    _require_member_or(meeting.group, actor, {Role.ADMINISTRATOR}, "record attendance")
    _require_open(meeting, "a change of attendance")
    if meeting.decisions.exists():
        raise GovernanceError(
            "attendance cannot change once decisions are recorded: it is what their quorum stood on"
        )
    meeting.attendees.set(list(attendees))
    return meeting


@service
def record_notes(actor: Any, meeting: Meeting, notes: str) -> Meeting:
    _require_member(meeting.group, actor, "keep meeting notes")
    _require_open(meeting, "a change of its notes")
    meeting.notes = notes.strip()
    meeting.save()
    return meeting


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
    _require_member(meeting.group, actor, "set the agenda")
    _require_open(meeting, "a new agenda item")
    if sum(x is not None for x in (request, product, deployment)) > 1:
        raise GovernanceError("an agenda item is about one request, one product or one deployment")
    if request is not None and request.group_id != meeting.group_id:
        raise GovernanceError(f"request #{request.pk} was brought to another group")
    order = meeting.agenda.count() + 1
    item = AgendaItem.objects.create(
        meeting=meeting,
        order=order,
        title=_text(title, "an agenda item title"),
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
    _require_member(item.meeting.group, actor, "record discussions")
    _require_open(item.meeting, "a change of its discussions")
    reason = recused_from_any(actor, selectors.subject_products(item))
    if reason:
        raise GovernanceError(f"{reason}; they cannot record its discussion")
    item.discussion = discussion.strip()
    item.save()
    return item


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
    _require_member(group, actor, "record decisions")
    _require_open(meeting, "a new decision")
    _require_held(meeting, "decisions are recorded")
    _choice(kind, DecisionKind, "decision kind")
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
        justification = _text(
            justification,
            "a written justification",
            "IV.E: local acceptance testing is waived only with a recorded justification",
        )
    if kind == DecisionKind.IRB_DETERMINATION:
        determination = _text(
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
        motion=_text(motion, "the motion"),
        rationale=_text(
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
    reason = recused_from_any(actor, selectors.subject_products(decision))
    if reason:
        raise GovernanceError(f"{reason}; they cannot record this decision")
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
    membership = _require_member(group, actor, "approve the minutes")
    has_chair = group.active_memberships().filter(position=Position.CHAIR).exists()
    if has_chair and membership.position != Position.CHAIR:
        raise GovernancePermissionError(
            f"IV.A.5: the chair of {group} approves the minutes; {_name(actor)} is a member"
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
    _choice(choice, Choice, "vote")
    if not decision.is_voted:
        raise GovernanceError(f"a {decision.get_kind_display()} is recorded, not voted on")
    _require_member(meeting.group, actor, "vote")
    _require_open(meeting, f"a vote on decision #{decision.pk}")
    _require_held(meeting, "votes are cast")
    if not meeting.attendees.filter(pk=actor.pk).exists():
        raise GovernanceError(
            f"IV.A.5: only members attending the meeting vote; {actor.username} is not recorded "
            f"as attending {meeting}"
        )
    reason = recused_from_any(actor, selectors.subject_products(decision))
    if reason:
        raise GovernanceError(f"{reason}; their vote is refused")
    ok, why = selectors.quorum(meeting)
    if not ok:
        raise GovernanceError(f"IV.A.5: the meeting has no quorum ({why}); no vote can be taken")
    vote = Vote.objects.filter(decision=decision, member=actor).first()
    if vote is None:
        return Vote.objects.create(decision=decision, member=actor, choice=choice)
    vote.choice = choice
    vote.save()
    return vote


# --- selection (IV.D) --------------------------------------------------------------------------


@service
def define_criterion(
    actor: Any,
    group: GovernanceGroup,
    *,
    category: str,
    name: str,
    weight: Any,
    description: str = "",
) -> SelectionCriterion:
    _require_member(group, actor, "define selection criteria")
    _choice(category, CriterionCategory, "criterion category")
    try:
        w = Decimal(str(weight))
    except InvalidOperation:
        raise GovernanceError(f"a criterion's weight is a number, not {weight!r}") from None
    if not (Decimal(0) < w <= Decimal(1000)):
        raise GovernanceError(f"a criterion's weight is above 0 and at most 1000, not {weight}")
    name = _text(name, "a criterion name")
    if group.criteria.filter(name__iexact=name).exists():
        raise GovernanceError(f"the group already has a criterion named {name!r}")
    return SelectionCriterion.objects.create(
        group=group, category=category, name=name, weight=w, description=description.strip()
    )


@service
def add_candidate(
    actor: Any, request: ModelRequest, *, product: Any = None, name: str = ""
) -> Candidate:
    _require_member(request.group, actor, "add candidates")
    name = (name or "").strip()
    if product is None and not name:
        raise GovernanceError("a candidate is a product of the inventory or a named candidate")
    if product is not None and request.candidates.filter(product=product).exists():
        raise GovernanceError(f"{product} is already a candidate for request #{request.pk}")
    return Candidate.objects.create(request=request, product=product, name=name)


@service
def score_candidate(
    actor: Any,
    candidate: Candidate,
    criterion: SelectionCriterion,
    value: int,
    *,
    comment: str = "",
) -> Score:
    group = candidate.request.group
    _require_member(group, actor, "score candidates")
    if criterion.group_id != group.pk or not criterion.active:
        raise GovernanceError(f"criterion {criterion.name!r} is not an active criterion of {group}")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise GovernanceError(f"IV.D: a score is a whole number from 1 to 5, not {value!r}")
    reason = recused(actor, candidate.product)
    if reason:
        raise GovernanceError(f"{reason}; their score is refused")
    row = Score.objects.filter(candidate=candidate, criterion=criterion, member=actor).first()
    if row is None:
        return Score.objects.create(
            candidate=candidate, criterion=criterion, member=actor, value=value, comment=comment
        )
    row.value, row.comment = value, comment
    row.save()
    return row


# --- issue reports (IV.F.3) --------------------------------------------------------------------


@service
def report_issue(
    actor: Any,
    *,
    description: str,
    deployment: Any = None,
    model_version: Any = None,
    severity: str = Severity.MODERATE,
) -> IssueReport:
    if deployment is None and model_version is None:
        raise GovernanceError("an issue report names the deployment or model version it is about")
    _require_visible(actor, deployment, model_version)
    if deployment is not None and model_version is None:
        model_version = deployment.model_version
    elif deployment is not None and deployment.model_version_id != model_version.pk:
        raise GovernanceError("the deployment does not run that model version")
    _choice(severity, Severity, "severity")
    return IssueReport.objects.create(
        reporter=actor,
        deployment=deployment,
        model_version=model_version,
        description=_text(description, "a description of the issue"),
        severity=severity,
    )


def _require_visible(actor: Any, deployment: Any, model_version: Any) -> None:
    """A vendor reports only on its own company's models (III.F): another company's do
    not exist for it."""
    from radgov.inventory import selectors as inventory

    if (
        deployment is not None
        and not inventory.visible_deployments(actor).filter(pk=deployment.pk).exists()
    ):
        raise GovernanceError(f"no deployment {deployment.pk} that you may see")
    if (
        model_version is not None
        and not inventory.visible_versions(actor).filter(pk=model_version.pk).exists()
    ):
        raise GovernanceError(f"no model version {model_version.pk} that you may see")


@service
def update_issue(
    actor: Any, issue: IssueReport, *, status: str, resolution: str = ""
) -> IssueReport:
    if not selectors.is_member(actor):
        raise GovernancePermissionError(
            "IV.F.3: issues reported by end-users are reviewed by the governance group; "
            f"{_name(actor)} is not a member"
        )
    _choice(status, IssueStatus, "issue status")
    resolution = (resolution or "").strip() or issue.resolution
    if status in (IssueStatus.RESOLVED, IssueStatus.CLOSED) and not resolution:
        raise GovernanceError("an issue is resolved or closed with its resolution written down")
    issue.status, issue.resolution, issue.handled_by = status, resolution, actor
    issue.save()
    return issue


# --- regulatory checklist (III.H, V) -----------------------------------------------------------

REGULATORY_ROLES = {Role.COMPLIANCE, Role.ADMINISTRATOR}


def keeps_checklist(actor: Any) -> bool:
    return getattr(actor, "role", None) in REGULATORY_ROLES or selectors.is_member(actor)


def _require_regulatory(actor: Any, what: str) -> None:
    if keeps_checklist(actor):
        return
    raise GovernancePermissionError(
        f"III.H: the regulatory checklist is kept by the governance group and legal/compliance; "
        f"{_name(actor)} may not {what}"
    )


@service
def set_regulatory_item(
    actor: Any,
    model_version: Any,
    framework: str,
    *,
    status: str,
    owner: Any = None,
    evidence: str = "",
    evidence_document: Any = None,
    reviewed_on: dt.date | None = None,
) -> RegulatoryItem:
    _require_regulatory(actor, "change the regulatory checklist")
    _choice(framework, Framework, "framework")
    _choice(status, ItemStatus, "checklist status")
    evidence = (evidence or "").strip()
    if status in (ItemStatus.COMPLIANT, ItemStatus.NOT_APPLICABLE) and not (
        evidence or evidence_document
    ):
        raise GovernanceError(
            f"III.H: a {Framework(framework).label} line marked {ItemStatus(status).label.lower()} "
            "needs its evidence"
        )
    _dated(past_refusal("reviewed_on", reviewed_on, what="a review"))
    if evidence_document is not None and evidence_document.model_version_id != model_version.pk:
        raise GovernanceError("the evidence document belongs to another model version")
    item = RegulatoryItem.objects.filter(model_version=model_version, framework=framework).first()
    item = item or RegulatoryItem(model_version=model_version, framework=framework)
    item.status, item.owner, item.evidence = status, owner, evidence
    item.evidence_document = evidence_document
    item.reviewed_on = reviewed_on or timezone.localdate()
    item.save()
    return item


@service
def set_regulatory_profile(
    actor: Any,
    product: Any,
    *,
    local_use: str,
    scope_of_clearance: str = "",
    off_label_decision: str = "",
    phi_reaches_vendor: bool = False,
) -> RegulatoryProfile:
    _require_regulatory(actor, "change a product's regulatory profile")
    categories = dict(type(product)._meta.get_field("category").choices)
    if local_use not in categories:
        raise GovernanceError(
            f"unknown local use {local_use!r}; choose one of: {', '.join(categories)}"
        )
    profile = RegulatoryProfile.objects.filter(product=product).first() or RegulatoryProfile(
        product=product
    )
    profile.local_use = local_use
    profile.scope_of_clearance = scope_of_clearance.strip()
    profile.off_label_decision = off_label_decision.strip()
    profile.phi_reaches_vendor = phi_reaches_vendor
    profile.save()
    return profile


@service
def record_baa(
    actor: Any,
    *,
    vendor: str,
    signed_on: dt.date,
    covers_phi: bool = True,
    expires_on: dt.date | None = None,
    document_reference: str = "",
    notes: str = "",
) -> Baa:
    if getattr(actor, "role", None) not in REGULATORY_ROLES:
        raise GovernancePermissionError(
            f"III.H.1.e: contracts such as a BAA are recorded by legal/compliance or an "
            f"administrator; {_name(actor)} may not"
        )
    _dated(planned_refusal("signed_on", signed_on, what="signing a BAA", years=1))
    if expires_on is not None and expires_on < signed_on:
        raise GovernanceError("a BAA cannot expire before it is signed")
    _dated(
        date_refusal(
            "expires_on",
            expires_on,
            what="a BAA's expiry",
            not_before=signed_on,
            not_after=years_from_today(30),
        )
    )
    return Baa.objects.create(
        vendor=_text(vendor, "the vendor's name"),
        covers_phi=covers_phi,
        signed_on=signed_on,
        expires_on=expires_on,
        document_reference=document_reference.strip(),
        notes=notes.strip(),
    )
