"""The report's engines in processes of their own make what the calling process would make."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from radgov.evaluation.cases import load_cases
from radgov.evaluation.protocol import parse_protocol
from radgov.evaluation.report.engines import PageEngine, PdfEngine
from radgov.evaluation.report.render import render_html
from radgov.evaluation.result import Privacy, to_json_dict
from radgov.evaluation.runner import evaluate


@pytest.fixture
def result(synthetic_csv: Path, example_dict: dict[str, Any]) -> dict[str, Any]:
    example_dict["roc_band_resamples"] = 50
    protocol = parse_protocol(example_dict)
    return to_json_dict(evaluate(protocol, load_cases(synthetic_csv, protocol)), Privacy([]))


def test_page_and_pdf_from_the_engines(result: dict[str, Any], tmp_path: Path) -> None:
    page, pdf = PageEngine(), PdfEngine()
    html = page.render_html(result)
    assert html == render_html(result)
    assert html.count("<svg") >= 4
    out = pdf.render_pdf(html, tmp_path / "r.pdf")
    assert out == tmp_path / "r.pdf"
    assert out.read_bytes().startswith(b"%PDF-")
    assert not (tmp_path / "r.pdf.tmp").exists()
    for engine in (page, pdf):
        engine.close()
        assert engine._process is not None
        assert engine._process.wait(timeout=30) == 0  # it ends once closed


def test_a_failure_in_an_engine_is_raised_in_the_caller(tmp_path: Path) -> None:
    pdf = PdfEngine()
    with pytest.raises(FileNotFoundError) as failure:
        pdf.render_pdf("<p>x</p>", tmp_path / "no such folder" / "r.pdf")
    assert "in the report's engine process" in "\n".join(failure.value.__notes__)
    # the engine goes on serving
    assert pdf.render_pdf("<p>x</p>", tmp_path / "r.pdf").exists()
    pdf.close()

    page = PageEngine()
    with pytest.raises(KeyError):
        page.render_html({"protocol": {}})
    page.close()


def _specs(result: dict[str, Any]) -> dict[str, Any]:
    from radgov.evaluation.report import charts

    out = {}
    for name, build in charts.BUILDERS.items():
        chart = build(result)
        if chart is not None:
            out[name] = charts._config(chart).to_dict(validate=True)  # against the schema
    return out


def test_only_the_band_charts_draw_the_band(result: dict[str, Any]) -> None:
    """The page engine draws the other charts before the band is known: they must not read it.

    The specs are validated against Vega-Lite's schema here, since the engine builds them
    without Altair's validation."""
    from radgov.evaluation.report.charts import BAND_CHARTS

    assert "roc_band" in result["curves"]
    without = {**result, "curves": {k: v for k, v in result["curves"].items() if k != "roc_band"}}
    full, preliminary = _specs(result), _specs(without)
    assert set(full) == {"roc", "calibration", "confusion", "forest"}
    for name in full:
        assert (full[name] == preliminary[name]) == (name not in BAND_CHARTS), name


def test_a_page_from_a_prepared_preliminary_result(result: dict[str, Any]) -> None:
    """Charts drawn from the preliminary result are used only where nothing but the band differs."""
    without = {**result, "curves": {k: v for k, v in result["curves"].items() if k != "roc_band"}}
    page = PageEngine()
    page.prepare(without)
    assert page.render_html(result) == render_html(result)
    other = {**without, "overall": {**result["overall"]}}
    other["overall"]["sensitivity"] = {**result["overall"]["sensitivity"], "estimate": 0.5}
    page.prepare(other)  # differs in more than the band: nothing of it is reused
    assert page.render_html(result) == render_html(result)
    page.close()


def test_engines_started_from_the_command_line_are_handed_to_the_command() -> None:
    from radgov.evaluation.report import engines

    engines.start_for_command_line(["plan", "--metric", "auc", "--html", "x"])
    engines.start_for_command_line(["--protocol", "p.yaml", "--help", "--pdf", "r.pdf"])
    assert engines._early is None
    engines.start_for_command_line(["--protocol", "p.yaml", "--pdf=r.pdf", "--json", "o.json"])
    assert engines._early is not None
    early_page, early_pdf = engines._early
    assert early_pdf is not None
    page, pdf = engines.start(pdf=False)  # the command found it wants no PDF after all
    assert page is early_page and pdf is None and engines._early is None
    assert early_pdf._send.closed
    page.close()


def test_what_an_engine_logs_before_it_knows_how_is_logged_then(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from radgov.evaluation.report.engines import _configure_logging, _Kept

    kept = _Kept()
    logging.root.addHandler(kept)
    logging.getLogger("weasyprint").warning("said while starting")
    assert [r.getMessage() for r in kept.records] == ["said while starting"]
    before = len(caplog.records)
    _configure_logging(None, kept)  # (pytest's own handler heard it already)
    assert kept not in logging.root.handlers
    assert [r.getMessage() for r in caplog.records[before:]] == ["said while starting"]
