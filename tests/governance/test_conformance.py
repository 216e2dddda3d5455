"""The conformance audit: a fully conformant deployed model passes every line it
can; each documentation field of IV.B.2 left out in turn fails its line; the
practice-wide lines; the people, training, oversight, privacy and lifecycle lines; JSON;
the command's exit codes.  What the acceptance-test records say is in
``test_conformance_acceptance``, the monitoring lines in ``test_conformance_monitoring``."""

from __future__ import annotations

import datetime as dt
import io
import json

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
from tests.governance.conformance_world import failing, section

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]

# FDA-regulated and not generative; acceptance testing waived, so no test data
NOT_APPLICABLE = {"extra_oversight", "deidentified_test_data"}


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


def test_the_audit_checks_the_people_recorded_not_only_that_someone_is(cf) -> None:
    from radgov.accounts import services as accounts

    p, world = cf
    d = w.deployed_model(p, world)
    assert section(run_audit(), d)["people_fit_roles"].status == Status.PASS
    accounts.set_license(p.admin, p.reader, "")  # the license lapsed after the deployment
    line = section(run_audit(), d)["people_fit_roles"]
    assert line.status == Status.FAIL
    assert f"end_users: {p.reader.username} has no license recorded (III.A.1" in line.found


def test_a_failed_line_starts_with_a_capital_and_keeps_the_case_of_what_it_names(cf) -> None:
    p, world = cf
    d = w.deployed_model(p, world, w.Omit(routing_notes=True, support_contact=True))
    lines = section(run_audit(), d)
    assert lines["doc_routing_criteria"].found == "No DICOM/HL7/FHIR routing notes."
    product = d.model_version.product
    assert lines["doc_contacts"].found == f"No vendor support contact for {product}."
