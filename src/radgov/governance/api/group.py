"""The group, its members and their declared conflicts, and the clinical champions'
requests (administrators manage the group at /admin/...)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db import models
from django.http import HttpRequest
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status

from radgov.core.paging import Page, PageQuery, paginate
from radgov.governance import selectors, services
from radgov.governance.api._lookups import get, inv, opt, user
from radgov.governance.models import (
    ConflictDeclaration,
    Decision,
    GovernanceGroup,
    Membership,
    ModelRequest,
)

router = Router()


class MemberOut(Schema):
    membership_id: int = Field(alias="pk")
    user_id: int
    username: str = Field(alias="user.username")
    role: str = Field(alias="user.role")
    position: str
    joined_on: dt.date
    left_on: dt.date | None


def _roster(group: GovernanceGroup) -> list[Membership]:
    """The roster, read once per group (a list reads it for the whole page beforehand)."""
    rows = getattr(group, "roster_rows", None)
    if rows is None:
        rows = list(selectors.roster(group))
        group.roster_rows = rows  # type: ignore[attr-defined]
    return list(rows)


class GroupOut(Schema):
    id: int
    name: str
    charter: str
    members: list[MemberOut]
    physician_members: int
    votes_visible_to_staff: bool
    conflicts_visible_to_staff: bool

    @staticmethod
    def resolve_members(group: GovernanceGroup) -> list[Membership]:
        return _roster(group)

    @staticmethod
    def resolve_physician_members(group: GovernanceGroup) -> int:
        return selectors.physician_count(group, memberships=_roster(group))


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


@router.get("/groups", response=Page[GroupOut])
def list_groups(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    roster = Membership.objects.select_related("user").order_by(*selectors.ROSTER_ORDER)
    rows = GovernanceGroup.objects.order_by("name", "pk").prefetch_related(
        models.Prefetch("memberships", queryset=roster, to_attr="roster_rows")
    )
    return paginate(rows, page)


@router.get("/groups/{group_id}", response=GroupOut)
def get_group(request: HttpRequest, group_id: int) -> GovernanceGroup:
    return get(GovernanceGroup, group_id, "governance group")


@router.post("/admin/groups", response={201: GroupOut})
def create_group(request: HttpRequest, payload: GroupIn) -> Status[GovernanceGroup]:
    members = [(user(m.user_id), m.position) for m in payload.members]
    group = services.create_group(
        request.user, name=payload.name, charter=payload.charter, members=members
    )
    return Status(201, group)


@router.post("/admin/groups/{group_id}/settings", response=GroupOut)
def update_group_settings(
    request: HttpRequest, group_id: int, payload: GroupSettingsIn
) -> GovernanceGroup:
    return services.update_group_settings(
        request.user, get(GovernanceGroup, group_id, "governance group"), **payload.dict()
    )


@router.post("/admin/groups/{group_id}/members", response={201: MemberOut})
def add_member(request: HttpRequest, group_id: int, payload: MemberIn) -> Status[Membership]:
    group = get(GovernanceGroup, group_id, "governance group")
    m = services.add_member(request.user, group, user(payload.user_id), position=payload.position)
    return Status(201, m)


@router.post("/admin/memberships/{membership_id}/remove", response=MemberOut)
def remove_member(request: HttpRequest, membership_id: int) -> Membership:
    return services.remove_member(request.user, get(Membership, membership_id, "membership"))


@router.post("/admin/champions/{user_id}", response=UserCapacityOut)
def designate_champion(request: HttpRequest, user_id: int, payload: ChampionIn) -> Any:
    person = user(user_id)
    services.designate_champion(request.user, person, champion=payload.champion)
    return person


# --- conflicts ---------------------------------------------------------------------------------


class ConflictIn(Schema):
    user_id: int | None = None
    product_id: int | None = None
    vendor: str = ""
    description: str
    declared_on: dt.date | None = None


class ConflictOut(Schema):
    id: int
    user_id: int
    username: str = Field(alias="user.username")
    product_id: int | None
    vendor: str
    subject: str
    description: str
    declared_on: dt.date


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
    return paginate(filters.filter(rows), page)


@router.post("/conflicts", response={201: ConflictOut})
def declare_conflict(request: HttpRequest, payload: ConflictIn) -> Status[ConflictDeclaration]:
    holder = user(payload.user_id) if payload.user_id else request.user
    c = services.declare_conflict(
        request.user,
        holder,
        product=opt(inv("Product"), payload.product_id, "product"),
        vendor=payload.vendor,
        description=payload.description,
        declared_on=payload.declared_on,
    )
    return Status(201, c)


# --- requests from clinical champions ----------------------------------------------------------


class RequestIn(Schema):
    group_id: int
    clinical_need: str
    proposed_product_id: int | None = None
    candidate_name: str = ""
    expected_benefit: str = ""


class RequestOut(Schema):
    id: int
    group_id: int
    champion: str = Field(alias="champion.username")
    clinical_need: str
    proposed_product_id: int | None
    candidate_name: str
    expected_benefit: str
    status: str
    decision_id: int | None


class StatusIn(Schema):
    status: str
    decision_id: int | None = None


class RequestFilter(FilterSchema):
    status: str | None = None
    group: Annotated[int | None, FilterLookup("group_id")] = None
    champion: Annotated[int | None, FilterLookup("champion_id")] = None


@router.get("/requests", response=Page[RequestOut])
def list_requests(
    request: HttpRequest, filters: Query[RequestFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    rows = ModelRequest.objects.select_related("champion").order_by("-pk")
    return paginate(filters.filter(rows), page)


@router.post("/requests", response={201: RequestOut})
def submit_request(request: HttpRequest, payload: RequestIn) -> Status[ModelRequest]:
    r = services.submit_request(
        request.user,
        get(GovernanceGroup, payload.group_id, "governance group"),
        clinical_need=payload.clinical_need,
        proposed_product=opt(inv("Product"), payload.proposed_product_id, "product"),
        candidate_name=payload.candidate_name,
        expected_benefit=payload.expected_benefit,
    )
    return Status(201, r)


@router.get("/requests/{request_id}", response=RequestOut)
def get_request(request: HttpRequest, request_id: int) -> ModelRequest:
    return get(ModelRequest, request_id, "request")


@router.post("/requests/{request_id}/status", response=RequestOut)
def set_request_status(request: HttpRequest, request_id: int, payload: StatusIn) -> ModelRequest:
    r = get(ModelRequest, request_id, "request")
    decision = opt(Decision, payload.decision_id, "decision")
    services.set_request_status(request.user, r, status=payload.status, decision=decision)
    return r
