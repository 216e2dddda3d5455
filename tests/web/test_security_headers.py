"""Issue 11 item 8: a strict Content-Security-Policy on every page and ``Cache-Control:
no-store`` on every answer that may carry patient data.  The rule: everything radgov answers
but its static files is no-store; every HTML page has the policy."""

from __future__ import annotations

import pytest
from django.test import Client

from radgov.core.roles import Role
from tests.accounts.routes import named_routes
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_every_route_is_no_store_and_every_page_has_the_policy() -> None:
    client = Client()
    client.force_login(make_user("headers-admin", role=Role.ADMINISTRATOR))
    for name, url in sorted(named_routes().items()):
        if not url or name == "account_logout":
            continue
        response = client.get(url)
        assert response["Cache-Control"] == "no-store", (name, response.status_code)
        if response["Content-Type"].startswith("text/html"):
            policy = response["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "unsafe" not in policy, name
            assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, name


def test_anonymous_answers_are_no_store_too() -> None:
    for url in ("/accounts/login/", "/healthz", "/api/me", "/"):
        assert Client().get(url)["Cache-Control"] == "no-store", url


def test_the_nonce_changes_and_only_admits_its_own_style() -> None:
    client = Client()
    client.force_login(make_user("headers-admin2", role=Role.ADMINISTRATOR))
    one = client.get("/governance/conformance/")
    two = client.get("/governance/conformance/")
    nonce = one["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert nonce not in two["Content-Security-Policy"]
    assert f'<style nonce="{nonce}">' in one.content.decode()


def test_static_files_may_be_cached() -> None:
    response = Client().get("/static/radgov/radgov.css")
    assert response.status_code == 200
    assert response.get("Cache-Control") != "no-store"


def test_pages_carry_no_inline_script_or_style_attribute() -> None:
    from pathlib import Path

    import radgov

    root = Path(radgov.__file__).parent
    offenders = []
    for template in root.glob("*/templates/**/*.html"):
        if template.name in ("report.html",) or template.name.endswith(
            ("_pdf.html", "_print.html")
        ):
            continue  # documents rendered to PDF or served under a policy of their own
        text = template.read_text()
        for needle in (
            ' style="',
            "<script>",
            " onclick=",
            " onload=",
            " onchange=",
            "javascript:",
        ):
            if needle in text:
                offenders.append(f"{template.relative_to(root)}: {needle.strip()}")
        if "<style" in text and 'nonce="{{ csp_nonce }}"' not in text:
            offenders.append(f"{template.relative_to(root)}: <style> without the nonce")
    assert not offenders, offenders
