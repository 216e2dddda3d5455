"""The page of how radiologists use the AI (IV.G.3): override rates per reviewer on a funnel
plot, and for a reviewer beyond the limits a supplemental training offer (IV.F.3) that opens
the training record form for them.  The governance group sees everyone, anyone else their own
line.  Thin: it reads through ``radgov.monitoring.overrides``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from radgov.inventory.models import Deployment
from radgov.monitoring import funnel_chart, overrides
from radgov.training.models import TrainingProcedure


def _training_offer(row: overrides.ReviewerRate, deployment: Deployment | None) -> str:
    """The training record form for the reviewer, with the deployment's supplemental
    procedure when there is one."""
    url = f"{reverse('training:record_new')}?user={row.user_id}"
    if deployment is not None:
        procedure = TrainingProcedure.objects.filter(
            model_version=deployment.model_version, is_supplemental=True
        ).first()
        if procedure is not None:
            url += f"&procedure={procedure.pk}"
    return url


@require_GET
def overrides_page(request: HttpRequest) -> HttpResponse:
    chosen = request.GET.get("deployment", "")
    deployment = None
    if chosen.isdigit():
        deployment = get_object_or_404(
            Deployment.objects.select_related("model_version__product"), pk=int(chosen)
        )
    found = overrides.rates(request.user, deployment=deployment)
    offers: dict[int, str] = {}
    if found.sees_everyone:
        offers = {r.user_id: _training_offer(r, deployment) for r in found.flagged}
    context: dict[str, Any] = {
        "found": found,
        "rows": [(r, offers.get(r.user_id)) for r in found.rows],
        "svgs": funnel_chart.funnel_svgs(found),
        "caption": funnel_chart.CAPTION,
        "deployment": deployment,
        "deployments": Deployment.objects.select_related("model_version__product"),
    }
    return render(request, "monitoring/overrides.html", context)
