"""The issue's "done when", tried in the browser as new users would: a clinical
champion's request for a new model becomes a pilot, every step taken on the pages
by the person whose job it is, and every step is in the audit trail.

Only what a practice has before the journey is set up through the services: the
people, the governance group (a physician chair, a physician member, a
compliance member) and the clinical champion's capacity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import weasyprint
from django.utils import timezone

from radgov.core.audit.verify import verify_trail
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.governance import services as governance
from radgov.governance.models import Decision, Meeting, ModelRequest, Vote
from radgov.inventory.models import Deployment, Document, ModelVersion, Product
from radgov.training.models import IfuAttestation, TrainingProcedure, TrainingRecord
from tests.e2e.pages import follow, logged_in_page
from tests.factories import make_user


def _open(browser: Any, live_server: Any, user: Any) -> Any:
    page = logged_in_page(browser, live_server, user)
    page.set_default_timeout(10_000)
    return page


def _form(page: Any, heading: str) -> Any:
    """The form on the page under this heading (meeting pages hold several)."""
    return page.locator("form", has=page.get_by_role("heading", name=heading, exact=True))


def _move(page: Any, stage: str) -> str:
    """Click a lifecycle button on the deployment page; the message it leaves."""
    follow(page.get_by_role("button", name=f"Move to {stage}", exact=True))
    return page.locator(".messages").inner_text()


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_a_request_becomes_a_pilot_through_the_pages(
    live_server: Any, browser: Any, shots: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = live_server.url

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    # --- what the practice has before the journey -------------------------------------------
    admin = make_user("admin.ng", role=Role.ADMINISTRATOR)
    chair = make_user("dr.chen", first_name="Wei", last_name="Chen")
    member = make_user("dr.patel", first_name="Anil", last_name="Patel")
    compliance = make_user("c.okoye", role=Role.COMPLIANCE)
    informatics = make_user("i.berg", role=Role.INFORMATICS)
    champion = make_user("dr.ruiz", first_name="Elena", last_name="Ruiz")
    pilots = [make_user("dr.kim"), make_user("dr.lee")]
    governance.create_group(
        admin,
        name="Imaging AI Governance Group",
        members=[(chair, "chair"), (member, "member"), (compliance, "member")],
    )
    governance.designate_champion(admin, champion)
    start = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    # --- 1. the clinical champion files a request -------------------------------------------
    page = _open(browser, live_server, champion)
    page.goto(f"{url}/governance/requests/")
    page.get_by_label("Clinical need").fill(
        "Incidental pulmonary nodules on chest CT are missed or not followed up."
    )
    page.get_by_label("Candidate name").fill("Acme LungNodule Detect")
    page.get_by_label("Expected benefit").fill("Fewer missed nodules; tracked follow-up.")
    follow(page.get_by_role("button", name="Submit to the group"))
    page.wait_for_url(f"{url}/governance/requests/")
    assert "submitted to Imaging AI Governance Group" in page.locator(".messages").inner_text()
    shot(page, "01-request-filed")
    request = ModelRequest.objects.get()
    assert request.champion == champion
    page.context.close()

    # --- 2. the chair records the product, its version and the deployment -------------------
    chair_page = _open(browser, live_server, chair)
    page = chair_page
    page.goto(f"{url}/inventory/")
    follow(page.get_by_role("link", name="Add a product"))
    page.get_by_label("Vendor:", exact=True).fill("Acme Imaging")
    page.get_by_label("Name:", exact=True).fill("LungNodule Detect")
    page.get_by_label("Support contact").fill("support@acme.example, +1 555 0100")
    page.get_by_label("Category").select_option(label="CADe (detection)")
    page.get_by_label("Regulatory pathway").select_option(label="FDA 510(k)")
    page.get_by_label("FDA number").fill("K231234")
    page.get_by_label("FDA product code").fill("LLZ")
    follow(page.get_by_role("button", name="Save"))
    assert page.locator("h1").inner_text() == "LungNodule Detect"
    product = Product.objects.get(name="LungNodule Detect")

    follow(page.get_by_role("link", name="Add a version"))
    page.get_by_label("Version:", exact=True).fill("3.2")
    page.get_by_label("Intended purpose").fill(
        "Detection of solid lung nodules 4-30 mm on adult chest CT."
    )
    page.get_by_label("Sensitivity claimed in the IFU (0 to 1)").fill("0.91")
    page.get_by_label("Specificity claimed in the IFU (0 to 1)").fill("0.87")
    follow(page.get_by_role("button", name="Save"))
    assert page.locator("h1").inner_text() == "LungNodule Detect 3.2"
    version = ModelVersion.objects.get(product=product, version="3.2")

    # the champion's request now names the product: the chair adds it as a candidate
    page.goto(f"{url}/governance/requests/{request.pk}/")
    candidate = _form(page, "Add a candidate")
    candidate.get_by_label("Product").select_option(label=str(product))
    follow(candidate.get_by_role("button", name="Add candidate"))
    assert request.candidates.filter(product=product).exists()

    page.goto(f"{url}/inventory/versions/{version.pk}/")
    follow(page.get_by_role("link", name="Request a deployment"))
    page.get_by_label("Site:", exact=True).fill("Main Hospital CT")
    doctor = "Physician / qualified end-user"
    pick = {
        "Clinical champions": [f"dr.ruiz (Elena Ruiz, {doctor})"],
        "Qualified end-users": [f"dr.kim ({doctor})", f"dr.lee ({doctor})"],
        "Pilot group": [f"dr.kim ({doctor})", f"dr.lee ({doctor})"],
    }
    for group, people in pick.items():
        for person in people:
            page.get_by_role("group", name=group).get_by_label(person, exact=True).check()
    page.get_by_label("Local technical contact").select_option(
        label="i.berg (Imaging informatics / IT)"
    )
    page.get_by_label("Modalities").fill("CT")
    page.get_by_label("Output release policy").fill(
        "Pilot: results shown to the pilot group only, never sent to the medical record."
    )
    shot(page, "02-deployment-form")
    follow(page.get_by_role("button", name="Save"))
    deployment = Deployment.objects.get(model_version=version)
    page.wait_for_url(f"{url}/inventory/deployments/{deployment.pk}/")
    assert "Requested" in page.locator(".lead").inner_text()
    assert "moved to under review" in _move(page, "under review")
    assert "moved to acceptance testing" in _move(page, "acceptance testing")
    shot(page, "03-deployment-acceptance-testing")

    # the IFU: documents are uploaded by informatics (or an administrator)
    ifu = tmp_path_factory.mktemp("ifu") / "lungnodule-ifu.pdf"
    weasyprint.HTML(string="<h1>IFU</h1><p>LungNodule Detect 3.2</p>").write_pdf(ifu)
    page = _open(browser, live_server, informatics)
    page.goto(f"{url}/inventory/versions/{version.pk}/")
    follow(page.get_by_role("link", name="Upload a document"))
    page.get_by_label("Kind").select_option(label="Instructions for use (IFU)")
    page.get_by_label("Version label").fill("Rev A")
    page.get_by_label("Title").fill("LungNodule Detect 3.2 IFU")
    page.get_by_label("File").set_input_files(str(ifu))
    follow(page.get_by_role("button", name="Save"))
    page.wait_for_url(f"{url}/inventory/versions/{version.pk}/")
    assert "Read the IFU (Rev A)" in page.locator("main").inner_text()
    shot(page, "04-version-with-ifu")
    page.context.close()

    # --- 3. the meeting: attendance, agenda, approval and waiver, votes ---------------------
    page = chair_page
    today = timezone.localdate()
    page.goto(f"{url}/governance/meetings/")
    page.get_by_label("Date").fill(today.isoformat())
    page.get_by_label("Title").fill("AI governance meeting")
    follow(page.get_by_role("button", name="Create meeting"))
    meeting = Meeting.objects.get()
    page.wait_for_url(f"{url}/governance/meetings/{meeting.pk}/")
    attendance = _form(page, "Record attendance")
    for who in ("dr.chen", "dr.patel", "c.okoye"):
        attendance.get_by_label(who, exact=True).check()
    follow(attendance.get_by_role("button", name="Save attendance"))
    assert "Quorum: yes — 3 of 3 members present" in page.locator("main").inner_text()

    agenda = _form(page, "Add an agenda item")
    agenda.get_by_label("Title").fill("Request for LungNodule Detect 3.2 at Main Hospital CT")
    agenda.get_by_label("Request").select_option(label=str(request))
    agenda.get_by_label("Discussion").fill("Champion presented the need; IFU reviewed.")
    follow(agenda.get_by_role("button", name="Add item"))
    assert "Request for LungNodule Detect" in page.locator("table").first.inner_text()
    request.refresh_from_db()
    assert request.status == "under_review"  # on the group's agenda

    decision = _form(page, "Record a decision")
    decision.get_by_label("Kind").select_option(label="Approve")
    decision.get_by_label("Motion").fill("Approve LungNodule Detect 3.2 for a pilot")
    decision.get_by_label("Agenda item").select_option(
        label="1. Request for LungNodule Detect 3.2 at Main Hospital CT"
    )
    decision.get_by_label("Deployment").select_option(label=str(deployment))
    decision.get_by_label("Request").select_option(label=str(request))
    decision.get_by_label("Rationale").fill("Clinical need shown; FDA-cleared for this use.")
    follow(decision.get_by_role("button", name="Record decision"))
    assert "Saved." in page.locator(".messages").inner_text()
    approval = Decision.objects.get(kind="approve")
    assert approval.deployment == deployment and approval.request == request

    decision = _form(page, "Record a decision")
    decision.get_by_label("Kind").select_option(label="Waive local acceptance testing")
    decision.get_by_label("Motion").fill("Waive local acceptance testing for the pilot")
    decision.get_by_label("Deployment").select_option(label=str(deployment))
    decision.get_by_label("Rationale").fill("The pilot itself is monitored case by case.")
    decision.get_by_label("Justification").fill(
        "Same scanners and protocols as the vendor's 510(k) validation; the pilot group "
        "reviews every result before any clinical use."
    )
    follow(decision.get_by_role("button", name="Record decision"))
    assert "Saved." in page.locator(".messages").inner_text()
    waiver = Decision.objects.get(kind="acceptance_test_waiver")

    for person in (chair, member, compliance):
        voter = chair_page if person == chair else _open(browser, live_server, person)
        voter.goto(f"{url}/governance/meetings/{meeting.pk}/")
        for d in (approval, waiver):
            follow(voter.get_by_role("button", name=f"Vote yes on decision {d.pk}"))
            assert f"Vote recorded on “{d.motion}”" in voter.locator(".messages").inner_text()
        if voter is not chair_page:
            voter.context.close()
    page.reload()
    main = page.locator("main").inner_text()
    assert main.count("yes 3 · no 0 · abstain 0") == 2
    shot(page, "05-meeting")

    page.goto(f"{url}/inventory/deployments/{deployment.pk}/")
    assert "moved to approved" in _move(page, "approved")

    # --- 4. moving to pilot before training is refused, saying what is missing --------------
    message = _move(page, "pilot")
    assert "Not moved" in message
    assert f"IV.F.1: no training procedure for {version}" in message
    assert "IV.F: pilot users not yet trained: dr.kim, dr.lee" in message
    assert "Approved" in page.locator(".lead").inner_text()
    shot(page, "06-pilot-refused")

    page.goto(f"{url}/training/models/")
    follow(page.locator("section", has_text=str(version)).get_by_role("link", name="Write one"))
    page.get_by_label("Title").fill("Reading LungNodule Detect 3.2")
    page.get_by_label("Content").fill(
        "What a nodule mark means and what it does not.\n\nTwenty worked cases, three misses."
    )
    page.get_by_label("Complexity:", exact=True).select_option(index=1)
    page.get_by_label("Why this complexity suits the use case").fill(
        "Marks are shown to the reader after their own read."
    )
    shot(page, "07-procedure-form")
    follow(page.get_by_role("button", name="Save procedure"))
    procedure = TrainingProcedure.objects.get(model_version=version)

    assert not procedure.self_attestation  # a guided session: the trainer signs it off
    for n, person in enumerate(pilots):
        trainee = _open(browser, live_server, person)
        trainee.goto(f"{url}/training/")
        card = trainee.locator("section", has=trainee.locator("h2", has_text=str(version)))
        assert "Not trained" in card.inner_text()
        assert "you are in the pilot group" in card.inner_text()
        follow(card.get_by_role("link", name=procedure.title))
        assert "Signed off by a trainer" in trainee.locator("main").inner_text()
        assert trainee.get_by_role("button", name="Record completion").count() == 0
        # the chair ran the session and signs it off; the trainee attests the IFU
        page.goto(f"{url}/training/records/new/?procedure={procedure.pk}&user={person.pk}")
        follow(page.get_by_role("button", name="Record training"))
        assert f"Recorded {person.username}'s training" in page.locator(".messages").inner_text()
        trainee.goto(f"{url}/training/")
        card = trainee.locator("section", has=trainee.locator("h2", has_text=str(version)))
        follow(card.get_by_role("button", name="I have read the IFU (version Rev A)"))
        card = trainee.locator("section", has=trainee.locator("h2", has_text=str(version)))
        assert card.locator("strong", has_text="Trained").count() == 1
        shot(trainee, f"08-my-training-{person.username}")
        trainee.context.close()
        if n == 0:  # half the pilot group trained: the page names who is still missing
            page.goto(f"{url}/inventory/deployments/{deployment.pk}/")
            message = _move(page, "pilot")
            assert "Not moved" in message and "no training procedure" not in message
            assert "IV.F: pilot users not yet trained: dr.lee" in message

    # --- 5. the chair moves the deployment to pilot -----------------------------------------
    page.goto(f"{url}/inventory/deployments/{deployment.pk}/")
    assert "moved to pilot" in _move(page, "pilot")
    assert page.locator(".lead .stage").inner_text() == "Pilot"
    shot(page, "09-pilot")
    deployment.refresh_from_db()
    assert deployment.status == "pilot"

    # --- every step is in the audit trail, with who did it ----------------------------------
    def audited(object_type: str, obj: Any, actor: str, action: str = "create") -> bool:
        return AuditEntry.objects.filter(
            seq__gt=start,
            object_type=object_type,
            object_id=str(obj.pk),
            actor_name=actor,
            action=action,
        ).exists()

    def related(object_type: str, obj: Any, relation: str) -> list[dict[str, Any]]:
        """Who the chair's page named in a many-to-many (attendees, the pilot group)."""
        rows = AuditEntry.objects.filter(
            seq__gt=start, object_type=object_type, object_id=str(obj.pk), actor_name="dr.chen"
        )
        return [
            {"ids": sorted(e.detail["ids"]), "op": e.detail["op"]}
            for e in rows
            if e.detail.get("relation") == relation
        ]

    assert audited("governance.modelrequest", request, "dr.ruiz")
    assert audited("governance.candidate", request.candidates.get(), "dr.chen")
    assert audited("governance.agendaitem", meeting.agenda.get(), "dr.chen")
    assert audited("governance.modelrequest", request, "dr.chen", "update")
    assert audited("inventory.product", product, "dr.chen")
    assert audited("inventory.modelversion", version, "dr.chen")
    assert audited("inventory.document", Document.objects.get(), "i.berg")
    assert audited("inventory.deployment", deployment, "dr.chen")
    assert related("inventory.deployment", deployment, "deployment_pilot_users") == [
        {"ids": sorted(u.pk for u in pilots), "op": "add"}
    ]
    moves = deployment.transitions.order_by("at")
    assert [(t.from_stage, t.to_stage) for t in moves] == [
        ("requested", "under_review"),
        ("under_review", "acceptance_testing"),
        ("acceptance_testing", "approved"),
        ("approved", "pilot"),
    ]
    for t in moves:
        assert audited("inventory.deploymenttransition", t, "dr.chen")
    status_changes = [
        e.changes["status"]
        for e in AuditEntry.objects.filter(
            seq__gt=start,
            object_type="inventory.deployment",
            object_id=str(deployment.pk),
            action="update",
            actor_name="dr.chen",
        )
        if "status" in e.changes
    ]
    assert [c[1] for c in status_changes] == [
        "under_review",
        "acceptance_testing",
        "approved",
        "pilot",
    ]
    assert audited("governance.meeting", meeting, "dr.chen")
    assert related("governance.meeting", meeting, "meeting_attendees") == [
        {"ids": sorted(u.pk for u in (chair, member, compliance)), "op": "add"}
    ]
    assert audited("governance.decision", approval, "dr.chen")
    assert audited("governance.decision", waiver, "dr.chen")
    for vote in Vote.objects.all():
        assert audited("governance.vote", vote, vote.member.username)
    assert Vote.objects.count() == 6
    assert audited("training.trainingprocedure", procedure, "dr.chen")
    for person in pilots:
        record = TrainingRecord.objects.get(user=person, model_version=version)
        assert record.trainer == chair  # signed off by the trainer, who recorded it
        assert audited("training.trainingrecord", record, "dr.chen")
        attestation = IfuAttestation.objects.get(user=person)
        assert audited("training.ifuattestation", attestation, person.username)

    report = verify_trail()
    assert report.ok, report.summary()
