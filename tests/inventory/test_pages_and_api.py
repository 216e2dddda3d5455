"""Pages and API as each role uses them: reading for everyone, changes for the
inventory's keepers, refusals that name the rule and change nothing."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest

from radgov.accounts.models import User
from radgov.inventory import services
from radgov.inventory.models import Deployment, Document, ModelVersion, Product
from radgov.inventory.stages import Stage
from tests.factories import client_for, post_json, problem
from tests.inventory.conftest import PDF, pdf_upload

pytestmark = pytest.mark.django_db


# --- the PPV/NPV calculator (III.A.2) ---------------------------------------------------------


def test_calculator_against_a_hand_computed_example(
    version: ModelVersion, people: dict[str, User]
) -> None:
    # Se = Sp = 0.9 at 10% prevalence: of 1000 studies 100 have the finding; 90 are flagged
    # correctly and 90 of the 900 without it are flagged too, so PPV = 90/180 = 0.5 and
    # NPV = 810/(810+10) = 0.98780...
    client = client_for(people["tech"])
    response = client.get(
        f"/inventory/versions/{version.pk}/calculator/?prevalence=10", HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "0.500" in body and "0.988" in body
    assert "180 are flagged" in body and "90.0 true positives and 90.0 false positives" in body


def test_calculator_refuses_a_prevalence_out_of_range(
    version: ModelVersion, people: dict[str, User]
) -> None:
    response = client_for(people["tech"]).get(
        f"/inventory/versions/{version.pk}/calculator/?prevalence=150", HTTP_HX_REQUEST="true"
    )
    assert "less than or equal to 100" in response.content.decode()


def test_calculator_without_htmx_goes_to_the_version_page(
    version: ModelVersion, people: dict[str, User]
) -> None:
    client = client_for(people["tech"])
    response = client.get(f"/inventory/versions/{version.pk}/calculator/?prevalence=10")
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "0.500" in page.content.decode()


# --- pages --------------------------------------------------------------------------------------


def test_everyone_reads_the_inventory_a_vendor_its_own(
    deployment: Deployment, people: dict[str, User]
) -> None:
    services.upload_document(
        people["informatics"],
        deployment.model_version,
        kind="ifu",
        version_label="Rev A",
        upload=pdf_upload(),
    )
    doc = Document.objects.get()
    client = client_for(people["vendor"])
    mv = deployment.model_version
    for url in (
        "/inventory/",
        f"/inventory/products/{mv.product_id}/",
        f"/inventory/versions/{mv.pk}/",
        "/inventory/deployments/",
        "/inventory/deployments/?stage=requested",
        f"/inventory/deployments/{deployment.pk}/",
    ):
        assert client.get(url).status_code == 200, url
    ifu = client_for(people["tech"]).get(f"/inventory/documents/{doc.pk}/")
    assert ifu.status_code == 200 and ifu["Content-Type"] == "application/pdf"
    assert b"".join(ifu.streaming_content) == PDF
    page = client.get(f"/inventory/deployments/{deployment.pk}/").content.decode()
    assert "Move to under review" not in page  # a vendor is offered no lifecycle buttons
    assert "Local acceptance testing results" in page and "Not visible to your role" in page


def test_deployment_page_shows_what_is_missing(
    deployment: Deployment, people: dict[str, User], inventory_guards_only: list[Any]
) -> None:
    from radgov.inventory import lifecycle

    inventory_guards_only.append(lambda d: None)
    lifecycle.transition(people["gov"], deployment, Stage.UNDER_REVIEW)
    lifecycle.transition(people["gov"], deployment, Stage.APPROVED)
    inventory_guards_only.clear()  # a later run failed: the evidence is gone
    page = (
        client_for(people["gov"]).get(f"/inventory/deployments/{deployment.pk}/").content.decode()
    )
    assert "Move to pilot" in page
    assert "IV.F.2: no IFU document uploaded for version 2.1" in page
    assert "IV.E: no passed local acceptance test" in page
    assert "requested" in page.lower() and "Approved" in page


def test_refused_transition_on_the_page_changes_nothing(
    deployment: Deployment, people: dict[str, User], inventory_guards_only: Any
) -> None:
    client = client_for(people["gov"])
    response = client.post(
        f"/inventory/deployments/{deployment.pk}/transition/", {"to": "deployed"}, follow=True
    )
    assert (
        "Not moved: a deployment cannot go from requested to deployed" in response.content.decode()
    )
    deployment.refresh_from_db()
    assert deployment.status == Stage.REQUESTED


def test_technologist_cannot_transition_on_the_page(
    deployment: Deployment, people: dict[str, User]
) -> None:
    response = client_for(people["tech"]).post(
        f"/inventory/deployments/{deployment.pk}/transition/", {"to": "under_review"}, follow=True
    )
    assert "only governance-group members and administrators" in response.content.decode()
    deployment.refresh_from_db()
    assert deployment.status == Stage.REQUESTED


def test_vendor_is_refused_the_upload_page(version: ModelVersion, people: dict[str, User]) -> None:
    response = client_for(people["vendor"]).post(
        f"/inventory/versions/{version.pk}/documents/new/",
        {"kind": "ifu", "version_label": "A", "file": pdf_upload()},
    )
    assert response.status_code == 403
    assert Document.objects.count() == 0


def test_upload_page_names_the_rule(version: ModelVersion, people: dict[str, User]) -> None:
    response = client_for(people["informatics"]).post(
        f"/inventory/versions/{version.pk}/documents/new/",
        {"kind": "ifu", "version_label": "A", "file": pdf_upload("notes.txt", b"hello")},
    )
    assert response.status_code == 200
    assert "&#x27;notes.txt&#x27; is not a PDF" in response.content.decode()
    assert Document.objects.count() == 0


def test_product_form_for_a_reader_offers_no_form(people: dict[str, User]) -> None:
    client = client_for(people["tech"])
    page = client.get("/inventory/products/new/").content.decode()
    assert "Only administrators, imaging informatics and governance-group members" in page
    client.post("/inventory/products/new/", {"vendor": "X", "name": "Y", "category": "cade"})
    assert Product.objects.count() == 0


def test_create_product_version_and_deployment_through_pages(people: dict[str, User]) -> None:
    client = client_for(people["informatics"])
    response = client.post(
        "/inventory/products/new/",
        {
            "vendor": "Acme",
            "name": "NoduleFinder",
            "category": "cade",
            "regulatory_pathway": "fda_510k",
            "fda_number": "K190001",
            "fda_product_code": "OEB",
        },
    )
    product = Product.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/inventory/products/{product.pk}/"
    )
    response = client.post(
        f"/inventory/products/{product.pk}/versions/new/",
        {"version": "3.0", "claimed_sensitivity": "0.85", "claimed_specificity": "0.8"},
    )
    mv = ModelVersion.objects.get()
    assert response.status_code == 302 and mv.claimed_sensitivity == 0.85
    again = client.post(f"/inventory/products/{product.pk}/versions/new/", {"version": "3.0"})
    assert "version 3.0 of Acme NoduleFinder already exists" in again.content.decode()
    response = client.post(
        f"/inventory/versions/{mv.pk}/deployments/new/",
        {
            "site": "Clinic",
            "modalities": "CT",
            "max_slice_thickness_mm": "2.5",
            "contrast": "any",
            "end_users": [people["physician"].pk],
        },
    )
    d = Deployment.objects.get()
    assert response.status_code == 302
    assert (
        d.inclusion_criteria["modalities"] == ["CT"]
        and d.inclusion_criteria["max_slice_thickness_mm"] == 2.5
    )
    assert list(d.end_users.all()) == [people["physician"]]
    bad = client.post(
        f"/inventory/versions/{mv.pk}/deployments/new/",
        {"site": "Clinic", "min_age_years": "30", "max_age_years": "10", "contrast": "any"},
    )
    assert "'min_age_years': 30 is greater than max_age_years 10" in html.unescape(
        bad.content.decode()
    )
    assert Deployment.objects.count() == 1


# --- API -----------------------------------------------------------------------------------------


def test_api_create_and_read(people: dict[str, User]) -> None:
    client = client_for(people["informatics"])
    created = post_json(
        client,
        "/api/inventory/products",
        {
            "vendor": "Local",
            "name": "BoneAge",
            "category": "quantification",
            "regulatory_pathway": "not_fda",
            "not_regulated_reason": "locally_developed",
        },
    )
    assert created.status_code == 201 and created.json()["needs_extra_oversight"] is True
    pid = created.json()["id"]
    v = post_json(client, f"/api/inventory/products/{pid}/versions", {"version": "1.0"})
    assert v.status_code == 201
    dup = post_json(client, f"/api/inventory/products/{pid}/versions", {"version": "1.0"})
    assert "already exists" in problem(dup, 422)
    d = post_json(
        client,
        f"/api/inventory/versions/{v.json()['id']}/deployments",
        {
            "site": "Peds",
            "end_user_ids": [people["physician"].pk],
            "inclusion_criteria": {"max_age_years": 18},
        },
    )
    assert d.status_code == 201 and d.json()["status"] == "requested"
    listed = client.get("/api/inventory/deployments").json()
    assert listed["total"] == 1 and listed["items"][0]["site"] == "Peds"


def test_api_refusals(
    deployment: Deployment, people: dict[str, User], inventory_guards_only: Any
) -> None:
    vendor = client_for(people["vendor"])
    refused = post_json(
        vendor,
        "/api/inventory/products",
        {"vendor": "V", "name": "N", "category": "cade", "regulatory_pathway": "not_fda"},
    )
    # the vendor role never reaches the service: the policy refuses the operation itself
    assert "role not permitted: api:inventory_create_product" in problem(refused, 403)
    upload = vendor.post(
        f"/api/inventory/versions/{deployment.model_version_id}/documents",
        {"kind": "ifu", "version_label": "A", "file": pdf_upload()},
    )
    problem(upload, 403)
    tech = client_for(people["tech"])
    moved = post_json(
        tech, f"/api/inventory/deployments/{deployment.pk}/transition", {"to": "under_review"}
    )
    assert "IV.A.1" in problem(moved, 403)
    gov = client_for(people["gov"])
    illegal = post_json(
        gov, f"/api/inventory/deployments/{deployment.pk}/transition", {"to": "pilot"}
    )
    assert "cannot go from requested to pilot" in problem(illegal, 422)
    deployment.refresh_from_db()
    assert deployment.status == Stage.REQUESTED and Product.objects.count() == 1


def test_api_upload_multipart(version: ModelVersion, people: dict[str, User]) -> None:
    client = client_for(people["informatics"])
    url = f"/api/inventory/versions/{version.pk}/documents"
    bad = client.post(
        url, {"kind": "ifu", "version_label": "A", "file": pdf_upload("x.png", b"\x89PNG")}
    )
    assert "'x.png' is not a PDF" in problem(bad, 422)
    ok = client.post(
        url, {"kind": "ifu", "version_label": "A", "title": "IFU", "file": pdf_upload()}
    )
    assert ok.status_code == 201 and ok.json()["size"] == len(PDF)
    got = client.get(f"/api/inventory/versions/{version.pk}").json()
    assert [d["version_label"] for d in got["documents"]] == ["A"]


def test_api_evaluate_criteria(deployment: Deployment, people: dict[str, User]) -> None:
    client = client_for(people["vendor"])
    body = {"deployment_id": deployment.pk, "attributes": {"Modality": "MR", "PatientAge": "010Y"}}
    result = post_json(client, "/api/inventory/criteria/evaluate", body)
    assert result.status_code == 200
    data = result.json()
    assert data["included"] is False and len(data["reasons"]) == 2
    inline = {"criteria": {"modalities": ["CT"]}, "attributes": {"Modality": "CT"}}
    ok = post_json(client, "/api/inventory/criteria/evaluate", inline)
    assert ok.json() == {"included": True, "reasons": [], "criteria": ok.json()["criteria"]}
    assert deployment.criteria.evaluate({"Modality": "CT", "PatientAge": "040Y"}) == (True, [])
    bad = {"criteria": {"kvp": 5}, "attributes": {}}
    refused = post_json(client, "/api/inventory/criteria/evaluate", bad)
    assert "'kvp': unknown key" in problem(refused, 422)


def test_api_updates(deployment: Deployment, people: dict[str, User]) -> None:
    client = client_for(people["informatics"])
    mv = deployment.model_version

    def patch(url: str, body: dict[str, Any]) -> Any:
        return client.patch(url, json.dumps(body), content_type="application/json")

    product = patch(f"/api/inventory/products/{mv.product_id}", {"support_contact": "ext. 12"})
    assert product.status_code == 200 and product.json()["support_contact"] == "ext. 12"
    bad = patch(f"/api/inventory/products/{mv.product_id}", {"fda_number": "123"})
    assert "is not a FDA 510(k) number" in problem(bad, 422)
    renamed = patch(f"/api/inventory/versions/{mv.pk}", {"version": "9.9"})
    assert "cannot change" in problem(renamed, 422)
    updated = patch(f"/api/inventory/versions/{mv.pk}", {"limitations": "Adults only"})
    assert updated.json()["limitations"] == "Adults only" and updated.json()["version"] == "2.1"
    d = patch(
        f"/api/inventory/deployments/{deployment.pk}",
        {"pilot_user_ids": [people["physician"].pk], "output_release_policy": "After review"},
    )
    assert d.status_code == 200
    assert (
        d.json()["pilot_users"] == ["inv-physician"]
        and d.json()["output_release_policy"] == "After review"
    )
    unknown = patch(f"/api/inventory/deployments/{deployment.pk}", {"end_user_ids": [99999]})
    assert "no active user with id 99999" in problem(unknown, 422)
    vendor = client_for(people["vendor"])
    refused = vendor.patch(
        f"/api/inventory/deployments/{deployment.pk}",
        json.dumps({"site": "X"}),
        content_type="application/json",
    )
    problem(refused, 403)
    deployment.refresh_from_db()
    assert deployment.site == "Main hospital"


def test_the_version_page_says_who_uploads_documents(
    version: ModelVersion, people: dict[str, User]
) -> None:
    url = f"/inventory/versions/{version.pk}/"
    page = client_for(people["gov"]).get(url).content.decode()
    assert "uploaded by administrators and imaging informatics" in page
    assert f"/inventory/versions/{version.pk}/documents/new/" not in page
    page = client_for(people["informatics"]).get(url).content.decode()
    assert "uploaded by administrators and imaging informatics" not in page
    assert f"/inventory/versions/{version.pk}/documents/new/" in page
