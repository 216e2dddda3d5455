"""The model endpoints page as imaging informatics uses it: set a deployment's model node,
test the connection (a C-ECHO to a real DICOM node), see a bad port named, and set another
deployment's STOW-RS service whose credentials are never shown again."""

from __future__ import annotations

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from radgov.core.roles import Role
from radgov.gateway.models import Endpoint
from tests.e2e.pages import follow, logged_in_page
from tests.factories import make_user
from tests.gateway.conftest import deployment, free_port


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_set_and_test_a_model_endpoint(live_server, browser, shots) -> None:  # type: ignore[no-untyped-def]
    deployment("HeadTriage", {"body_parts": ["HEAD"]})
    deployment("ChestTriage", {"body_parts": ["CHEST"]}, status="pilot")
    node = AE(ae_title="VENDOR_AI")
    node.add_supported_context(Verification)
    port = free_port()
    server = node.start_server(("127.0.0.1", port), block=False)
    try:
        page = logged_in_page(browser, live_server, make_user(role=Role.INFORMATICS))
        page.goto(f"{live_server.url}/")
        follow(page.get_by_role("link", name="Model endpoints"))
        assert page.locator("h1").inner_text() == "Model endpoints"
        card = page.locator("section.card").first
        card.get_by_label("AE title").fill("VENDOR_AI")
        card.get_by_label("Host").fill("127.0.0.1")
        card.get_by_label("Port").fill("not a port")
        follow(card.get_by_role("button", name="Save"))
        assert "port: a whole number is required" in page.locator("main").inner_text()
        assert not Endpoint.objects.exists()
        card = page.locator("section.card").first
        card.get_by_label("Port").fill(str(port))
        follow(card.get_by_role("button", name="Save"))
        assert Endpoint.objects.get().port == port
        follow(page.locator("section.card").first.get_by_role("button", name="Test connection"))
        assert "VENDOR_AI answered the C-ECHO" in page.locator("main").inner_text()
        chest = page.locator("section.card").nth(1)
        chest.get_by_label("Kind").select_option("stow")
        chest.get_by_label("Studies URL").fill("https://ai.example/dicom-web/studies")
        chest.get_by_label("Authorization header").fill("Bearer e2e-T0ken")
        follow(chest.get_by_role("button", name="Save"))
        assert Endpoint.objects.get(kind="stow").authorization == "Bearer e2e-T0ken"
        assert "e2e-T0ken" not in page.content()
        page.screenshot(path=str(shots / "gateway-endpoints.png"), full_page=True)
    finally:
        server.shutdown()
