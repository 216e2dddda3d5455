"""The monitoring API and pages: reports in and read back (audited, identifiers' roles
only), a watch refused naming the field, the labeller's check shown beside the performance
figures with its small-sample warning, the alert queue, and closing an alert."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from pypdf import PdfReader

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.monitoring import tasks
from radgov.monitoring.models import Alert, Report
from tests.factories import client_for, make_user, problem
from tests.monitoring.conftest import NEGATIVE, POSITIVE, drifting, synthetic

pytestmark = pytest.mark.django_db
URL = "/api/monitoring"


def _post(client, url, body, method="post"):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def test_reports_in_and_read_back_by_the_right_roles(writer, watched) -> None:
    answer = _post(
        client_for(writer), f"{URL}/reports", {"accession_number": "A9", "text": POSITIVE}
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["exam_id"], body["outcome"]) == (None, "created")
    assert body["labels"] == [{"finding": "pulmonary_embolism", "label": "positive"}]
    doctor = make_user("mon-doc", role=Role.PHYSICIAN)
    assert (
        _post(
            client_for(doctor), f"{URL}/reports", {"accession_number": "A9", "text": "x"}
        ).status_code
        == 403
    )
    read = client_for(doctor).get(f"{URL}/reports/{body['id']}")
    assert read.json()["text"] == POSITIVE
    entry = AuditEntry.objects.filter(action="read", object_type="monitoring.report").get()
    assert entry.actor_name == "mon-doc" and POSITIVE not in json.dumps(entry.detail)
    analyst = make_user("mon-ds", role=Role.DATA_SCIENTIST)
    assert "identifiers" in problem(client_for(analyst).get(f"{URL}/reports/{body['id']}"), 403)
    refused = _post(client_for(writer), f"{URL}/reports", {"accession_number": "A9", "text": ""})
    assert "text: is required" in problem(refused, 422)
    assert Report.objects.count() == 1


def test_a_watch_names_what_is_wrong(chair, pe) -> None:
    body = {"finding": "pe", "baseline_start": "2026-01-31", "baseline_end": "2026-01-01"}
    detail = problem(_post(client_for(chair), f"{URL}/deployments/{pe.pk}/watch", body, "put"), 422)
    assert "finding: is not a finding of the labeller's rules" in detail
    assert "baseline_end: is before baseline_start" in detail
    body.update(
        finding="pulmonary_embolism", baseline_start="2026-01-01", baseline_end="2026-01-31"
    )
    tech = make_user("mon-tech", role=Role.TECHNOLOGIST)
    assert (
        _post(client_for(tech), f"{URL}/deployments/{pe.pk}/watch", body, "put").status_code == 403
    )
    done = _post(client_for(chair), f"{URL}/deployments/{pe.pk}/watch", body, "put")
    assert done.json()["run_length"] == 7


def test_performance_shows_the_labellers_accuracy_beside_it(chair, watched) -> None:
    sample = "report_id,text,finding,label\n" + "".join(
        f'r{i},"{POSITIVE if i % 2 else NEGATIVE}",pulmonary_embolism,{"positive" if i % 2 else "negative"}\n'
        for i in range(8)
    )
    upload = client_for(chair).post(f"{URL}/labeller-checks", {"file": _file(sample)})
    assert upload.status_code == 201, upload.content
    jan, feb = dt.date(2026, 1, 10), dt.date(2026, 2, 10)
    synthetic(
        watched, [(jan, "tp")] * 12 + [(jan, "fn")] * 4 + [(jan, "tn")] * 24 + [(feb, "tp")] * 5
    )
    view = client_for(chair).get(f"{URL}/deployments/{watched.pk}/performance").json()
    accuracy = view["labeller_accuracy"]
    assert (accuracy["tp"], accuracy["tn"], accuracy["sensitivity"]["estimate"]) == (4, 4, 1.0)
    assert any("too few to judge the labeller" in w for w in accuracy["warnings"])
    january, february = view["performance"]
    assert (january["group"], january["n"]) == ("2026-01-01", 40)
    assert january["sensitivity"]["estimate"] == pytest.approx(0.75)
    assert january["concordance"]["estimate"] == pytest.approx(0.9)
    assert february["concordance"]["not_estimable"] == "too few cases to estimate: 5 < 20"
    by_sex = client_for(chair).get(f"{URL}/deployments/{watched.pk}/performance?by=sex").json()
    assert [r["group"] for r in by_sex["performance"]] == ["F", "M"]
    bad = client_for(chair).get(f"{URL}/deployments/{watched.pk}/performance?by=shoe")
    assert "by must be one of" in problem(bad, 422)


def test_an_alert_is_queued_and_closed_by_the_governance_group(chair, watched) -> None:
    synthetic(watched, drifting(days=8))
    tasks.check_alarms.call_local()
    queue = client_for(chair).get(f"{URL}/alerts").json()
    assert {a["rule"] for a in queue} >= {"consecutive"}
    alert = Alert.objects.get(rule="consecutive")
    page = client_for(chair).get(f"/monitoring/deployments/{watched.pk}/")
    assert (
        page.status_code == 200 and b"<svg" in page.content and b"7 days in a row" in page.content
    )
    report = client_for(chair).get(f"/monitoring/deployments/{watched.pk}/report.pdf")
    assert report["Content-Type"] == "application/pdf"
    assert report["Cache-Control"] == "no-store"  # the one PDF export: audited, never cached
    export = AuditEntry.objects.filter(action="export", object_id=str(watched.pk)).get()
    assert export.detail["format"] == "pdf" and export.detail["bytes"] == len(report.content)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(report.content)).pages)
    assert "Performance report: PE Finder" in text and "Daily discordance" in text
    assert "7 days in a row above the baseline discordance 5.0%" in text
    doctor = make_user("mon-doc2", role=Role.PHYSICIAN)
    assert "governance" in problem(
        _post(client_for(doctor), f"{URL}/alerts/{alert.pk}/close", {"note": "x"}), 403
    )
    assert "note:" in problem(
        _post(client_for(chair), f"{URL}/alerts/{alert.pk}/close", {"note": " "}), 422
    )
    closed = _post(
        client_for(chair), f"{URL}/alerts/{alert.pk}/close", {"note": "decision 9: protocol change"}
    )
    assert closed.json()["closed_at"] is not None
    assert all(a["id"] != alert.pk for a in client_for(chair).get(f"{URL}/alerts").json())


def _file(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("sample.csv", text.encode(), content_type="text/csv")
