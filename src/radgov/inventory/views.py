"""The inventory's pages: thin, they read through selectors and change through services."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from radgov.core import generations
from radgov.core.errors import refusal, unseen
from radgov.core.roles import Role
from radgov.inventory import lifecycle, selectors, services
from radgov.inventory import model_card as cards
from radgov.inventory.forms import (
    CalculatorForm,
    DeploymentForm,
    DocumentForm,
    ProductForm,
    RepresentativeForm,
    TransitionForm,
    UpgradeForm,
    VersionForm,
)
from radgov.inventory.models import Deployment, ModelVersion, Product, VendorCompany
from radgov.inventory.services import PRODUCT_FIELDS, VERSION_FIELDS
from radgov.inventory.stages import Stage
from radgov.stats.classification import expected_outcomes

REFUSED = (services.InventoryError, lifecycle.LifecycleError, services.NotPermitted)


def _visible(request: HttpRequest, rows: QuerySet[Any], pk: int | None) -> Any:
    """The row if the person may see it; otherwise 404 (whether it exists or not, so ids
    cannot be probed), recorded in the audit trail."""
    row = rows.filter(pk=pk).first() if pk is not None else None
    if row is None:
        raise Http404(refusal(request, unseen(rows.model._meta.verbose_name, pk)))
    return row


def products(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "inventory/products.html",
        {
            "products": selectors.products(request.user),
            "can_change": services.can_change(request.user),
            "stage_counts": selectors.stage_counts(request.user),
        },
    )


def product(request: HttpRequest, pk: int) -> HttpResponse:
    row = _visible(request, selectors.visible_products(request.user), pk)
    versions = row.versions.all()
    return render(
        request,
        "inventory/product.html",
        {
            "product": row,
            "versions": versions.prefetch_related("deployments"),
            "can_change": services.can_change(request.user),
        },
    )


def _form_page(
    request: HttpRequest,
    form: Any,
    save: Callable[[], tuple[str, str, int]],
    *,
    allowed: bool,
    title: str,
    back: Any,
    multipart: bool = False,
) -> HttpResponse:
    """A create or edit page: on a valid POST ``save`` calls the service and says
    what to tell the person and where to go; a refusal becomes a form error and
    nothing changes."""
    if request.method == "POST" and allowed and form.is_valid():
        try:
            message, route, pk = save()
        except REFUSED as exc:
            form.add_error(None, refusal(request, exc))
        else:
            messages.success(request, message)
            return redirect(route, pk=pk)
    context = {
        "form": form,
        "allowed": allowed,
        "title": title,
        "back": back,
        "multipart": multipart,
    }
    return render(request, "inventory/form.html", context)


def _edit_page(
    request: HttpRequest,
    form: Any,
    row: Any,
    *,
    fields: Callable[[], dict[str, Any]],
    create: Callable[..., Any],
    update: Callable[..., Any],
    route: str,
    title: str,
    back: Any,
) -> HttpResponse:
    """The create-or-edit page of a product, a version or a deployment: on a valid POST,
    ``create(user, **fields())`` when there is no ``row`` yet and ``update(user, row,
    **fields())`` when there is, then the saved row's page (``route``)."""

    def save() -> tuple[str, str, int]:
        if row is None:
            saved = create(request.user, **fields())
        else:
            saved = update(request.user, row, **fields())
        return f"{saved} saved.", route, saved.pk

    allowed = services.can_change(request.user)
    return _form_page(request, form, save, allowed=allowed, title=title, back=back)


def product_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    row = _visible(request, Product.objects.all(), pk) if pk is not None else None
    form = ProductForm(request.POST or None, instance=row)
    return _edit_page(
        request,
        form,
        row,
        fields=lambda: {k: form.cleaned_data.get(k) or "" for k in PRODUCT_FIELDS},
        create=services.create_product,
        update=services.update_product,
        route="inventory:product",
        title=f"Edit {row}" if row else "New product",
        back=row,
    )


def _prevalence_result(mv: ModelVersion, form: CalculatorForm) -> dict[str, Any] | None:
    if not form.is_bound or not form.is_valid():
        return None
    if mv.claimed_sensitivity is None or mv.claimed_specificity is None:
        form.add_error(
            None, "the IFU's sensitivity and specificity are not recorded for this version"
        )
        return None
    percent = form.cleaned_data["prevalence"]
    out = expected_outcomes(mv.claimed_sensitivity, mv.claimed_specificity, percent / 100.0)
    # an undefined predictive value (NaN) shows as "undefined"
    defined = {name: None if math.isnan(v) else v for name, v in asdict(out).items()}
    return {**defined, "prevalence_pct": percent, "flagged": out.flagged}


def version(request: HttpRequest, pk: int) -> HttpResponse:
    mv = _visible(request, selectors.visible_versions(request.user), pk)
    calc = CalculatorForm(request.GET if "prevalence" in request.GET else None)
    return render(
        request,
        "inventory/version.html",
        {
            "mv": mv,
            "product": mv.product,
            "documents": mv.documents.all(),
            "ifu": selectors.current_ifu(mv),
            "deployments": mv.deployments.all(),
            "calc": calc,
            "result": _prevalence_result(mv, calc),
            "can_change": services.can_change(request.user),
            "can_upload": services.can_upload(request.user),
            "card": cards.build(mv),
        },
    )


def calculator(request: HttpRequest, pk: int) -> HttpResponse:
    """The PPV/NPV calculator (III.A.2: how disease prevalence affects AI performance)."""
    mv = _visible(request, selectors.visible_versions(request.user), pk)
    calc = CalculatorForm(request.GET if "prevalence" in request.GET else None)
    result = _prevalence_result(mv, calc)
    if request.headers.get("HX-Request") != "true":
        url = reverse("inventory:version", args=[mv.pk])
        if "prevalence" in request.GET:
            url += (
                "?" + urlencode({"prevalence": request.GET.get("prevalence", "")}) + "#calculator"
            )
        return redirect(url)
    return render(
        request, "inventory/_calculator_result.html", {"mv": mv, "calc": calc, "result": result}
    )


def version_form(
    request: HttpRequest, product_id: int | None = None, pk: int | None = None
) -> HttpResponse:
    mv = _visible(request, ModelVersion.objects.all(), pk) if pk is not None else None
    prod = mv.product if mv else _visible(request, Product.objects.all(), product_id)
    form = VersionForm(request.POST or None, instance=mv, editing=mv is not None)

    def create(user: Any, **fields: Any) -> Any:
        return services.add_model_version(
            user, prod, version=form.cleaned_data["version"], **fields
        )

    return _edit_page(
        request,
        form,
        mv,
        fields=lambda: {k: form.cleaned_data.get(k) for k in VERSION_FIELDS},
        create=create,
        update=services.update_model_version,
        route="inventory:version",
        title=f"Edit {mv}" if mv else f"New version of {prod}",
        back=mv or prod,
    )


def model_card(request: HttpRequest, pk: int) -> HttpResponse:
    mv = _visible(request, selectors.visible_versions(request.user), pk)
    card = cards.build(mv)
    sections = [
        (cards.section_label(name), [(key, cards.words(key), v) for key, v in values.items()])
        for name, values in card["chai_applied_model_card"].items()
    ]
    labels = cards.hti1_labels()
    hti1 = [(key, labels[key], value) for key, value in card["hti1_source_attributes"].items()]
    empty = [cards.empty_field_label(path) for path in card["empty_fields"]]
    return render(
        request,
        "inventory/model_card.html",
        {"mv": mv, "card": card, "sections": sections, "hti1": hti1, "empty": empty},
    )


def model_card_json(request: HttpRequest, pk: int) -> HttpResponse:
    mv = _visible(request, selectors.visible_versions(request.user), pk)
    return JsonResponse(cards.build(mv), json_dumps_params={"indent": 2})


def document_form(request: HttpRequest, version_id: int) -> HttpResponse:
    mv = _visible(request, ModelVersion.objects.all(), version_id)
    form = DocumentForm(request.POST or None, request.FILES or None)

    def save() -> tuple[str, str, int]:
        doc = services.upload_document(
            request.user,
            mv,
            kind=form.cleaned_data["kind"],
            version_label=form.cleaned_data["version_label"],
            title=form.cleaned_data["title"],
            upload=form.cleaned_data["file"],
        )
        return f"{doc} uploaded.", "inventory:version", mv.pk

    return _form_page(
        request,
        form,
        save,
        allowed=True,
        title=f"Upload a document for {mv}",
        back=mv,
        multipart=True,
    )


def document(request: HttpRequest, pk: int) -> HttpResponse:
    doc = _visible(request, selectors.visible_documents(request.user), pk)
    try:
        fh = doc.file.open("rb")
    except FileNotFoundError:
        raise Http404("the document's file is missing from storage") from None
    response = FileResponse(fh, content_type="application/pdf", filename=doc.original_name)
    response["Content-Disposition"] = response["Content-Disposition"].replace(
        "attachment", "inline"
    )
    return response


def deployments(request: HttpRequest) -> HttpResponse:
    stage = request.GET.get("stage") or None
    if stage not in (None, *Stage.values):
        stage = None
    user = request.user

    def table() -> str:
        counts = selectors.stage_counts(user)
        return render_to_string(
            "inventory/_deployments_table.html",
            {
                "deployments": selectors.deployments(user, stage),
                "stage": stage,
                # each stage with its count, worked out here rather than searched for in the page
                "stages": [(value, label, counts[value]) for value, label in Stage.choices],
            },
        )

    # the rows as HTML, kept until a service changes the inventory (radgov.core.generations):
    # the same for every person who sees the same rows, so it names no one but a vendor
    html = generations.cached(
        ("inventory:deployments:html", user.pk if selectors.is_vendor(user) else "staff", stage),
        ("inventory",),
        table,
    )
    # our own template's output, escaped when it was rendered
    return render(request, "inventory/deployments.html", {"table": mark_safe(html)})  # noqa: S308


def deployment(request: HttpRequest, pk: int) -> HttpResponse:
    rows = selectors.visible_deployments(request.user).select_related(
        "replaces__model_version", "technical_contact"
    )
    row = _visible(request, rows, pk)
    vendor = selectors.is_vendor(request.user)  # sees no blockers, reasons or end-users
    return render(
        request,
        "inventory/deployment.html",
        {
            "d": row,
            "mv": row.model_version,
            "vendor_view": vendor,
            "moves": [] if vendor else selectors.moves(row),
            "may_transition": lifecycle.may_transition(request.user),
            "can_change": services.can_change(request.user),
            "history": row.transitions.select_related("by"),
            "criteria": selectors.criteria_lines(row),
            "linked": selectors.linked_sections(getattr(request.user, "role", None), row),
            "ifu": selectors.current_ifu(row.model_version),
            "replaced_by": row.replaced_by.select_related("model_version"),
            "pending_upgrade": row.replaced_by.exclude(status=Stage.SUNSET).exists(),
            "upgrade_form": UpgradeForm(deployment=row),
        },
    )


def deployment_form(
    request: HttpRequest, version_id: int | None = None, pk: int | None = None
) -> HttpResponse:
    row = _visible(request, Deployment.objects.all(), pk) if pk is not None else None
    mv = row.model_version if row else _visible(request, ModelVersion.objects.all(), version_id)
    initial = DeploymentForm.initial_for(row) if row else {}
    form = DeploymentForm(request.POST or None, initial=initial)
    return _edit_page(
        request,
        form,
        row,
        fields=form.service_fields,
        create=lambda user, **fields: services.create_deployment(user, mv, **fields),
        update=services.update_deployment,
        route="inventory:deployment",
        title=f"Edit deployment {row.pk}: {row}" if row else f"Request a deployment of {mv}",
        back=row or mv,
    )


@require_POST
def deployment_transition(request: HttpRequest, pk: int) -> HttpResponse:
    row = _visible(request, Deployment.objects.all(), pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "say which stage to move to")
        return redirect("inventory:deployment", pk=row.pk)
    try:
        row = lifecycle.transition(
            request.user, row, form.cleaned_data["to"], reason=form.cleaned_data["reason"]
        )
    except REFUSED as exc:
        messages.error(request, f"Not moved: {refusal(request, exc)}")
    else:
        messages.success(
            request, f"Deployment {row.pk} moved to {row.get_status_display().lower()}."
        )
    return redirect("inventory:deployment", pk=row.pk)


@require_POST
def deployment_upgrade(request: HttpRequest, pk: int) -> HttpResponse:
    row = _visible(request, Deployment.objects.all(), pk)
    form = UpgradeForm(request.POST, deployment=row)
    if not form.is_valid():
        messages.error(request, "choose another version of the same product")
        return redirect("inventory:deployment", pk=row.pk)
    try:
        new = services.propose_upgrade(request.user, row, form.cleaned_data["version"])
    except REFUSED as exc:
        messages.error(request, f"Not proposed: {refusal(request, exc)}")
        return redirect("inventory:deployment", pk=row.pk)
    messages.success(
        request,
        f"Version {new.model_version.version} proposed as deployment {new.pk}; it is under review "
        f"and deployment {row.pk} runs on unchanged until the new one is deployed.",
    )
    return redirect("inventory:deployment", pk=new.pk)


def companies(request: HttpRequest) -> HttpResponse:
    """The vendor companies, their products and the vendor accounts that belong to each."""
    rows = VendorCompany.objects.prefetch_related("products", "representatives")
    is_admin = getattr(request.user, "role", None) == Role.ADMINISTRATOR
    free = list(RepresentativeForm().fields["account"].queryset) if is_admin else []
    return render(
        request,
        "inventory/companies.html",
        {"companies": rows, "is_admin": is_admin, "free": free},
    )


@require_POST
def company_representative(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a vendor account to a company (``account``), or remove one (``remove``)."""
    company = _visible(request, VendorCompany.objects.all(), pk)
    remove = request.POST.get("remove", "")
    try:
        if remove.isdigit():
            account = _visible(request, company.representatives.all(), int(remove))
            services.remove_representative(request.user, company, account)
            messages.success(request, f"{account.username} no longer belongs to {company}.")
        else:
            form = RepresentativeForm(request.POST)
            if not form.is_valid():
                messages.error(request, "choose a vendor account that belongs to no company")
                return redirect("inventory:companies")
            account = form.cleaned_data["account"]
            services.add_representative(request.user, company, account)
            messages.success(request, f"{account.username} now belongs to {company}.")
    except REFUSED as exc:
        messages.error(request, refusal(request, exc))
    return redirect("inventory:companies")
