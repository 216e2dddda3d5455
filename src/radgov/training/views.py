from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from radgov.core.errors import refusal
from radgov.inventory.selectors import current_ifu
from radgov.training import selectors, services
from radgov.training.access import training_status
from radgov.training.forms import CompleteForm, ProcedureForm, RecordForm
from radgov.training.models import TrainingProcedure


def mine(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "training/mine.html",
        {"rows": selectors.my_training(request.user), "nav_current": "training:mine"},  # type: ignore[arg-type]
    )


def procedure(request: HttpRequest, procedure_id: int) -> HttpResponse:
    proc = get_object_or_404(
        TrainingProcedure.objects.select_related("model_version__product__company"), pk=procedure_id
    )
    user = request.user
    mv = proc.model_version
    ifu = current_ifu(mv)
    form = CompleteForm(request.POST or None)
    if ifu is not None:
        form.fields["attest_ifu"].label = f"I have read the IFU (version {ifu.version_label})"
    else:
        del form.fields["attest_ifu"]
    if request.method == "POST" and form.is_valid():
        try:
            services.record_completion(
                user,  # type: ignore[arg-type]
                procedure=proc,
                attest_ifu=bool(form.cleaned_data.get("attest_ifu")),
            )
        except (services.TrainingError, services.NotAllowed) as exc:
            form.add_error(None, refusal(request, exc))
        else:
            messages.success(request, f"Recorded: you completed {proc.title!r}.")
            return redirect("training:mine")
    return render(
        request,
        "training/procedure.html",
        {
            "procedure": proc,
            "ifu": ifu,
            "ifu_url": selectors.document_url(ifu),
            "form": form,
            "for_my_role": user.role in proc.required_roles,  # type: ignore[union-attr]
            "may_record_for_others": services.may_record_for_others(user, mv),  # type: ignore[arg-type]
            "status": training_status(user, mv),  # type: ignore[arg-type]
            "governs": services.governs_training(user),  # type: ignore[arg-type]
            "nav_current": "training:mine",
        },
    )


@require_POST
def attest(request: HttpRequest, model_version_id: int) -> HttpResponse:
    from radgov.inventory.models import ModelVersion

    mv = get_object_or_404(
        ModelVersion.objects.select_related("product__company"), pk=model_version_id
    )
    try:
        attestation = services.attest_ifu(request.user, mv)  # type: ignore[arg-type]
    except services.TrainingError as exc:
        messages.error(request, refusal(request, exc))
    else:
        messages.success(
            request,
            f"Recorded: you have read the IFU (version {attestation.document.version_label}) of {mv}.",
        )
    return redirect("training:mine")


def by_model(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "training/by_model.html",
        {
            "rows": selectors.training_by_deployment(user),  # type: ignore[arg-type]
            "governs": services.governs_training(user),  # type: ignore[arg-type]
            "nav_current": "training:by_model",
        },
    )


def _procedure_page(
    request: HttpRequest, proc: TrainingProcedure | None, initial: dict[str, object]
) -> HttpResponse:
    """Write a new procedure (``proc`` None) or edit one, through the services."""
    form = ProcedureForm(request.POST or None, initial=initial, procedure=proc)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {
            name: data[name]
            for name in (
                "title",
                "content",
                "complexity",
                "complexity_note",
                "required_roles",
                "validity_months",
                "self_attestation",
            )
        }
        try:
            if proc is None:
                proc = services.create_procedure(
                    request.user,  # type: ignore[arg-type]
                    model_version=data["model_version"],
                    is_supplemental=data["is_supplemental"],
                    **fields,  # type: ignore[arg-type]
                )
            else:
                services.update_procedure(request.user, proc, **fields)  # type: ignore[arg-type]
        except (services.TrainingError, services.NotAllowed) as exc:
            form.add_error(None, refusal(request, exc))
        else:
            messages.success(request, f"Training procedure {proc.title!r} saved.")
            return redirect("training:procedure", procedure_id=proc.pk)
    context = {
        "form": form,
        "governs": services.governs_training(request.user),  # type: ignore[arg-type]
        "procedure": proc,
        "nav_current": "training:by_model",
    }
    return render(request, "training/procedure_form.html", context)


PROCEDURE_FIELDS = ["title", "content", "complexity", "complexity_note", "required_roles"]
PROCEDURE_FIELDS += ["validity_months", "is_supplemental", "self_attestation"]


def procedure_create(request: HttpRequest) -> HttpResponse:
    """A new procedure; ``?copy=<id>`` starts from an existing one (a new model version
    needs its own procedure, usually the previous version's with what changed)."""
    initial: dict[str, object] = {"model_version": request.GET.get("model_version")}
    source = request.GET.get("copy", "")
    original = (
        TrainingProcedure.objects.filter(pk=int(source)).first() if source.isdigit() else None
    )
    if original is not None:
        initial.update({name: getattr(original, name) for name in PROCEDURE_FIELDS})
    return _procedure_page(request, None, initial)


def procedure_edit(request: HttpRequest, procedure_id: int) -> HttpResponse:
    proc = get_object_or_404(TrainingProcedure, pk=procedure_id)
    initial = {name: getattr(proc, name) for name in PROCEDURE_FIELDS}
    initial["model_version"] = proc.model_version_id
    return _procedure_page(request, proc, initial)


def _completed_at(day: dt.date) -> dt.datetime:
    now = timezone.localtime()
    if day == now.date():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


def record_new(request: HttpRequest) -> HttpResponse:
    procedures, people = selectors.recordable(request.user)  # type: ignore[arg-type]
    initial: dict[str, object] = {"completed_on": timezone.localdate()}
    for name in ("procedure", "user"):
        if request.GET.get(name, "").isdigit():
            initial[name] = int(request.GET[name])
    form = RecordForm(request.POST or None, initial=initial, procedures=procedures, people=people)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["completed_on"] > timezone.localdate():
            form.add_error("completed_on", "a training cannot be completed in the future")
        else:
            try:
                record = services.record_completion(
                    request.user,  # type: ignore[arg-type]
                    procedure=data["procedure"],
                    user=data["user"],
                    completed_at=_completed_at(data["completed_on"]),
                    notes=data["notes"],
                )
            except (services.TrainingError, services.NotAllowed) as exc:
                form.add_error(None, refusal(request, exc))
            else:
                messages.success(
                    request,
                    f"Recorded {record.user.get_username()}'s training on {record.model_version}; "
                    "they attest reading the IFU themselves, under My training.",
                )
                return redirect("training:by_model")
    if not procedures.exists() and request.method == "GET" and not form.is_bound:
        form = None  # type: ignore[assignment]
    return render(
        request, "training/record_form.html", {"form": form, "nav_current": "training:by_model"}
    )
