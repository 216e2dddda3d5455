from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from radgov.evaluation.cases import load_cases
from radgov.evaluation.identifiers import IdentifierFinding
from radgov.evaluation.protocol import parse_protocol
from radgov.evaluation.result import Privacy, to_json_dict, write_json
from radgov.evaluation.runner import evaluate

from .conftest import write_rows


@pytest.fixture
def result(synthetic_csv: Path, example_dict: dict[str, Any]) -> dict[str, Any]:
    example_dict["roc_band_resamples"] = 100
    example_dict["ifu_claims"] = [
        {"metric": "sensitivity", "value": 0.93, "source": "IFU rev. C, table 4"},
        {"metric": "auc", "value": 0.95},
    ]
    protocol = parse_protocol(example_dict)
    ev = evaluate(protocol, load_cases(synthetic_csv, protocol))
    privacy = Privacy([IdentifierFinding("x", "name", "column name", "d")], True, "BAA 2024-17")
    return to_json_dict(ev, privacy)


def test_json_shape(result: dict[str, Any], tmp_path: Path, synthetic_csv: Path) -> None:
    path = write_json(result, tmp_path / "out.json")
    data = json.loads(path.read_text())
    assert data["schema"] == "radgov.evaluation/1"
    assert set(data) >= {
        "overall", "subgroups", "criteria", "passed", "protocol", "cases", "privacy", "groups",
    }  # fmt: skip
    assert set(data["overall"]) == {"sensitivity", "specificity", "ppv", "npv", "accuracy", "auc"}
    for metric in data["overall"].values():
        assert set(metric) >= {"estimate", "ci_low", "ci_high", "method", "n"}
    assert "sex=F" in data["subgroups"] and "age=[18,65)" in data["subgroups"]
    crit = data["criteria"][0]
    assert set(crit) >= {"metric", "subgroup", "rule", "observed", "passed", "threshold"}
    assert crit["rule"] == "ci_low_at_least" and crit["subgroup"] == "overall"
    assert len(data["protocol"]["hash"]) == 64
    import hashlib

    assert data["cases"]["sha256"] == hashlib.sha256(synthetic_csv.read_bytes()).hexdigest()
    assert data["cases"]["synthetic"] is True
    assert data["privacy"] == {
        "identifier_columns": [
            {"column": "x", "kind": "name", "evidence": "column name", "detail": "d"}
        ],
        "allowed": True,
        "reason": "BAA 2024-17",
    }
    assert [r["metric"] for r in data["ifu_comparison"]] == ["sensitivity", "auc"]
    assert not (tmp_path / "out.json.tmp").exists()


def test_not_estimable_is_null_with_reason(tmp_path: Path) -> None:
    protocol = parse_protocol(
        {
            "name": "t",
            "task": "binary",
            "columns": {"case_id": "id", "truth": "y", "score": "s"},
            "threshold": 0.5,
            "metrics": ["sensitivity", "auc"],
            "subgroups": ["site"],
            "criteria": [{"metric": "auc", "ci_low_at_least": 0.5}],
            "roc_band_resamples": 0,
        }
    )
    rows = ["a,A,1,0.9", "b,A,0,0.1", "c,A,1,0.6", "d,A,0,0.3", "e,B,0,0.2"]
    ev = evaluate(
        protocol, load_cases(write_rows(tmp_path / "c.csv", "id,site,y,s", rows), protocol)
    )
    out = to_json_dict(ev)
    b = out["subgroups"]["site=B"]["sensitivity"]
    assert (
        b["estimate"] is None and b["ci_low"] is None and b["not_estimable"] == "no positive cases"
    )
    json.dumps(out, allow_nan=False)  # no NaN anywhere


def test_html_report(result: dict[str, Any]) -> None:
    from radgov.evaluation.report.render import render_html

    html = render_html(result)
    for heading in (
        "Summary", "Pass / fail by criterion", "Overall performance", "Performance by subgroup",
        "Comparison with the vendor's IFU claims", "Protocol and its lock", "Data provenance",
    ):  # fmt: skip
        assert f">{heading}<" in html.replace("&#x27;", "'")
    assert html.count("<svg") == 4  # ROC, calibration, confusion matrix, forest plot
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
    assert result["protocol"]["hash"] in html and result["cases"]["sha256"] in html
    assert "SYNTHETIC DATA" in html
    assert "IFU rev. C, table 4" in html
    assert "Allowed: BAA 2024-17" in html
    assert "AUC with the DeLong interval; ROC band by stratified bootstrap" in html  # methods


def test_forest_plot_draws_each_criterion_threshold_once(result: dict[str, Any]) -> None:
    """One dashed line per metric that a criterion sets a threshold for (sensitivity,
    specificity, AUC in the example), not one per subgroup row drawn over each other."""
    from radgov.evaluation.report import charts

    svg = charts.svgs(result, names=["forest"])["forest"]
    thresholds = {c["metric"] for c in result["criteria"]}
    assert len(thresholds) == 3
    assert svg.count(f'stroke="{charts.RED}"') == len(thresholds)


EVERY_BINARY_METRIC = ["sensitivity", "specificity", "ppv", "npv", "accuracy", "f1", "auc", "brier"]


@pytest.fixture
def wide_binary(synthetic_csv: Path, example_dict: dict[str, Any]) -> dict[str, Any]:
    """Eight metrics by twelve subgroups, as in the benchmark."""
    example_dict["metrics"] = EVERY_BINARY_METRIC
    example_dict["subgroups"] = [
        "sex", "manufacturer", {"column": "age", "bins": [0, 18, 40, 50, 65, 80, 200]},
    ]  # fmt: skip
    example_dict["roc_band_resamples"] = 50
    protocol = parse_protocol(example_dict)
    return to_json_dict(evaluate(protocol, load_cases(synthetic_csv, protocol)), Privacy([]))


@pytest.fixture
def wide_quantification(tmp_path: Path) -> dict[str, Any]:
    """Six agreement metrics with long names, by sites with long names, and an IFU claim."""
    import numpy as np

    rng = np.random.default_rng(4)
    ref = rng.normal(40, 10, 300)
    ai = ref + rng.normal(1.0, 3.0, 300)
    sites = ["Main Hospital CT", "Emergency Department CT", "Outpatient imaging centre"]
    rows = [f"v{i},{ref[i]:.4f},{ai[i]:.4f},{sites[i % 3]}" for i in range(300)]
    protocol = parse_protocol(
        {
            "name": "haematoma volume",
            "task": "quantification",
            "columns": {"case_id": "id", "truth": "ref_ml", "score": "ai_ml"},
            "metrics": ["bias", "loa_low", "loa_high", "mae", "icc", "ccc"],
            "subgroups": ["site"],
            "criteria": [{"metric": "mae", "ci_high_at_most": 5}],
            "ifu_claims": [{"metric": "mae", "value": 2.0}],
        }
    )
    path = write_rows(tmp_path / "q.csv", "id,ref_ml,ai_ml,site", rows)
    return to_json_dict(evaluate(protocol, load_cases(path, protocol)), Privacy([]))


WIDE = {"wide_binary": ({"roc", "calibration", "confusion", "forest"}, 2),
        "wide_quantification": ({"bland_altman", "forest"}, 1)}  # fmt: skip


@dataclass(frozen=True)
class Word:
    page: int
    page_width: float
    left: float
    top: float
    right: float
    bottom: float
    text: str

    def overlaps(self, other: Word) -> bool:
        """The two boxes share more than a sliver (a point each way)."""
        return (
            self.page == other.page
            and min(self.right, other.right) - max(self.left, other.left) > 1
            and min(self.bottom, other.bottom) - max(self.top, other.top) > 1
        )


def _pdf_words(pdf: Path) -> list[Word]:
    """Every word pdftotext finds in ``pdf``, with its box."""
    import re
    import subprocess

    out = pdf.with_suffix(".words.html")
    subprocess.run(["pdftotext", "-bbox", str(pdf), str(out)], check=True)
    words = []
    pages = re.findall(r'<page width="([\d.]+)"[^>]*>(.*?)</page>', out.read_text(), re.S)
    for number, (width, body) in enumerate(pages, start=1):
        for *box, text in re.findall(
            r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">(.*?)</word>',
            body,
        ):
            words.append(Word(number, float(width), *map(float, box), text))
    return words


def test_subgroup_tables_split_many_metrics_evenly() -> None:
    from radgov.evaluation.report.render import TABLE_METRICS, _column_groups

    assert TABLE_METRICS == 6
    assert [list(g) for g in _column_groups(6)] == [[0, 1, 2, 3, 4, 5]]
    assert [list(g) for g in _column_groups(8)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [len(g) for g in _column_groups(13)] == [5, 5, 3]
    assert [list(g) for g in _column_groups(1)] == [[0]]


@pytest.mark.peer("pdftotext")
@pytest.mark.parametrize("wide", WIDE)
def test_pdf_keeps_every_word_inside_the_page_margins(
    wide: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Eight metric columns once ran off the right edge of the A4 page, cutting AUC and the
    Brier score out of the subgroup table, and so did six with long names; now they are split
    over tables of at most six, whose headers wrap."""
    from radgov.evaluation.report.render import render_html, render_pdf
    from radgov.evaluation.report.summary import LABELS

    result = request.getfixturevalue(wide)
    html = render_html(result)
    assert html.count('<table class="subgroups">') == WIDE[wide][1]
    words = _pdf_words(render_pdf(html, tmp_path / "r.pdf"))
    margin = 14 / 25.4 * 72  # the report's left and right page margins: 14 mm, in points
    outside = [w for w in words if w.left < margin - 1 or w.right > w.page_width - margin + 1]
    assert not outside
    headers = [w for w in words if w.text == "Subgroup"]  # a table's first column
    assert len(headers) >= WIDE[wide][1]  # (a table that breaks across pages repeats it)
    # the last metric's name: in the overall table, the forest plot and a subgroup table
    last = LABELS[result["protocol"]["content"]["metrics"][-1]].split()[0]
    assert sum(w.text == last for w in words) >= 3


@pytest.mark.peer("pdftotext")
@pytest.mark.parametrize("wide", WIDE)
def test_chart_text_is_whole_and_apart_in_the_pdf(
    wide: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """WeasyPrint draws each chart's text in the machine's font; laid out in a narrower one,
    long labels ran past the chart's edge and lost their first letters ("anufacturer=..."),
    and long panel titles ran into each other ("Lower limit of agreement")."""
    import base64
    import re

    from weasyprint import HTML

    from radgov.evaluation.report import charts

    result = request.getfixturevalue(wide)
    svgs = charts.svgs(result)
    assert set(svgs) == WIDE[wide][0]
    for name, svg in svgs.items():
        head = svg[: svg.index(">")]
        width, height = (re.search(rf'{a}="([\d.]+)"', head)[1] for a in ("width", "height"))
        data = base64.b64encode(svg.encode()).decode()
        page = (
            f"<style>@page {{ size: {width}px {height}px; margin: 0 }} body {{ margin: 0 }}"
            f"</style><img style='display: block' src='data:image/svg+xml;base64,{data}'>"
        )
        pdf = tmp_path / f"{name}.pdf"
        HTML(string=page).write_pdf(pdf)
        words = _pdf_words(pdf)
        assert words, name
        assert not [w for w in words if w.left < 0 or w.right > w.page_width], name
        crowded = [(a.text, b.text) for i, a in enumerate(words) for b in words[i + 1 :]
                   if a.overlaps(b)]  # fmt: skip
        if name != "bland_altman":  # (its points are drawn over its grid, not over words)
            assert not crowded, name
        if name == "forest":
            labels = {w.text for w in words}
            assert {k.split()[-1] for k in result["subgroups"]} <= labels
        if name == "confusion":
            assert " ".join(w.text for w in words).count("Truth negative") == 1


A4_HEIGHT = 842.0  # points
FOOTER = 18 / 25.4 * 72  # the bottom page margin, where the running footer stands


@pytest.mark.peer("pdftotext")
@pytest.mark.parametrize("wide", WIDE)
def test_no_page_is_left_half_empty_and_a_long_lock_stays_inside_the_margins(
    wide: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The forest plot, nearly a page tall, left the page before it half empty; a lock
    statement's unbroken hash ran past the right margin."""
    from radgov.evaluation.report.render import render_html, render_pdf

    result = request.getfixturevalue(wide)
    result["protocol"]["amended_after_lock"] = True
    result["protocol"]["lock"] = (
        "Version 2, approved and locked by Li Chen on 2026-12-05 04:34 UTC; the protocol run is "
        f"the locked content (hash {'37563eb39a8d3c98' * 4}). AMENDED AFTER LOCK of version 1 "
        "after results were seen (reason: the scanner model is reported as a subgroup)."
    )
    words = _pdf_words(render_pdf(render_html(result), tmp_path / "r.pdf"))
    margin = 14 / 25.4 * 72
    assert not [w.text for w in words if w.right > w.page_width - margin + 1]
    last = max(w.page for w in words)
    for page in range(1, last):
        content = [w.bottom for w in words if w.page == page and w.bottom < A4_HEIGHT - FOOTER]
        assert max(content) > 0.6 * A4_HEIGHT, f"page {page} of {last} is half empty"


def test_pdf_report(result: dict[str, Any], tmp_path: Path) -> None:
    from radgov.evaluation.report.render import render_html, render_pdf

    path = render_pdf(render_html(result), tmp_path / "r.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 20_000


@pytest.mark.peer("pdftoppm")
def test_pdf_charts_as_images_draw_the_same_pages(result: dict[str, Any], tmp_path: Path) -> None:
    """render_pdf hands WeasyPrint each chart as an SVG image (faster); the pages must be the
    very pages the inline charts give, pixel for pixel at 100 dpi."""
    import base64
    import re
    import subprocess

    from PIL import Image, ImageChops
    from weasyprint import HTML

    from radgov.evaluation.report.render import TEMPLATES, pdf_html, render_html, render_pdf

    html = render_html(result)
    charts = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', pdf_html(html))
    assert len(charts) >= 4 and "<svg" not in pdf_html(html)
    assert [base64.b64decode(i).decode() for i in images] == charts

    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(tmp_path / "inline.pdf")
    render_pdf(html, tmp_path / "images.pdf")
    for name in ("inline", "images"):
        subprocess.run(
            ["pdftoppm", "-r", "100", "-png", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
            check=True,
        )
    inline, images_ = sorted(tmp_path.glob("inline-*.png")), sorted(tmp_path.glob("images-*.png"))
    assert len(inline) == len(images_) >= 3
    for a, b in zip(inline, images_, strict=True):
        diff = ImageChops.difference(Image.open(a).convert("L"), Image.open(b).convert("L"))
        assert diff.getbbox() is None, a.name


def test_plain_summary_names_the_failures(result: dict[str, Any]) -> None:
    from radgov.evaluation.report.summary import plain_summary

    text = " ".join(plain_summary(result))
    failed = [c for c in result["criteria"] if not c["passed"]]
    assert ("FAILED" in text) == bool(failed)
    for c in failed:
        assert c["subgroup"] in text


def test_quantification_report_has_bland_altman(wide_quantification: dict[str, Any]) -> None:
    from radgov.evaluation.report.render import render_html

    result = wide_quantification
    html = render_html(result)
    assert "Agreement with the reference (Bland-Altman)" in html
    assert html.count("<svg") == 2  # Bland-Altman and the forest plot
    assert "limits of agreement" in html
    assert "DeLong" not in html  # the methods note names only what a binary task uses
    assert result["ifu_comparison"][0]["verdict"] in {
        "consistent with the claim", "worse than claimed", "better than claimed",
    }  # fmt: skip


def test_scores_that_are_not_probabilities_skip_the_calibration_plot(tmp_path: Path) -> None:
    from radgov.evaluation.report.render import render_html

    protocol = parse_protocol(
        {
            "name": "logits",
            "task": "binary",
            "columns": {"case_id": "id", "truth": "y", "score": "logit"},
            "threshold": 0.0,
            "metrics": ["sensitivity", "specificity", "auc"],
            "min_denominator": 1,
            "criteria": [{"metric": "auc", "estimate_at_least": 0.5}],
            "roc_band_resamples": 20,
        }
    )
    rows = [f"c{i},{i % 2},{(i % 2) * 2 - 1 + 0.3 * ((i * 7) % 5 - 2):.2f}" for i in range(40)]
    ev = evaluate(
        protocol, load_cases(write_rows(tmp_path / "c.csv", "id,y,logit", rows), protocol)
    )
    result = to_json_dict(ev)
    assert "calibration" not in result["curves"]
    assert result["notes"] == [
        "No calibration plot: some AI scores lie outside [0, 1], so they are not probabilities."
    ]
    html = render_html(result)
    assert html.count("<svg") == 3 and "No calibration plot" in html
