from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from radgov.core.errors import refusal
from radgov.core.exports import export_response
from radgov.core.jobs import JobError
from radgov.evaluation import guards, selectors, services
from radgov.evaluation.forms import PlanForm, ProtocolForm, RunForm
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.evaluation.starter import starter_protocol
from radgov.evaluation.uploads import start_run
from radgov.web.views import job_started

NAV = "evaluation:index"


def _deployment(deployment_id: int):  # type: ignore[no-untyped-def]
    from radgov.inventory.models import Deployment

    return get_object_or_404(
        Deployment.objects.select_related("model_version__product__company"), pk=deployment_id
    )


def _protocol(protocol_id: int) -> AcceptanceProtocol:
    return get_object_or_404(
        AcceptanceProtocol.objects.select_related(
            "deployment__model_version__product__company", "locked_by", "created_by", "amends"
        ),
        pk=protocol_id,
    )


def _run(run_id: int) -> AcceptanceRun:
    return get_object_or_404(
        AcceptanceRun.objects.select_related(
            "protocol__deployment__model_version", "run_by", "repeats__protocol"
        ),
        pk=run_id,
    )


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request, "evaluation/index.html", {"rows": selectors.overview(), "nav_current": NAV}
    )


@require_GET
def deployment(request: HttpRequest, deployment_id: int) -> HttpResponse:
    d = _deployment(deployment_id)
    current = selectors.current_protocol(d)
    return render(
        request,
        "evaluation/deployment.html",
        {
            "d": d,
            "protocols": selectors.protocols_of(d),
            "runs": selectors.runs_of(d),
            "current": current,
            "gap": guards.evidence_gap(d),
            "may_evaluate": services.may_evaluate(request.user),
            "lock_refusal": services.lock_refusal(request.user, current) if current else None,
            "run_refusal": services.run_refusal(request.user, current) if current else None,
            "nav_current": NAV,
        },
    )


def _protocol_form_page(
    request: HttpRequest, d, protocol: AcceptanceProtocol | None, *, initial: str
) -> HttpResponse:  # type: ignore[no-untyped-def]
    """Write the first protocol, edit a draft, or amend a locked version."""
    amending = protocol is not None and (protocol.is_locked or protocol.amends_id is not None)
    form = ProtocolForm(
        request.POST or None,
        amending=amending,
        initial={"source": initial, "reason": protocol.amendment_reason if protocol else ""},
    )
    if request.method == "POST" and form.is_valid():
        data, user = form.cleaned_data, request.user
        try:
            if protocol is None:
                saved = services.create_protocol(user, deployment=d, source=data["source"])  # type: ignore[arg-type]
            elif protocol.is_locked:
                saved = services.amend(user, protocol, source=data["source"], reason=data["reason"])  # type: ignore[arg-type]
            else:
                saved = services.edit_draft(
                    user,  # type: ignore[arg-type]
                    protocol,
                    source=data["source"],
                    reason=data.get("reason"),
                )
        except (services.EvaluationError, services.NotAllowed) as exc:
            form.add_error(None, refusal(request, exc))
        else:
            messages.success(request, f"Saved {saved} as a draft; it must be locked before a run.")
            return redirect("evaluation:protocol", protocol_id=saved.pk)
    return render(
        request,
        "evaluation/protocol_form.html",
        {
            "d": d,
            "protocol": protocol,
            "form": form,
            "amending": amending,
            "may_evaluate": services.may_evaluate(request.user),
            "nav_current": NAV,
        },
        status=400 if form.errors else 200,
    )


def protocol_new(request: HttpRequest, deployment_id: int) -> HttpResponse:
    d = _deployment(deployment_id)
    current = selectors.current_protocol(d)
    if current is not None:
        messages.info(request, f"This deployment already has a protocol: {current}.")
        return redirect("evaluation:protocol", protocol_id=current.pk)
    return _protocol_form_page(request, d, None, initial=starter_protocol(d))


def protocol_edit(request: HttpRequest, protocol_id: int) -> HttpResponse:
    p = _protocol(protocol_id)
    return _protocol_form_page(request, p.deployment, p, initial=p.source)


def _plan(request: HttpRequest, p: AcceptanceProtocol) -> tuple[PlanForm, list[object]]:
    """The sample-size card: a form (prevalence, power, expected values; the IFU's claims by
    default) and, once it is filled in, the cases each lower-bound criterion needs."""
    from radgov.evaluation import planning

    parsed = services.parse(p.source)
    metrics = sorted(
        {
            c.metric
            for c in parsed.criteria
            if c.ci_low_at_least is not None and c.metric in planning.PLANNABLE
        }
    )
    claims = {c.metric: c.value for c in parsed.ifu_claims}
    bound = "prevalence" in request.GET
    form = PlanForm(request.GET if bound else None, metrics=metrics, claims=claims)
    answers: list[object] = []
    if bound and form.is_valid():
        try:
            answers = list(
                planning.plan_protocol(
                    parsed,
                    expected=form.expected(),
                    prevalence=form.cleaned_data["prevalence"],
                    power=form.cleaned_data["power"],
                )
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
    return form, answers


@require_GET
def protocol(request: HttpRequest, protocol_id: int) -> HttpResponse:
    p = _protocol(protocol_id)
    is_current = services.current_version(p.deployment_id) == p.pk
    plan_form, plan = _plan(request, p)
    return render(
        request,
        "evaluation/protocol.html",
        {
            "p": p,
            "d": p.deployment,
            "runs": p.runs.select_related("run_by"),
            "is_current": is_current,
            "may_evaluate": services.may_evaluate(request.user),
            "lock_refusal": services.lock_refusal(request.user, p),
            "run_refusal": services.run_refusal(request.user, p),
            "plan_form": plan_form,
            "plan": plan,
            "post_hoc": guards.post_hoc_note(p),
            "post_hoc_open": guards.unaccepted_amendment(p),
            "nav_current": NAV,
        },
    )


@require_GET
def protocol_yaml(request: HttpRequest, protocol_id: int) -> HttpResponse:
    p = _protocol(protocol_id)
    response = HttpResponse(p.source, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="protocol-{p.pk}-v{p.version}.yaml"'
    return response


@require_POST
def protocol_lock(request: HttpRequest, protocol_id: int) -> HttpResponse:
    p = _protocol(protocol_id)
    try:
        services.lock(request.user, p)  # type: ignore[arg-type]
    except (services.EvaluationError, services.NotAllowed) as exc:
        messages.error(request, f"Not locked: {refusal(request, exc)}")
    else:
        messages.success(request, f"Locked {p}: runs can now be made against it.")
    return redirect("evaluation:protocol", protocol_id=p.pk)


def run_new(request: HttpRequest, protocol_id: int) -> HttpResponse:
    """Upload a cases file; the run is a background job (the page follows it, the result is
    the run's page).  What can be refused before the run (who, the lock, the file's type and
    size, the person's limit of jobs) is refused here."""
    p = _protocol(protocol_id)
    form = RunForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = start_run(request.user, p, form.cleaned_data["cases"])
        except (services.EvaluationError, services.NotAllowed, JobError) as exc:
            form.add_error("cases", refusal(request, exc))
        else:
            return redirect("web:job", job_id=job.pk)
    return render(
        request,
        "evaluation/run_new.html",
        {
            "p": p,
            "d": p.deployment,
            "form": form,
            "refusal": services.run_refusal(request.user, p),
            "columns": services.parse(p.source).data_columns,
            "nav_current": NAV,
        },
        status=400 if form.errors else 200,
    )


def _criteria_rows(criteria: list[dict[str, object]]) -> list[dict[str, object]]:
    from radgov.evaluation.report.summary import LABELS, RULE_SYMBOLS

    return [
        {
            **c,
            "metric": LABELS.get(str(c["metric"]), c["metric"]),
            "rule": f"{RULE_SYMBOLS[str(c['rule'])]} {c['threshold']:g}",
        }
        for c in criteria
    ]


@require_GET
def run(request: HttpRequest, run_id: int) -> HttpResponse:
    r = _run(run_id)
    return render(
        request,
        "evaluation/run.html",
        {
            "r": r,
            "p": r.protocol,
            "d": r.protocol.deployment,
            "criteria": _criteria_rows(r.result["criteria"]),
            "post_hoc": guards.post_hoc_note(r.protocol),
            "post_hoc_open": guards.unaccepted_amendment(r.protocol),
            "rerun": guards.rerun_note(r),
            "nav_current": NAV,
        },
    )


@require_GET
def run_report(request: HttpRequest, run_id: int) -> HttpResponse:
    """The report as a standalone page (the same HTML the PDF is made from, and the file
    ``radgov evaluate --html`` writes).  Its CSS and chart drawings are inline, so it keeps
    them by a policy of its own that admits no script, no fetch and no form at all."""
    response = HttpResponse(_run(run_id).report_html)
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    return response


@require_POST
def run_pdf(request: HttpRequest, run_id: int) -> HttpResponse:
    """Queue the report's PDF (made by the worker); its page offers the download."""
    r = _run(run_id)
    return job_started(
        request, "evaluation.report_pdf", {"run": r.pk}, back=reverse("evaluation:run", args=[r.pk])
    )


@require_GET
def run_json(request: HttpRequest, run_id: int) -> HttpResponse:
    r = _run(run_id)
    body = json.dumps(r.result, indent=2, sort_keys=True, allow_nan=False) + "\n"
    return export_response(
        body.encode(),
        filename=f"acceptance-run-{r.pk}.json",
        content_type="application/json",
        obj=r,
    )
