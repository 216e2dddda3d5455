"""The drift page's chart over time (issue 17, "Dashboards at scale"): each output's PSI
against the reference window week by week, with every input column that drifts now, and the
PSI threshold above which a column drifts (when its test also says it is not chance).  A
Vega-Lite spec (Altair) rendered to SVG offline, cached as the monitoring page's chart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from radgov.evaluation.report.charts import GREY, RED
from radgov.monitoring.charts import cached_svg

if TYPE_CHECKING:
    import altair as alt


def weekly_psi_chart(drift: dict[str, Any]) -> alt.LayerChart | None:
    import altair as alt

    points = drift.get("weekly_psi") or []
    if not points:
        return None
    threshold = drift["settings"]["psi_threshold"]
    x = alt.X("week:T", title="Week ending")
    lines = (
        alt.Chart(alt.Data(values=points))
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("psi:Q", title="PSI against the reference"),
            color=alt.Color("column:N", title="Column", legend=alt.Legend(labelLimit=240)),
            tooltip=["column:N", "week:T", alt.Tooltip("psi:Q", format=".3f")],
        )
    )
    rule = (
        alt.Chart(alt.Data(values=[{"psi": threshold}]))
        .mark_rule(color=RED, strokeDash=[4, 3])
        .encode(y="psi:Q")
    )
    return alt.layer(lines, rule).properties(
        width=640, height=220,
        title=alt.Title(f"Weekly PSI (dashed: drift threshold {threshold:g})", color=GREY),
    )  # fmt: skip


def weekly_psi_svg(drift: dict[str, Any] | None) -> str:
    if not drift:
        return ""
    drawn = [drift.get("weekly_psi"), drift["settings"]["psi_threshold"]]
    return cached_svg("weekly-psi", drawn, lambda: weekly_psi_chart(drift))
