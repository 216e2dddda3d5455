"""Issues with a model reported by its users (IV.F.3), reviewed by the governance group."""

from __future__ import annotations

from typing import Any

from radgov.core.services import service
from radgov.governance import selectors
from radgov.governance.models import IssueReport, IssueStatus, Severity
from radgov.governance.services import common
from radgov.governance.services.errors import GovernanceError, GovernancePermissionError


@service
def report_issue(
    actor: Any,
    *,
    description: str,
    deployment: Any = None,
    model_version: Any = None,
    severity: str = Severity.MODERATE,
) -> IssueReport:
    if deployment is None and model_version is None:
        raise GovernanceError("an issue report names the deployment or model version it is about")
    _require_visible(actor, deployment, model_version)
    if deployment is not None and model_version is None:
        model_version = deployment.model_version
    elif deployment is not None and deployment.model_version_id != model_version.pk:
        raise GovernanceError("the deployment does not run that model version")
    common.choice(severity, Severity, "severity")
    return IssueReport.objects.create(
        reporter=actor,
        deployment=deployment,
        model_version=model_version,
        description=common.text(description, "a description of the issue"),
        severity=severity,
    )


def _require_visible(actor: Any, deployment: Any, model_version: Any) -> None:
    """A vendor reports only on its own company's models (III.F): another company's do
    not exist for it."""
    from radgov.inventory import selectors as inventory

    if (
        deployment is not None
        and not inventory.visible_deployments(actor).filter(pk=deployment.pk).exists()
    ):
        raise GovernanceError(f"no deployment {deployment.pk} that you may see")
    if (
        model_version is not None
        and not inventory.visible_versions(actor).filter(pk=model_version.pk).exists()
    ):
        raise GovernanceError(f"no model version {model_version.pk} that you may see")


@service
def update_issue(
    actor: Any, issue: IssueReport, *, status: str, resolution: str = ""
) -> IssueReport:
    if not selectors.is_member(actor):
        raise GovernancePermissionError(
            "IV.F.3: issues reported by end-users are reviewed by the governance group; "
            f"{common.who(actor)} is not a member"
        )
    common.choice(status, IssueStatus, "issue status")
    resolution = (resolution or "").strip() or issue.resolution
    if status in (IssueStatus.RESOLVED, IssueStatus.CLOSED) and not resolution:
        raise GovernanceError("an issue is resolved or closed with its resolution written down")
    issue.status, issue.resolution, issue.handled_by = status, resolution, actor
    issue.save()
    return issue
