"""A member scores a candidate on several criteria at once (IV.D): every score is saved, or,
when any one is refused, none is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from radgov.core.services import service
from radgov.governance import services
from radgov.governance.models import Candidate, Score, SelectionCriterion


@service
def score_criteria(
    actor: Any, candidate: Candidate, values: Mapping[SelectionCriterion, int]
) -> list[Score]:
    """Score ``candidate`` on each criterion of ``values`` in one transaction; a refused
    score refuses them all, naming its criterion."""
    if not values:
        raise services.GovernanceError("IV.D: give a score for at least one criterion")
    scores = []
    for criterion, value in values.items():
        try:
            scores.append(services.score_candidate(actor, candidate, criterion, value))
        except services.GovernanceError as exc:
            raise services.GovernanceError(f"{criterion.name}: {exc}; no score was saved") from exc
    return scores
