"""Local acceptance testing in the browser: a data scientist writes the issue's example
protocol, a governance-group member locks it, the data scientist uploads the cases file, and
the report is read as a page and as a PDF (rendered with pdftoppm and checked)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from radgov.core.roles import Role
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.evaluation.synthetic import generate_ich_cases
from tests.e2e.pages import follow, logged_in_page
from tests.evaluation.conftest import EXAMPLE_PROTOCOL
from tests.factories import make_user
from tests.training.helpers import make_deployment, make_version


def ink_share(png: Path) -> float:
    """Share of pixels that are not near-white: a blank page gives about 0."""
    from PIL import Image

    image = Image.open(png).convert("L")
    histogram = image.histogram()
    return sum(histogram[:200]) / (image.width * image.height)


@pytest.mark.peer("chromium")
@pytest.mark.peer("pdftoppm")
@pytest.mark.django_db(transaction=True)
def test_acceptance_test_from_protocol_to_pdf(
    live_server, browser, tmp_path_factory, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "immediate", True)  # the worker runs each job as it is queued
    shots = Path(tmp_path_factory.mktemp("screens"))
    deployment = make_deployment(make_version(), status="acceptance_testing")
    scientist = make_user("ds.kim", role=Role.DATA_SCIENTIST, first_name="Min", last_name="Kim")
    member = make_user("dr.chen", is_governance_member=True, first_name="Li", last_name="Chen")
    cases = shots / "ich-cases.csv"
    generate_ich_cases(1200, seed=3).drop("synthetic").write_csv(cases)

    page = logged_in_page(browser, live_server, scientist)
    page.goto(f"{live_server.url}/evaluation/")
    assert page.locator("h1").inner_text() == "Local acceptance tests"
    follow(page.get_by_role("link", name=str(deployment)))
    follow(page.get_by_role("link", name="Write the protocol"))
    page.get_by_label("Protocol (YAML)").fill(EXAMPLE_PROTOCOL.read_text())
    follow(page.get_by_role("button", name="Save the draft"))
    assert "must be locked before a run" in page.locator(".messages").inner_text()
    assert page.get_by_role("button", name="Approve and lock").count() == 0
    page.screenshot(path=str(shots / "protocol-draft.png"), full_page=True)
    protocol = AcceptanceProtocol.objects.get()

    chair = logged_in_page(browser, live_server, member)
    chair.goto(f"{live_server.url}/evaluation/protocols/{protocol.pk}/")
    follow(chair.get_by_role("button", name="Approve and lock"))
    assert "Locked" in chair.locator(".messages").inner_text()
    assert "Li Chen" in chair.locator("dl").first.inner_text()

    page.reload()
    follow(page.get_by_role("link", name="Run the test"))
    page.get_by_label("Cases file (CSV or Parquet)").set_input_files(str(cases))
    follow(page.get_by_role("button", name="Run"))
    page.wait_for_url("**/jobs/*/")  # the run is a background job, followed on its page
    page.screenshot(path=str(shots / "run-job.png"), full_page=True)
    follow(page.get_by_role("link", name="Open the result"))
    page.wait_for_url("**/evaluation/runs/*/")
    run = AcceptanceRun.objects.get()
    verdict = "passed" if run.passed else "failed"
    assert page.locator("h1").inner_text() == f"Acceptance run: {verdict}"
    rows = page.locator("table tbody tr")
    assert rows.count() == len(run.result["criteria"])
    page.screenshot(path=str(shots / "run.png"), full_page=True)

    follow(page.get_by_role("link", name="Open the report"))
    assert page.locator("h1").inner_text() == "Acceptance test: ICH triage local acceptance test"
    assert "approved and locked by Li Chen" in page.content()
    charts = page.locator("figure svg")
    assert charts.count() >= 4
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 150
    # every label is drawn whole, inside its chart (a label laid out in a narrower font than the
    # browser's runs past the chart's edge and is cut off)
    cut = page.evaluate(
        """() => [...document.querySelectorAll('figure svg')].flatMap(svg => {
            const edge = svg.getBoundingClientRect();
            return [...svg.querySelectorAll('text')].filter(t => {
                const b = t.getBoundingClientRect();
                return b.width > 0 && (b.left < edge.left - 0.5 || b.right > edge.right + 0.5);
            }).map(t => t.textContent);
        })"""
    )
    assert cut == []
    page.screenshot(path=str(shots / "report.png"), full_page=True)

    page.go_back()
    follow(page.get_by_role("button", name="Report as PDF"))
    page.wait_for_url("**/jobs/*/")
    page.screenshot(path=str(shots / "pdf-job.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"Download acceptance-run-\d+\.pdf")).click()
    pdf = shots / "report.pdf"
    download.value.save_as(pdf)
    subprocess.run(
        [shutil.which("pdftoppm") or "pdftoppm", "-r", "50", "-png", str(pdf), str(shots / "p")],
        check=True,
    )
    pages = sorted(shots.glob("p-*.png"))
    assert len(pages) >= 2
    assert all(ink_share(p) > 0.01 for p in pages)  # every page has something on it
