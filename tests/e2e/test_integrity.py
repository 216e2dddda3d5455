"""Evidence that cannot be bent, tried in the browser as the people of the issue would try
it: a member's vote after the minutes were approved, a protocol amended after its failed
run and the same file run again, a move to Approved with no vote, and a vendor opening
another company's deployment.  Each is refused or marked, and lands in the audit trail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import reverse

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.evaluation import services as evaluation
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.evaluation.synthetic import generate_ich_cases
from radgov.governance import services as governance
from radgov.governance.models import Vote
from radgov.inventory import lifecycle
from radgov.inventory import services as inventory
from radgov.inventory.models import VendorCompany
from tests.e2e.pages import follow, logged_in_page
from tests.evaluation.conftest import EXAMPLE_PROTOCOL
from tests.factories import make_user
from tests.governance.conftest import make_inventory


def _open(browser: Any, live_server: Any, user: Any) -> Any:
    page = logged_in_page(browser, live_server, user, width=1366, height=768)
    page.set_default_timeout(15_000)
    return page


def _denied_since(seq: int, actor: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seq__gt=seq, action="denied", actor_name=actor))


def _last_seq() -> int:
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


@pytest.fixture
def group(db: Any) -> dict[str, Any]:
    admin = make_user("admin", role=Role.ADMINISTRATOR)
    chair, member = make_user("dr.chen"), make_user("physicist", role=Role.MEDICAL_PHYSICIST)
    group = governance.create_group(
        admin,
        name="AI group",
        members=[(chair, "chair"), (member, "member")],
        joined_on=dt.date(2026, 1, 5),
    )
    return {"admin": admin, "chair": chair, "member": member, "group": group}


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_a_vote_after_the_minutes_are_approved_is_refused(
    live_server: Any, browser: Any, group: dict[str, Any]
) -> None:
    chair, member = group["chair"], group["member"]
    inv = make_inventory()
    meeting = governance.create_meeting(
        chair, group["group"], held_on=dt.date(2026, 11, 2), attendees=[chair, member]
    )
    decision = governance.record_decision(
        chair,
        meeting,
        kind="approve",
        motion="Approve BleedCheck at Main campus",
        rationale="Met the agreed metrics",
        deployment=inv.deployment,
    )
    governance.cast_vote(chair, decision, "yes")
    governance.cast_vote(member, decision, "yes")

    # the member had the meeting open when the chair approved the minutes
    page = _open(browser, live_server, member)
    page.goto(f"{live_server.url}/governance/meetings/{meeting.pk}/")
    chair_page = _open(browser, live_server, chair)
    chair_page.goto(f"{live_server.url}/governance/meetings/{meeting.pk}/")
    notes = chair_page.locator("form", has=chair_page.get_by_role("heading", name="Meeting notes"))
    notes.locator("textarea").fill("Approved BleedCheck for its pilot.")
    follow(notes.get_by_role("button", name="Save notes"))
    follow(chair_page.get_by_role("button", name="Approve the minutes and close the meeting"))
    assert "the meeting is closed" in chair_page.locator(".messages").inner_text()

    seq = _last_seq()
    follow(page.get_by_role("button", name=f"Vote no on decision {decision.pk}"))
    assert "its decisions are final" in page.locator(".messages").inner_text()
    assert page.get_by_role("button", name=f"Vote no on decision {decision.pk}").count() == 0
    assert Vote.objects.get(decision=decision, member=member).choice == "yes"
    decision.refresh_from_db()
    assert decision.outcome == "passed"
    (denied,) = _denied_since(seq, "physicist")
    assert denied.object_id == "governance:vote" and "final" in denied.detail["reason"]


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_a_protocol_amended_after_its_results_and_a_rerun_are_marked(
    live_server: Any, browser: Any, group: dict[str, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "immediate", True)  # the worker runs each job as it is queued
    chair = group["chair"]
    scientist = make_user("ds.kim", role=Role.DATA_SCIENTIST)
    inv = make_inventory()
    cases = tmp_path / "ich-cases.csv"
    generate_ich_cases(1200, seed=3).drop("synthetic").write_csv(cases)
    strict = yaml.safe_load(EXAMPLE_PROTOCOL.read_text())
    strict["criteria"][1]["estimate_at_least"] = 0.99  # a specificity no model reaches
    v1 = evaluation.lock(
        chair,
        evaluation.create_protocol(
            scientist, deployment=inv.deployment, source=yaml.safe_dump(strict, sort_keys=False)
        ),
    )
    first = evaluation.run_test(scientist, v1, path=cases, name=cases.name)
    assert not first.passed

    # the data scientist sees the failure and lowers the bar
    page = _open(browser, live_server, scientist)
    page.goto(f"{live_server.url}/evaluation/protocols/{v1.pk}/edit/")
    page.get_by_label("Protocol (YAML)").fill(EXAMPLE_PROTOCOL.read_text())
    page.get_by_label("Why the locked protocol changes").fill("the specificity bar was too high")
    follow(page.get_by_role("button", name="Save as version 2"))
    v2 = AcceptanceProtocol.objects.get(version=2)
    assert v2.amended_after_results
    assert "Post hoc: protocol version 2 was amended after results were seen" in page.content()
    created = AuditEntry.objects.get(
        object_type="evaluation.acceptanceprotocol", object_id=str(v2.pk), action="create"
    )
    assert created.changes["amended_after_results"] == [None, True]

    chair_page = _open(browser, live_server, chair)
    chair_page.goto(f"{live_server.url}/evaluation/protocols/{v2.pk}/")
    follow(chair_page.get_by_role("button", name="Approve and lock"))

    page.goto(f"{live_server.url}/evaluation/protocols/{v2.pk}/run/")
    page.get_by_label("Cases file (CSV or Parquet)").set_input_files(str(cases))
    follow(page.get_by_role("button", name="Run"))
    rerun = AcceptanceRun.objects.get(protocol=v2)
    assert rerun.repeats == first
    page.goto(f"{live_server.url}{reverse('evaluation:run', args=[rerun.pk])}")
    text = page.locator("main").inner_text()
    assert "has not accepted the amendment" in text
    assert f"was used by run {first.pk}" in text  # the same SHA-256: a rerun
    page.goto(f"{live_server.url}/inventory/deployments/{inv.deployment.pk}/")
    record = page.locator(".card", has=page.get_by_role("heading", name="e. Local acceptance"))
    assert "Post hoc" in record.inner_text() and "Rerun" in record.inner_text()
    missing = lifecycle.acceptance_guard(inv.deployment)
    assert missing and "not accepted the amendment" in missing[0]


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_a_move_to_approved_without_the_groups_vote_is_refused(
    live_server: Any, browser: Any, group: dict[str, Any]
) -> None:
    chair = group["chair"]
    inv = make_inventory()
    lifecycle.transition(chair, inv.deployment, "under_review")
    lifecycle.transition(chair, inv.deployment, "acceptance_testing")

    page = _open(browser, live_server, chair)
    page.goto(f"{live_server.url}/inventory/deployments/{inv.deployment.pk}/")
    move = page.locator(".move", has=page.get_by_text("→ Approved"))
    assert "IV.A: no approval decision by the governance group" in move.inner_text()
    seq = _last_seq()
    follow(move.get_by_role("button", name="Move to approved"))
    message = page.locator(".messages").inner_text()
    assert "Not moved" in message and "IV.A: no approval decision" in message
    inv.deployment.refresh_from_db()
    assert inv.deployment.status == "acceptance_testing"
    (denied,) = _denied_since(seq, "dr.chen")
    assert denied.object_id == "inventory:deployment_transition"
    assert "IV.A: no approval decision" in denied.detail["reason"]


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_a_vendor_peeking_at_another_companys_deployment_gets_404(
    live_server: Any, browser: Any, group: dict[str, Any]
) -> None:
    ours = make_inventory(vendor="Acme AI", name="BleedCheck")
    theirs = make_inventory(vendor="Beta Imaging", name="ChestScan")
    rep = make_user("acme.rep", role=Role.VENDOR)
    inventory.add_representative(group["admin"], VendorCompany.objects.get(name="Acme AI"), rep)
    page = _open(browser, live_server, rep)
    page.goto(f"{live_server.url}/inventory/deployments/")
    listing = page.locator("main").inner_text()
    assert "BleedCheck" in listing and "ChestScan" not in listing

    seq = _last_seq()
    response = page.goto(f"{live_server.url}/inventory/deployments/{theirs.deployment.pk}/")
    assert response is not None and response.status == 404
    assert "ChestScan" not in page.content()
    api = page.goto(f"{live_server.url}/api/inventory/deployments/{theirs.deployment.pk}")
    assert api is not None and api.status == 404
    denied = _denied_since(seq, "acme.rep")
    assert len(denied) == 2
    assert all(f"no deployment {theirs.deployment.pk}" in e.detail["reason"] for e in denied)

    page.goto(f"{live_server.url}/inventory/deployments/{ours.deployment.pk}/")
    assert "not visible to your role" in page.locator("main").inner_text()
