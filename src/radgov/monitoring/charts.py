"""The monitoring page's chart as a Vega-Lite spec (Altair), rendered to SVG offline by the
evaluation report's ``to_svg`` (vl-convert): each day's discordance rate after the baseline,
the baseline's interval, and the days a stop rule signalled."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.cache import cache

from radgov.evaluation.report.charts import BAND, BLUE, GREY, RED, to_svg

if TYPE_CHECKING:
    import altair as alt

CHART_SECONDS = 24 * 3600


def discordance_chart(view: dict[str, Any]) -> alt.LayerChart | None:
    import altair as alt

    charts, base = view.get("charts"), view.get("baseline")
    if not charts or not base:
        return None
    days = charts["days"]
    points = [
        {"day": d, "rate": r}
        for d, r in zip(days, charts["daily_rate"], strict=True)
        if r is not None
    ]
    band = [{"start": days[0], "end": days[-1], "low": base["ci_low"], "high": base["ci_high"]}]
    signals = [{"day": d, "rule": rule} for rule, d in charts["signal_days"].items()]
    x = alt.X("day:T", title="Day")
    layers = [
        alt.Chart(alt.Data(values=band))
        .mark_rect(color=BAND, opacity=0.5)
        .encode(x="start:T", x2="end:T", y="low:Q", y2="high:Q"),
        alt.Chart(alt.Data(values=points))
        .mark_line(color=BLUE, point=True)
        .encode(
            x=x, y=alt.Y("rate:Q", title="Discordant (AI vs report)", axis=alt.Axis(format="%"))
        ),
    ]
    if signals:
        layers.append(
            alt.Chart(alt.Data(values=signals))
            .mark_rule(color=RED, strokeWidth=2)
            .encode(x="day:T", tooltip=["rule:N", "day:T"])
        )
    return alt.layer(*layers).properties(
        width=640, height=220, title=alt.Title("Daily discordance against the baseline", color=GREY)
    )  # fmt: skip


def discordance_svg(view: dict[str, Any]) -> str:
    """The chart as SVG, kept in the cache (:func:`cached_svg`)."""
    charts = view.get("charts") or {}
    drawn = [view.get("baseline")] + [charts.get(k) for k in ("days", "daily_rate", "signal_days")]
    return cached_svg("discordance", drawn, lambda: discordance_chart(view))


def cached_svg(kind: str, drawn: Any, chart: Callable[[], alt.TopLevelMixin | None]) -> str:
    """A chart as SVG, kept in the cache under a digest of what it draws (drawing it takes
    most of a page's time; the same figures draw the same chart); blank without a chart."""
    digest = hashlib.sha256(json.dumps(drawn, sort_keys=True, default=str).encode()).hexdigest()
    key = f"monitoring:{kind}-svg:{digest}"
    svg = cache.get(key)
    if svg is None:
        made = chart()
        svg = "" if made is None else to_svg(made)
        cache.set(key, svg, CHART_SECONDS)
    return str(svg)
