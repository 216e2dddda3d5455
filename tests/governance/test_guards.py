"""The lifecycle guards the group registers, through the inventory's transition."""

from __future__ import annotations

import datetime as dt

import pytest

from radgov.governance import guards, services
from radgov.inventory import lifecycle
from tests.governance.conftest import decide, make_inventory

pytestmark = pytest.mark.django_db


def test_guards_are_registered():
    """What the lifecycle says is missing includes what each of the group's guards says, at
    the stages it guards, and a refusal for want of acceptance evidence repeats the group's
    waiver provider."""
    d = make_inventory(category="generative", pathway="not_fda").deployment
    approval, oversight = guards.approval_guard(d), guards.extra_oversight_guard(d)
    assert approval and oversight
    no_waiver = "the governance group has passed no justified waiver"
    for stage in ("approved", "pilot", "deployed"):
        missing = lifecycle.missing_for(d, stage)
        assert set(approval) <= set(missing)
        assert any(m.startswith(lifecycle.ACCEPTANCE_MISSING) and no_waiver in m for m in missing)
    for stage in ("pilot", "deployed"):
        assert set(oversight + guards.regulatory_guard(d)) <= set(lifecycle.missing_for(d, stage))
    assert not set(oversight) & set(lifecycle.missing_for(d, "approved"))


def test_approved_means_the_group_approved_on_acceptance_evidence(meeting, people, inv):
    lifecycle.transition(people.admin, inv.deployment, "under_review")
    lifecycle.transition(people.admin, inv.deployment, "acceptance_testing")
    with pytest.raises(lifecycle.LifecycleError) as refused:
        lifecycle.transition(people.admin, inv.deployment, "approved")
    assert f"IV.A: no approval decision by the governance group for {inv.deployment}" in str(
        refused.value
    )
    assert lifecycle.ACCEPTANCE_MISSING in str(refused.value)
    decide(people.chen, meeting, "approve", deployment=inv.deployment, yes=(people.chen,))
    with pytest.raises(lifecycle.LifecycleError) as refused:
        lifecycle.transition(people.admin, inv.deployment, "approved")
    assert "IV.A:" not in str(refused.value) and lifecycle.ACCEPTANCE_MISSING in str(refused.value)
    inv.deployment.refresh_from_db()
    assert inv.deployment.status == "acceptance_testing"
    decide(
        people.chen,
        meeting,
        "acceptance_test_waiver",
        motion="Waive local acceptance testing",
        rationale="Validated at the sister site",
        justification="Same scanners and protocol as the sister site's acceptance test",
        deployment=inv.deployment,
        yes=(people.chen,),
    )
    assert lifecycle.transition(people.admin, inv.deployment, "approved").status == "approved"


def test_no_pilot_without_an_approval_decision(meeting, people, inv):
    assert guards.approval_guard(inv.deployment) == [
        f"IV.A: no approval decision by the governance group for {inv.deployment}"
    ]
    d = decide(people.chen, meeting, "approve", deployment=inv.deployment)
    assert guards.approval_guard(inv.deployment)  # recorded, but not yet voted
    services.cast_vote(people.chen, d, "yes")
    assert guards.approval_guard(inv.deployment) == []
    missing = lifecycle.missing_for(inv.deployment, "pilot")
    assert not any(m.startswith("IV.A:") for m in missing)


def test_waiver_is_acceptance_evidence_once_passed(meeting, people, inv):
    assert (
        guards.waiver_gap(inv.deployment) == "the governance group has passed no justified waiver"
    )
    w = decide(
        people.chen,
        meeting,
        "acceptance_test_waiver",
        motion="Waive local acceptance testing",
        rationale="Identical version validated at sister site",
        justification="Same scanners and protocol as the sister site's acceptance test",
        deployment=inv.deployment,
    )
    assert guards.waiver_gap(inv.deployment)  # recorded, but not yet voted
    services.cast_vote(people.chen, w, "yes")
    assert guards.waiver_gap(inv.deployment) is None
    assert lifecycle.acceptance_guard(inv.deployment) == []


def test_extra_oversight_for_generative_and_non_fda_models(meeting, people):
    gen = make_inventory(
        vendor="LLM Co", name="ReportDraft", category="generative", pathway="not_fda"
    )
    missing = guards.extra_oversight_guard(gen.deployment)
    assert any(m.startswith("IV.H: no IRB determination") for m in missing)
    assert any(m.startswith("III.H: no legal/compliance review") for m in missing)
    decide(
        people.chen,
        meeting,
        "irb_determination",
        motion="IRB determination",
        rationale="Quality improvement",
        determination="Exempt: quality improvement, no research",
        product=gen.product,
    )
    decide(
        people.privacy,
        meeting,
        "legal_review",
        rationale="Contract, privacy and liability reviewed",
        deployment=gen.deployment,
    )
    assert guards.extra_oversight_guard(gen.deployment) == []


def test_cleared_model_needs_no_extra_oversight(inv):
    assert guards.extra_oversight_guard(inv.deployment) == []


def test_baa_and_off_label(people, inv):
    from radgov.governance.selectors import baa_covers, checklist

    services.set_regulatory_profile(
        people.privacy, inv.product, local_use="cadx", phi_reaches_vendor=True
    )
    missing = guards.regulatory_guard(inv.deployment)
    assert any("no business associate agreement" in m for m in missing)
    assert any(
        "cleared as CADt (triage / notification) but used locally as CADx" in m for m in missing
    )
    lines = {line["key"]: line for line in checklist(inv.version)}
    assert not lines["baa"]["ok"] and not lines["off_label"]["ok"]
    assert len(lines) == 9 and lines["hipaa_hitech"]["status"] == "not_started"
    with pytest.raises(services.GovernancePermissionError, match="III.H.1.e"):
        services.record_baa(people.chen, vendor="Acme AI", signed_on=dt.date(2026, 1, 1))
    services.record_baa(people.privacy, vendor="ACME AI", signed_on=dt.date(2026, 1, 1))
    assert baa_covers(inv.product)
    services.set_regulatory_profile(
        people.privacy,
        inv.product,
        local_use="cadx",
        phi_reaches_vendor=True,
        off_label_decision="Group decision 2026-11-02: used as second reader only",
    )
    assert guards.regulatory_guard(inv.deployment) == []


def test_regulatory_item_needs_evidence_to_be_compliant(people, inv):
    with pytest.raises(
        services.GovernanceError, match="III.H: a HIPAA/HITECH line marked compliant needs"
    ):
        services.set_regulatory_item(
            people.privacy, inv.version, "hipaa_hitech", status="compliant"
        )
    item = services.set_regulatory_item(
        people.privacy,
        inv.version,
        "hipaa_hitech",
        status="compliant",
        owner=people.privacy,
        evidence="Security risk assessment 2026-10",
    )
    assert item.reviewed_on is not None
    with pytest.raises(services.GovernancePermissionError):
        services.set_regulatory_item(people.tech, inv.version, "gdpr", status="in_progress")


def test_transition_to_pilot_is_refused_with_the_clause_and_changes_nothing(people, group, inv):
    with pytest.raises(lifecycle.LifecycleError) as refused:
        lifecycle.transition(people.admin, inv.deployment, "under_review")
        lifecycle.transition(people.admin, inv.deployment, "approved")
        lifecycle.transition(people.admin, inv.deployment, "pilot")
    assert f"IV.A: no approval decision by the governance group for {inv.deployment}" in str(
        refused.value
    )
    inv.deployment.refresh_from_db()
    assert inv.deployment.status == "under_review"


def test_a_later_rejection_withdraws_the_approval(meeting, people, inv):
    import datetime as dt

    decide(people.chen, meeting, "approve", deployment=inv.deployment, yes=(people.chen,))
    assert guards.approval_guard(inv.deployment) == []
    later = services.create_meeting(
        people.chen,
        meeting.group,
        held_on=meeting.held_on + dt.timedelta(days=30),
        attendees=[people.chen, people.physicist],
    )
    decide(
        people.chen,
        later,
        "reject",
        motion="Withdraw approval",
        rationale="Monitoring shows sensitivity below the agreed threshold",
        deployment=inv.deployment,
        yes=(people.chen, people.physicist),
    )
    [missing] = guards.approval_guard(inv.deployment)
    assert (
        missing.startswith("IV.A: the governance group's latest decision") and "rejected" in missing
    )
