"""The privacy officer's reminders, and how they reach people (docs/privacy-incidents.md).

The daily task ``compliance.remind`` calls :func:`remind`: a reminder is raised for each breach
notice due within ``REMIND_DAYS`` or overdue (the HHS annual log among them), for the Notice of
Privacy Practices' review coming due, for each live deployment the notice does not cover, and
for records more than a day past their retention that the purge has not removed; those whose
cause is gone are cleared.  Each reminder has a stage (due, overdue, flagged) and is delivered
once per stage, twice over: an alert (rule ``privacy``) in monitoring's one alert queue, shown
to the compliance role, and an email to the compliance role's users.  Running the task again
delivers nothing twice; an email that could not be sent is tried again on the next run (an
email sent just before the process died may go twice: better than a deadline missed).
Nothing delivered names a patient.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from radgov.accounts.models import User
from radgov.compliance import notices, purge
from radgov.compliance.incident_services import deadlines_of, events_awaiting
from radgov.compliance.models import Incident, Reminder
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.monitoring.models import Alert, Rule

REMIND_DAYS = 14  # a breach notice due this soon (or overdue) is reminded
REVIEW_AHEAD_DAYS = 30  # the notice's review, this long before it is due
PURGE_GRACE = dt.timedelta(days=1)  # the nightly purge's own lag is not a reminder

logger = logging.getLogger("radgov.compliance")


def _stage(due: dt.date, today: dt.date) -> str:
    return Reminder.Stage.OVERDUE if today > due else Reminder.Stage.DUE


def _wanted(today: dt.date, now: dt.datetime) -> dict[str, tuple[str, str, dt.date | None, str]]:
    """key -> (kind, subject, due, stage) of every reminder that should be open today."""
    wanted: dict[str, tuple[str, str, dt.date | None, str]] = {}
    for incident in Incident.objects.exclude(decision=Incident.Decision.NOT_BREACH):
        for d in deadlines_of(incident):
            if d.done_on is None and (d.due - today).days <= REMIND_DAYS:
                late = "overdue since" if today > d.due else "due"
                wanted[f"incident:{incident.pk}:{d.notice}"] = (
                    Reminder.Kind.INCIDENT_NOTICE,
                    f"Incident {incident.pk}: notice to {d.notice} {late} {d.due:%Y-%m-%d}",
                    d.due,
                    _stage(d.due, today),
                )
    notice = notices.current(today)
    if notice is not None and (notices.review_due(notice) - today).days <= REVIEW_AHEAD_DAYS:
        due = notices.review_due(notice)
        wanted[f"notice:{notice.pk}:review:{notice.reviewed_on}"] = (
            Reminder.Kind.NOTICE_REVIEW,
            f"Review the Notice of Privacy Practices {notice.version} by {due:%Y-%m-%d}",
            due,
            _stage(due, today),
        )
    for deployment, why in notices.flagged(today):
        wanted[f"coverage:{deployment.pk}"] = (
            Reminder.Kind.NOTICE_COVERAGE,
            f"{deployment}: {why}"[:300],
            None,
            Reminder.Stage.FLAGGED,
        )
    for event in events_awaiting():
        wanted[f"event:{event.pk}"] = (
            Reminder.Kind.AI_EVENT,
            f"AI {event.get_kind_display()} {event.pk} on {event.deployment} may be a privacy "
            "breach: open an incident"[:300],
            None,
            Reminder.Stage.FLAGGED,
        )
    for expired in purge.plan(now - PURGE_GRACE):
        if expired.to_remove:
            wanted[f"retention:{expired.data_class}"] = (
                Reminder.Kind.RETENTION,
                f"{expired.label}: {expired.to_remove} past their retention of {expired.days} "
                "days and not purged (is the nightly purge running?)",
                None,
                Reminder.Stage.OVERDUE,
            )
    return wanted


def remind(today: dt.date | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """Raise the reminders due today, clear those whose cause is gone, and deliver each new
    stage to the alert queue and by email; counts."""
    now = now or timezone.now()
    counts = _raise(today or timezone.localdate(), now)
    counts["mailed"] = _mail_undelivered()
    return counts


@service
def _raise(today: dt.date, now: dt.datetime) -> dict[str, int]:
    wanted = _wanted(today, now)
    open_rows = {r.key: r for r in Reminder.objects.select_for_update().filter(cleared_at=None)}
    raised = alerted = 0
    for key, (kind, subject, due, stage) in wanted.items():
        row = open_rows.get(key)
        if row is None:
            row, _ = Reminder.objects.update_or_create(
                key=key,
                defaults={
                    "kind": kind, "subject": subject, "due_on": due, "stage": stage,
                    "cleared_at": None, "alerted_stage": "", "mailed_stage": "", "alert": None,
                },
            )  # fmt: skip
            raised += 1
        elif (row.subject, row.stage) != (subject, stage):  # e.g. "due" became "overdue since"
            row.subject, row.stage = subject, stage
            row.save(update_fields=["subject", "stage"])
        if row.alerted_stage != row.stage:
            _alert(row, today)
            alerted += 1
    gone = [row for key, row in open_rows.items() if key not in wanted]
    for row in gone:
        _close_alert(row, "cleared: its cause is gone")
        row.cleared_at = now
        row.save(update_fields=["cleared_at"])
    return {"raised": raised, "cleared": len(gone), "open": len(wanted), "alerted": alerted}


def _alert(row: Reminder, today: dt.date) -> None:
    """Put the reminder's new stage in the alert queue, closing its earlier stage's alert."""
    _close_alert(row, f"superseded: now {row.get_stage_display()}")
    row.alert = Alert.objects.create(
        deployment=None,
        rule=Rule.PRIVACY,
        signal_day=today,
        summary=row.subject,
        detail={"reminder": row.key, "stage": row.stage},
    )
    row.alerted_stage = row.stage
    row.save(update_fields=["alert", "alerted_stage"])


def _close_alert(row: Reminder, note: str) -> None:
    alert = row.alert
    if alert is not None and alert.closed_at is None:
        alert.closed_at, alert.note = timezone.now(), note
        alert.save(update_fields=["closed_at", "note"])


def recipients() -> list[str]:
    """The compliance role's active users with an email address."""
    people = User.objects.filter(role=Role.COMPLIANCE, is_active=True).exclude(email="")
    return sorted(set(people.values_list("email", flat=True)))


def _mail_undelivered() -> int:
    """Email every open reminder whose stage has not been emailed yet; each one marked after
    its email went, so a failure is tried again on the next run."""
    to = recipients()
    rows = Reminder.objects.filter(cleared_at=None).exclude(mailed_stage=F("stage"))
    if not to:
        if rows.exists():
            logger.warning("privacy reminders not emailed: no compliance user has an email")
        return 0
    sent = 0
    for row in rows.order_by("pk"):
        try:
            send_mail(
                f"[radgov] {row.subject}",
                _body(row),
                settings.DEFAULT_FROM_EMAIL,
                to,
            )
        except (smtplib.SMTPException, OSError) as exc:
            logger.warning("privacy reminder %s not emailed: %s", row.pk, type(exc).__name__)
            continue
        _mark_mailed(row.pk, row.stage)
        sent += 1
    return sent


@service
def _mark_mailed(pk: int, stage: str) -> None:
    Reminder.objects.filter(pk=pk).update(mailed_stage=stage)


def _body(row: Reminder) -> str:
    due = f"Due: {row.due_on:%Y-%m-%d}\n" if row.due_on else ""
    return (
        f"{row.subject}\n\n{row.get_kind_display().capitalize()} ({row.get_stage_display()}).\n"
        f"{due}\nOpen radgov, Privacy: {reverse(_page(row))}\n\n"
        "This reminder is sent once per stage to the compliance role; it names no patient.\n"
    )


def _page(row: Reminder) -> str:
    if row.kind == Reminder.Kind.RETENTION:
        return "compliance:retention"
    if row.kind in (Reminder.Kind.INCIDENT_NOTICE, Reminder.Kind.AI_EVENT):
        return "compliance:incidents"
    return "compliance:notice"


def todo() -> Any:
    """The privacy officer's section of the dashboard: the open reminders."""
    from radgov.web.todo import Todo

    soonest = F("due_on").asc(nulls_last=True)
    rows = Reminder.objects.filter(cleared_at=None).order_by(soonest, "pk")
    lines = [r.subject for r in rows[:10]]
    return Todo("Privacy reminders", reverse("compliance:incidents"), lines, "Nothing is due.")
