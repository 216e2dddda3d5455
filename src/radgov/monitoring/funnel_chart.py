"""The overrides page's funnel plots (issue 17, IV.G.3): one chart per rate (overrides;
engagement), each user a point at their rate against the number of results, the practice's
pooled rate as a line, and the funnel's 95 % and 99.8 % limits (``radgov.stats.funnel``,
Spiegelhalter 2005) as curves over n.  A flagged user is marked by colour, by shape and by
name, so the flag does not rest on colour alone.

It draws only the rows it is given: ``overrides.rates`` has already cut them to what the
viewer may see, so a radiologist's chart holds their own point against the limits and the
pooled rate and nothing of their peers.  A Vega-Lite spec (Altair) rendered to SVG offline
and cached like the monitoring page's other charts (``charts.cached_svg``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from radgov.evaluation.report.charts import BLUE, GREY, RED
from radgov.monitoring import overrides
from radgov.monitoring.charts import cached_svg

if TYPE_CHECKING:
    import altair as alt

AMBER = "#a15c00"
WIDTH = 560
WITHIN, WATCH, FLAGGED = "not flagged", "beyond 95 % (watch)", "beyond 99.8 % (flagged)"
STATUSES = [WITHIN, WATCH, FLAGGED]
LIMITS = {"95 % limits": ("low_95", "high_95"), "99.8 % limits": ("low_998", "high_998")}
CAPTION = (
    "Each point is one user: their rate against the number of results it counts. The grey "
    "line is the practice's pooled rate. Were a user's true rate the practice's, chance alone "
    "would place them between the 95 % curves (amber, dashed) 19 times in 20, and beyond the "
    "99.8 % curves (solid red) once in 500: a user beyond those is flagged. The curves narrow "
    "as n grows, since a rate over more results is surer (Spiegelhalter 2005, exact binomial "
    "limits)."
)


@dataclass(frozen=True)
class Rate:
    """One of the page's two funnels: the attributes of a row and of the practice it plots."""

    kind: str
    title: str
    x_title: str
    y_title: str
    n: str  # the row's attribute: results counted
    estimate: str  # the row's rate (an Estimate)
    flag: str  # the row's funnel flag
    pooled: str  # the practice's rate (Overrides)
    limits: str  # the practice's limits along n (Overrides)
    only_low: bool = False  # only a rate below the limits is a concern


OVERRIDE = Rate(
    "override", "Override rate by volume against the practice's rate",
    "AI results decided on (log scale)", "Overridden (modified or rejected)",
    n="n", estimate="rate", flag="flag", pooled="practice_rate", limits="limits",
)  # fmt: skip
ENGAGEMENT = Rate(
    "engagement", "Engagement by volume against the practice's rate",
    "AI results presented in the viewer (log scale)", "Opened in the viewer",
    n="presented", estimate="engagement", flag="engagement_flag", pooled="engagement_rate",
    limits="engagement_limits", only_low=True,
)  # fmt: skip


def _status(flag: str, only_low: bool) -> str:
    if only_low and flag.startswith("high"):
        return WITHIN  # opening more than the practice is no concern
    if flag in overrides.BEYOND:
        return FLAGGED
    return WATCH if flag in ("high", "low") else WITHIN


def drawn(found: overrides.Overrides, rate: Rate) -> dict[str, Any] | None:
    """What the chart draws (and its cache key): the visible rows' points, the practice's
    rate and the limits along n; None without a funnel.  The marked are named beside their
    points (the others crowd at equal n), and a viewer who sees only themself is named."""
    points = []
    for row in found.rows:
        estimate = getattr(row, rate.estimate)
        if estimate is None:
            continue
        status = _status(getattr(row, rate.flag), rate.only_low)
        points.append({
            "who": row.username, "n": getattr(row, rate.n), "rate": estimate.estimate,
            "status": status, "named": status != WITHIN or not found.sees_everyone,
        })  # fmt: skip
    limits, pooled = getattr(found, rate.limits), getattr(found, rate.pooled)
    if not limits or pooled is None or not points:
        return None
    return {"kind": rate.kind, "points": points, "pooled": pooled, "limits": limits}


def funnel_chart(rate: Rate, data: dict[str, Any]) -> alt.LayerChart:
    import altair as alt

    curves = data["limits"]
    lines = [
        {"n": n, "limits": label, "curve": name, "rate": value}
        for label, names in LIMITS.items()
        for name in names
        for n, value in zip(curves["n"], curves[name], strict=True)
    ]
    x = alt.X(
        "n:Q", title=rate.x_title,
        scale=alt.Scale(type="log", domain=[1, max(curves["n"])], nice=False),
    )  # fmt: skip
    y = alt.Y(
        "rate:Q", title=rate.y_title, axis=alt.Axis(format="%"),
        scale=alt.Scale(domain=[0, 1]),
    )  # fmt: skip
    kind = {"field": "limits", "type": "nominal", "title": "Funnel"}
    funnel = (
        alt.Chart(alt.Data(values=lines), name="limits")
        .mark_line(strokeWidth=1.5)
        .encode(
            x=x, y=y, detail="curve:N",
            color=alt.Color(**kind, scale=alt.Scale(domain=list(LIMITS), range=[AMBER, RED])),
            strokeDash=alt.StrokeDash(**kind, scale=alt.Scale(domain=list(LIMITS), range=[[5, 3], [1, 0]])),
        )
    )  # fmt: skip
    pooled = alt.Chart(alt.Data(values=[{"rate": data["pooled"]}]))
    target = (
        pooled.mark_rule(color=GREY, strokeWidth=1.5).encode(y="rate:Q").properties(name="pooled")
    )
    target_label = (
        pooled.transform_calculate(label="'practice ' + format(datum.rate, '.1%')")
        .mark_text(align="right", baseline="bottom", dy=-3, color=GREY)
        .encode(y="rate:Q", x=alt.value(WIDTH), text="label:N")
    )
    points = alt.Chart(alt.Data(values=data["points"])).encode(x=x, y=y)
    status = {"field": "status", "type": "nominal", "title": "User"}
    legend = alt.Legend(labelLimit=220)
    dots = (
        points.mark_point(size=90, filled=True, opacity=1)
        .encode(
            color=alt.Color(**status, legend=legend, scale=alt.Scale(domain=STATUSES, range=[BLUE, AMBER, RED])),
            shape=alt.Shape(**status, legend=legend, scale=alt.Scale(domain=STATUSES, range=["circle", "square", "triangle-up"])),
            tooltip=[alt.Tooltip("who:N", title="user"), "n:Q", alt.Tooltip("rate:Q", format=".1%")],
        )
        .properties(name="users")
    )  # fmt: skip
    names = (  # at the left of the point: the busiest sit at the right edge
        points.transform_filter(alt.datum.named)
        .mark_text(align="right", dx=-9, dy=-6, fontSize=11, color="#333333")
        .encode(text="who:N")
    )
    return (
        alt.layer(funnel, target, target_label, dots, names)
        .properties(
            width=WIDTH,
            height=300,
            title=alt.Title(rate.title, color=GREY),
            padding={"left": 5, "top": 5, "bottom": 5, "right": 40},  # browsers' wider fonts
        )  # fmt: skip
        .resolve_scale(color="independent", shape="independent", strokeDash="independent")
    )


def funnel_svgs(found: overrides.Overrides) -> dict[str, str]:
    """{"override": svg, "engagement": svg}: blank where there is no funnel to draw."""
    svgs = {}
    for rate in (OVERRIDE, ENGAGEMENT):
        data = drawn(found, rate)
        svgs[rate.kind] = "" if data is None else cached_svg(
            f"funnel-{rate.kind}", data, lambda rate=rate, data=data: funnel_chart(rate, data)
        )  # fmt: skip
    return svgs
