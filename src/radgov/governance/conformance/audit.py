"""Run every conformance check and gather the results into a report.

``run_audit`` reads the records as they stand; ``at`` is the moment the
time-dependent rules are judged at (the meeting window, training expiry, BAA
validity).  The report is frozen dataclasses; ``to_json`` is its export."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from radgov import __version__
from radgov.core import config
from radgov.core.audit import Action, record
from radgov.governance.conformance.checks import (
    AUDITED_STAGES,
    DEPLOYMENT,
    PRACTICE,
    Check,
    Context,
    Result,
    Status,
    checks,
)

SCHEMA = "radgov-conformance/1"
OBJECT_TYPE = "governance.conformance"


@dataclass(frozen=True)
class Line:
    check_id: str
    clause: str
    title: str
    status: Status
    found: str
    fix: str

    @property
    def status_label(self) -> str:
        return self.status.label


@dataclass(frozen=True)
class Totals:
    passed: int = 0
    failed: int = 0
    not_applicable: int = 0

    @classmethod
    def of(cls, lines: list[Line]) -> Totals:
        count = {s: sum(1 for ln in lines if ln.status == s) for s in Status}
        return cls(
            passed=count[Status.PASS],
            failed=count[Status.FAIL],
            not_applicable=count[Status.NOT_APPLICABLE],
        )

    @property
    def lines(self) -> int:
        return self.passed + self.failed + self.not_applicable

    @property
    def conformant(self) -> bool:
        """No line fails."""
        return self.failed == 0


@dataclass(frozen=True)
class DeploymentSection:
    deployment_id: int
    label: str
    product: str
    vendor: str
    version: str
    site: str
    stage: str
    stage_label: str
    lines: tuple[Line, ...]
    totals: Totals


@dataclass(frozen=True)
class AuditReport:
    generated_at: dt.datetime
    meeting_months: int
    practice: tuple[Line, ...]
    deployments: tuple[DeploymentSection, ...]
    totals: Totals
    version: str = __version__

    @property
    def conformant(self) -> bool:
        return self.totals.conformant

    def lines(self) -> list[Line]:
        return [*self.practice, *(ln for s in self.deployments for ln in s.lines)]


def _line(c: Check, result: Result) -> Line:
    return Line(c.id, c.clause, c.title, Status(result.status), result.found, result.fix)


def meeting_months() -> int:
    months = config.get_int("RADGOV_CONFORMANCE_MEETING_MONTHS")
    if months < 1:
        raise ValueError(f"RADGOV_CONFORMANCE_MEETING_MONTHS={months} is not at least 1 month")
    return months


def audited_deployments() -> list[Any]:
    from radgov.inventory.models import Deployment

    return list(
        Deployment.objects.filter(status__in=AUDITED_STAGES)
        .select_related("model_version__product__company")
        .order_by(
            "model_version__product__company__name", "model_version__product__name", "site", "pk"
        )
    )


def run_audit(*, at: dt.datetime | None = None) -> AuditReport:
    ctx = Context(at=at or timezone.now(), meeting_months=meeting_months())
    practice = tuple(_line(c, c.run(ctx)) for c in checks(PRACTICE))
    sections = []
    for d in audited_deployments():
        lines = tuple(_line(c, c.run(d, ctx)) for c in checks(DEPLOYMENT))
        product = d.model_version.product
        sections.append(
            DeploymentSection(
                deployment_id=d.pk,
                label=str(d),
                product=product.name,
                vendor=product.vendor,
                version=d.model_version.version,
                site=d.site,
                stage=d.status,
                stage_label=d.get_status_display(),
                lines=lines,
                totals=Totals.of(list(lines)),
            )
        )
    every = [*practice, *(ln for s in sections for ln in s.lines)]
    return AuditReport(
        generated_at=ctx.at,
        meeting_months=ctx.meeting_months,
        practice=practice,
        deployments=tuple(sections),
        totals=Totals.of(every),
    )


def totals_json(t: Totals) -> dict[str, Any]:
    return {
        "lines": t.lines,
        "pass": t.passed,
        "fail": t.failed,
        "not_applicable": t.not_applicable,
        "conformant": t.conformant,
    }


def _line_json(ln: Line) -> dict[str, Any]:
    return {
        "check": ln.check_id,
        "clause": ln.clause,
        "title": ln.title,
        "status": ln.status.value,
        "found": ln.found,
        "fix": ln.fix,
    }


def to_json(report: AuditReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "radgov_version": report.version,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "settings": {"RADGOV_CONFORMANCE_MEETING_MONTHS": report.meeting_months},
        "conformant": report.conformant,
        "totals": totals_json(report.totals),
        "practice": [_line_json(ln) for ln in report.practice],
        "deployments": [
            {
                "deployment_id": s.deployment_id,
                "label": s.label,
                "vendor": s.vendor,
                "product": s.product,
                "version": s.version,
                "site": s.site,
                "stage": s.stage,
                "totals": totals_json(s.totals),
                "lines": [_line_json(ln) for ln in s.lines],
            }
            for s in report.deployments
        ],
    }


def record_access(report: AuditReport, *, action: str, fmt: str, actor: Any = None) -> None:
    """Reading the audit is recorded in the audit trail; a download as an export."""
    record(
        action=Action(action),
        object_type=OBJECT_TYPE,
        object_id=report.generated_at.isoformat(timespec="seconds"),
        detail={"format": fmt, **totals_json(report.totals)},
        actor=actor,
    )
