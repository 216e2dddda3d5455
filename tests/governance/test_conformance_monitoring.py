"""The conformance audit's monitoring lines, read from monitoring's records: performance
tracked (IV.G.1), overrides (IV.G.3), adverse events reviewed in peer learning (IV.G.4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from radgov.core.services import service
from radgov.governance.conformance.audit import run_audit
from radgov.governance.conformance.checks import Status
from tests.governance import conformance_world as w
from tests.governance.conformance_world import section

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]


def test_iv_g_1_passes_only_while_a_watched_deployment_is_compared_with_its_reports(cf) -> None:
    """IV.G.1: a watch, and AI calls compared with reports in the last 30 days."""
    p, world = cf
    unwatched = w.deployed_model(p, world, w.Omit(monitoring=True), name="Unwatched")
    line = section(run_audit(), unwatched)["monitoring_active"]
    assert line.status == Status.FAIL and line.found.startswith("No monitoring watch is set")
    assert f"/api/monitoring/deployments/{unwatched.pk}/watch" in line.fix
    watched = w.deployed_model(p, world)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    line = section(run_audit(), watched)["monitoring_active"]
    assert line.status == Status.PASS, line
    assert line.found == (
        "Watched for intracranial_hemorrhage (baseline "
        f"{yesterday - dt.timedelta(days=59)} to {yesterday - dt.timedelta(days=30)}): 1 AI "
        f"calls compared with reports in the last 30 days, the latest on {yesterday}."
    )
    # audited 30 days after the comparison's day it is no longer among the last 30 days
    later = section(run_audit(at=timezone.now() + dt.timedelta(days=29)), watched)
    line = later["monitoring_active"]
    assert line.status == Status.FAIL and line.fix, line
    assert line.found.endswith(
        f"but no AI call was compared with a report in the last 30 days (the last on {yesterday})."
    )
    still = section(run_audit(at=timezone.now() + dt.timedelta(days=28)), watched)
    assert still["monitoring_active"].status == Status.PASS


def test_override_monitoring_iv_g_3_fails_until_results_are_reviewed_and_outliers_trained(
    cf,
) -> None:
    """IV.G.3: results nobody reviewed fail; a reviewer beyond the funnel's 99.8 % limits
    without a current supplemental training fails, naming them; trained, the line passes."""
    from radgov.exams.models import Exam, Inference
    from radgov.training import services as training
    from radgov.training.models import TrainingProcedure
    from tests.factories import make_user
    from tests.monitoring.test_overrides import OVERRIDDEN, seed_reviews

    p, world = cf
    d = w.deployed_model(p, world, omit=w.Omit(monitoring=True))  # no AI result yet

    @service
    def unreviewed() -> None:
        exam = Exam.objects.create(
            study_uid_hash="f" * 64, study_uid_encrypted="1.2.5", source="api"
        )
        Inference.objects.create(
            exam=exam, deployment=d, status="released", status_at=timezone.now()
        )

    unreviewed()
    line = section(run_audit(), d)["override_monitoring"]
    assert line.status == Status.FAIL and line.clause == "IV.G.3"
    assert line.found.startswith("1 AI results recorded, none reviewed")

    readers = {name: make_user(name, role="physician") for name in OVERRIDDEN}
    seed_reviews(d, readers)
    line = section(run_audit(), d)["override_monitoring"]
    assert line.status == Status.FAIL
    assert line.found.endswith(
        f"without a current supplemental training on {d.model_version}: rad-e."
    )
    assert "1 beyond the funnel's 99.8 % limits" in line.found and "supplemental" in line.fix

    base = TrainingProcedure.objects.get(model_version=d.model_version, is_supplemental=False)
    extra = training.create_procedure(
        p.admin, model_version=d.model_version, required_roles=["physician"],
        is_supplemental=True, title="Overrides", content="When to trust the triage.",
        complexity="intermediate", complexity_note="A session with the champion.",
    )  # fmt: skip
    training.record_completion(p.admin, procedure=base, user=readers["rad-e"])
    training.record_completion(p.admin, procedure=extra, user=readers["rad-e"])
    line = section(run_audit(), d)["override_monitoring"]
    assert line.status == Status.PASS, line
    assert line.found.endswith("each with a current supplemental training.")


def test_adverse_events_iv_g_4_fail_when_left_unreviewed_past_the_meeting_window(cf) -> None:
    from radgov.monitoring import events

    p, world = cf
    d = w.deployed_model(p, world)

    def line(at: dt.datetime | None = None) -> Any:
        (found,) = [
            ln for ln in run_audit(at=at).practice if ln.check_id == "adverse_events_reviewed"
        ]
        return found

    assert line().status == Status.PASS and line().found.startswith("No AI-related")
    event = events.report_event(
        p.reader, d, kind="near_miss", occurred_on=timezone.localdate(),
        description="The triage flag hid a second finding.",
    )  # fmt: skip
    fresh = line()
    assert fresh.status == Status.PASS and "1 open, each reported within the last" in fresh.found
    later = timezone.now() + dt.timedelta(days=400)  # beyond any meeting window
    overdue = line(later)
    assert overdue.status == Status.FAIL and overdue.clause == "IV.G.4"
    assert f"still await their review (event {event.pk})" in overdue.found
    events.review_event(
        p.admin, event, finding="Second finding missed on the flagged series.",
        factors=["ai_error"], action="Discussed at peer learning.",
    )  # fmt: skip
    reviewed = line(later)
    assert reviewed.status == Status.PASS, reviewed
    assert reviewed.found.startswith("1 events reported, 1 reviewed in peer learning")
