"""The demo practice's de-identification: one finished job over two of pydicom's own test
images (synthetic, shipped inside the pydicom package: nothing is downloaded), started by the
informatics person for local acceptance testing.  Then the privacy officer's side: a longer
retention for exam records with a legal minimum, a legal hold on the oldest demo exam, a
privacy incident with its clocks running, and the Notice of Privacy Practices (one live
deployment left uncovered, so the reminders show it, in the alert queue and by email).  Idempotent: a second run finds them all."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from django.utils import timezone
from pydicom.data import get_testdata_file

from radgov.accounts.models import User
from radgov.compliance import incident_services, notices, reminders, retention_services, services
from radgov.compliance.models import DeidJob, Incident
from radgov.compliance.models.retention import DataClass
from radgov.core import config
from radgov.exams.models import Exam
from radgov.inventory.models import Deployment

PURPOSE = "demo: local acceptance testing of an ICH triage model (pydicom's test images)"
FILES = ("CT_small.dcm", "MR_small.dcm")  # in pydicom's package, no download


def load(stdout: Any) -> None:
    _deid(stdout)
    _privacy(stdout)


def _deid(stdout: Any) -> None:
    if DeidJob.objects.filter(purpose=PURPOSE).exists():
        return
    user = User.objects.filter(username="informatics").first()
    if user is None:
        stdout.write("De-identification: no 'informatics' account in the demo; skipped.")
        return
    source = config.data_dir() / "demo" / "deid-source" / "study-1"
    source.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(Path(str(get_testdata_file(name))), source / name)
    job = services.deidentify_for(
        user, purpose=PURPOSE, source_folder=source, options=["retain-patient-characteristics"]
    )
    finished = services.run_job(job.pk)  # the demo needs no worker
    status = finished.status if finished else "queued"
    stdout.write(
        f"De-identification: job {job.pk} over {len(FILES)} of pydicom's test images ({status})."
    )


HOLD_REASON = "demo: records request in a malpractice matter (2026-CV-0114)"
INCIDENT_TITLE = "demo: AI result feed sent to a wrong SFTP host"


def _privacy(stdout: Any) -> None:
    officer = User.objects.filter(username="privacy").first()
    if officer is None or Incident.objects.filter(title=INCIDENT_TITLE).exists():
        return
    retention_services.set_policy(
        officer,
        DataClass.EXAMS,
        days=10 * 365 + 3,
        legal_minimum_days=7 * 365 + 2,
        note="ten years; counsel's minimum is the state's seven for adult records",
    )
    oldest = Exam.objects.order_by("study_datetime", "pk").first()
    if oldest is not None:
        retention_services.place_hold(officer, scope="exam", exam_id=oldest.pk, reason=HOLD_REASON)
    now = timezone.now()
    incident_services.open_incident(
        officer,
        title=INCIDENT_TITLE,
        what="A vendor's result feed was configured with the wrong host for two days; the "
        "receiving host belongs to another hospital, which confirmed deletion.",
        discovered_on=timezone.localdate() - dt.timedelta(days=12),
        discovered_by="informatics",
        actor_names=["vendor.rep"],
        window_start=now - dt.timedelta(days=14),
        window_end=now - dt.timedelta(days=12),
        data_classes=[DataClass.RESULT_OBJECTS],
    )
    covered = _notice(officer)
    sent = reminders.remind()
    stdout.write(
        "Privacy: exam records kept ten years, "
        f"{'a legal hold on the oldest exam, ' if oldest else ''}one privacy incident (clocks running), "
        f"the Notice of Privacy Practices covering {covered} live deployment(s), one left "
        f"flagged; {sent['alerted']} reminder(s) raised in the alert queue and "
        f"{sent['mailed']} emailed to the compliance role."
    )


def _notice(officer: User) -> int:
    """The notice in force for eleven months (its yearly review comes due), found to cover
    every live deployment but the newest, which stays flagged for the privacy officer."""
    notices.record_notice(
        officer,
        version="2026-01 (demo)",
        effective_on=timezone.localdate() - dt.timedelta(days=335),
        uses="treatment, payment and health care operations, including analysis of images "
        "and reports by AI software from vendors under business associate agreements",
    )
    live = list(Deployment.objects.filter(status__in=notices.LIVE).order_by("pk"))
    for deployment in live[:-1]:
        notices.set_coverage(
            officer, deployment_id=deployment.pk, covered=True, note="section 3, AI analysis"
        )
    return max(len(live) - 1, 0)
