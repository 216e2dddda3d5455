"""Scoring a candidate on several criteria saves every score or none (IV.D)."""

from __future__ import annotations

import pytest

from radgov.governance import scoring, services
from radgov.governance.models import Score
from tests.factories import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def selection(group, people, inv):  # type: ignore[no-untyped-def]
    request = services.submit_request(
        people.okafor, group, clinical_need="ICH triage", proposed_product=inv.product
    )
    criteria = [
        services.define_criterion(people.chen, group, category="clinical", name=name, weight=1)
        for name in ("Sensitivity", "Workflow", "Cost")
    ]
    return services.add_candidate(people.chen, request, product=inv.product), criteria


def post_scores(person, candidate, scores):  # type: ignore[no-untyped-def]
    """The score form as ``person`` fills it in: ``scores`` maps criteria to what is typed."""
    return client_for(person).post(
        f"/governance/candidates/{candidate.pk}/score/",
        {f"criterion-{criterion.pk}": typed for criterion, typed in scores.items()},
        follow=True,
    )


def test_a_refusal_of_the_third_score_leaves_none_saved(selection, people) -> None:  # type: ignore[no-untyped-def]
    candidate, (first, second, third) = selection
    page = post_scores(people.chen, candidate, {first: "4", second: "5", third: "7"})
    assert "Cost: IV.D: a score is a whole number from 1 to 5, not 7" in page.content.decode()
    assert not Score.objects.exists()
    with pytest.raises(services.GovernanceError, match="Cost: .*no score was saved"):
        scoring.score_criteria(people.chen, candidate, {first: 4, second: 5, third: 7})
    assert not Score.objects.exists()


def test_every_score_given_is_saved_together(selection, people) -> None:  # type: ignore[no-untyped-def]
    candidate, (first, second, third) = selection
    page = post_scores(people.chen, candidate, {first: "4", second: "x", third: "2"})
    assert "Workflow: a score is a whole number from 1 to 5, not &#x27;x&#x27;" in (
        page.content.decode()
    )
    assert not Score.objects.exists()
    post_scores(people.chen, candidate, {first: "4", third: "2"})
    saved = {s.criterion.name: s.value for s in Score.objects.select_related("criterion")}
    assert saved == {"Sensitivity": 4, "Cost": 2}
