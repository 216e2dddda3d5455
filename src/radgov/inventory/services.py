"""Every change to the inventory: products, model versions, deployments, documents.

Each service takes the acting user, checks the rules, writes in one transaction
and is audited (``AuditedModel``).  Bad input raises :class:`InventoryError` (a
``ValueError``) naming the rule and, where one applies, the practice parameter's
clause; nothing is written.  Lifecycle moves are in ``radgov.inventory.lifecycle``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import IO, Any

from django.db import IntegrityError

from radgov.core import config
from radgov.core.bounds import planned_refusal
from radgov.core.errors import Refused
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.dicom.criteria import Criteria, CriteriaError
from radgov.inventory.lifecycle import LifecycleError, NotPermitted
from radgov.inventory.models import (
    Category,
    DecisionRole,
    Deployment,
    DeploymentTransition,
    Document,
    DocumentKind,
    ModelVersion,
    NotRegulatedReason,
    Product,
    RegulatoryPathway,
    VendorCompany,
)
from radgov.inventory.people import named, people_problems
from radgov.inventory.stages import Stage

__all__ = [
    "InventoryError",
    "LifecycleError",
    "NotPermitted",
    "add_model_version",
    "add_representative",
    "can_change",
    "can_upload",
    "create_deployment",
    "create_product",
    "propose_upgrade",
    "remove_representative",
    "update_deployment",
    "update_model_version",
    "update_product",
    "upload_document",
]


class InventoryError(Refused):
    """Bad input to an inventory service; the message names the rule."""


PRODUCT_FIELDS = (
    "vendor",
    "vendor_contact",
    "support_contact",
    "name",
    "description",
    "category",
    "regulatory_pathway",
    "fda_number",
    "fda_product_code",
    "ce_ukca",
    "not_regulated_reason",
)
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
DEPLOYMENT_FIELDS = (
    "site",
    "technical_contact",
    "inclusion_criteria",
    "routing_notes",
    "output_release_policy",
)
DEPLOYMENT_PEOPLE = ("clinical_champions", "end_users", "pilot_users")

FDA_NUMBER = {
    RegulatoryPathway.FDA_510K: (re.compile(r"^K\d{6}$"), "K followed by 6 digits, e.g. K221240"),
    RegulatoryPathway.FDA_DE_NOVO: (
        re.compile(r"^DEN\d{6}$"),
        "DEN followed by 6 digits, e.g. DEN170073",
    ),
    RegulatoryPathway.FDA_PMA: (re.compile(r"^P\d{6}$"), "P followed by 6 digits, e.g. P200001"),
}
PDF_MAGIC = b"%PDF-"


# --- who may change what ---------------------------------------------------------------------


def can_change(user: Any) -> bool:
    """Administrators, imaging informatics and governance-group members keep the inventory."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.role != Role.VENDOR
        and (user.role in (Role.ADMINISTRATOR, Role.INFORMATICS) or user.is_governance_member)
    )


def can_upload(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.role in (Role.ADMINISTRATOR, Role.INFORMATICS)
    )


def _require_change(user: Any) -> None:
    if not can_change(user):
        raise NotPermitted(
            "only administrators, imaging informatics and governance-group members change the inventory"
        )


# --- products --------------------------------------------------------------------------------


def _clean_product(data: dict[str, Any]) -> dict[str, Any]:
    data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    for key in ("vendor", "name"):
        if not data.get(key):
            raise InventoryError(
                f"{key}: required (IV.B.1: every product in the inventory names it)"
            )
    if data.get("category") not in Category.values:
        raise InventoryError(
            f"category: {data.get('category')!r} is not one of {', '.join(Category.values)}"
        )
    pathway = data.get("regulatory_pathway")
    if pathway not in RegulatoryPathway.values:
        raise InventoryError(
            f"regulatory_pathway: {pathway!r} is not one of {', '.join(RegulatoryPathway.values)}"
        )
    reason = data.get("not_regulated_reason") or ""
    if pathway == RegulatoryPathway.NOT_FDA:
        if reason not in NotRegulatedReason.values:
            raise InventoryError(
                "not_regulated_reason: a product that is not FDA-regulated must say why "
                f"({', '.join(NotRegulatedReason.values)}) (IV.H.2)"
            )
        if data.get("fda_number") or data.get("fda_product_code"):
            raise InventoryError(
                "fda_number: a product that is not FDA-regulated has no FDA number or product code"
            )
    else:
        if reason:
            raise InventoryError(
                "not_regulated_reason: only a product that is not FDA-regulated gives a reason"
            )
        pattern, example = FDA_NUMBER[RegulatoryPathway(pathway)]
        number = (data.get("fda_number") or "").upper()
        if not pattern.match(number):
            raise InventoryError(
                f"fda_number: {data.get('fda_number')!r} is not a {RegulatoryPathway(pathway).label} "
                f"number ({example})"
            )
        code = (data.get("fda_product_code") or "").upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise InventoryError(
                f"fda_product_code: {data.get('fda_product_code')!r} is not a three-letter FDA product code"
            )
        data["fda_number"], data["fda_product_code"] = number, code
    data["not_regulated_reason"] = reason
    return data


def company_named(name: str) -> VendorCompany:
    """The vendor company of that name (any case), recorded on first use."""
    company = VendorCompany.objects.filter(name__iexact=name).first()
    return company or VendorCompany.objects.create(name=name)


def _check_unique_product(vendor: str, name: str, exclude: int | None = None) -> None:
    clash = Product.objects.filter(company__name__iexact=vendor, name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    existing = clash.first()
    if existing is not None:
        raise InventoryError(
            f"the inventory already holds {existing} (IV.B.1: one entry per product)"
        )


@service
def create_product(user: Any, **fields: Any) -> Product:
    _require_change(user)
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise InventoryError(f"unknown product fields: {', '.join(sorted(unknown))}")
    data = _clean_product({k: fields.get(k, "") for k in PRODUCT_FIELDS})
    _check_unique_product(data["vendor"], data["name"])
    company = company_named(data.pop("vendor"))
    product = Product(company=company, **data)
    product.save()
    return product


@service
def update_product(user: Any, product: Product, **fields: Any) -> Product:
    _require_change(user)
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise InventoryError(f"unknown product fields: {', '.join(sorted(unknown))}")
    product = Product.objects.select_for_update().get(pk=product.pk)
    current = {k: getattr(product, k) for k in PRODUCT_FIELDS}
    data = _clean_product({**current, **fields})
    _check_unique_product(data["vendor"], data["name"], exclude=product.pk)
    product.company = company_named(data.pop("vendor"))
    for key, value in data.items():
        setattr(product, key, value)
    product.save()
    return product


# --- model versions --------------------------------------------------------------------------


def _clean_version(data: dict[str, Any]) -> dict[str, Any]:
    data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
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
    _require_change(user)
    unknown = set(fields) - set(VERSION_FIELDS)
    if unknown:
        raise InventoryError(f"unknown model version fields: {', '.join(sorted(unknown))}")
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
    _require_change(user)
    if "version" in fields or "product" in fields:
        raise InventoryError(
            "a model version's version string and product cannot change; add a new version "
            "instead (IV.B.2.a)"
        )
    unknown = set(fields) - set(VERSION_FIELDS)
    if unknown:
        raise InventoryError(f"unknown model version fields: {', '.join(sorted(unknown))}")
    row = ModelVersion.objects.select_for_update().get(pk=model_version.pk)
    current = {k: getattr(row, k) for k in VERSION_FIELDS}
    data = _clean_version({**current, **fields})
    for key, value in data.items():
        setattr(row, key, value)
    row.save()
    return row


# --- deployments -----------------------------------------------------------------------------


def _criteria(value: Any) -> dict[str, Any]:
    try:
        return Criteria.from_dict(value or {}).to_dict()
    except CriteriaError as exc:
        raise InventoryError(f"{exc} (IV.B.2.f)") from None


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
    _require_change(user)
    site = (site or "").strip()
    if not site:
        raise InventoryError("site: required (where the model will run)")
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
    _require_change(user)
    if "model_version" in fields:
        raise InventoryError(
            "a deployment's model version never changes: propose the new version as an upgrade, "
            "which goes through review again"
        )
    unknown = set(fields) - set(DEPLOYMENT_FIELDS) - set(DEPLOYMENT_PEOPLE)
    if unknown:
        raise InventoryError(f"unknown deployment fields: {', '.join(sorted(unknown))}")
    row = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if row.status == Stage.SUNSET:
        raise InventoryError(f"{row} is sunset; its record is kept as it was")
    _checknamed(
        **{k: v for k, v in fields.items() if k in (*DEPLOYMENT_PEOPLE, "technical_contact")}
    )
    if "site" in fields:
        site = (fields["site"] or "").strip()
        if not site:
            raise InventoryError("site: required (where the model will run)")
        row.site = site
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
    _require_change(user)
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


# --- vendor companies and their accounts (III.F) ---------------------------------------------


@service
def add_representative(user: Any, company: VendorCompany, account: Any) -> VendorCompany:
    """A vendor account belongs to one company and sees only that company's products."""
    if getattr(user, "role", None) != Role.ADMINISTRATOR:
        raise NotPermitted("an administrator says which company a vendor account belongs to")
    if account.role != Role.VENDOR:
        raise InventoryError(
            f"{account.get_username()} is {account.role_label}; only vendor accounts belong to "
            "a vendor company"
        )
    other = account.vendor_companies.exclude(pk=company.pk).first()
    if other is not None:
        raise InventoryError(
            f"{account.get_username()} already belongs to {other}; an account belongs to one "
            "company"
        )
    company.representatives.add(account)
    return company


@service
def remove_representative(user: Any, company: VendorCompany, account: Any) -> VendorCompany:
    if getattr(user, "role", None) != Role.ADMINISTRATOR:
        raise NotPermitted("an administrator says which company a vendor account belongs to")
    company.representatives.remove(account)
    return company


# --- documents -------------------------------------------------------------------------------


def _sha256(fh: IO[bytes]) -> tuple[str, int, bytes]:
    digest, size, head = hashlib.sha256(), 0, b""
    fh.seek(0)
    while chunk := fh.read(1024 * 1024):
        if not head:
            head = chunk[: len(PDF_MAGIC)]
        digest.update(chunk)
        size += len(chunk)
    fh.seek(0)
    return digest.hexdigest(), size, head


def _check_readable_pdf(fh: IO[bytes], name: str) -> None:
    """Parse the PDF (pypdf): refuse one that cannot be read, is encrypted or has no page,
    saying which.  A file that only begins with %PDF- is not a document anyone can open."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    problem = None
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # its warnings about a broken file say nothing more
    try:
        fh.seek(0)
        reader = PdfReader(fh, strict=False)
        if reader.is_encrypted:
            problem = "it is encrypted; upload it without a password (IV.F.2: readable by all)"
        elif len(reader.pages) == 0:
            problem = "it has no pages"
        else:
            reader.pages[0].mediabox  # noqa: B018 - the first page must be readable
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        problem = f"not a readable PDF ({type(exc).__name__}: {str(exc)[:120]!r})"
    except RecursionError:
        problem = "not a readable PDF (its structure nests without end)"
    finally:
        pypdf_log.setLevel(level)
        fh.seek(0)
    if problem:
        reason = problem if problem.startswith("not a readable") else f"not usable: {problem}"
        raise InventoryError(f"{name!r} is {reason}; the IFU and other documents are kept as PDF")


@service
def upload_document(
    user: Any,
    model_version: ModelVersion,
    *,
    kind: str,
    version_label: str,
    upload: Any,
    title: str = "",
) -> Document:
    """Store a PDF (IFU, release notes...) for ``model_version``.

    ``upload`` is a Django ``UploadedFile`` (or any file object with ``name``).  A file that
    is not a PDF, is larger than ``RADGOV_MAX_UPLOAD_MB`` or repeats a version label of the
    same kind is refused and nothing is stored.
    """
    from django.core.files import File

    if not can_upload(user):
        raise NotPermitted("only administrators and imaging informatics upload documents")
    if kind not in DocumentKind.values:
        raise InventoryError(f"kind: {kind!r} is not one of {', '.join(DocumentKind.values)}")
    label = (version_label or "").strip()
    if not label:
        raise InventoryError("version_label: required (documents are versioned, IV.F.2)")
    name = str(getattr(upload, "name", "") or "document.pdf").rsplit("/", 1)[-1][:255]
    limit = config.max_upload_bytes()
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise InventoryError(
            f"{name!r} is {declared / 1048576:.1f} MB; the limit is "
            f"{config.get_int('RADGOV_MAX_UPLOAD_MB')} MB (RADGOV_MAX_UPLOAD_MB)"
        )
    sha, size, head = _sha256(upload)
    if size > limit:
        raise InventoryError(
            f"{name!r} is {size / 1048576:.1f} MB; the limit is "
            f"{config.get_int('RADGOV_MAX_UPLOAD_MB')} MB (RADGOV_MAX_UPLOAD_MB)"
        )
    if size == 0:
        raise InventoryError(f"{name!r} is empty")
    if head != PDF_MAGIC:
        raise InventoryError(
            f"{name!r} is not a PDF (it does not begin with %PDF-); the IFU and other documents "
            "are kept as PDF (IV.F.2)"
        )
    _check_readable_pdf(upload, name)
    same = Document.objects.filter(
        model_version=model_version, kind=kind, version_label__iexact=label
    ).first()
    if same is not None:
        raise InventoryError(
            f"{DocumentKind(kind).label} {same.version_label} of {model_version} is already "
            "uploaded; "
            "give the new document its own version label"
        )
    doc = Document(
        model_version=model_version,
        kind=kind,
        version_label=label,
        title=(title or "").strip(),
        original_name=name,
        size=size,
        sha256=sha,
        uploaded_by=user,
    )
    doc.file.save(f"{sha}.pdf", File(upload, name=name), save=False)
    try:
        doc.save()
    except Exception:
        doc.file.storage.delete(doc.file.name)
        raise
    return doc
