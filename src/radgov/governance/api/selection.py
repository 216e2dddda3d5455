"""Selection: the group's weighted criteria, the candidates for a request, the members'
scores and the comparison that ranks them."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status

from radgov.core.paging import Page, PageQuery, paginate
from radgov.governance import selectors, services
from radgov.governance.api._lookups import get, inv, opt
from radgov.governance.models import Candidate, GovernanceGroup, ModelRequest, SelectionCriterion

router = Router()


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
    member: str = Field(alias="member.username")
    value: int
    comment: str


class CriterionFilter(FilterSchema):
    group: Annotated[int | None, FilterLookup("group_id")] = None
    category: str | None = None


@router.get("/criteria", response=Page[CriterionOut])
def list_criteria(
    request: HttpRequest, filters: Query[CriterionFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    rows = SelectionCriterion.objects.filter(active=True).order_by("category", "name", "pk")
    return paginate(filters.filter(rows), page)


@router.post("/criteria", response={201: CriterionOut})
def define_criterion(request: HttpRequest, payload: CriterionIn) -> Status[SelectionCriterion]:
    c = services.define_criterion(
        request.user,
        get(GovernanceGroup, payload.group_id, "governance group"),
        category=payload.category,
        name=payload.name,
        weight=payload.weight,
        description=payload.description,
    )
    return Status(201, c)


@router.post("/requests/{request_id}/candidates", response={201: CandidateOut})
def add_candidate(request: HttpRequest, request_id: int, payload: CandidateIn) -> Status[Candidate]:
    c = services.add_candidate(
        request.user,
        get(ModelRequest, request_id, "request"),
        product=opt(inv("Product"), payload.product_id, "product"),
        name=payload.name,
    )
    return Status(201, c)


@router.post("/candidates/{candidate_id}/scores", response={201: ScoreOut})
def score_candidate(request: HttpRequest, candidate_id: int, payload: ScoreIn) -> Status[Any]:
    s = services.score_candidate(
        request.user,
        get(Candidate, candidate_id, "candidate"),
        get(SelectionCriterion, payload.criterion_id, "criterion"),
        payload.value,
        comment=payload.comment,
    )
    return Status(201, s)


@router.get("/requests/{request_id}/comparison", response=dict[str, Any])
def get_comparison(request: HttpRequest, request_id: int) -> dict[str, Any]:
    return selectors.comparison(get(ModelRequest, request_id, "request"))
