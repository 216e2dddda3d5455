"""How radiologists use the AI (IV.G.3, issue 17): one of five radiologists overrides far more
than the others; only that one is beyond the funnel's 99.8 % limits, the governance group is
offered a supplemental training for them, and each radiologist sees only their own line.

The funnel's limits are ``radgov.stats.funnel``'s (Spiegelhalter 2005), tested in
tests/stats/test_funnel.py; here the counting from the review records and the page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from radgov.core.roles import Role
from radgov.core.services import service
from radgov.exams.models import Exam, Inference, Review
from radgov.monitoring import interactions, overrides
from radgov.training import services as training
from radgov.training.models import TrainingRecord
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db
PER_READER = 100
OVERRIDDEN = {"rad-a": 10, "rad-b": 12, "rad-c": 8, "rad-d": 11, "rad-e": 45}


@pytest.fixture
def readers(db):  # type: ignore[no-untyped-def]
    return {name: make_user(name, role=Role.PHYSICIAN) for name in OVERRIDDEN}


def seed_reviews(deployment, readers) -> None:  # type: ignore[no-untyped-def]
    """Each reader reviews 100 results: the first ``OVERRIDDEN`` of them modified or rejected
    (alternately), the rest accepted."""

    @service
    def write() -> None:
        now = timezone.now()
        total = PER_READER * len(readers)
        exams = Exam.objects.bulk_create(
            Exam(study_uid_hash=f"{i:064x}", study_uid_encrypted=f"1.2.4.{i}", source="api")
            for i in range(10**6, 10**6 + total)  # apart from the drift test's exams
        )
        inferences = Inference.objects.bulk_create(
            Inference(
                exam=e,
                deployment=deployment,
                status="released",
                status_at=now,
                score=0.8,
                call="positive",
            )  # fmt: skip
            for e in exams
        )
        reviews = []
        for k, (name, user) in enumerate(readers.items()):
            for j in range(PER_READER):
                decision = "accept"
                if j < OVERRIDDEN[name]:
                    decision = "modify" if j % 2 else "reject"
                reviews.append(
                    Review(
                        inference=inferences[k * PER_READER + j],
                        reviewer=user,
                        decision=decision,
                        concordance="concordant",
                        reviewed_at=now,
                    )  # fmt: skip
                )
        Review.objects.bulk_create(reviews)

    write()


def rad_d_leaves_most_unopened(readers) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """What a PACS reports after :func:`seed_reviews`: rad-d left 60 of their 100 results
    unopened, the others 3."""
    return [
        {"inference_id": pk, "username": name, "at": "2026-02-03T10:00:00+00:00",
         "action": "not_opened" if j < (60 if name == "rad-d" else 3) else "viewed"}
        for name, user in readers.items()
        for j, pk in enumerate(Inference.objects.filter(reviews__reviewer=user).values_list("pk", flat=True))
    ]  # fmt: skip


def test_only_the_outlier_is_flagged_and_offered_training(pe, chair, readers, client: Client):  # type: ignore[no-untyped-def]
    seed_reviews(pe, readers)
    supplemental = training.create_procedure(
        chair, model_version=pe.model_version, required_roles=["physician"],
        is_supplemental=True, title="Using PE Finder well", content="Cases it misses.",
        complexity="basic", complexity_note="A short briefing.",
    )  # fmt: skip

    found = overrides.rates(chair, deployment=pe)
    assert found.sees_everyone and found.practice_n == 500
    assert found.practice_rate == pytest.approx(86 / 500)
    by_name = {r.username: r for r in found.rows}
    assert [r.username for r in found.flagged] == ["rad-e"]
    assert by_name["rad-e"].flag == "high-99.8"
    assert (by_name["rad-e"].modified, by_name["rad-e"].rejected) == (22, 23)
    # rad-c (8 of 100) is below the 95 % limit but within the 99.8 %: a warning, not a flag
    assert {n: by_name[n].flag for n in ("rad-a", "rad-b", "rad-c", "rad-d")} == {
        "rad-a": "within", "rad-b": "within", "rad-c": "low", "rad-d": "within",
    }  # fmt: skip
    assert by_name["rad-a"].rate.estimate == pytest.approx(0.10)

    client.force_login(chair)
    page = client.get(reverse("monitoring:overrides"), {"deployment": pe.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("Offer supplemental training") == 1
    offer = f"{reverse('training:record_new')}?user={readers['rad-e'].pk}&amp;procedure={supplemental.pk}"
    assert offer in html
    assert "<svg" in html
    # the offer opens the training record form with the radiologist and the procedure chosen
    form = client.get(offer.replace("&amp;", "&")).content.decode()
    assert f'<option value="{readers["rad-e"].pk}" selected>' in form
    assert f'<option value="{supplemental.pk}" selected>' in form
    # sending the form as offered creates the supplemental training record (IV.F.3)
    today = timezone.localdate().isoformat()
    sent = {
        "user": readers["rad-e"].pk,
        "procedure": supplemental.pk,
        "completed_on": today,
        "notes": "",
    }
    base = training.create_procedure(
        chair, model_version=pe.model_version, required_roles=["physician"],
        title="PE Finder basics", content="The IFU.", complexity="basic",
        complexity_note="A short briefing.",
    )  # fmt: skip
    training.record_completion(  # supplemental training follows the base training (IV.F.3)
        chair, procedure=base, user=readers["rad-e"], completed_at=timezone.now(), notes=""
    )
    assert client.post(reverse("training:record_new"), sent).status_code == 302
    made = TrainingRecord.objects.get(user=readers["rad-e"], is_supplemental=True)
    assert made.is_supplemental and made.model_version == pe.model_version


def test_a_radiologist_sees_only_their_own_line(pe, readers, client: Client) -> None:  # type: ignore[no-untyped-def]
    seed_reviews(pe, readers)
    own = overrides.rates(readers["rad-e"])
    assert not own.sees_everyone
    assert [r.username for r in own.rows] == ["rad-e"] and own.rows[0].beyond
    client.force_login(readers["rad-a"])
    html = client.get(reverse("monitoring:overrides")).content.decode()
    assert "rad-a" in html
    assert not any(name in html for name in ("rad-b", "rad-c", "rad-d", "rad-e"))
    assert "Offer supplemental training" not in html


def test_an_addendum_replaces_the_review_it_amends(pe, chair, readers) -> None:  # type: ignore[no-untyped-def]
    seed_reviews(pe, readers)
    first = Review.objects.filter(reviewer=readers["rad-a"], decision="reject").first()
    assert first is not None

    @service
    def amend() -> None:
        Review.objects.create(
            inference=first.inference, reviewer=readers["rad-a"], decision="accept",
            concordance="concordant", reviewed_at=timezone.now(), amends=first,
        )  # fmt: skip

    amend()
    row = next(r for r in overrides.rates(chair).rows if r.username == "rad-a")
    assert (row.n, row.overrides) == (PER_READER, OVERRIDDEN["rad-a"] - 1)


def test_no_reviews_no_funnel(pe, chair, client: Client) -> None:  # type: ignore[no-untyped-def]
    found = overrides.rates(chair, deployment=pe)
    assert found.rows == [] and found.practice_rate is None and found.limits == {}
    client.force_login(chair)
    html = client.get(reverse("monitoring:overrides")).content.decode()
    assert "No reviews recorded yet." in html
    assert client.get(reverse("monitoring:overrides"), {"deployment": 99999}).status_code == 404


def test_the_page_is_not_for_the_vendor(pe, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(make_user("vendor-x", role=Role.VENDOR))
    assert client.get(reverse("monitoring:overrides")).status_code == 403


def test_viewer_interactions_count_beside_the_reviews(pe, chair, writer, readers) -> None:  # type: ignore[no-untyped-def]
    """A PACS reports what each radiologist did in the viewer: rad-f decides only there (their
    last decision counts), rad-a's viewer rejects of results they reviewed change nothing (the
    review counts), and rad-e, who leaves half of the results presented unopened, is beyond
    the engagement funnel's 99.8 % limits."""
    seed_reviews(pe, readers)
    rad_f = make_user("rad-f", role=Role.PHYSICIAN)
    at = "2026-02-03T10:00:00+00:00"
    later = "2026-02-03T10:05:00+00:00"
    rows = []
    for name, user in readers.items():
        mine = Inference.objects.filter(reviews__reviewer=user).order_by("pk")
        closed = 50 if name == "rad-e" else 5
        for j, inference in enumerate(mine):
            action = "not_opened" if j < closed else "viewed"
            rows.append(
                {"inference_id": inference.pk, "username": name, "action": action, "at": at}
            )
            if name == "rad-a" and j >= closed:  # a viewer reject of a result rad-a reviewed
                rows.append({"inference_id": inference.pk, "username": name,
                             "action": "rejected", "at": later})  # fmt: skip
            if name == "rad-b":  # rad-f decides on rad-b's results in the viewer only
                last = "rejected" if j < 40 else "accepted"
                rows.append({"inference_id": inference.pk, "username": "rad-f",
                             "action": "accepted", "at": at})  # fmt: skip
                rows.append({"inference_id": inference.pk, "username": "rad-f",
                             "action": last, "at": later})  # fmt: skip
    assert interactions.record_interactions(writer, rows) == len(rows)

    found = overrides.rates(chair, deployment=pe)
    by_name = {r.username: r for r in found.rows}
    a, e, f = by_name["rad-a"], by_name["rad-e"], by_name["rad-f"]
    assert (a.n, a.overrides) == (100, 10)  # as reviewed, not as rejected in the viewer
    assert (f.n, f.accepted, f.rejected, f.modified) == (100, 60, 40, 0)
    assert f.user_id == rad_f.pk and f.flag == "high-99.8"
    assert found.practice_n == 600 and found.practice_rate == pytest.approx(126 / 600)
    assert (e.presented, e.opened) == (100, 50) and e.engagement_flag == "low-99.8"
    assert e.engagement is not None and e.engagement.estimate == pytest.approx(0.5)
    assert found.engagement_rate == pytest.approx((4 * 95 + 50 + 100) / 600)
    assert f.engagement is not None and f.engagement.estimate == 1.0  # it opened all it decided on
    assert {"rad-e", "rad-f"} <= {r.username for r in found.flagged}
    assert all(by_name[n].engagement_flag not in overrides.BEYOND for n in ("rad-a", "rad-b"))
    html = client_for(chair).get(reverse("monitoring:overrides"), {"deployment": pe.pk})
    html = html.content.decode()
    assert "Opened in the viewer" in html and "0.500" in html
    assert html.count("Offer supplemental training") == len(found.flagged)
