"""The overrides page's funnel plots (issue 17): the outlier's point is drawn beyond the 99.8 %
curve, the others inside, and a radiologist's chart holds their own point alone, with no
peer's name or point.  Read from the SVG the page embeds, as a browser would draw it."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import numpy as np
import pytest
from django.urls import reverse

from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.monitoring import funnel_chart, interactions, overrides
from tests.factories import client_for, make_user
from tests.monitoring.test_overrides import OVERRIDDEN, rad_d_leaves_most_unopened, seed_reviews

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def five(db):  # type: ignore[no-untyped-def]
    return {name: make_user(name, role=Role.PHYSICIAN) for name in OVERRIDDEN}


def charts(html: str) -> dict[str, ElementTree.Element]:
    """{figure id: its SVG} from the page."""
    found = re.findall(r'<figure class="chart[^"]*" id="([\w-]+)">(<svg.*?</svg>)', html, re.S)
    return {name: ElementTree.fromstring(svg) for name, svg in found}  # noqa: S314 - our own page


def points(svg: ElementTree.Element) -> dict[str, tuple[float, float]]:
    """{user: (x, y)} of the users' points, in the plot's pixels (y down)."""
    drawn = {}
    for path in svg.iter(f"{SVG}path"):
        if path.get("aria-roledescription") == "point":
            who = re.search(r"user: ([^;]+);", path.get("aria-label", ""))
            assert who is not None, path.get("aria-label")
            x, y = re.findall(r"[-\d.]+", path.get("transform", ""))
            drawn[who.group(1)] = (float(x), float(y))
    return drawn


def curve_at(svg: ElementTree.Element, curve: str, x: float) -> float:
    """The height in pixels of a limit curve (``high_998`` ...) where it passes ``x``."""
    for path in svg.iter(f"{SVG}path"):
        if path.get("aria-label", "").endswith(f"curve: {curve}"):
            xy = np.array(re.findall(r"([-\d.]+),([-\d.]+)", path.get("d", "")), dtype=float)
            return float(np.interp(x, xy[:, 0], xy[:, 1]))
    raise AssertionError(f"no {curve} curve drawn")


def test_the_outlier_is_drawn_beyond_the_998_curve(pe, chair, five) -> None:  # type: ignore[no-untyped-def]
    seed_reviews(pe, five)
    html = client_for(chair).get(reverse("monitoring:overrides"), {"deployment": pe.pk})
    drawn = charts(html.content.decode())
    svg = drawn["funnel-chart"]
    at = points(svg)
    assert set(at) == set(OVERRIDDEN)
    x, y = at["rad-e"]  # 45 of 100 overridden against the practice's 17.2 %
    assert y < curve_at(svg, "high_998", x)  # above the curve: y grows downwards
    for name in ("rad-a", "rad-b", "rad-d"):
        x, y = at[name]
        assert curve_at(svg, "high_95", x) < y < curve_at(svg, "low_95", x)
    labels = {t.text for t in svg.iter(f"{SVG}text")}
    assert {"rad-e", "rad-c"} <= labels  # flagged and watched are named beside their marks
    assert "beyond 99.8 % (flagged)" in labels and "practice 17.2%" in labels
    assert "rad-a" not in labels  # within the limits: a point with no name beside it
    assert "engagement-chart" not in drawn  # no viewer events, no engagement funnel


def test_a_radiologist_sees_their_point_alone(pe, five) -> None:  # type: ignore[no-untyped-def]
    seed_reviews(pe, five)
    for name in ("rad-a", "rad-e"):
        html = client_for(five[name]).get(reverse("monitoring:overrides")).content.decode()
        svg = charts(html)["funnel-chart"]
        assert list(points(svg)) == [name] and name in {t.text for t in svg.iter(f"{SVG}text")}
        text = ElementTree.tostring(svg, encoding="unicode")
        assert not any(peer in text for peer in OVERRIDDEN if peer != name)


def test_the_engagement_funnel_marks_who_leaves_results_unopened(pe, chair, writer, five) -> None:  # type: ignore[no-untyped-def]
    """rad-d leaves 60 of their 100 results unopened, the others 3: only rad-d is below the
    engagement funnel's 99.8 % curve; opening more than the practice is no concern."""
    seed_reviews(pe, five)
    interactions.record_interactions(writer, rad_d_leaves_most_unopened(five))
    html = client_for(chair).get(reverse("monitoring:overrides"), {"deployment": pe.pk})
    svg = charts(html.content.decode())["engagement-chart"]
    at = points(svg)
    x, y = at["rad-d"]
    assert y > curve_at(svg, "low_998", x)  # below the curve
    labels = {t.text for t in svg.iter(f"{SVG}text")}
    assert "rad-d" in labels and not labels & (set(OVERRIDDEN) - {"rad-d"})
    found = overrides.rates(five["rad-a"], deployment=pe)
    assert [p["who"] for p in funnel_chart.drawn(found, funnel_chart.ENGAGEMENT)["points"]] == [
        "rad-a"
    ]


def test_no_funnel_without_a_rate(pe, chair) -> None:  # type: ignore[no-untyped-def]
    html = client_for(chair).get(reverse("monitoring:overrides")).content.decode()
    assert charts(html) == {}


def test_a_radiologists_limits_stop_at_their_own_volume(pe, chair, writer, five) -> None:  # type: ignore[no-untyped-def]
    """rad-a also accepts rad-b's 100 results in the viewer (200 decided on): rad-b's chart
    draws the limits to rad-b's 100 results, not to rad-a's 200, which would tell rad-b how
    busy their busiest peer is."""
    seed_reviews(pe, five)
    theirs = Inference.objects.filter(reviews__reviewer=five["rad-b"]).values_list("pk", flat=True)
    rows = [
        {"inference_id": pk, "username": "rad-a", "action": "accepted", "at": "2026-02-03T10:00:00+00:00"}
        for pk in theirs
    ]  # fmt: skip
    interactions.record_interactions(writer, rows)
    assert max(overrides.rates(chair, deployment=pe).limits["n"]) == 220
    own = overrides.rates(five["rad-b"], deployment=pe)
    assert max(own.limits["n"]) == 110
    assert own.practice_rate == pytest.approx(86 / 600)  # the practice's rate stays
    nobody = make_user("rad-new", role=Role.PHYSICIAN)  # no decisions: no funnel to draw
    assert funnel_chart.funnel_svgs(overrides.rates(nobody, deployment=pe)) == {
        "override": "", "engagement": ""
    }  # fmt: skip
