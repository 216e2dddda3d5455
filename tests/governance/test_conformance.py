"""The conformance audit: a fully conformant deployed model passes every line it
can; each documentation field of IV.B.2 left out in turn fails its line; the
practice-wide lines; what the acceptance-test records say
(IV.B.2.e, IV.E.2, V); JSON; the command's exit codes."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from radgov.core.models import AuditEntry
from radgov.core.services import service
from radgov.governance.conformance import checks
from radgov.governance.conformance.audit import run_audit, to_json
from radgov.governance.conformance.checks import Status
from radgov.governance.models import Membership
from radgov.inventory import lifecycle
from tests.governance import conformance_world as w
from tests.governance.conftest import decide

pytestmark = pytest.mark.django_db

# FDA-regulated and not generative; acceptance testing waived, so no test data
NOT_APPLICABLE = {"extra_oversight", "deidentified_test_data"}


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.fixture
def cf() -> Any:
    p = w.people()
    return p, w.practice(p)


def section(report: Any, deployment: Any) -> dict[str, Any]:
    (s,) = [s for s in report.deployments if s.deployment_id == deployment.pk]
    return {ln.check_id: ln for ln in s.lines}


def failing(report: Any) -> set[str]:
    return {ln.check_id for ln in report.lines() if ln.status == Status.FAIL}


def test_every_check_cites_a_clause_of_sections_iii_to_v() -> None:
    import re

    for c in checks.REGISTRY.values():
        assert re.fullmatch(r"(IV\.[A-H](\.\d+(\.[a-i])?)?|V|III\.[A-H](\.\d+)?)", c.clause), c
        assert c.scope in (checks.PRACTICE, checks.DEPLOYMENT)
    clauses = {c.clause for c in checks.REGISTRY.values()}
    assert {f"IV.B.2.{x}" for x in "abcdefghi"} <= clauses


def test_a_fully_conformant_deployed_model_passes_every_checkable_line(cf) -> None:
    p, world = cf
    d = w.deployed_model(p, world)
    assert d.status == "deployed"
    report = run_audit()
    assert [s.deployment_id for s in report.deployments] == [d.pk]
    lines = section(report, d)
    for check_id, ln in lines.items():
        if check_id in NOT_APPLICABLE:
            assert ln.status == Status.NOT_APPLICABLE, ln
        else:
            assert ln.status == Status.PASS, ln
    assert all(ln.status == Status.PASS for ln in report.practice), report.practice
    assert lines["acceptance_test"].found.startswith("Acceptance testing waived by the group")
    assert lines["doc_acceptance_results"].found == (
        f"No results on real cases: the group waived acceptance testing ({world.meeting}). "
        "No approved and locked acceptance-test protocol."
    )
    assert lines["deidentified_test_data"].found.startswith("No acceptance-test run on record")
    assert report.conformant and report.totals.failed == 0


# Each documentation field of IV.B.2 left out in turn: the lines that fail.  IFU and
# training logs are also what "trained" stands on (IV.F), so that line fails with them.
MISSING = {
    "a-release-notes": ("release_notes", {"doc_version"}),
    "b-deployment-date": ("deployment_date", {"doc_deployment_date"}),
    "c-ifu": ("ifu", {"doc_ifu", "end_users_trained"}),
    "d-intended-purpose": ("intended_purpose", {"doc_intended_purpose"}),
    "f-routing-notes": ("routing_notes", {"doc_routing_criteria"}),
    "f-criteria": ("criteria", {"doc_routing_criteria"}),
    "g-training-log": ("training_log", {"doc_training_logs", "end_users_trained"}),
    "h-monitoring": ("monitoring", {"doc_monitoring_data", "monitoring_active"}),
    "i-champion-email": ("champion_email", {"doc_contacts"}),
    "i-support-contact": ("support_contact", {"doc_contacts"}),
}


@pytest.mark.parametrize("case", sorted(MISSING))
def test_each_documentation_field_missing_fails_its_line(cf, case: str) -> None:
    p, world = cf
    knob, expected = MISSING[case]
    d = w.deployed_model(p, world, w.Omit(**{knob: True}))
    report = run_audit()
    assert failing(report) == expected
    clause = f"IV.B.2.{case[0]}"
    (line,) = [ln for ln in section(report, d).values() if ln.clause == clause]
    assert line.status == Status.FAIL and line.fix, line


def test_without_a_waiver_or_a_test_the_acceptance_lines_fail_and_monitoring_data_pass(
    cf,
) -> None:
    """IV.B.2.e and IV.E.2 read the evaluation records; IV.B.2.h reads monitoring's: the
    inventory record links the deployment's monitoring page with its comparisons."""
    p, world = cf
    d = w.deployed_model(p, world, w.Omit(waiver=True))
    report = run_audit()
    assert failing(report) == {"doc_acceptance_results", "acceptance_test"}
    lines = section(report, d)
    assert lines["acceptance_test"].found == (
        f"{lifecycle.ACCEPTANCE_MISSING}. No approved and locked acceptance-test protocol."
    )
    assert "lock the protocol" in lines["acceptance_test"].fix
    ln = lines["doc_monitoring_data"]
    page = f"/monitoring/deployments/{d.pk}/"
    assert ln.status == Status.PASS, ln
    assert ln.found.startswith(f"The inventory record links the monitoring data ({page}): 1 AI")
    assert f"({page}report.pdf)" in ln.found


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


def test_group_without_a_physician_fails_iv_a(cf) -> None:
    p, world = cf
    w.deployed_model(p, world)

    @service
    def physician_leaves() -> None:  # the service refuses this; the audit must see it anyway
        Membership.objects.filter(user=p.chen).update(left_on=timezone.localdate())

    physician_leaves()
    report = run_audit()
    assert failing(report) == {"group_physician"}
    (ln,) = [ln for ln in report.practice if ln.check_id == "group_physician"]
    assert ln.clause == "IV.A.2" and "no physician" in ln.found


def test_no_meeting_within_the_window_fails_and_the_window_is_a_setting(cf, monkeypatch) -> None:
    p, world = cf
    w.deployed_model(p, world)
    later = timezone.now() + dt.timedelta(days=130)  # the meeting was 10 days ago
    report = run_audit(at=later)
    assert "meetings_recent" in failing(report)
    (ln,) = [ln for ln in report.practice if ln.check_id == "meetings_recent"]
    assert ln.clause == "IV.A.5" and "3 months" in ln.found
    monkeypatch.setenv("RADGOV_CONFORMANCE_MEETING_MONTHS", "6")
    report = run_audit(at=later)
    assert "meetings_recent" not in failing(report)
    assert report.meeting_months == 6


def test_meeting_without_notes_fails(cf) -> None:
    p, world = cf
    from radgov.governance import services

    services.create_meeting(p.chen, world.group, held_on=timezone.localdate(), title="Quick sync")
    report = run_audit()
    assert failing(report) == {"meeting_notes"}


def test_no_group_at_all_fails_the_practice_lines() -> None:
    report = run_audit()
    assert all(ln.status == Status.FAIL for ln in report.practice)
    assert {ln.check_id for ln in report.practice} == {c.id for c in checks.checks(checks.PRACTICE)}
    assert report.deployments == ()
    assert not report.conformant


def test_selection_criteria_must_cover_each_consideration() -> None:
    p = w.people()
    from radgov.governance import services

    group = services.create_group(
        p.admin, name="G", members=[(p.chen, "chair"), (p.physicist, "member")]
    )
    services.define_criterion(p.chen, group, category="clinical", name="Accuracy", weight=1)
    report = run_audit()
    lines = {ln.check_id: ln for ln in report.practice}
    assert lines["selection_criteria"].status == Status.PASS
    assert lines["selection_considerations"].status == Status.FAIL
    assert "technical or business" in lines["selection_considerations"].found


def test_untrained_end_user_fails_iv_f_naming_the_user(cf) -> None:
    p, world = cf
    from radgov.training import services as training
    from radgov.training.models import TrainingProcedure

    d = w.deployed_model(p, world)
    from radgov.inventory import services as inventory

    inventory.update_deployment(p.informatics, d, end_users=[p.reader, p.chen, p.late])
    procedure = TrainingProcedure.objects.get(model_version=d.model_version)
    training.record_completion(p.admin, procedure=procedure, user=p.late)  # signed off
    report = run_audit()
    assert failing(report) == {"end_users_trained"}  # a log exists; the IFU is not attested
    ln = section(report, d)["end_users_trained"]
    assert ln.clause == "IV.F" and "cf-late" in ln.found and "cf-reader" not in ln.found
    assert "has not attested reading the IFU" in ln.found


def test_expired_training_fails_iv_f(cf) -> None:
    p, world = cf
    d = w.deployed_model(p, world)
    report = run_audit(at=timezone.now() + dt.timedelta(days=400))  # 12-month validity
    ln = section(report, d)["end_users_trained"]
    assert ln.status == Status.FAIL and "expired" in ln.found


def test_generative_model_without_irb_fails_iv_h(cf) -> None:
    p, world = cf
    d = w.deployed_model(p, world, w.Omit(irb=True), generative=True, name="ReportDraft")
    report = run_audit()
    assert failing(report) == {"extra_oversight"}
    ln = section(report, d)["extra_oversight"]
    assert ln.clause == "IV.H.3" and "no IRB determination" in ln.found


def test_generative_model_with_irb_and_legal_review_passes_iv_h(cf) -> None:
    p, world = cf
    d = w.deployed_model(p, world, generative=True, name="ReportDraft")
    report = run_audit()
    assert failing(report) == set()
    assert section(report, d)["extra_oversight"].status == Status.PASS


def test_phi_to_vendor_without_baa_fails(cf) -> None:
    p, world = cf
    d = w.deployed_model(p, world, w.Omit(baa=True))
    report = run_audit()
    assert failing(report) == {"baa"}
    ln = section(report, d)["baa"]
    assert ln.clause == "V" and "no business associate agreement" in ln.found


def test_a_lifecycle_condition_no_other_line_reports_fails_the_catch_all(cf) -> None:
    """A pilot whose pilot group was emptied: the inventory's pilot-group guard,
    reported through the lifecycle's registry."""
    from radgov.inventory import services as inventory

    p, world = cf
    d = w.deployed_model(p, world)
    d = w.force_stage(d, "pilot")
    inventory.update_deployment(p.informatics, d, pilot_users=[])
    report = run_audit()
    assert failing(report) == {"lifecycle_other"}
    assert "no pilot group" in section(report, d)["lifecycle_other"].found


def test_only_live_deployments_are_audited(cf) -> None:
    p, world = cf
    d = w.deployed_model(p, world)
    w.force_stage(d, "suspended")
    assert run_audit().deployments == ()


def test_json_shape(cf) -> None:
    p, world = cf
    d = w.deployed_model(p, world)
    data = to_json(run_audit())
    json.dumps(data)  # serialisable as is
    assert data["schema"] == "radgov-conformance/1"
    assert set(data) == {
        "schema",
        "radgov_version",
        "generated_at",
        "settings",
        "conformant",
        "totals",
        "practice",
        "deployments",
    }
    assert data["settings"] == {"RADGOV_CONFORMANCE_MEETING_MONTHS": 3}
    assert set(data["totals"]) == {
        "lines",
        "pass",
        "fail",
        "not_applicable",
        "conformant",
    }
    (dep,) = data["deployments"]
    assert dep["deployment_id"] == d.pk and dep["stage"] == "deployed"
    for line in data["practice"] + dep["lines"]:
        assert set(line) == {"check", "clause", "title", "status", "found", "fix"}
        assert line["status"] in {s.value for s in Status}
    assert data["totals"]["lines"] == len(data["practice"]) + len(dep["lines"])


def test_command_exit_codes_and_json(cf, capsys) -> None:
    p, world = cf
    w.deployed_model(p, world)
    out = io.StringIO()
    call_command("conformance", "--json", stdout=out)  # no SystemExit: exit status 0
    data = json.loads(out.getvalue())
    assert data["conformant"] is True and data["totals"]["fail"] == 0
    assert AuditEntry.objects.filter(
        object_type="governance.conformance", action="export", channel="cli"
    ).exists()

    w.deployed_model(p, world, w.Omit(release_notes=True), name="LungNodule")
    text = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("conformance", stdout=text)
    assert exc.value.code == 1
    assert "[FAIL] IV.B.2.a" in text.getvalue() and "[pass] IV.B.2.h" in text.getvalue()
    assert AuditEntry.objects.filter(object_type="governance.conformance", action="read").exists()


def test_command_writes_the_pdf_and_refuses_a_bad_setting(cf, tmp_path, monkeypatch) -> None:
    from django.core.management.base import CommandError

    p, world = cf
    w.deployed_model(p, world)
    target = tmp_path / "audit.pdf"
    call_command("conformance", "--pdf", str(target), stdout=io.StringIO(), stderr=io.StringIO())
    assert target.read_bytes().startswith(b"%PDF-")
    monkeypatch.setenv("RADGOV_CONFORMANCE_MEETING_MONTHS", "0")
    with pytest.raises(CommandError, match="RADGOV_CONFORMANCE_MEETING_MONTHS=0"):
        call_command("conformance", stdout=io.StringIO())


# --- what the acceptance-test records say (IV.B.2.e, IV.E.2, V) ------------------------------


@pytest.fixture
def no_charts(monkeypatch) -> None:
    """The stored report's charts are the report's business, and slow: leave them out."""
    monkeypatch.setattr(
        "radgov.evaluation.report.render.render_html", lambda result: "<p>report</p>"
    )


def acceptance(d: Any) -> tuple[Any, Any, Any]:
    lines = section(run_audit(), d)
    return (
        lines["doc_acceptance_results"],
        lines["acceptance_test"],
        lines["deidentified_test_data"],
    )


def locked_by_chen(protocol: Any) -> str:
    return (
        f"Protocol version {protocol.version} (HeadCheck acceptance test) locked by cf-chen on "
        f"{protocol.locked_at:%Y-%m-%d}."
    )


def test_a_passed_run_on_real_cases_is_the_evidence(cf, no_charts) -> None:
    p, world = cf
    d = w.deployed_model(p, world, w.Omit(waiver=True))
    protocol = w.locked_protocol(p, d)
    run = w.run_cases(p, protocol)
    assert failing(run_audit()) == set()
    doc, test, data = acceptance(d)
    records = f"{locked_by_chen(protocol)} Latest run {run.created_at:%Y-%m-%d} (protocol version 1): passed, 300 real cases."
    assert doc.found == f"Results on real cases are kept with the deployment. {records}"
    assert test.found == f"A passed local acceptance test is on record. {records}"
    assert data.status == Status.PASS
    assert data.found == (
        f"The cases file of the latest run ({run.created_at:%Y-%m-%d}, 300 cases) had no "
        "identifier columns (Safe Harbor screen)."
    )


def test_a_synthetic_run_is_never_evidence(cf, no_charts) -> None:
    p, world = cf
    d = w.deployed_model(p, world, w.Omit(waiver=True))
    run = w.run_cases(p, w.locked_protocol(p, d), synthetic=True)
    assert run.passed and run.synthetic
    assert failing(run_audit()) == {"doc_acceptance_results", "acceptance_test"}
    doc, test, _ = acceptance(d)
    for line in (doc, test):
        assert "Latest run" in line.found and "passed, 300 synthetic cases." in line.found
        assert line.found.endswith(
            f"Not acceptance evidence: the latest run ({run.created_at:%Y-%m-%d}) used "
            "synthetic cases."
        )


def test_a_failed_run_fails_iv_e_but_its_results_are_documented(cf, no_charts) -> None:
    p, world = cf
    d = w.deployed_model(p, world, w.Omit(waiver=True))
    w.run_cases(p, w.locked_protocol(p, d, passes=False))
    assert failing(run_audit()) == {"acceptance_test"}
    doc, test, _ = acceptance(d)
    assert doc.status == Status.PASS and "FAILED, 300 real cases" in doc.found
    assert test.found.startswith(lifecycle.ACCEPTANCE_MISSING)
    assert "failed its criteria" in test.found


def test_a_justified_waiver_still_passes_and_the_line_says_what_the_runs_showed(
    cf, no_charts
) -> None:
    p, world = cf
    d = w.deployed_model(p, world)
    w.run_cases(p, w.locked_protocol(p, d, passes=False))
    assert failing(run_audit()) == set()
    doc, test, _ = acceptance(d)
    assert test.found.startswith(f"Acceptance testing waived by the group ({world.meeting}): ")
    assert "FAILED, 300 real cases" in test.found and "failed its criteria" in test.found
    assert doc.status == Status.PASS and doc.found.startswith("Results on real cases")


def test_an_amendment_after_lock_and_after_results_is_called_out(cf, no_charts) -> None:
    from radgov.evaluation import services as evaluation

    p, world = cf
    d = w.deployed_model(p, world, w.Omit(waiver=True))
    first = w.locked_protocol(p, d)
    w.run_cases(p, first)
    reason = "Specificity added after the pilot's readers asked for it"
    second = evaluation.lock(
        p.chen,
        evaluation.amend(
            p.physicist,
            first,
            source=w.protocol_source().replace(
                "estimate_at_least: 0.5}",
                "estimate_at_least: 0.5}, {metric: specificity, estimate_at_least: 0.5}",
            ),
            reason=reason,
        ),
    )
    called_out = (
        f"Protocol version 2 (HeadCheck acceptance test) locked by cf-chen on "
        f"{second.locked_at:%Y-%m-%d}, AMENDED AFTER LOCK of version 1 after results were "
        f"seen (reason: {reason})."
    )
    _, test, _ = acceptance(d)
    assert test.status == Status.FAIL and called_out in test.found
    assert "(protocol version 1): passed" in test.found
    assert "no run of the locked protocol HeadCheck acceptance test (version 2) yet" in test.found

    w.run_cases(p, second)  # passes, on the same cases: post hoc, and a rerun
    doc, test, _ = acceptance(d)
    assert test.status == Status.FAIL and "has not accepted the amendment" in test.found
    assert "Rerun: the same cases file" in doc.found
    decide(
        p.chen,
        world.meeting,
        "accept_amendment",
        motion="Accept version 2",
        rationale="Specificity was asked for before the results were read",
        protocol=second,
        yes=(p.chen, p.physicist, p.privacy),
    )
    evaluation.amend(p.physicist, second, source=w.protocol_source(passes=False), reason="Stricter")
    doc, test, _ = acceptance(d)
    assert test.status == Status.PASS and called_out in test.found
    assert "accepted by the governance group's decision" in test.found
    assert "(protocol version 2): passed" in test.found
    assert "Version 3 is a draft, not locked yet." in test.found


def test_identifiers_in_the_test_data_need_a_baa(cf, no_charts) -> None:
    p, world = cf
    d = w.deployed_model(p, world, w.Omit(waiver=True))
    run = w.run_cases(p, w.locked_protocol(p, d), mrn=True)
    assert run.identifier_columns == [{"column": "mrn", "kind": "medical record number"}]
    _, _, data = acceptance(d)
    assert data.status == Status.PASS
    assert data.found.endswith(
        "had identifier columns (mrn (medical record number)); a BAA with Acme AI covering "
        "PHI is in force (V)."
    )
    w.forget_identifier_cover(run)
    assert failing(run_audit()) == {"deidentified_test_data"}
    _, _, data = acceptance(d)
    assert data.clause == "V" and "and no BAA covered them" in data.found
    assert "Acme AI" in data.fix and "radgov deid" in data.fix


def test_the_audit_checks_the_people_recorded_not_only_that_someone_is(cf) -> None:
    from radgov.accounts import services as accounts

    p, world = cf
    d = w.deployed_model(p, world)
    assert section(run_audit(), d)["people_fit_roles"].status == Status.PASS
    accounts.set_license(p.admin, p.reader, "")  # the license lapsed after the deployment
    line = section(run_audit(), d)["people_fit_roles"]
    assert line.status == Status.FAIL
    assert f"end_users: {p.reader.username} has no license recorded (III.A.1" in line.found


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
