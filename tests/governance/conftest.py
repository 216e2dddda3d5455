"""Governance test data: a group with a chair, a physicist and a compliance
member, a clinical champion, and an inventory product with a deployment."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from radgov.core.roles import Role
from radgov.core.services import service
from radgov.governance import services
from tests.factories import make_user

MEETING_DAY = dt.date(2026, 11, 2)


@service
def make_inventory(
    *,
    vendor: str = "Acme AI",
    name: str = "BleedCheck",
    category: str = "cadt",
    pathway: str = "fda_510k",
) -> SimpleNamespace:
    """Inventory rows for the tests (the inventory's own services are its business)."""
    from radgov.inventory.models import Deployment, ModelVersion, Product
    from radgov.inventory.services import company_named

    product = Product.objects.create(
        company=company_named(vendor), name=name, category=category, regulatory_pathway=pathway
    )
    version = ModelVersion.objects.create(product=product, version="2.1")
    deployment = Deployment.objects.create(model_version=version, site="Main campus")
    return SimpleNamespace(product=product, version=version, deployment=deployment)


def decide(
    by: Any,
    meeting: Any,
    kind: str,
    *,
    motion: str = "",
    rationale: str = "ok",
    yes: tuple[Any, ...] = (),
    **about: Any,
) -> Any:
    """``by`` records a decision of ``kind`` at ``meeting`` (its motion the kind's name unless
    given), about what ``about`` names; each member in ``yes`` then votes for it."""
    motion = motion or kind.replace("_", " ").capitalize()
    decision = services.record_decision(
        by, meeting, kind=kind, motion=motion, rationale=rationale, **about
    )
    for member in yes:
        services.cast_vote(member, decision, "yes")
    return decision


@pytest.fixture
def people() -> SimpleNamespace:
    return SimpleNamespace(
        admin=make_user("admin", role=Role.ADMINISTRATOR),
        chen=make_user("dr.chen", role=Role.PHYSICIAN),
        physicist=make_user("physicist", role=Role.MEDICAL_PHYSICIST),
        privacy=make_user("privacy", role=Role.COMPLIANCE),
        informatics=make_user("informatics", role=Role.INFORMATICS),
        okafor=make_user("dr.okafor", role=Role.PHYSICIAN, is_clinical_champion=True),
        vendor=make_user("vendor.rep", role=Role.VENDOR),
        tech=make_user("tech", role=Role.TECHNOLOGIST),
    )


@pytest.fixture
def group(people: SimpleNamespace) -> Any:
    return services.create_group(
        people.admin,
        name="AI governance group",
        members=[
            (people.chen, "chair"),
            (people.physicist, "member"),
            (people.privacy, "member"),
        ],
        joined_on=dt.date(2026, 1, 1),
    )


@pytest.fixture
def inv() -> SimpleNamespace:
    return make_inventory()


@pytest.fixture
def meeting(people: SimpleNamespace, group: Any) -> Any:
    return services.create_meeting(
        people.chen,
        group,
        held_on=MEETING_DAY,
        attendees=[people.chen, people.physicist, people.privacy],
    )


@pytest.fixture
def cf() -> Any:
    """The conformance audit's people and practice (``conformance_world``)."""
    from tests.governance import conformance_world as w

    p = w.people()
    return p, w.practice(p)
