"""The conformance audit page as a governance member sees it in Chromium: the
practice's lines, one section per live deployment, a failing line with what would
fix it, statuses in words (not colour alone), no table wider than the page."""

from __future__ import annotations

import pytest

from radgov.core import policy
from tests.e2e.pages import logged_in_page
from tests.governance import conformance_world as w
from tests.governance.conformance_urls import rules_with_conformance

pytestmark = pytest.mark.urls("tests.governance.conformance_urls")


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_conformance_page(
    live_server, browser, shots, tmp_path_factory, monkeypatch, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {"location": str(tmp_path_factory.mktemp("media"))},
        },
    }
    rules = rules_with_conformance()
    monkeypatch.setattr(policy, "all_rules", lambda: rules)
    p = w.people()
    world = w.practice(p)
    ok = w.deployed_model(p, world)
    bad = w.deployed_model(p, world, w.Omit(release_notes=True), name="LungNodule CT")

    for width in (1280, 820):
        page = logged_in_page(browser, live_server, p.chen)
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/governance/conformance/")
        assert page.locator("h1").inner_text() == "Conformance audit"
        headings = page.locator("section.cf-section h2").all_inner_texts()
        assert headings == ["The practice", str(ok), str(bad)]
        failing = page.locator("tr.cf-fail")
        assert failing.count() == 1
        row = failing.first.inner_text()
        assert "FAIL" in row and "IV.B.2.a" in row and "To fix:" in row
        assert page.locator("tr.cf-pass").count() > 10
        # nothing wider than the viewport: the tables wrap instead of overflowing
        overflow = page.evaluate(
            "() => [...document.querySelectorAll('table.cf')]"
            ".filter(t => t.getBoundingClientRect().right > window.innerWidth + 1).length"
        )
        assert overflow == 0
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(shots / f"conformance-page-{width}.png"), full_page=True)
        page.context.close()
