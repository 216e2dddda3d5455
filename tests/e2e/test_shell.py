"""The web shell as a keyboard user sees it, with every asset served locally."""

from __future__ import annotations

import pytest

from radgov.core.roles import Role
from tests.e2e.pages import logged_in_page
from tests.factories import make_user


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_keyboard_reaches_skip_link_then_navigation(live_server, browser) -> None:  # type: ignore[no-untyped-def]
    page = logged_in_page(browser, live_server, make_user("shell-admin", role=Role.ADMINISTRATOR))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{live_server.url}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto(f"{live_server.url}/")
    labels = []
    for _ in range(40):
        page.keyboard.press("Tab")
        labels.append(page.evaluate("document.activeElement.textContent.trim()"))
        if labels[-1].startswith("shell-admin"):  # the account menu: open it with Enter
            page.keyboard.press("Enter")
    assert {"Dashboard", "Inventory", "Administration", "API tokens", "Log out"} <= set(labels), (
        labels
    )
    page.goto(f"{live_server.url}/audit/")
    section = page.locator("nav[aria-label=Section]")
    assert section.locator("[aria-current=page]").inner_text() == "Audit trail"
    assert "Users" in section.inner_text()
    outside = [u for u in requested if not u.startswith((live_server.url, "data:"))]
    assert not outside, f"assets fetched from elsewhere: {outside}"


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_navigation_is_filtered_by_role(live_server, browser) -> None:  # type: ignore[no-untyped-def]
    page = logged_in_page(browser, live_server, make_user("shell-vendor", role=Role.VENDOR))
    page.goto(f"{live_server.url}/")
    nav = page.locator("nav[aria-label=Main]").inner_text()
    assert "Administration" not in nav
    page.goto(f"{live_server.url}/audit/")
    assert "Not permitted" in page.locator("h1").inner_text()
