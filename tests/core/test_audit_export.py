"""Exports (FHIR AuditEvent NDJSON, DICOM audit message XML) and reads of the trail, all audited."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from io import StringIO
from xml.etree import ElementTree as ET

import pytest
import time_machine
from django.core.management import call_command
from fhir.resources.R4B.auditevent import AuditEvent

from radgov.accounts.models import User
from radgov.core.audit import Action, record
from radgov.core.audit.selectors import count_entries, list_entries
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import AuditEntry

from .audit_support import audit_key  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("audit_key")]
DCM = "http://dicom.nema.org/resources/ontology/DCM"


@pytest.fixture
def trail(rf):
    """Entries on three days: 1 March (create), 2 March (denied read, failed login), 3 March (delete)."""
    user = User.objects.create(username="erin", role="informatics")
    request = rf.get("/")
    request.user = user
    with acting_as(ActingContext(client_address="192.0.2.10", channel="web", request=request)):
        with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=UTC), tick=False):
            record(
                action=Action.CREATE,
                object_type="inventory.product",
                object_id="12",
                changes={"name": [None, "CAD"]},
            )
        with time_machine.travel(datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC), tick=False):
            record(
                action=Action.READ,
                object_type="core.patientidentity",
                object_id="5",
                outcome="denied",
            )
            record(action=Action.LOGIN_FAILED, actor_name="mallory", actor=None, outcome="failure")
        with time_machine.travel(datetime(2026, 3, 3, 0, 0, tzinfo=UTC), tick=False):
            record(action=Action.DELETE, object_type="inventory.product", object_id="12")
    return user


def export(fmt: str, *args: str) -> str:
    out = StringIO()
    call_command("audit", "export", "--format", fmt, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_fhir_export_is_valid_audit_events_filtered_by_utc_date(trail):
    lines = export("fhir", "--since", "2026-03-02", "--until", "2026-03-02").splitlines()
    events = [AuditEvent.model_validate_json(line) for line in lines]  # each line validates
    assert len(events) == 2
    read, failed = (json.loads(line) for line in lines)
    assert read["resourceType"] == "AuditEvent"
    assert read["type"] == {"system": DCM, "code": "110110", "display": "Patient Record"}
    assert (read["action"], read["outcome"], read["recorded"]) == (
        "R",
        "4",
        "2026-03-02T23:59:59.999999Z",
    )
    agent = read["agent"][0]
    assert agent["requestor"] is True and agent["who"]["display"] == "erin"
    assert agent["who"]["identifier"]["value"] == str(trail.pk)
    assert agent["network"] == {"address": "192.0.2.10", "type": "2"}
    assert read["source"]["observer"]["display"] == "radgov"
    what = read["entity"][0]["what"]
    assert (what["type"], what["identifier"]["value"]) == ("core.patientidentity", "5")
    assert (
        failed["type"]["code"] == "110114" and failed["outcome"] == "8" and failed["action"] == "E"
    )
    assert failed["agent"][0]["who"]["display"] == "mallory"


def test_fhir_export_carries_the_chain_position_and_hash(trail):
    first = json.loads(export("fhir", "--since", "2026-03-01").splitlines()[0])
    details = {d["type"]: d["valueString"] for d in first["entity"][-1]["detail"]}
    entry = AuditEntry.objects.get(seq=1)
    assert details["entry_hash"] == entry.entry_hash and first["id"] == "radgov-audit-1"


def test_dicom_export_parses_back_as_audit_messages(trail):
    root = ET.fromstring(export("dicom", "--since", "2026-03-01", "--until", "2026-03-01"))  # noqa: S314 - our own output
    (msg,) = root.findall("AuditMessage")
    event = msg.find("EventIdentification")
    assert event.attrib == {
        "EventActionCode": "C",
        "EventDateTime": "2026-03-01T09:00:00.000000Z",
        "EventOutcomeIndicator": "0",
    }
    assert event.find("EventID").attrib == {
        "csd-code": "110100",
        "codeSystemName": "DCM",
        "originalText": "Application Activity",
    }
    participant = msg.find("ActiveParticipant").attrib
    assert participant["UserID"] == str(trail.pk) and participant["UserName"] == "erin"
    assert (
        participant["UserIsRequestor"] == "true"
        and participant["NetworkAccessPointID"] == "192.0.2.10"
    )
    assert msg.find("AuditSourceIdentification").attrib["AuditSourceID"] == "radgov"
    obj = msg.find("ParticipantObjectIdentification")
    assert obj.attrib["ParticipantObjectID"] == "12"
    assert obj.find("ParticipantObjectIDTypeCode").attrib["csd-code"] == "inventory.product"
    seq, digest = (
        base64.b64decode(obj.find("ParticipantObjectDetail").attrib["value"]).decode().split(":")
    )
    assert (int(seq), digest) == (1, AuditEntry.objects.get(seq=1).entry_hash)


def test_dicom_export_outcomes_and_since(trail):
    root = ET.fromstring(export("dicom", "--since", "2026-03-02"))  # noqa: S314 - our own output
    outcomes = [m.find("EventIdentification").attrib["EventOutcomeIndicator"] for m in root]
    assert outcomes == ["4", "8", "0"]


def test_an_export_is_itself_recorded(trail, tmp_path):
    target = tmp_path / "out.ndjson"
    call_command(
        "audit",
        "export",
        "--format",
        "fhir",
        "--since",
        "2026-03-01",
        "--output",
        str(target),
        stderr=StringIO(),
    )
    assert len(target.read_text().splitlines()) == 4
    last = AuditEntry.objects.order_by("-seq").first()
    assert (last.action, last.event_code, last.object_type, last.channel) == (
        "export",
        "110101",
        "core.auditentry",
        "cli",
    )
    assert (
        last.detail["count"] == 4
        and last.detail["format"] == "fhir"
        and last.actor_name.startswith("os:")
    )


def test_a_bad_date_is_refused(trail):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="not a date"):
        export("fhir", "--since", "March")


def test_listing_entries_is_recorded_as_audit_log_used(trail):
    shown = list_entries(trail, limit=2)
    assert [e.seq for e in shown] == [4, 3]
    last = AuditEntry.objects.order_by("-seq").first()
    assert (last.action, last.event_code, last.actor_name) == ("read", "110101", "erin")
    assert last.detail == {"purpose": "list", "filters": {}, "count": 2}
    assert count_entries() == 5


def test_listing_with_filters_records_the_filters(trail):
    since = datetime(2026, 3, 2, tzinfo=UTC)
    shown = list_entries(trail, object_type="inventory.product", since=since)
    assert [(e.seq, e.action) for e in shown] == [(4, "delete")]
    last = AuditEntry.objects.order_by("-seq").first()
    assert last.detail["filters"] == {"since": str(since), "object_type": "inventory.product"}
