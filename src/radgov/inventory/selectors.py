"""Reads of the inventory, restricted to what the person may see.  It holds no patient
data, so the practice's staff read all of it and reads are not audited one by one; a
vendor account reads only its own company's products, their versions, documents and
deployments (III.F, IV.A.3): anything else does not exist for it (404)."""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from radgov.core import policy
from radgov.core.roles import Role
from radgov.inventory import lifecycle
from radgov.inventory.models import Deployment, Document, DocumentKind, ModelVersion, Product
from radgov.inventory.stages import Stage

LIVE = (Stage.PILOT, Stage.DEPLOYED)


def is_vendor(user: Any) -> bool:
    return getattr(user, "role", None) == Role.VENDOR


def visible_products(user: Any) -> QuerySet[Product]:
    rows = Product.objects.select_related("company")
    return rows.filter(company__representatives=user) if is_vendor(user) else rows


def visible_versions(user: Any) -> QuerySet[ModelVersion]:
    rows = ModelVersion.objects.select_related("product__company")
    return rows.filter(product__company__representatives=user) if is_vendor(user) else rows


def visible_deployments(user: Any) -> QuerySet[Deployment]:
    rows = Deployment.objects.select_related("model_version__product__company")
    if is_vendor(user):
        rows = rows.filter(model_version__product__company__representatives=user)
    return rows


def visible_documents(user: Any) -> QuerySet[Document]:
    rows = Document.objects.all()
    if is_vendor(user):
        rows = rows.filter(model_version__product__company__representatives=user)
    return rows


def products(user: Any) -> QuerySet[Product]:
    return (
        visible_products(user)
        .annotate(
            version_count=Count("versions", distinct=True),
            live_count=Count(
                "versions__deployments",
                filter=Q(versions__deployments__status__in=LIVE),
                distinct=True,
            ),
        )
        .order_by("company__name", "name")
    )


def version_label(path: str = "") -> list[str]:
    """The columns ``str()`` of a model version (at ``path`` from the rows queried) reads:
    given to ``.only()``, a label costs its four names, not every column of three tables."""
    at = f"{path}__" if path else ""
    return [f"{at}version", f"{at}product__name", f"{at}product__company__name"]


def deployment_label(path: str = "") -> list[str]:
    """The columns ``str()`` of a deployment (at ``path``) reads; see :func:`version_label`."""
    at = f"{path}__" if path else ""
    return [f"{at}site", *version_label(f"{at}model_version")]


def deployments(user: Any, stage: str | None = None) -> QuerySet[Deployment]:
    """The deployments list: the columns its page shows and nothing more (a row of every
    column of four joined tables was most of the page's time)."""
    rows = (
        visible_deployments(user)
        .select_related(None)
        .select_related("model_version__product")
        .only(
            "site",
            "status",
            "deployment_date",
            "replaces_id",
            "model_version__version",
            "model_version__product__name",
        )
    )
    if stage:
        rows = rows.filter(status=stage)
    return rows.order_by("model_version__product__name", "site", "-created_at")


def stage_counts(user: Any) -> dict[str, int]:
    counts = dict.fromkeys(Stage.values, 0)
    for row in visible_deployments(user).values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def current_ifu(model_version: ModelVersion, *, at: dt.datetime | None = None) -> Any:
    """The IFU document in force for the model version at ``at`` (default: now): the latest
    uploaded by then (None when there is none)."""
    docs = model_version.documents.filter(kind=DocumentKind.IFU)
    if at is not None:
        docs = docs.filter(uploaded_at__lte=at)
    return docs.order_by("-uploaded_at", "-id").first()


@dataclass
class Move:
    stage: Stage
    missing: list[str] = field(default_factory=list)
    needs_reason: bool = False

    @property
    def label(self) -> str:
        return self.stage.label


def moves(deployment: Deployment) -> list[Move]:
    """Each allowed next stage with what its guards say is missing now."""
    return [
        Move(
            stage=target,
            missing=lifecycle.missing_for(deployment, target),
            needs_reason=target in lifecycle.REASON_REQUIRED,
        )
        for target in lifecycle.allowed_targets(deployment)
    ]


@dataclass(frozen=True)
class LinkedSection:
    title: str
    clause: str
    app: str
    url: str | None  # the other app's page, when it exists and the person may see it
    summary: str = ""  # what the other app says of this deployment, if it says anything
    exists: bool = True  # False while radgov has no such component (monitoring, for now)


LINKED = [
    ("Local acceptance testing results", "IV.B.2.e", "evaluation"),
    ("Qualified end-user training logs", "IV.B.2.g", "training"),
    ("Post-deployment monitoring data", "IV.B.2.h", "monitoring"),
]


def linked_sections(role: str | None, deployment: Deployment | None = None) -> list[LinkedSection]:
    """IV.B.2.e, g and h live in other apps: link to them once they exist.

    An app's ``navigation`` module may name a ``DEPLOYMENT_ROUTE`` (a page about one
    deployment, taking ``deployment_id``) and a ``deployment_summary(deployment)``; the
    link then goes to that page and the record shows the summary."""
    out = []
    for title, clause, app in LINKED:
        url, summary = None, ""
        exists = importlib.util.find_spec(f"radgov.{app}.navigation") is not None
        if exists:
            nav = importlib.import_module(f"radgov.{app}.navigation")
            route = getattr(nav, "DEPLOYMENT_ROUTE", None)
            candidates = [(route, {"deployment_id": deployment.pk})] if route and deployment else []
            candidates += [(item.route, {}) for item in nav.ITEMS]
            for name, kwargs in candidates:
                rule = policy.rule_for(name)
                if rule is not None and rule.allows(role):
                    url = reverse(name, kwargs=kwargs)
                    break
            describe = getattr(nav, "deployment_summary", None)
            if url and deployment is not None and describe is not None:
                summary = describe(deployment)
        out.append(
            LinkedSection(
                title=title, clause=clause, app=app, url=url, summary=summary, exists=exists
            )
        )
    return out


def criteria_lines(deployment: Deployment) -> list[str]:
    return deployment.criteria.describe()
