"""The governance group (IV.A): its members and settings, clinical champions, declared
conflicts of interest, and the requests champions bring to the group."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.core.audit import Action, record
from radgov.core.bounds import past_refusal, planned_refusal
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.governance import selectors
from radgov.governance.models import (
    ConflictDeclaration,
    Decision,
    DecisionKind,
    GovernanceGroup,
    Membership,
    ModelRequest,
    Position,
    RequestStatus,
)
from radgov.governance.services import common
from radgov.governance.services.common import CHAMPION_RULE, PHYSICIAN_RULE
from radgov.governance.services.errors import GovernanceError, GovernancePermissionError


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
    common.require_admin(actor, "create a governance group")
    name = common.text(name, "a group name")
    if GovernanceGroup.objects.filter(name__iexact=name).exists():
        raise GovernanceError(f"a governance group named {name!r} already exists")
    if not any(user.role == Role.PHYSICIAN for user, _ in members):
        raise GovernanceError(f"{PHYSICIAN_RULE}; name a physician among the first members")
    group = GovernanceGroup.objects.create(name=name, charter=charter.strip())
    for user, position in members:
        _add(group, user, position, joined_on)
    return group


def _add(group: GovernanceGroup, user: Any, position: str, joined_on: dt.date | None) -> Membership:
    common.choice(position, Position, "position")
    common.refuse(planned_refusal("joined_on", joined_on, what="joining the group", years=1))
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
    common.require_admin(actor, "add members to the governance group")
    return _add(group, user, position, joined_on)


@service
def remove_member(
    actor: Any, membership: Membership, *, left_on: dt.date | None = None
) -> Membership:
    common.require_admin(actor, "remove members from the governance group")
    if not membership.is_active:
        raise GovernanceError(f"{membership.user.username} already left {membership.group}")
    group, user = membership.group, membership.user
    if user.role == Role.PHYSICIAN and selectors.physician_count(group) <= 1:
        raise GovernanceError(
            f"{PHYSICIAN_RULE}; {user.username} is its last physician member: add another "
            "physician before removing them"
        )
    common.refuse(planned_refusal("left_on", left_on, what="leaving the group", years=1))
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
    common.require_admin(actor, "change the governance group's settings")
    group.votes_visible_to_staff = bool(votes_visible_to_staff)
    group.conflicts_visible_to_staff = bool(conflicts_visible_to_staff)
    group.save()
    return group


@service
def designate_champion(actor: Any, user: Any, *, champion: bool = True) -> Any:
    """Give or take the clinical-champion capacity; never to a group member."""
    common.require_admin(actor, "designate clinical champions")
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
    common.refuse(past_refusal("declared_on", declared_on, what="a declaration"))
    return ConflictDeclaration.objects.create(
        user=user,
        product=product,
        vendor=vendor,
        description=common.text(description, "a description of the conflict"),
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
            f"{common.who(actor)} is not one"
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
        clinical_need=common.text(clinical_need, "the clinical need"),
        proposed_product=proposed_product,
        candidate_name=candidate_name,
        expected_benefit=(expected_benefit or "").strip(),
    )


@service
def set_request_status(
    actor: Any, request: ModelRequest, *, status: str, decision: Decision | None = None
) -> ModelRequest:
    common.require_member(request.group, actor, "change a request's status")
    common.choice(status, RequestStatus, "request status")
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
