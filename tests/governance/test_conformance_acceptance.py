"""The conformance audit's reading of the acceptance-test records (IV.B.2.e, IV.E.2, V):
a passed run on real cases is the evidence, a synthetic run never is, a failed run is
documented, a justified waiver, amendments after lock, identifiers in the test data."""

from __future__ import annotations

from typing import Any

import pytest

from radgov.governance.conformance.audit import run_audit
from radgov.governance.conformance.checks import Status
from radgov.inventory import lifecycle
from tests.governance import conformance_world as w
from tests.governance.conformance_world import failing, section
from tests.governance.conftest import decide

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]


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
