"""My training, as a physician sees it: what is missing for each model they use,
completing a training with the IFU attestation, and attesting a new IFU."""

from __future__ import annotations

from pathlib import Path

import pytest

from radgov.core.roles import Role
from radgov.training import services
from radgov.training.access import is_trained
from tests.e2e.pages import follow, logged_in_page
from tests.factories import make_user
from tests.training.helpers import make_deployment, make_version, upload_ifu


def procedure(admin, mv, title: str):  # type: ignore[no-untyped-def]
    return services.create_procedure(
        admin,
        model_version=mv,
        title=title,
        content="What the notification means.\n\nTen worked cases, two of them misses.",
        complexity="basic",
        complexity_note="Self-study: triage reorders the worklist before a reader looks.",
        required_roles=[Role.PHYSICIAN],
        self_attestation=True,
    )


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_my_training_as_a_physician(live_server, browser, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    shots = Path(tmp_path_factory.mktemp("screens"))
    admin = make_user("admin", role=Role.ADMINISTRATOR)
    doctor = make_user("dr.okafor", first_name="Ada", last_name="Okafor")
    ich = make_version("ICH Triage", "2.1")
    upload_ifu(ich, "Rev C")
    pe = make_version("PE Triage", "1.4")
    upload_ifu(pe, "2")
    make_deployment(ich, status="deployed", end_users=[doctor])
    make_deployment(pe, status="pilot", pilot_users=[doctor, make_user("dr.lee")])
    ich_training = procedure(admin, ich, "ICH Triage 2.1 for radiologists")
    pe_training = procedure(admin, pe, "PE Triage 1.4 for radiologists")
    services.record_completion(doctor, procedure=pe_training, attest_ifu=True)
    upload_ifu(pe, "3")  # a new IFU: reading it is still to do

    page = logged_in_page(browser, live_server, doctor)
    page.goto(f"{live_server.url}/training/")
    assert page.locator("h1").inner_text() == "My training"
    assert "Training" in page.locator("nav[aria-label=Main]").inner_text()
    assert "My training" in page.locator("nav[aria-label=Section]").inner_text()
    ich_card = page.locator("section", has=page.locator("h2", has_text="ICH Triage 2.1"))
    assert "Not trained" in ich_card.inner_text()
    assert "dr.okafor has no current training record" in ich_card.inner_text()
    pe_card = page.locator("section", has=page.locator("h2", has_text="PE Triage 1.4"))
    assert "IFU not yet attested" in pe_card.inner_text()
    assert "pilot group" in pe_card.inner_text()
    page.screenshot(path=str(shots / "my-training-before.png"), full_page=True)

    follow(ich_card.get_by_role("link", name="ICH Triage 2.1 for radiologists"))
    assert page.locator("h1").inner_text() == "ICH Triage 2.1 for radiologists"
    page.screenshot(path=str(shots / "procedure.png"), full_page=True)
    page.get_by_label("I have completed this training").check()
    page.get_by_label("I have read the IFU (version Rev C)").check()
    follow(page.get_by_role("button", name="Record completion"))
    page.wait_for_url(f"{live_server.url}/training/")
    assert "Recorded: you completed" in page.locator(".messages").inner_text()

    pe_card = page.locator("section", has=page.locator("h2", has_text="PE Triage 1.4"))
    follow(pe_card.get_by_role("button", name="I have read the IFU (version 3)"))
    page.wait_for_url(f"{live_server.url}/training/")
    assert page.locator("text=IFU not yet attested").count() == 0
    assert page.locator("strong", has_text="Trained").count() == 2
    page.screenshot(path=str(shots / "my-training-after.png"), full_page=True)
    assert is_trained(doctor, ich) and is_trained(doctor, pe)
    assert ich_training.records.count() == 1

    governance = logged_in_page(browser, live_server, admin)
    governance.goto(f"{live_server.url}/training/models/")
    assert governance.locator("h1").inner_text() == "Training by model"
    assert governance.locator("text=1 of 1 end-users trained").count() == 1
    assert governance.locator("text=1 of 2 end-users trained").count() == 1
    governance.screenshot(path=str(shots / "training-by-model.png"), full_page=True)

    follow(governance.get_by_role("link", name="record training"))
    assert governance.locator("h1").inner_text() == "Record someone's training"
    assert governance.locator("select[name=user] option:checked").inner_text() == "dr.lee"
    governance.fill("textarea[name=notes]", "Hands-on session, 10 cases.")
    governance.screenshot(path=str(shots / "record-training.png"), full_page=True)
    follow(governance.get_by_role("button", name="Record training"))
    governance.wait_for_url(f"{live_server.url}/training/models/")
    assert "Recorded dr.lee's training" in governance.locator(".messages").inner_text()
    assert governance.locator("text=IFU not yet attested").count() == 1  # dr.lee attests later

    governance.goto(f"{live_server.url}/training/procedures/new/?copy={ich_training.pk}")
    assert governance.locator("textarea[name=content]").input_value().startswith("What the")
    governance.screenshot(path=str(shots / "procedure-form.png"), full_page=True)
