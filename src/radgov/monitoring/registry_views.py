"""The registry export's download (``radgov.monitoring.registry``): CSV or JSON, recorded as
an export; anyone else but the governance group, administrators and compliance is shown the
refusal."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from radgov.core.errors import denied_page
from radgov.core.exports import export_response
from radgov.exams.errors import NotPermitted
from radgov.inventory.models import Deployment
from radgov.monitoring import registry

TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@require_GET
def registry_export(request: HttpRequest, deployment_id: int, fmt: str) -> HttpResponse:
    if fmt not in registry.FORMATS:
        raise Http404("the registry export is CSV or JSON")
    row = get_object_or_404(
        Deployment.objects.select_related("model_version__product"), pk=deployment_id
    )
    try:
        body, detail = registry.export(request.user, row, fmt)
    except NotPermitted as exc:
        return denied_page(request, exc)
    return export_response(
        body,
        filename=f"registry-deployment-{row.pk}.{fmt}",
        content_type=TYPES[fmt],
        obj=row,
        detail={"what": "registry export", **detail},
    )
