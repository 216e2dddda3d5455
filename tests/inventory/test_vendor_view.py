"""A vendor account belongs to a company and sees only that company's products, and on
them only what a vendor may see: no lifecycle blockers, reasons for moves, names of
end-users, votes or conflicts.  Proved per object, on the pages and the API: another
company's deployment is a 404, and the attempt is in the audit trail."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from radgov.accounts.models import User
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.inventory import lifecycle, services
from radgov.inventory.models import Deployment, VendorCompany
from radgov.inventory.stages import Stage
from tests.factories import cleared_product, client_for, make_user, post_json, problem
from tests.inventory.conftest import pdf_upload

pytestmark = pytest.mark.django_db


def _product(keeper: User, vendor: str, name: str, number: str) -> Any:
    return cleared_product(keeper, vendor=vendor, name=name, fda_number=number)


@pytest.fixture
def two(people: dict[str, User], deployment: Deployment, inventory_guards_only: Any) -> Any:
    """Acme's deployment (the conftest's, suspended with a reason) and Beta's."""
    keeper = people["informatics"]
    services.upload_document(
        keeper, deployment.model_version, kind="ifu", version_label="A", upload=pdf_upload()
    )
    services.update_deployment(
        keeper, deployment, output_release_policy="PACS after review", pilot_users=[people["gov"]]
    )
    inventory_guards_only.append(lambda d: None)
    for stage in (Stage.UNDER_REVIEW, Stage.APPROVED, Stage.PILOT):
        lifecycle.transition(people["gov"], deployment, stage)
    lifecycle.transition(
        people["gov"], deployment, Stage.SUSPENDED, reason="Sensitivity fell on the new scanner"
    )
    beta = _product(keeper, "Beta Imaging", "BetaChest", "K220001")
    beta_version = services.add_model_version(keeper, beta, version="1.0")
    beta_deployment = services.create_deployment(keeper, beta_version, site="Outpatient")
    acme_rep = make_user("acme.rep", role=Role.VENDOR)
    beta_rep = make_user("beta.rep", role=Role.VENDOR)
    acme = VendorCompany.objects.get(name="Acme AI")
    services.add_representative(people["admin"], acme, acme_rep)
    services.add_representative(
        people["admin"], VendorCompany.objects.get(name="Beta Imaging"), beta_rep
    )
    return SimpleNamespace(
        acme=deployment, beta=beta_deployment, beta_version=beta_version, acme_rep=acme_rep
    )


def test_products_belong_to_a_vendor_company(product: Any) -> None:
    assert product.company.name == "Acme AI" and product.vendor == "Acme AI"
    assert list(product.company.products.all()) == [product]


def test_a_vendor_sees_only_its_own_companys_products(two: Any) -> None:
    client = client_for(two.acme_rep)
    listing = client.get("/inventory/").content.decode()
    assert "HeadCheck ICH" in listing and "BetaChest" not in listing
    deployments = client.get("/inventory/deployments/").content.decode()
    assert "Main hospital" in deployments and "Outpatient" not in deployments
    api = client.get("/api/inventory/deployments").json()
    assert [d["id"] for d in api["items"]] == [two.acme.pk] and api["total"] == 1


def test_another_companys_deployment_is_a_404_on_pages_and_api_and_audited(two: Any) -> None:
    client = client_for(two.acme_rep)
    before = AuditEntry.objects.count()
    for url in (
        f"/inventory/deployments/{two.beta.pk}/",
        f"/inventory/versions/{two.beta_version.pk}/",
        f"/inventory/versions/{two.beta_version.pk}/model-card/",
        f"/inventory/products/{two.beta_version.product_id}/",
    ):
        assert client.get(url).status_code == 404, url
    denied = AuditEntry.objects.filter(seq__gt=before, action="denied", actor_name="acme.rep")
    assert denied.count() == 4
    assert f"no deployment {two.beta.pk} that you may see" in denied.first().detail["reason"]
    r = client.get(f"/api/inventory/deployments/{two.beta.pk}")
    assert f"no deployment {two.beta.pk} that you may see" in problem(r, 404)
    nonexistent = client.get("/api/inventory/deployments/999999")
    assert problem(nonexistent, 404) == "no deployment 999999 that you may see"  # the same
    r = post_json(
        client, "/api/governance/issue-reports", {"deployment_id": two.beta.pk, "description": "x"}
    )
    assert problem(r, 404).startswith("no deployment")


def test_on_its_own_deployment_a_vendor_sees_no_blockers_reasons_or_end_users(
    two: Any, people: dict[str, User]
) -> None:
    page = client_for(two.acme_rep).get(f"/inventory/deployments/{two.acme.pk}/").content.decode()
    assert "Suspended" in page
    assert "Sensitivity fell on the new scanner" not in page  # the suspension's reason
    assert "Missing before this move" not in page and "IV.A:" not in page
    assert people["physician"].username not in page  # an end-user
    assert page.count("ot visible to your role") >= 4
    assert "is not part of radgov yet" not in page
    api = client_for(two.acme_rep).get(f"/api/inventory/deployments/{two.acme.pk}").json()
    assert api["end_users"] is None and api["pilot_users"] is None and api["missing"] is None
    assert {t["reason"] for t in api["history"]} == {""}


def test_the_practice_sees_it_all(two: Any, people: dict[str, User]) -> None:
    page = client_for(people["gov"]).get(f"/inventory/deployments/{two.acme.pk}/").content.decode()
    assert "Sensitivity fell on the new scanner" in page and people["physician"].username in page
    assert "BetaChest" in client_for(people["tech"]).get("/inventory/").content.decode()


def test_a_vendor_account_without_a_company_sees_no_product(two: Any) -> None:
    loner = make_user("loner.rep", role=Role.VENDOR)
    assert "HeadCheck" not in client_for(loner).get("/inventory/").content.decode()
    assert client_for(loner).get(f"/inventory/deployments/{two.acme.pk}/").status_code == 404


def test_an_account_belongs_to_one_company_and_only_vendors_belong(
    two: Any, people: dict[str, User]
) -> None:
    beta = VendorCompany.objects.get(name="Beta Imaging")
    with pytest.raises(services.InventoryError, match="already belongs to Acme AI"):
        services.add_representative(people["admin"], beta, two.acme_rep)
    with pytest.raises(services.InventoryError, match="only vendor accounts"):
        services.add_representative(people["admin"], beta, people["tech"])
    with pytest.raises(services.NotPermitted, match="administrator"):
        services.add_representative(people["gov"], beta, make_user("x.rep", role=Role.VENDOR))
    assert list(beta.representatives.values_list("username", flat=True)) == ["beta.rep"]


def test_an_administrator_says_which_company_an_account_belongs_to(
    two: Any, people: dict[str, User]
) -> None:
    newcomer = make_user("new.rep", role=Role.VENDOR)
    acme = VendorCompany.objects.get(name="Acme AI")
    admin = client_for(people["admin"])
    page = admin.get("/inventory/companies/").content.decode()
    assert "new.rep" in page and "Add an account" in page
    admin.post(f"/inventory/companies/{acme.pk}/representatives/", {"account": newcomer.pk})
    assert newcomer in acme.representatives.all()
    beta = VendorCompany.objects.get(name="Beta Imaging")
    r = post_json(
        admin, f"/api/inventory/companies/{beta.pk}/representatives", {"user_id": newcomer.pk}
    )
    assert "already belongs to Acme AI" in problem(r, 422)
    listed = {c["name"]: c for c in admin.get("/api/inventory/companies").json()}
    assert listed["Acme AI"]["representatives"] == ["acme.rep", "inv-vendor", "new.rep"]
    denied = client_for(people["gov"]).post(
        f"/inventory/companies/{acme.pk}/representatives/", {"remove": newcomer.pk}
    )
    assert denied.status_code == 403 and newcomer in acme.representatives.all()
    assert client_for(two.acme_rep).get("/inventory/companies/").status_code == 403
