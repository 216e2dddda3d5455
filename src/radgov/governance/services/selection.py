"""Selection of a product for a request (IV.D): the group's weighted criteria, the
candidates, and each member's scores."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from radgov.core.services import service
from radgov.governance.models import (
    Candidate,
    CriterionCategory,
    GovernanceGroup,
    ModelRequest,
    Score,
    SelectionCriterion,
)
from radgov.governance.recusal import recused
from radgov.governance.services import common
from radgov.governance.services.errors import GovernanceError


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
    common.require_member(group, actor, "define selection criteria")
    common.choice(category, CriterionCategory, "criterion category")
    try:
        w = Decimal(str(weight))
    except InvalidOperation:
        raise GovernanceError(f"a criterion's weight is a number, not {weight!r}") from None
    if not (Decimal(0) < w <= Decimal(1000)):
        raise GovernanceError(f"a criterion's weight is above 0 and at most 1000, not {weight}")
    name = common.text(name, "a criterion name")
    if group.criteria.filter(name__iexact=name).exists():
        raise GovernanceError(f"the group already has a criterion named {name!r}")
    return SelectionCriterion.objects.create(
        group=group, category=category, name=name, weight=w, description=description.strip()
    )


@service
def add_candidate(
    actor: Any, request: ModelRequest, *, product: Any = None, name: str = ""
) -> Candidate:
    common.require_member(request.group, actor, "add candidates")
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
    common.require_member(group, actor, "score candidates")
    if criterion.group_id != group.pk or not criterion.active:
        raise GovernanceError(f"criterion {criterion.name!r} is not an active criterion of {group}")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise GovernanceError(f"IV.D: a score is a whole number from 1 to 5, not {value!r}")
    common.refuse(recused(actor, candidate.product), "their score is refused")
    return common.upsert(
        Score,
        {"candidate": candidate, "criterion": criterion, "member": actor},
        value=value,
        comment=comment,
    )
