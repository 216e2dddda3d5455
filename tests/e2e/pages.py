"""Open a browser page already logged in as a user (the session cookie of a
Django test client handed to Playwright), so a test starts where it means to."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client


def logged_in_page(
    browser: Any, live_server: Any, user: Any, *, width: int = 1280, height: int = 900
) -> Any:
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": width, "height": height})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    return context.new_page()


def follow(target: Any) -> None:
    """Click a link or a form's button and wait until the page it leads to has loaded.
    A bare click returns once the navigation starts, so a count read straight after it
    can see the page half parsed (it once read 0 rows of 2)."""
    with target.page.expect_navigation():
        target.click()
