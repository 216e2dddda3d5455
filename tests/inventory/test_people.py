"""People on a deployment fit their role: a clinical champion holds the capacity, is not a
member of the governance group (IV.A.4) and not a vendor; qualified end-users and the pilot
group are physicians with a recorded license (III.A.1, II); the local technical contact is
the practice's own.  Pages and the API refuse alike, naming the field, and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from radgov.accounts.models import User
from radgov.core.roles import Role
from radgov.inventory import services
from radgov.inventory.models import Deployment, ModelVersion
from tests.factories import client_for, make_user, post_json, problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def others(db: Any) -> dict[str, User]:
    return {
        "member_champion": make_user("dr.member", is_governance_member=True),
        "vendor": make_user("acme.rep", role=Role.VENDOR),
        "tech": make_user("ct.tech", role=Role.TECHNOLOGIST),
        "unlicensed": make_user("dr.nolicense", license_number=""),
        "not_champion": make_user("dr.plain"),
    }


@pytest.mark.parametrize(
    ("field", "who", "rule"),
    [
        ("clinical_champions", "member_champion", "IV.A.4"),
        ("clinical_champions", "vendor", "IV.A.4"),
        ("clinical_champions", "not_champion", "not designated a clinical champion"),
        ("end_users", "vendor", "III.A.1"),
        ("end_users", "tech", "III.A.1"),
        ("end_users", "unlicensed", "no license recorded"),
        ("pilot_users", "tech", "III.A.1"),
        ("technical_contact", "vendor", "the practice's own"),
    ],
)
def test_a_person_who_does_not_fit_the_role_is_refused(
    version: ModelVersion,
    people: dict[str, User],
    others: dict[str, User],
    field: str,
    who: str,
    rule: str,
) -> None:
    value = others[who] if field == "technical_contact" else [others[who]]
    with pytest.raises(services.InventoryError, match=rule) as refused:
        services.create_deployment(people["informatics"], version, site="Main", **{field: value})
    assert str(refused.value).startswith(f"{field}: {others[who].username}")
    assert not Deployment.objects.exists()


def test_an_update_is_refused_alike(
    deployment: Deployment, people: dict[str, User], others: dict[str, User]
) -> None:
    with pytest.raises(services.InventoryError, match="end_users: ct.tech"):
        services.update_deployment(people["admin"], deployment, end_users=[others["tech"]])
    assert set(deployment.end_users.all()) == {people["physician"], people["gov"]}


def test_the_api_and_the_page_refuse_with_the_reason(
    version: ModelVersion, people: dict[str, User], others: dict[str, User]
) -> None:
    client = client_for(people["informatics"])
    r = post_json(
        client,
        f"/api/inventory/versions/{version.pk}/deployments",
        {"site": "Main", "end_user_ids": [others["tech"].pk]},
    )
    assert "end_users: ct.tech" in problem(r, 422)
    url = f"/inventory/versions/{version.pk}/deployments/new/"
    assert "acme.rep" not in client.get(url).content.decode()  # offered nowhere
    from radgov.inventory.forms import DeploymentForm

    offered = DeploymentForm().fields  # only people who fit each role are offered
    assert list(offered["clinical_champions"].queryset) == [people["champion"]]
    assert others["tech"] not in offered["end_users"].queryset
    assert others["unlicensed"] not in offered["pilot_users"].queryset
    page = client.post(url, {"site": "Main", "clinical_champions": [others["member_champion"].pk]})
    assert "not one of the available choices" in page.content.decode()
    assert not Deployment.objects.exists()


def test_a_license_is_a_physicians(people: dict[str, User]) -> None:
    from radgov.accounts import services as accounts

    user, _ = accounts.create_user("dr.new", role=Role.PHYSICIAN, license_number="CA A123456")
    assert user.license_number == "CA A123456"
    with pytest.raises(accounts.AccountError, match="III.A.1"):
        accounts.create_user("t.new", role=Role.TECHNOLOGIST, license_number="RT 1")
    accounts.set_license(people["admin"], user, "CA A999999")
    user.refresh_from_db()
    assert user.license_number == "CA A999999"
    with pytest.raises(accounts.AccountError, match="administrator"):
        accounts.set_license(people["physician"], user, "x")


# --- values a person would never enter ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"release_date": "9999-01-01"}, "release_date: 9999-01-01 is not a plausible date"),
        ({"advance_notice_date": "1850-01-01"}, "advance_notice_date: 1850-01-01"),
    ],
)
def test_implausible_version_dates_are_refused(
    product: Any, people: dict[str, User], fields: dict[str, str], message: str
) -> None:
    import datetime as dt

    values = {k: dt.date.fromisoformat(v) for k, v in fields.items()}
    with pytest.raises(services.InventoryError, match=message):
        services.add_model_version(people["informatics"], product, version="9.9", **values)
    r = post_json(
        client_for(people["informatics"]),
        f"/api/inventory/products/{product.pk}/versions",
        {"version": "9.9", **fields},
    )
    assert message in problem(r, 422)
    assert not ModelVersion.objects.filter(version="9.9").exists()


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"min_age_years": -1}, "min_age_years"),
        ({"max_age_years": 200}, "max_age_years.*0 to 130"),
        ({"max_slice_thickness_mm": 5000}, "max_slice_thickness_mm"),
        ({"max_kvp": 100000}, "max_kvp"),
    ],
)
def test_implausible_criteria_are_refused(
    version: ModelVersion, people: dict[str, User], criteria: dict[str, float], message: str
) -> None:
    with pytest.raises(services.InventoryError, match=message):
        services.create_deployment(
            people["informatics"], version, site="Main", inclusion_criteria=criteria
        )
    assert not Deployment.objects.exists()
