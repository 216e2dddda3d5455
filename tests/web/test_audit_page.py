"""The audit trail for a person: filters, pages, what changed, links to the objects, and
export (CSV, FHIR, DICOM) of what the filters select, the export itself audited; only
the roles that may read the trail see it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from django.utils import timezone

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.governance import services as governance
from tests.factories import client_for, make_user
from tests.governance.conftest import make_inventory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(db: Any) -> dict[str, Any]:
    admin = make_user("admin", role=Role.ADMINISTRATOR)
    chair = make_user("dr.chen")
    group = governance.create_group(admin, name="AI group", members=[(chair, "chair")])
    meeting = governance.create_meeting(
        chair, group, held_on=dt.date(2026, 11, 2), attendees=[chair]
    )
    chen = client_for(chair)  # through the page, so the entries name who changed what
    for notes in ("First notes", "Second notes"):
        chen.post(f"/governance/meetings/{meeting.pk}/", {"form": "notes", "notes-notes": notes})
    inv = make_inventory()
    return {"admin": admin, "chair": chair, "meeting": meeting, "inv": inv}


def test_filters_show_what_changed_and_link_to_the_object(trail: dict[str, Any]) -> None:
    client = client_for(trail["admin"])
    meeting = trail["meeting"]
    page = client.get(
        "/audit/",
        {
            "person": trail["chair"].pk,
            "action": "update",
            "object_type": "governance.meeting",
            "object_id": str(meeting.pk),
        },
    ).content.decode()
    assert "2 entries match" in page
    assert '<td class="before">First notes</td>' in page
    assert '<td class="after">Second notes</td>' in page
    assert f'href="/governance/meetings/{meeting.pk}/"' in page
    assert "dr.chen" in page and "admin</td>" not in page
    read = AuditEntry.objects.filter(action="read", object_type="core.auditentry").last()
    assert read.detail["filters"]["object_type"] == "governance.meeting"


def test_a_date_range_and_pages(trail: dict[str, Any]) -> None:
    client = client_for(trail["admin"])
    today = timezone.localdate()
    assert (
        "No entries match"
        in client.get(
            "/audit/", {"until": (today - dt.timedelta(days=1)).isoformat()}
        ).content.decode()
    )
    page = client.get("/audit/", {"since": today.isoformat()}).content.decode()
    assert "governance.meeting" in page
    bad = client.get("/audit/", {"since": "9999-01-01"}).content.decode()
    assert "9999-01-01 is not a day the trail can hold" in bad


def test_paging_walks_the_trail_newest_first(trail: dict[str, Any]) -> None:
    for i in range(60):
        governance.record_notes(trail["chair"], trail["meeting"], f"notes {i}")
    client = client_for(trail["admin"])
    first = client.get("/audit/", {"object_type": "governance.meeting"}).content.decode()
    second = client.get("/audit/", {"object_type": "governance.meeting", "page": 2}).content
    assert "notes 59" in first and "Page 1 of 2" in first
    assert "notes 59" not in second.decode() and "Page 2 of 2" in second.decode()


@pytest.mark.parametrize("fmt", ["csv", "fhir", "dicom"])
def test_export_of_what_the_filters_select_is_itself_audited(
    trail: dict[str, Any], fmt: str
) -> None:
    client = client_for(trail["admin"])
    r = client.get(
        "/audit/export",
        {"format": fmt, "object_type": "governance.meeting", "action": "update"},
    )
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    body = r.content.decode()
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body)))
        assert {row["object_type"] for row in rows} == {"governance.meeting"}
        assert {row["action"] for row in rows} == {"update"} and len(rows) == 3
    elif fmt == "fhir":
        events = [json.loads(line) for line in body.splitlines()]
        assert len(events) == 3 and all(e["resourceType"] == "AuditEvent" for e in events)
    else:
        assert body.count("<AuditMessage>") == 3
    export = AuditEntry.objects.filter(action="export", object_type="core.auditentry").last()
    assert export.actor_name == "admin" and export.detail["format"] == fmt
    assert export.detail["filters"] == {"object_type": "governance.meeting", "action": "update"}
    assert export.detail["count"] == 3


def test_a_csv_cell_is_never_a_formula(trail: dict[str, Any]) -> None:
    governance.record_notes(trail["chair"], trail["meeting"], "=HYPERLINK(1)")
    body = client_for(trail["admin"]).get("/audit/export", {"format": "csv"}).content.decode()
    assert ",=HYPERLINK" not in body and "'=HYPERLINK" not in body  # inside JSON, quoted
    assert all(not cell.startswith("=") for row in csv.reader(io.StringIO(body)) for cell in row)


@pytest.mark.parametrize("role", [Role.TECHNOLOGIST, Role.PHYSICIAN, Role.VENDOR])
def test_only_roles_that_may_read_the_trail_see_it(trail: dict[str, Any], role: str) -> None:
    client = client_for(make_user(f"x-{role}", role=role))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export", {"format": "csv"}).status_code == 403
    assert "Audit trail" not in client.get("/").content.decode()
    compliance = client_for(make_user("privacy", role=Role.COMPLIANCE))
    assert compliance.get("/audit/").status_code == 200
