"""The dashboard as each person's to-do list: what waits for them, from every app, each
item read in a fixed number of queries however many records the practice holds.

* their own training that expired or expires within 30 days, on the models they use;
* for governance-group members: decisions of open meetings they attend that wait for
  their vote, and acceptance-test protocols waiting to be locked;
* for a chair: meetings held whose minutes wait for approval, and the conformance audit's
  failing lines (loaded by the page after it opens: the audit reads every deployment);
* open issue reports: the group's queue for members, one's own reports for others;
* suspended deployments: all of them for the group and administrators, one's own for
  end-users;
* for the compliance role: the open privacy reminders (``radgov.compliance.notices``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from radgov.core import generations

EXPIRING_DAYS = 30


@dataclass
class Todo:
    title: str
    url: str
    lines: list[str] = field(default_factory=list)
    empty: str = ""  # the sentence shown when nothing waits (the section is shown all the same)


def _training(user: Any, now: dt.datetime) -> Todo | None:
    from radgov.inventory.models import Deployment
    from radgov.inventory.selectors import version_label
    from radgov.training.models import TrainingRecord

    versions = {
        d.model_version_id: d.model_version
        for d in Deployment.objects.filter(Q(end_users=user) | Q(pilot_users=user))
        .exclude(status="sunset")
        .select_related("model_version__product__company")
        .only("model_version_id", *version_label("model_version"))
    }
    if not versions:
        return None
    latest: dict[int, dt.datetime] = {}
    for version_id, expires in TrainingRecord.objects.filter(
        user=user, model_version_id__in=versions, is_supplemental=False
    ).values_list("model_version_id", "expires_at"):
        latest[version_id] = max(expires, latest.get(version_id, expires))
    soon = now + dt.timedelta(days=EXPIRING_DAYS)
    lines = []
    for version_id, mv in sorted(versions.items(), key=lambda kv: str(kv[1])):
        expires = latest.get(version_id)
        if expires is None:
            lines.append(f"{mv}: no training recorded yet")
        elif expires <= now:
            lines.append(f"{mv}: expired {expires:%Y-%m-%d}")
        elif expires <= soon:
            lines.append(f"{mv}: expires {expires:%Y-%m-%d}")
    return Todo("Your training", reverse("training:mine"), lines, "Current on every model you use.")


def _votes(user: Any, today: dt.date) -> Todo:
    from radgov.governance.models import RECORD_KINDS_VALUES, Decision

    waiting = (
        Decision.objects.filter(
            meeting__closed_at__isnull=True,
            meeting__held_on__lte=today,
            meeting__attendees=user,
        )
        .exclude(kind__in=RECORD_KINDS_VALUES)
        .exclude(votes__member=user)
        .select_related("meeting")
        .order_by("meeting__held_on", "pk")
    )
    lines = [f"#{d.pk} {d.motion} ({d.meeting.held_on:%Y-%m-%d})" for d in waiting[:10]]
    return Todo(
        "Decisions waiting for your vote", reverse("governance:meetings"), lines, "None waits."
    )


def _protocols() -> Todo:
    from radgov.evaluation.models import AcceptanceProtocol
    from radgov.inventory.selectors import deployment_label

    drafts = (
        AcceptanceProtocol.objects.filter(locked_at__isnull=True)
        .select_related("deployment__model_version__product__company")
        .only("name", "version", *deployment_label("deployment"))
        .order_by("created_at")
    )
    lines = [f"{p.name}, version {p.version} ({p.deployment})" for p in drafts[:10]]
    return Todo(
        "Protocols waiting to be locked", reverse("evaluation:index"), lines, "Every one is locked."
    )


def _minutes(membership: Any, today: dt.date) -> Todo:
    from radgov.governance.models import Meeting

    open_meetings = Meeting.objects.filter(
        group=membership.group, closed_at__isnull=True, held_on__lt=today
    ).order_by("held_on")
    lines = [f"{m.title} ({m.held_on:%Y-%m-%d})" for m in open_meetings[:10]]
    return Todo(
        "Minutes waiting for your approval",
        reverse("governance:meetings"),
        lines,
        "Every meeting held is closed.",
    )


def _issues(user: Any, member: bool) -> Todo:
    from radgov.governance.models import IssueReport, IssueStatus
    from radgov.inventory.selectors import deployment_label, version_label

    rows = IssueReport.objects.filter(status__in=[IssueStatus.OPEN, IssueStatus.TRIAGED])
    if not member:
        rows = rows.filter(reporter=user)
    rows = (
        rows.select_related(
            "deployment__model_version__product__company", "model_version__product__company"
        )
        .only(
            "severity",
            "status",
            *deployment_label("deployment"),
            *version_label("model_version"),
        )
        .order_by("reported_at")
    )
    lines = [
        f"#{i.pk} {i.get_severity_display().lower()}: {i.subject} ({i.get_status_display().lower()})"
        for i in rows[:10]
    ]
    if member:
        return Todo("Open issue reports", reverse("governance:issues"), lines, "No open issue.")
    return Todo(
        "Your open issue reports", reverse("governance:report_issue"), lines, "None is open."
    )


def _suspended(user: Any, oversees: bool) -> Todo | None:
    from radgov.inventory.models import Deployment
    from radgov.inventory.selectors import deployment_label

    rows = Deployment.objects.filter(status="suspended")
    if not oversees:
        rows = rows.filter(Q(end_users=user) | Q(pilot_users=user)).distinct()
        if not rows.exists():
            return None
    rows = (
        rows.select_related("model_version__product__company")
        .only(*deployment_label())
        .order_by("pk")
    )
    lines = [str(d) for d in rows[:10]]
    return Todo(
        "Suspended deployments",
        reverse("inventory:deployments") + "?stage=suspended",
        lines,
        "None is suspended.",
    )


# the apps whose records the sections read (the people, their roles and models in accounts)
READS = ("accounts", "compliance", "evaluation", "governance", "inventory", "training")


def todo_for(user: Any) -> tuple[list[Todo], bool]:
    """The person's to-do sections, and whether to load the conformance audit's failing
    lines (for a chair) after the page opens; kept in the cache until a service changes
    what they read (``radgov.core.generations``)."""
    name = ("todo", user.pk, user.role, timezone.localdate().isoformat())
    return generations.cached(name, READS, lambda: _sections(user))


def _sections(user: Any) -> tuple[list[Todo], bool]:
    from radgov.core.roles import Role
    from radgov.governance.models import Membership, Position

    now = timezone.now()
    today = timezone.localdate()
    if user.role == Role.VENDOR:
        return [_issues(user, member=False)], False
    membership = (
        Membership.objects.filter(user=user, left_on__isnull=True).select_related("group").first()
    )
    member = membership is not None
    oversees = member or user.role == Role.ADMINISTRATOR
    sections = [_training(user, now)]
    if member:
        sections += [_votes(user, today), _protocols()]
    chair = member and membership.position == Position.CHAIR
    if chair:
        sections.append(_minutes(membership, today))
    sections += [_issues(user, member), _suspended(user, oversees)]
    if user.role == Role.COMPLIANCE:
        from radgov.compliance.reminders import todo

        sections.append(todo())
    return [s for s in sections if s is not None], chair
