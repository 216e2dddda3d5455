"""Monitoring pages: the governance group's alert queue with every watched deployment, and a
deployment's performance against its reports with the chart.  Thin: they read through the
selectors and write through the services."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from radgov.core.errors import refusal
from radgov.core.exports import pdf_response
from radgov.exams.errors import ExamError, NotPermitted
from radgov.inventory import lifecycle
from radgov.inventory.models import Deployment
from radgov.monitoring import (
    alarms,
    analysis,
    charts,
    drift,
    drift_chart,
    estimate,
    selectors,
    status,
)
from radgov.monitoring.models import Alert


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Every deployment not sunset with its four status lights, the open alerts, and the
    reports waiting for their exam."""
    deployments = list(
        Deployment.objects.exclude(status="sunset")
        .select_related("model_version__product")
        .order_by("pk")
    )
    return render(
        request,
        "monitoring/overview.html",
        {
            "alerts": selectors.alerts(
                open_only=True, privacy=selectors.sees_privacy_alerts(request.user)
            ),
            "rows": status.lights(deployments, timezone.localdate()),
            "waiting": selectors.reports_waiting_for_exam(),
        },
    )


@require_GET
def deployment(request: HttpRequest, deployment_id: int) -> HttpResponse:
    row = get_object_or_404(
        Deployment.objects.select_related("model_version__product"), pk=deployment_id
    )
    frequency = request.GET.get("frequency", "month")
    by = request.GET.get("by") or None
    error = ""
    try:
        view = selectors.deployment_view(row, frequency=frequency, by=by)
    except ValueError as exc:
        error = f"Not shown: {exc}"
        view = selectors.deployment_view(row)
    drift_view = drift.view(row, timezone.localdate())
    context = {
        "deployment": row,
        "view": view,
        "svg": charts.discordance_svg(view),
        "error": error,
        "frequencies": analysis.FREQUENCIES,
        "subgroups": list(analysis.SUBGROUPS),
        "may_close": lifecycle.may_transition(request.user),
        "drift": drift_view,
        "drift_svg": drift_chart.weekly_psi_svg(drift_view),
        "estimate": estimate.view(row, timezone.localdate()),
    }
    return render(request, "monitoring/deployment.html", context, status=400 if error else 200)


@require_GET
def report_pdf(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """The deployment's performance report as a PDF for the governance meeting (WeasyPrint,
    from the same numbers and chart as the page)."""
    row = get_object_or_404(
        Deployment.objects.select_related("model_version__product"), pk=deployment_id
    )
    view = selectors.deployment_view(row)
    html = render_to_string(
        "monitoring/report.html",
        {
            "deployment": row,
            "view": view,
            "svg": charts.discordance_svg(view),
            "at": timezone.now(),
        },
    )
    return pdf_response(html, filename=f"monitoring-deployment-{row.pk}.pdf", obj=row)


@require_POST
def close_alert(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    try:
        alarms.close_alert(request.user, alert, note=request.POST.get("note", ""))
    except (ExamError, NotPermitted) as exc:
        messages.error(request, f"Not closed: {refusal(request, exc)}")
    else:
        messages.success(request, "Alert closed.")
    return redirect("monitoring:deployment", deployment_id=alert.deployment_id)
