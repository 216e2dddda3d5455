"""Deployments: a model version run at a site, its people and its routing criteria
(IV.B.2), and the upgrade to a new version that re-enters review."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from radgov.core.services import service
from radgov.dicom.criteria import Criteria, CriteriaError
from radgov.inventory.models import Deployment, DeploymentTransition, ModelVersion
from radgov.inventory.people import named, people_problems
from radgov.inventory.services import common
from radgov.inventory.services.errors import InventoryError
from radgov.inventory.stages import Stage

DEPLOYMENT_FIELDS = (
    "site",
    "technical_contact",
    "inclusion_criteria",
    "routing_notes",
    "output_release_policy",
)
DEPLOYMENT_PEOPLE = ("clinical_champions", "end_users", "pilot_users")


def _criteria(value: Any) -> dict[str, Any]:
    try:
        return Criteria.from_dict(value or {}).to_dict()
    except CriteriaError as exc:
        raise InventoryError(f"{exc} (IV.B.2.f)") from None


def _site(value: str | None) -> str:
    site = (value or "").strip()
    if not site:
        raise InventoryError("site: required (where the model will run)")
    return site


def _checknamed(**people: Any) -> None:
    problems = people_problems(**people)
    if problems:
        raise InventoryError("; ".join(problems))


@service
def create_deployment(
    user: Any,
    model_version: ModelVersion,
    *,
    site: str,
    clinical_champions: Iterable[Any] = (),
    end_users: Iterable[Any] = (),
    pilot_users: Iterable[Any] = (),
    technical_contact: Any = None,
    inclusion_criteria: dict[str, Any] | None = None,
    routing_notes: str = "",
    output_release_policy: str = "",
) -> Deployment:
    """A request to run ``model_version`` at ``site``; it starts as *requested*."""
    common.require_change(user)
    site = _site(site)
    _checknamed(
        clinical_champions=clinical_champions,
        end_users=end_users,
        pilot_users=pilot_users,
        technical_contact=technical_contact,
    )
    deployment = Deployment(
        model_version=model_version,
        site=site,
        technical_contact=technical_contact,
        inclusion_criteria=_criteria(inclusion_criteria),
        routing_notes=(routing_notes or "").strip(),
        output_release_policy=(output_release_policy or "").strip(),
        created_by=user,
        status=Stage.REQUESTED,
    )
    deployment.save()
    deployment.clinical_champions.set(named(clinical_champions))
    deployment.end_users.set(named(end_users))
    deployment.pilot_users.set(named(pilot_users))
    return deployment


@service
def update_deployment(user: Any, deployment: Deployment, **fields: Any) -> Deployment:
    """Change a deployment's site, people, criteria and notes; never its model version."""
    common.require_change(user)
    if "model_version" in fields:
        raise InventoryError(
            "a deployment's model version never changes: propose the new version as an upgrade, "
            "which goes through review again"
        )
    common.require_known(fields, (*DEPLOYMENT_FIELDS, *DEPLOYMENT_PEOPLE), "deployment")
    row = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if row.status == Stage.SUNSET:
        raise InventoryError(f"{row} is sunset; its record is kept as it was")
    _checknamed(
        **{k: v for k, v in fields.items() if k in (*DEPLOYMENT_PEOPLE, "technical_contact")}
    )
    if "site" in fields:
        row.site = _site(fields["site"])
    if "inclusion_criteria" in fields:
        row.inclusion_criteria = _criteria(fields["inclusion_criteria"])
    for key in ("routing_notes", "output_release_policy"):
        if key in fields:
            setattr(row, key, (fields[key] or "").strip())
    if "technical_contact" in fields:
        row.technical_contact = fields["technical_contact"]
    row.save()
    for key in DEPLOYMENT_PEOPLE:
        if key in fields:
            getattr(row, key).set(named(fields[key]))
    return row


@service
def propose_upgrade(user: Any, deployment: Deployment, new_version: ModelVersion) -> Deployment:
    """A new version for a site re-enters review as a new deployment that ``replaces`` the
    current one; the current one runs on unchanged until the new one is deployed."""
    common.require_change(user)
    old = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if new_version.product_id != old.model_version.product_id:
        raise InventoryError(
            f"{new_version} is not a version of {old.model_version.product}; an upgrade stays "
            "within one product"
        )
    if new_version.pk == old.model_version_id:
        raise InventoryError(f"{old} already runs version {new_version.version}")
    if old.status == Stage.SUNSET:
        raise InventoryError(f"{old} is sunset; request a new deployment instead")
    pending = old.replaced_by.exclude(status=Stage.SUNSET).first()
    if pending is not None:
        raise InventoryError(
            f"an upgrade of {old} is already under way (version {pending.model_version.version}, "
            f"deployment {pending.pk}, {pending.get_status_display().lower()})"
        )
    new = Deployment(
        model_version=new_version,
        site=old.site,
        technical_contact=old.technical_contact,
        inclusion_criteria=old.inclusion_criteria,
        routing_notes=old.routing_notes,
        output_release_policy=old.output_release_policy,
        replaces=old,
        created_by=user,
        status=Stage.UNDER_REVIEW,
    )
    new.save()
    new.clinical_champions.set(old.clinical_champions.all())
    new.end_users.set(old.end_users.all())
    new.pilot_users.set(old.pilot_users.all())
    DeploymentTransition.objects.create(
        deployment=new,
        from_stage=Stage.REQUESTED,
        to_stage=Stage.UNDER_REVIEW,
        by=user,
        reason=(
            f"version {new_version.version} proposed to replace {old.model_version.version} "
            f"(deployment {old.pk}); a new version re-enters review"
        ),
    )
    return new
