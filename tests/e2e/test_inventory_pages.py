"""The inventory as a governance member sees it, on the demo practice: the product list,
a version with the PPV/NPV calculator (htmx), a deployment's lifecycle with what is
missing for each move, and the model card."""

from __future__ import annotations

import os

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.core.management import call_command

from radgov.inventory.models import Deployment, ModelVersion
from tests.e2e.pages import follow, logged_in_page


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_inventory_pages_on_the_demo_practice(live_server, browser, shots) -> None:  # type: ignore[no-untyped-def]
    # the inventory's demo runs before governance and training record the decisions and
    # procedures its guards ask for, so the second run takes the deployments further
    for _ in range(2):
        call_command("demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    chen = get_user_model().objects.get(username="dr.chen")
    TOTP.activate(chen, generate_totp_secret())  # the demo's people enroll at first login
    page = logged_in_page(browser, live_server, chen)

    page.goto(f"{live_server.url}/inventory/")
    assert page.locator("h1").inner_text() == "AI inventory"
    assert page.locator("table tbody tr").count() == 6
    page.screenshot(path=str(shots / "inventory-products.png"), full_page=True)

    ich = ModelVersion.objects.get(product__name="NeuroTriage ICH", version="2.0")
    page.goto(f"{live_server.url}/inventory/versions/{ich.pk}/")
    page.fill("#id_prevalence", "5")
    page.get_by_role("button", name="Calculate").click()
    page.wait_for_selector("#calc-result .big")
    result = page.locator("#calc-result").inner_text()
    assert "0.380" in result  # 0.93*0.05 / (0.93*0.05 + 0.08*0.95) = 0.3796
    assert page.url.endswith(f"/inventory/versions/{ich.pk}/")  # htmx: no page load
    page.screenshot(path=str(shots / "inventory-version.png"), full_page=True)

    d = Deployment.objects.get(model_version=ich, site="Main Hospital CT")
    page.goto(f"{live_server.url}/inventory/deployments/{d.pk}/")
    assert "Deployed" in page.locator(".lead").inner_text()
    assert "Version 2.1 is proposed to replace this deployment" in page.content()
    page.screenshot(path=str(shots / "inventory-deployment.png"), full_page=True)

    brain = Deployment.objects.get(model_version__product__name="BrainVolume Quant")
    assert brain.status == "approved"
    page.goto(f"{live_server.url}/inventory/deployments/{brain.pk}/")
    lifecycle = page.locator("section.dep-layout .card").first.inner_text()
    assert "→ Pilot" in lifecycle and "IV.C.2: no output-release policy recorded" in lifecycle
    page.screenshot(path=str(shots / "inventory-deployment-blocked.png"), full_page=True)
    follow(page.get_by_role("button", name="Move to pilot"))
    page.wait_for_selector(".messages li.error")
    assert "Not moved" in page.locator(".messages").inner_text()
    brain.refresh_from_db()
    assert brain.status == "approved"

    page.goto(f"{live_server.url}/inventory/versions/{ich.pk}/model-card/")
    assert "fields still empty" in page.content()
    page.screenshot(path=str(shots / "inventory-model-card.png"), full_page=True)

    page.goto(f"{live_server.url}/inventory/deployments/")
    page.screenshot(path=str(shots / "inventory-deployments.png"), full_page=True)

    draft = ModelVersion.objects.get(product__name="ReportDraft")
    page.goto(f"{live_server.url}/inventory/products/{draft.product_id}/")
    assert "Extra oversight (IV.H)" in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "inventory-product-generative.png"), full_page=True)

    page.goto(f"{live_server.url}/inventory/deployments/{d.pk}/edit/")
    assert page.locator("input[name=site]").input_value() == "Main Hospital CT"
    assert page.locator("input[name=modalities]").input_value() == "CT"
    page.screenshot(path=str(shots / "inventory-deployment-edit.png"), full_page=True)
