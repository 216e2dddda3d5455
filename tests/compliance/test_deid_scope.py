"""Issue 11 item 10: a de-identification job is its owner's.  Another person allowed to
de-identify sees, reads and downloads it only when it is shared with them (an explicit,
audited act by the owner or compliance); the compliance role sees every job."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from radgov.accounts import services as accounts
from radgov.compliance import selectors, services
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from tests.compliance import test_deid_pages_api
from tests.compliance.conftest import job_pages
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db

# the pages tests' finished job, started by an informatics user
done_job = test_deid_pages_api.done_job

PURPOSE = "local acceptance testing of ICH triage v2"


def _api(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", f"/api/compliance/deid/jobs/{pk}"),
        ("get", f"/api/compliance/deid/jobs/{pk}/report"),
        ("post", f"/api/compliance/deid/jobs/{pk}/requeue"),
    ]


@pytest.mark.parametrize("role", [Role.INFORMATICS, Role.DATA_SCIENTIST, Role.ADMINISTRATOR])
def test_another_person_cannot_see_or_download_the_job(done_job, role) -> None:  # type: ignore[no-untyped-def]
    other = make_user(f"other-{role}", role=role)
    client = client_for(other)
    for method, url in job_pages(done_job.pk):
        assert getattr(client, method)(url).status_code == 404, url
    _, secret = accounts.create_token(other, name="t")
    for method, url in _api(done_job.pk):
        response = getattr(Client(), method)(url, HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 404, url
    assert done_job.pk not in [j.pk for j in selectors.jobs_for(other)]
    listed = Client().get("/api/compliance/deid/jobs", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert listed.json()["items"] == [] and listed.json()["total"] == 0
    assert not AuditEntry.objects.filter(
        action__in=["read", "export"], actor_name=other.username
    ).exists()


def test_compliance_sees_every_job(done_job) -> None:  # type: ignore[no-untyped-def]
    officer = make_user("privacy-officer", role=Role.COMPLIANCE)
    client = client_for(officer)
    assert client.get(reverse("compliance:deid_output", args=[done_job.pk])).status_code == 200
    assert done_job.pk in [j.pk for j in selectors.jobs_for(officer)]


def test_sharing_is_explicit_and_audited(done_job, informatics) -> None:  # type: ignore[no-untyped-def]
    colleague = make_user("ds-colleague", role=Role.DATA_SCIENTIST)
    owner = client_for(informatics)
    response = owner.post(
        reverse("compliance:deid_share", args=[done_job.pk]), {"username": colleague.username}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(
        action="update", object_type="compliance.deidjob", object_id=str(done_job.pk)
    ).latest("seq")
    assert entry.actor_name == informatics.username
    assert '"op":"add"' in entry.detail_json and f'"ids":[{colleague.pk}]' in entry.detail_json
    assert (
        client_for(colleague).get(reverse("compliance:deid_output", args=[done_job.pk])).status_code
        == 200
    )
    # the colleague may not pass it on
    third = make_user("third", role=Role.INFORMATICS)
    refused = client_for(colleague).post(
        reverse("compliance:deid_share", args=[done_job.pk]), {"username": third.username}
    )
    assert refused.status_code == 302
    assert not done_job.shared_with.filter(pk=third.pk).exists()


def test_sharing_refuses_people_who_may_not_deidentify(done_job, informatics) -> None:  # type: ignore[no-untyped-def]
    vendor = make_user("vendor-rep", role=Role.VENDOR)
    tech = make_user("a-tech", role=Role.TECHNOLOGIST)
    for person in (vendor, tech):
        with pytest.raises(services.DeidJobError, match="may not use de-identification"):
            services.share_job(informatics, done_job, username=person.username)
    with pytest.raises(services.DeidJobError, match="no such person"):
        services.share_job(informatics, done_job, username="nobody-here")
    assert not done_job.shared_with.exists()


def test_sharing_over_the_api(done_job, informatics) -> None:  # type: ignore[no-untyped-def]
    colleague = make_user("api-colleague", role=Role.INFORMATICS)
    _, secret = accounts.create_token(informatics, name="t")
    response = Client().post(
        f"/api/compliance/deid/jobs/{done_job.pk}/share",
        data={"username": colleague.username},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["shared_with"] == [colleague.username]
