"""The page of how radiologists use the AI (IV.G.3): override rates per reviewer on a funnel
plot, and for a reviewer beyond the limits a supplemental training offer (IV.F.3) that opens
the training record form for them.  The governance group sees everyone, anyone else their own
line.  Thin: it reads through ``radgov.monitoring.overrides``."""

from __future__ import annotations

from typing import Any

import altair as alt
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from radgov.evaluation.report.charts import BAND, BLUE, GREY, RED, to_svg
from radgov.inventory.models import Deployment
from radgov.monitoring import overrides
from radgov.training.models import TrainingProcedure

BEYOND = "beyond 99.8 %"


def funnel_svg(found: overrides.Overrides) -> str:
    """The funnel plot: each reviewer's override rate by volume, the practice's rate and the
    95 % and 99.8 % limits (Vega-Lite through vl-convert, as the monitoring chart)."""
    if not found.limits or not found.rows:
        return ""
    c = found.limits
    curve = [
        {"n": n, "limit": name, "rate": rate}
        for name in ("low_95", "high_95", "low_998", "high_998")
        for n, rate in zip(c["n"], c[name], strict=True)
    ]
    points = [
        {
            "n": r.n,
            "rate": r.rate.estimate,
            "who": r.username,
            "beyond": BEYOND if r.flag in overrides.BEYOND else "within",
        }  # fmt: skip
        for r in found.rows
        if r.rate is not None
    ]
    top = max(c["n"])
    x = alt.X(
        "n:Q", title="AI results reviewed", scale=alt.Scale(type="log", domain=[1, top], nice=False)
    )
    y = alt.Y("rate:Q", title="Overridden (modified or rejected)", axis=alt.Axis(format="%"))
    limits = (
        alt.Chart(alt.Data(values=curve))
        .mark_line(strokeDash=[4, 3])
        .encode(
            x=x, y=y, detail="limit:N",
            color=alt.condition("indexof(datum.limit, '998') >= 0", alt.value(RED), alt.value(BAND)),
        )
    )  # fmt: skip
    target = (
        alt.Chart(alt.Data(values=[{"rate": found.practice_rate}]))
        .mark_rule(color=GREY)
        .encode(y="rate:Q")
    )
    dots = alt.Chart(alt.Data(values=points)).encode(x=x, y=y)
    colour = alt.Color(
        "beyond:N",
        scale=alt.Scale(domain=["within", BEYOND], range=[BLUE, RED]),
        title=None,
    )
    layers = [
        limits,
        target,
        dots.mark_circle(size=70).encode(color=colour, tooltip=["who:N", "n:Q", "rate:Q"]),
        dots.transform_filter(alt.datum.beyond == BEYOND)
        .mark_text(dx=8, align="left", color=GREY)
        .encode(text="who:N"),  # only the flagged are named: the others crowd at equal n
    ]
    return to_svg(
        alt.layer(*layers).properties(
            width=560,
            height=300,
            title=alt.Title("Override rate by volume against the practice's rate", color=GREY),
        )  # fmt: skip
    )


def _training_offer(row: overrides.ReviewerRate, deployment: Deployment | None) -> str:
    """The training record form for the reviewer, with the deployment's supplemental
    procedure when there is one."""
    url = f"{reverse('training:record_new')}?user={row.user_id}"
    if deployment is not None:
        procedure = TrainingProcedure.objects.filter(
            model_version=deployment.model_version, is_supplemental=True
        ).first()
        if procedure is not None:
            url += f"&procedure={procedure.pk}"
    return url


@require_GET
def overrides_page(request: HttpRequest) -> HttpResponse:
    chosen = request.GET.get("deployment", "")
    deployment = None
    if chosen.isdigit():
        deployment = get_object_or_404(
            Deployment.objects.select_related("model_version__product"), pk=int(chosen)
        )
    found = overrides.rates(request.user, deployment=deployment)
    offers: dict[int, str] = {}
    if found.sees_everyone:
        offers = {r.user_id: _training_offer(r, deployment) for r in found.flagged}
    context: dict[str, Any] = {
        "found": found,
        "rows": [(r, offers.get(r.user_id)) for r in found.rows],
        "svg": funnel_svg(found),
        "deployment": deployment,
        "deployments": Deployment.objects.select_related("model_version__product"),
    }
    return render(request, "monitoring/overrides.html", context)
