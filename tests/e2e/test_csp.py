"""Issue 11 item 8: every main page works in Chromium under radgov's Content-Security-Policy.
The demo practice is loaded and each page opened (with its htmx parts); any violation the
browser reports in its console fails the test, as does a page that answers with an error."""

from __future__ import annotations

import os

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.core.management import call_command

from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.governance.models import Meeting
from radgov.inventory.models import Deployment, ModelVersion, Product
from tests.e2e.pages import logged_in_page


def _pages() -> list[str]:
    version = ModelVersion.objects.order_by("pk").first()
    deployment = Deployment.objects.order_by("pk").first()
    pages = [
        "/",
        "/audit/",
        "/account/tokens/",
        "/account/users/",
        "/accounts/2fa/",
        "/inventory/",
        "/inventory/deployments/",
        f"/inventory/products/{Product.objects.order_by('pk').first().pk}/",  # type: ignore[union-attr]
        f"/inventory/versions/{version.pk}/",  # type: ignore[union-attr]
        f"/inventory/versions/{version.pk}/model-card/",  # type: ignore[union-attr]
        f"/inventory/deployments/{deployment.pk}/",  # type: ignore[union-attr]
        "/governance/",
        "/governance/conformance/",
        "/governance/meetings/",
        "/governance/requests/",
        "/governance/issues/",
        "/governance/regulatory/",
        "/training/",
        "/training/models/",
        "/evaluation/",
        f"/evaluation/deployments/{deployment.pk}/",  # type: ignore[union-attr]
        "/compliance/deid/",
        "/compliance/deid/new/",
    ]
    meeting = Meeting.objects.order_by("pk").first()
    if meeting is not None:
        pages.append(f"/governance/meetings/{meeting.pk}/")
    protocol = AcceptanceProtocol.objects.order_by("pk").first()
    if protocol is not None:
        pages.append(f"/evaluation/protocols/{protocol.pk}/")
    run = AcceptanceRun.objects.order_by("pk").first()
    if run is not None:
        pages += [f"/evaluation/runs/{run.pk}/", f"/evaluation/runs/{run.pk}/report/"]
    return pages


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_main_pages_break_no_content_security_policy(live_server, browser) -> None:  # type: ignore[no-untyped-def]
    call_command("demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    admin = get_user_model().objects.get(username="admin")
    TOTP.activate(admin, generate_totp_secret())
    page = logged_in_page(browser, live_server, admin)
    violations: list[str] = []
    page.on(
        "console",
        lambda m: (
            violations.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text or "Refused to" in m.text
            else None
        ),
    )
    opened = 0
    for path in _pages():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status < 400, (path, response and response.status)
        assert response.headers.get("cache-control") == "no-store", path
        page.wait_for_load_state("networkidle")
        opened += 1
    # htmx works under the policy: the PPV/NPV calculator answers in place
    version = ModelVersion.objects.order_by("pk").first()
    page.goto(f"{live_server.url}/inventory/versions/{version.pk}/")  # type: ignore[union-attr]
    if version.claimed_sensitivity is not None:  # type: ignore[union-attr]
        page.fill("#id_prevalence", "5")
        page.get_by_role("button", name="Calculate").click()
        page.wait_for_selector("#calc-result :text('PPV')", timeout=10_000)
    assert opened >= 20
    assert violations == [], violations
