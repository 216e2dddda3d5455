"""The report's charts as Vega-Lite specs (Altair), rendered to SVG offline with vl-convert.

Each builder takes the ``OUT.json`` dictionary (``result.to_json_dict``), so the page, the PDF
and any later re-rendering draw from the same numbers.  Nothing is fetched from the network:
vl-convert bundles Vega, Vega-Lite and its fonts.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair as alt

__all__ = [
    "BAND_CHARTS",
    "BUILDERS",
    "bland_altman_chart",
    "calibration_chart",
    "confusion_chart",
    "forest_chart",
    "roc_chart",
    "svgs",
    "to_svg",
    "warm_up",
]

VL_VERSION = "v6_1"
FONT = "Helvetica, Arial, sans-serif"
BLUE = "#1f5a96"
BAND = "#9ec3e6"
GREY = "#888888"
RED = "#b3261e"
GREEN = "#1b7a3a"


def _config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return chart.configure(font=FONT).configure_axis(
        labelFontSize=11, titleFontSize=12, grid=True, gridColor="#e6e6e6"
    ).configure_view(stroke="#cccccc")  # fmt: skip


def to_svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert as vlc

    spec = _config(chart).to_dict(validate=False)  # the builders are tested; skip re-validation
    svg: str = vlc.vegalite_to_svg(spec, vl_version=VL_VERSION)
    # the page embeds the SVG inline: drop the XML prolog if any
    return svg.split("?>", 1)[-1].strip() if svg.startswith("<?xml") else svg


def warm_up() -> None:
    """Start the Vega engine: its first chart costs most of a second."""
    import altair as alt

    to_svg(alt.Chart(alt.Data(values=[{"x": 0}])).mark_point().encode(x="x:Q"))


def _room_for(labels: Iterable[str]) -> dict[str, int]:
    """Padding for a chart whose labels ``labels`` stand right-aligned at its left edge.

    vl-convert lays text out in Liberation Sans (its Helvetica and Arial), but the PDF and a
    browser draw it in the machine's font, which may be wider: DejaVu Sans, the fallback on
    Linux servers, takes about half a pixel more per character at 11 px.  Such labels grow
    leftwards past the chart's edge and lose their first letters ("anufacturer=Siemens")
    unless there is room: a pixel per character.  (Laying the text out in DejaVu Sans itself
    would fit exactly, but vl-convert reads a system font from disk for every label: a fifth
    of a second more per report.)
    """
    longest = max((len(label) for label in labels), default=0)
    return {"left": 5 + longest, "top": 5, "right": 5, "bottom": 5}


def _records(**columns: list[Any]) -> list[dict[str, Any]]:
    keys = list(columns)
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _unit_axis(title: str) -> alt.Axis:
    import altair as alt

    return alt.Axis(title=title, values=[0, 0.2, 0.4, 0.6, 0.8, 1.0], format=".1f")


def roc_chart(result: dict[str, Any]) -> alt.TopLevelMixin | None:
    import altair as alt

    curves = result["curves"]
    if "roc" not in curves:
        return None
    x = alt.X("fpr:Q", scale=alt.Scale(domain=[0, 1]), axis=_unit_axis("1 - specificity (FPR)"))
    y_axis = _unit_axis("Sensitivity (TPR)")
    layers: list[alt.Chart] = []
    diag = alt.Chart(alt.Data(values=[{"fpr": 0, "tpr": 0}, {"fpr": 1, "tpr": 1}])).mark_line(
        color=GREY, strokeDash=[4, 4], strokeWidth=1
    ).encode(x=x, y=alt.Y("tpr:Q", scale=alt.Scale(domain=[0, 1]), axis=y_axis))  # fmt: skip
    layers.append(diag)
    band = curves.get("roc_band")
    if band:
        rows = _records(fpr=band["fpr"], lo=band["tpr_low"], hi=band["tpr_high"])
        layers.append(
            alt.Chart(alt.Data(values=rows))
            .mark_area(color=BAND, opacity=0.6)
            .encode(x=x, y=alt.Y("lo:Q", axis=y_axis), y2="hi:Q")
        )
    roc = _records(fpr=curves["roc"]["fpr"], tpr=curves["roc"]["tpr"])
    for i, r in enumerate(roc):
        r["order"] = i
    layers.append(
        alt.Chart(alt.Data(values=roc))
        .mark_line(color=BLUE, strokeWidth=2)
        .encode(x=x, y=alt.Y("tpr:Q", axis=y_axis), order="order:Q")
    )
    op = curves.get("operating_point")
    if op:
        layers.append(
            alt.Chart(alt.Data(values=[op]))
            .mark_point(shape="diamond", size=110, filled=True, color=RED)
            .encode(x="fpr:Q", y="tpr:Q")
        )
        label = {**op, "text": f"threshold {op['threshold']:g}"}
        layers.append(
            alt.Chart(alt.Data(values=[label]))
            .mark_text(align="left", dx=8, dy=10, fontSize=11, color=RED)
            .encode(x="fpr:Q", y="tpr:Q", text="text:N")
        )
    return alt.layer(*layers).properties(width=270, height=270)


def calibration_chart(result: dict[str, Any]) -> alt.TopLevelMixin | None:
    import altair as alt

    cal = result["curves"].get("calibration")
    if not cal:
        return None
    rows = [
        r
        for r in _records(
            pred=cal["mean_predicted"],
            obs=cal["observed"],
            lo=cal["observed_low"],
            hi=cal["observed_high"],
            n=cal["count"],
        )
        if r["n"] > 0 and r["pred"] is not None
    ]
    x = alt.X("pred:Q", scale=alt.Scale(domain=[0, 1]), axis=_unit_axis("Mean AI score in bin"))
    y = alt.Y(
        "obs:Q",
        scale=alt.Scale(domain=[0, 1]),
        axis=_unit_axis("Observed fraction positive"),
    )
    diag = alt.Chart(alt.Data(values=[{"pred": 0, "obs": 0}, {"pred": 1, "obs": 1}])).mark_line(
        color=GREY, strokeDash=[4, 4], strokeWidth=1
    ).encode(x=x, y=y)  # fmt: skip
    data = alt.Data(values=rows)
    bars = alt.Chart(data).mark_rule(color=BLUE).encode(x=x, y=alt.Y("lo:Q"), y2="hi:Q")
    line = alt.Chart(data).mark_line(color=BLUE, strokeWidth=1.5).encode(x=x, y=y)
    points = alt.Chart(data).mark_circle(color=BLUE, opacity=1).encode(
        x=x,
        y=y,
        size=alt.Size("n:Q", scale=alt.Scale(range=[20, 200]), legend=None),
        tooltip=["pred:Q", "obs:Q", "n:Q"],
    )  # fmt: skip
    return alt.layer(diag, bars, line, points).properties(width=270, height=270)


def confusion_chart(result: dict[str, Any]) -> alt.TopLevelMixin | None:
    import altair as alt

    cm = result["curves"].get("confusion")
    if not cm:
        return None
    thr = result["protocol"]["threshold"]
    pos, neg = f"AI positive (score ≥ {thr:g})", f"AI negative (score < {thr:g})"
    cells = [
        {"truth": "Truth positive", "ai": pos, "count": cm["tp"], "name": "TP"},
        {"truth": "Truth positive", "ai": neg, "count": cm["fn"], "name": "FN"},
        {"truth": "Truth negative", "ai": pos, "count": cm["fp"], "name": "FP"},
        {"truth": "Truth negative", "ai": neg, "count": cm["tn"], "name": "TN"},
    ]
    total = sum(c["count"] for c in cells) or 1
    for c in cells:
        c["text"] = f"{c['name']} {c['count']:,}"
        c["share"] = f"{100 * c['count'] / total:.1f}% of cases"
        c["correct"] = c["name"] in ("TP", "TN")
    data = alt.Data(values=cells)
    plain = {"grid": False, "ticks": False, "domain": False, "labelFontSize": 11}
    x = alt.X(
        "ai:N", sort=[pos, neg], title=None, axis=alt.Axis(labelAngle=0, orient="top", **plain)
    )
    y = alt.Y(
        "truth:N", sort=["Truth positive", "Truth negative"], title=None, axis=alt.Axis(**plain)
    )
    rect = alt.Chart(data).mark_rect(stroke="white", strokeWidth=2).encode(
        x=x,
        y=y,
        color=alt.Color(
            "correct:N",
            scale=alt.Scale(domain=[True, False], range=["#d7e8d9", "#f4d6d3"]),
            legend=None,
        ),
    )  # fmt: skip
    text = alt.Chart(data).mark_text(fontSize=15, fontWeight="bold", dy=-8).encode(
        x=x, y=y, text="text:N"
    )  # fmt: skip
    share = alt.Chart(data).mark_text(fontSize=11, dy=12, color="#444444").encode(
        x=x, y=y, text="share:N"
    )  # fmt: skip
    return alt.layer(rect, text, share).properties(
        width=300, height=160, padding=_room_for(["Truth positive", "Truth negative"])
    )


def _forest_rows(result: dict[str, Any], titles: dict[str, str]) -> list[dict[str, Any]]:
    thresholds: dict[str, float] = {}
    for c in result["criteria"]:
        thresholds.setdefault(c["metric"], c["threshold"])
    groups = {"overall": result["overall"], **result["subgroups"]}
    rows = []
    for metric, title in titles.items():
        for key, metrics in groups.items():
            e = metrics[metric]
            rows.append(
                {
                    "metric": title,
                    "group": "Overall" if key == "overall" else key,
                    "est": e["estimate"],
                    "lo": e["ci_low"],
                    "hi": e["ci_high"],
                    "estimable": e["estimate"] is not None,
                    "threshold": thresholds.get(metric),
                    "note": None if e["estimate"] is not None else "not estimable",
                }
            )
    return rows


# a forest panel's title: lines of at most PANEL_TITLE characters (13 px bold over a 150 px
# panel), joined by LINE, which the header splits ("Lower limit of agreement" took the room of
# its neighbours' titles on one line)
PANEL_TITLE = 18
LINE = "|"


def _panel_titles(result: dict[str, Any]) -> dict[str, str]:
    """Each metric of the protocol, in its order, with its panel's title."""
    from .summary import LABELS

    titles = {}
    for metric in result["protocol"]["content"]["metrics"]:
        label = LABELS.get(metric, metric)
        titles[metric] = LINE.join(textwrap.wrap(label, PANEL_TITLE)) or label
    return titles


def forest_chart(result: dict[str, Any]) -> alt.TopLevelMixin | None:
    import altair as alt

    titles = _panel_titles(result)
    rows = _forest_rows(result, titles)
    if not rows:
        return None
    order = list(dict.fromkeys(r["group"] for r in rows))
    data = alt.Data(values=rows)
    # no tick marks (the grid and the row labels are enough) and one threshold line per panel:
    # the chart stays light for WeasyPrint, and readable
    y = alt.Y(
        "group:N",
        sort=order,
        title=None,
        axis=alt.Axis(labelLimit=200, grid=False, ticks=False, domain=False, labelPadding=6),
    )
    x = alt.X(
        "est:Q",
        title=None,
        scale=alt.Scale(zero=False, nice=False, padding=8),
        axis=alt.Axis(
            tickCount=4, grid=True, ticks=False, labelOverlap="greedy", labelSeparation=6
        ),
    )
    base = alt.Chart(data)
    ci = base.transform_filter("datum.estimable").mark_rule(color=BLUE, strokeWidth=2).encode(
        x=alt.X("lo:Q", title=None), x2="hi:Q", y=y
    )  # fmt: skip
    point = base.transform_filter("datum.estimable").mark_point(
        filled=True, size=45, shape="square"
    ).encode(
        x=x,
        y=y,
        color=alt.condition("datum.group == 'Overall'", alt.value("#000000"), alt.value(BLUE)),
    )  # fmt: skip
    threshold = base.transform_filter(
        "datum.threshold != null && datum.group == 'Overall'"
    ).mark_rule(
        color=RED, strokeDash=[4, 3]
    ).encode(x="threshold:Q")  # fmt: skip
    missing = base.transform_filter("!datum.estimable").mark_text(
        color=RED, fontSize=10, align="left", x=4
    ).encode(y=y, text="note:N")  # fmt: skip
    metrics = list(titles.values())
    return (
        alt.layer(ci, point, threshold, missing, data=data)
        .properties(width=150, height=alt.Step(16))
        .facet(
            facet=alt.Facet(
                "metric:N",
                sort=metrics,
                title=None,
                header=alt.Header(
                    labelFontSize=13,
                    labelFontWeight="bold",
                    labelExpr=f"split(datum.value, '{LINE}')",
                ),
            ),
            columns=min(3, len(metrics)),
        )
        .resolve_scale(x="independent")
        .properties(padding=_room_for(order))
    )


def bland_altman_chart(result: dict[str, Any]) -> alt.TopLevelMixin | None:
    import altair as alt

    ba = result["curves"].get("bland_altman")
    if not ba:
        return None
    pts = _records(mean=ba["mean"], diff=ba["difference"])
    scatter = alt.Chart(alt.Data(values=pts)).mark_circle(size=14, opacity=0.5, color=BLUE).encode(
        x=alt.X("mean:Q", title="Mean of AI and reference", scale=alt.Scale(zero=False)),
        y=alt.Y("diff:Q", title="AI - reference"),
    )  # fmt: skip
    lines = [
        {"y": ba["bias"], "label": f"bias {ba['bias']:.3g}", "kind": "bias"},
        {"y": ba["loa_low"], "label": f"lower limit {ba['loa_low']:.3g}", "kind": "loa"},
        {"y": ba["loa_high"], "label": f"upper limit {ba['loa_high']:.3g}", "kind": "loa"},
    ]
    lines = [r for r in lines if r["y"] is not None and math.isfinite(r["y"])]
    rules = alt.Chart(alt.Data(values=lines)).mark_rule(strokeDash=[5, 3]).encode(
        y="y:Q",
        color=alt.Color(
            "kind:N", scale=alt.Scale(domain=["bias", "loa"], range=[RED, GREY]), legend=None
        ),
    )  # fmt: skip
    labels = alt.Chart(alt.Data(values=lines)).mark_text(
        align="right", dy=-6, fontSize=11, x="width"
    ).encode(y="y:Q", text="label:N")  # fmt: skip
    return alt.layer(scatter, rules, labels).properties(width=520, height=280)


Builder = Callable[[dict[str, Any]], "alt.TopLevelMixin | None"]

# the report's charts, in the page's order
BUILDERS: dict[str, Builder] = {
    "roc": roc_chart,
    "calibration": calibration_chart,
    "confusion": confusion_chart,
    "forest": forest_chart,
    "bland_altman": bland_altman_chart,
}
# the charts that draw the ROC confidence band (``curves.roc_band``), the part of a result that
# comes last; the others do not read it (the tests check)
BAND_CHARTS = frozenset({"roc"})


def svgs(result: dict[str, Any], names: Iterable[str] = BUILDERS) -> dict[str, str]:
    """The charts ``names`` (default: all) that ``result`` has, as SVG, in the page's order."""
    wanted = set(names)
    out: dict[str, str] = {}
    for name, build in BUILDERS.items():
        if name in wanted:
            chart = build(result)
            if chart is not None:
                out[name] = to_svg(chart)
    return out
