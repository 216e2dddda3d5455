"""Inventory objects for the training tests, written inside a service as the house requires."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

from django.utils import timezone

from radgov.core.services import service
from radgov.inventory.models import (
    Deployment,
    Document,
    DocumentKind,
    ModelVersion,
    Product,
    VendorCompany,
)

_counter = itertools.count(1)


@service
def make_version(name: str = "ICH Triage", version: str = "2.1") -> ModelVersion:
    company, _ = VendorCompany.objects.get_or_create(name="Acme AI")
    product, _ = Product.objects.get_or_create(
        company=company,
        name=name,
        defaults={"category": "cadt", "regulatory_pathway": "fda_510k"},
    )
    return ModelVersion.objects.create(product=product, version=version)


@service
def upload_ifu(
    model_version: ModelVersion, label: str, *, at: dt.datetime | None = None
) -> Document:
    n = next(_counter)
    doc = Document.objects.create(
        model_version=model_version,
        kind=DocumentKind.IFU,
        version_label=label,
        file=f"inventory/{model_version.pk}/ifu-{n}.pdf",
        original_name=f"ifu-{label}.pdf",
        size=100,
        sha256=hashlib.sha256(str(n).encode()).hexdigest(),
    )
    if at is not None:  # uploaded_at is auto_now_add: move it to the moment the test needs
        Document.objects.filter(pk=doc.pk).update(uploaded_at=at)
        doc.refresh_from_db()
    return doc


@service
def make_deployment(
    model_version: ModelVersion,
    *,
    status: str = "approved",
    end_users=(),
    pilot_users=(),
    champions=(),
) -> Deployment:
    dep = Deployment.objects.create(model_version=model_version, site="Main campus", status=status)
    dep.end_users.set(end_users)
    dep.pilot_users.set(pilot_users)
    dep.clinical_champions.set(champions)
    return dep


def ago(**kwargs: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kwargs)
