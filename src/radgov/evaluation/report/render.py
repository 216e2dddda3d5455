"""The acceptance-test report as a standalone HTML page and as a PDF (WeasyPrint, same HTML).

The template is ``evaluation/report.html``, rendered with a standalone Django template
``Engine`` (no settings or database needed); charts are inline SVG; CSS is inline.  No script,
no font or stylesheet from the network.
"""

from __future__ import annotations

import base64
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .summary import LABELS, RULE_SYMBOLS, RULE_WORDS, fmt, plain_summary

if TYPE_CHECKING:
    from django.template import Engine
    from django.template.base import Template

__all__ = [
    "load_pdf_engine",
    "report_pdf",
    "load_template",
    "render_html",
    "render_page",
    "render_pdf",
]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_engine: Engine | None = None


def _get_engine() -> Engine:
    global _engine
    if _engine is None:
        from django.template import Engine

        _engine = Engine(dirs=[str(TEMPLATES)], autoescape=True)
    return _engine


def load_template() -> Template:
    """The report's template, read and compiled (once per process)."""
    return _get_engine().get_template("evaluation/report.html")


def load_pdf_engine() -> None:
    """Import WeasyPrint and its native libraries (Pango, HarfBuzz, ...): half a second."""
    import weasyprint  # noqa: F401


METHOD_NAMES = {
    "wilson": "Wilson score interval",
    "clopper-pearson": "Clopper-Pearson exact interval",
    "agresti-coull": "Agresti-Coull interval",
    "DeLong": "DeLong interval",
}


def _interval(e: dict[str, Any]) -> str:
    if e["estimate"] is None:
        return ""
    return f"{fmt(e['ci_low'])} – {fmt(e['ci_high'])}"


def _metric_row(name: str, e: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": LABELS.get(name, name),
        "key": name,
        "estimate": fmt(e["estimate"]),
        "interval": _interval(e),
        "n": f"{e['n']:,}",
        "method": METHOD_NAMES.get(e["method"], e["method"]),
        "not_estimable": e.get("not_estimable"),
    }


def _criteria_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for c in result["criteria"]:
        rows.append(
            {
                "index": str(c["criterion"]),
                "metric": LABELS.get(c["metric"], c["metric"]),
                "subgroup": "Overall" if c["subgroup"] == "overall" else c["subgroup"],
                "rule": f"{RULE_SYMBOLS[c['rule']]} {c['threshold']:g}",
                "observed": fmt(c["observed"]),
                "passed": c["passed"],
                "reason": c.get("reason"),
            }
        )
    return rows


# metric columns per subgroup table: with the subgroup and case-count columns, six metrics and
# their intervals fit the width of an A4 page; more are split over tables of equal size
TABLE_METRICS = 6


def _column_groups(n: int, most: int = TABLE_METRICS) -> list[range]:
    """``range(n)`` in the fewest runs of at most ``most``, as equal in size as they can be."""
    size = max(1, math.ceil(n / max(1, math.ceil(n / most))))
    return [range(start, min(start + size, n)) for start in range(0, n, size)]


def _subgroup_tables(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each metric by subgroup, as tables of at most :data:`TABLE_METRICS` metric columns,
    each repeating the subgroup and its size."""
    metrics = result["protocol"]["content"]["metrics"]
    groups = {"overall": result["overall"], **result["subgroups"]}
    rows = []
    for key, values in groups.items():
        info = result["groups"][key]
        cells = []
        for m in metrics:
            e = values[m]
            if e["estimate"] is None:
                cells.append({"text": "not estimable", "reason": e.get("not_estimable")})
            else:
                cells.append({"text": fmt(e["estimate"]), "interval": _interval(e), "reason": None})
        size = f"{info['n']:,}"
        if "n_positive" in info:
            size += f" ({info['n_positive']:,}+)"
        rows.append({"key": "Overall" if key == "overall" else key, "size": size, "cells": cells})
    return [
        {
            "metrics": [LABELS.get(metrics[i], metrics[i]) for i in columns],
            "rows": [{**row, "cells": [row["cells"][i] for i in columns]} for row in rows],
        }
        for columns in _column_groups(len(metrics))
    ]


def _context(result: dict[str, Any], svgs: dict[str, str]) -> dict[str, Any]:
    p = result["protocol"]
    content = p["content"]
    subgroups = []
    for s in content["subgroups"]:
        if s["bins"]:
            edges = ", ".join(f"{b:g}" for b in s["bins"])
            subgroups.append(f"{s['column']} in half-open bins with edges {edges}")
        else:
            subgroups.append(s["column"])
    crit_text = []
    for i, c in enumerate(content["criteria"], start=1):
        rules = [
            f"{RULE_WORDS[k]} {v:g}" for k, v in c.items() if k in RULE_WORDS and v is not None
        ]
        where = {None: "overall", "all": "overall and every subgroup"}.get(
            c["subgroups"] if not isinstance(c["subgroups"], list) else None,
            "overall",
        )
        if isinstance(c["subgroups"], list):
            where = ", ".join(c["subgroups"])
        crit_text.append(
            f"{i}. {LABELS.get(c['metric'], c['metric'])}: {', '.join(rules)} ({where})"
        )
    ifu = [
        {
            "metric": LABELS.get(row["metric"], row["metric"]),
            "claimed": fmt(row["claimed"]),
            "claimed_interval": (
                f"{fmt(row['claimed_ci_low'])} – {fmt(row['claimed_ci_high'])}"
                if row["claimed_ci_low"] is not None and row["claimed_ci_high"] is not None
                else ""
            ),
            "source": row["source"] or "",
            "observed": fmt(row["observed"]),
            "interval": (
                f"{fmt(row['ci_low'])} – {fmt(row['ci_high'])}" if row["ci_low"] is not None else ""
            ),
            "verdict": row["verdict"],
        }
        for row in result["ifu_comparison"]
    ]
    n_failed = sum(1 for c in result["criteria"] if not c["passed"])
    # numbers reach the template as text: the standalone engine must not need settings (l10n)
    info = result["groups"]["overall"]
    overall_info = {k: f"{v:,}" for k, v in info.items()}
    band = result["curves"].get("roc_band")
    return {
        "r": result,
        "binary": p["task"] == "binary",
        "min_denominator": str(content.get("min_denominator", "")),
        "title": f"Acceptance test: {p['name']}",
        "passed": result["passed"],
        "n_criteria": str(len(result["criteria"])),
        "n_failed": str(n_failed),
        "threshold": None if p["threshold"] is None else f"{p['threshold']:g}",
        "summary": plain_summary(result),
        "protocol_hash": p["hash"],
        "metrics_list": ", ".join(LABELS.get(m, m) for m in content["metrics"]),
        "subgroups_list": subgroups,
        "criteria_text": crit_text,
        "overall_rows": [_metric_row(m, e) for m, e in result["overall"].items()],
        "overall_info": overall_info,
        "criteria_rows": _criteria_rows(result),
        "subgroup_tables": _subgroup_tables(result),
        "ifu": ifu,
        "privacy": result["privacy"],
        "charts": svgs,
        "band_resamples": str(band["n_resamples"]) if band else None,
        "level_pct": f"{100 * p['confidence_level']:g}",
        "proportion_method": METHOD_NAMES.get(
            content["proportion_method"], content["proportion_method"]
        ),
    }


def render_html(result: dict[str, Any]) -> str:
    from . import charts

    return render_page(result, charts.svgs(result))


def render_page(result: dict[str, Any], svgs: dict[str, str]) -> str:
    """The page of ``result`` with its charts drawn already (``svgs``, as ``charts.svgs``)."""
    from django.template import Context

    html: str = load_template().render(Context(_context(result, svgs)))
    return html


_INLINE_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_SIZE = re.compile(r'\s(?:width|height)="[\d.]+"')


def _as_image(match: re.Match[str]) -> str:
    svg = match.group(0)
    size = "".join(_SIZE.findall(svg[: svg.index(">")]))  # the root element's own size
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt=""{size} src="data:image/svg+xml;base64,{data}">'


def pdf_html(html: str) -> str:
    """The page as WeasyPrint gets it: each inline chart as an SVG image of the same drawing.

    Inline, every node of a chart is parsed and styled as an HTML element; as an image it is
    read as one SVG document.  The pages come out the same, a sixth faster."""
    return _INLINE_SVG.sub(_as_image, html)


def render_pdf(html: str, path: str | Path) -> Path:
    """The report page's PDF, written to ``path`` by radgov's one PDF renderer."""
    from radgov.core.pdf import render_pdf as render

    render(pdf_html(html), path)
    return Path(path)


def report_pdf(html: str) -> bytes:
    """The report page's PDF as bytes."""
    from radgov.core.pdf import render_pdf as render

    return render(pdf_html(html))
