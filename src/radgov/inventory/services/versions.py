"""Model versions of a product (IV.B.2.a) and their documentation, the model card's
fields."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from radgov.core.bounds import planned_refusal
from radgov.core.services import service
from radgov.inventory.models import DecisionRole, ModelVersion, Product
from radgov.inventory.services import common
from radgov.inventory.services.errors import InventoryError

VERSION_FIELDS = (
    "release_date",
    "release_notes",
    "advance_notice_date",
    "intended_purpose",
    "inputs",
    "outputs",
    "limitations",
    "performance_factors",
    "claimed_sensitivity",
    "claimed_specificity",
    "claim_source",
    "model_type",
    "intended_users",
    "target_population",
    "decision_role",
    "out_of_scope_use",
    "known_biases",
    "clinical_risk_level",
    "development_data",
    "bias_mitigation",
    "external_validation",
    "maintenance",
    "funding_source",
    "references",
)


def _clean_version(data: dict[str, Any]) -> dict[str, Any]:
    data = common.stripped(data)
    for key in ("claimed_sensitivity", "claimed_specificity"):
        value = data.get(key)
        if value in ("", None):
            data[key] = None
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InventoryError(f"{key}: {value!r} is not a number between 0 and 1") from None
        if not 0.0 <= number <= 1.0:
            raise InventoryError(f"{key}: {number:g} is not between 0 and 1 (give 0.94 for 94%)")
        data[key] = number
    if data.get("decision_role") not in ("", None, *DecisionRole.values):
        raise InventoryError(
            f"decision_role: {data['decision_role']!r} is not one of {', '.join(DecisionRole.values)}"
        )
    for key in ("release_date", "advance_notice_date"):
        if data.get(key) == "":
            data[key] = None
        refusal = planned_refusal(key, data.get(key), what="a model version's release")
        if refusal:
            raise InventoryError(refusal)
    for key in VERSION_FIELDS:
        if data.get(key) is None and key not in (
            "release_date",
            "advance_notice_date",
            "claimed_sensitivity",
            "claimed_specificity",
        ):
            data[key] = ""
    return data


@service
def add_model_version(user: Any, product: Product, *, version: str, **fields: Any) -> ModelVersion:
    """Record a new version of ``product``.  Existing deployments keep their version: a new
    version reaches a site only through :func:`propose_upgrade` and a fresh review."""
    common.require_change(user)
    common.require_known(fields, VERSION_FIELDS, "model version")
    version = (version or "").strip()
    if not version:
        raise InventoryError("version: required (IV.B.2.a: a documented model version)")
    if ModelVersion.objects.filter(product=product, version__iexact=version).exists():
        raise InventoryError(
            f"version {version} of {product} already exists (IV.B.2.a: each model version is "
            "documented once; record a new version under a new version string)"
        )
    data = _clean_version({k: fields.get(k) for k in VERSION_FIELDS})
    row = ModelVersion(product=product, version=version, **data)
    try:
        row.save()
    except IntegrityError:  # a concurrent duplicate
        raise InventoryError(f"version {version} of {product} already exists (IV.B.2.a)") from None
    return row


@service
def update_model_version(user: Any, model_version: ModelVersion, **fields: Any) -> ModelVersion:
    """Change a version's documentation.  The version string and product never change: a
    different version is a new :class:`ModelVersion` that goes through review."""
    common.require_change(user)
    if "version" in fields or "product" in fields:
        raise InventoryError(
            "a model version's version string and product cannot change; add a new version "
            "instead (IV.B.2.a)"
        )
    common.require_known(fields, VERSION_FIELDS, "model version")
    row, data = common.locked_update(model_version, VERSION_FIELDS, fields, _clean_version)
    for key, value in data.items():
        setattr(row, key, value)
    row.save()
    return row
