"""Issue reports: anyone reports a problem with a model or a deployment; the group works
the queue (most severe and oldest first)."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import FilterLookup, FilterSchema, Query, Router, Schema, Status

from radgov.core.paging import Page, PageQuery, paginate
from radgov.governance import selectors, services
from radgov.governance.api._lookups import get, opt
from radgov.governance.models import IssueReport
from radgov.inventory import selectors as inventory

router = Router()


class IssueIn(Schema):
    description: str
    deployment_id: int | None = None
    model_version_id: int | None = None
    severity: str = "moderate"


class IssueUpdateIn(Schema):
    status: str
    resolution: str = ""


class IssueOut(Schema):
    id: int
    reporter: str | None
    deployment_id: int | None
    model_version_id: int | None
    description: str
    severity: str
    status: str
    resolution: str

    @staticmethod
    def resolve_reporter(issue: IssueReport) -> str | None:
        return issue.reporter.username if issue.reporter else None


class IssueFilter(FilterSchema):
    status: str | None = None
    severity: str | None = None
    deployment: Annotated[int | None, FilterLookup("deployment_id")] = None
    model_version: Annotated[int | None, FilterLookup("model_version_id")] = None


@router.get("/issues", response=Page[IssueOut])
def list_issues(
    request: HttpRequest, filters: Query[IssueFilter], page: Query[PageQuery], queue: bool = False
) -> dict[str, Any]:
    """``queue=true``: the unresolved ones, most severe and oldest first."""
    if queue:
        return paginate(selectors.review_queue(), page)
    rows = IssueReport.objects.select_related("reporter").order_by("-pk")
    return paginate(filters.filter(rows), page)


@router.post("/issue-reports", response={201: IssueOut})
def report_issue(request: HttpRequest, payload: IssueIn) -> Status[IssueReport]:
    i = services.report_issue(
        request.user,
        description=payload.description,
        deployment=opt(
            inventory.visible_deployments(request.user), payload.deployment_id, "deployment"
        ),
        model_version=opt(
            inventory.visible_versions(request.user), payload.model_version_id, "model version"
        ),
        severity=payload.severity,
    )
    return Status(201, i)


@router.post("/issues/{issue_id}", response=IssueOut)
def update_issue(request: HttpRequest, issue_id: int, payload: IssueUpdateIn) -> IssueReport:
    i = get(IssueReport, issue_id, "issue report")
    services.update_issue(request.user, i, status=payload.status, resolution=payload.resolution)
    return i
