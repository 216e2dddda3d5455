"""The Notice of Privacy Practices (section V; docs/privacy-incidents.md).

``record_notice`` keeps a version of the notice, ``review_notice`` marks it reviewed,
``set_coverage`` records whether a deployment's use is covered by the current notice;
``flagged`` lists the live deployments it does not cover (none recorded yet, or recorded not
covered), which ``radgov.compliance.reminders`` reminds the compliance role of.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.compliance.models import NoticeCoverage, PrivacyNotice
from radgov.compliance.retention_services import RetentionError, require_compliance
from radgov.core.errors import unseen
from radgov.core.services import service
from radgov.inventory.models import Deployment
from radgov.inventory.stages import Stage

LIVE = (Stage.PILOT, Stage.DEPLOYED)


class NoticeError(RetentionError):
    """A refused change to the notice or its coverage."""


def current(today: dt.date | None = None) -> PrivacyNotice | None:
    """The notice in force: the newest effective on or before ``today``."""
    today = today or timezone.localdate()
    return PrivacyNotice.objects.filter(effective_on__lte=today).first()


def review_due(notice: PrivacyNotice) -> dt.date:
    return notice.reviewed_on + dt.timedelta(days=notice.review_every_days)


@service
def record_notice(
    actor: Any, *, version: str, effective_on: dt.date, uses: str, review_every_days: int = 365
) -> PrivacyNotice:
    require_compliance(actor)
    problems = []
    if not version.strip():
        problems.append("version: name the notice's version")
    if not uses.strip():
        problems.append("uses: write the uses and disclosures of PHI the notice describes")
    if not 1 <= review_every_days <= 3 * 365:
        problems.append("review_every_days: between 1 and 1095")
    if problems:
        raise NoticeError("; ".join(problems))
    return PrivacyNotice.objects.create(
        version=version.strip()[:100],
        effective_on=effective_on,
        uses=uses.strip(),
        review_every_days=review_every_days,
        reviewed_on=effective_on,
        recorded_by=actor,
    )


def _current_or_refuse() -> PrivacyNotice:
    notice = current()
    if notice is None:
        raise NoticeError("no Notice of Privacy Practices is in force: record one first")
    return notice


@service
def review_notice(actor: Any) -> PrivacyNotice:
    """The current notice was reviewed today (and still stands)."""
    require_compliance(actor)
    notice = PrivacyNotice.objects.select_for_update().get(pk=_current_or_refuse().pk)
    notice.reviewed_on = timezone.localdate()
    notice.save(update_fields=["reviewed_on"])
    return notice


@service
def set_coverage(actor: Any, *, deployment_id: int, covered: bool, note: str) -> NoticeCoverage:
    """Whether the current notice covers the deployment's use; a "not covered" needs the
    reason (what the notice lacks)."""
    require_compliance(actor)
    notice = _current_or_refuse()
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None:
        raise unseen("deployment", deployment_id)
    if not covered and not note.strip():
        raise NoticeError("note: say what the notice does not cover")
    row, _ = NoticeCoverage.objects.update_or_create(
        deployment=deployment,
        notice=notice,
        defaults={"covered": covered, "note": note.strip()[:500], "reviewed_by": actor},
    )
    return row


def flagged(today: dt.date | None = None) -> list[tuple[Deployment, str]]:
    """Live deployments the current notice does not cover, each with why."""
    notice = current(today)
    live = Deployment.objects.filter(status__in=LIVE).select_related(
        "model_version__product__company"
    )
    if notice is None:
        return [(d, "no Notice of Privacy Practices is in force") for d in live]
    found = {c.deployment_id: c for c in NoticeCoverage.objects.filter(notice=notice)}
    out = []
    for d in live.order_by("pk"):
        coverage = found.get(d.pk)
        if coverage is None:
            out.append((d, f"not yet reviewed against notice {notice.version}"))
        elif not coverage.covered:
            out.append((d, f"not covered by notice {notice.version}: {coverage.note}"))
    return out
