"""The command line: ``radgov studies`` (table or JSON, filtered, an audited read that prints
no identifier) and ``radgov exams import FILE`` (all or nothing, problems named)."""

from __future__ import annotations

import getpass
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from radgov.core.models import AuditEntry
from radgov.exams.models import Exam
from tests.exams.conftest import CANARIES
from tests.exams.test_import import good_rows, write_csv

pytestmark = pytest.mark.django_db
OPERATOR = f"cli:{getpass.getuser()}"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_studies_json_prints_every_exam_with_each_inference(practice, ich) -> None:
    out, _ = run("studies", "--json")
    assert not any(c in out for c in CANARIES)
    exams = json.loads(out)["exams"]
    assert [e["id"] for e in exams] == [practice[1].pk, practice[0].pk]  # the latest study first
    first = exams[1]
    assert [(i["status"], i["reason_code"]) for i in first["inferences"]] == [
        ("inferred", ""),
        ("excluded", "criteria_not_met"),
    ]
    assert first["inferences"][1]["reason"].startswith("The study is outside")
    read = AuditEntry.objects.get(action="read")
    assert (read.actor_name, read.channel, read.detail["what"]) == (
        OPERATOR,
        "cli",
        "study listing",
    )
    assert sorted(read.detail["exams"]) == sorted(p.pk for p in practice)


def test_studies_filters(practice, ich) -> None:
    rejected = json.loads(run("studies", "--json", "--status", "rejected")[0])["exams"]
    assert [(e["id"], [i["status"] for i in e["inferences"]]) for e in rejected] == [
        (practice[1].pk, ["rejected"])
    ]
    mine = json.loads(run("studies", "--json", "--deployment", str(ich.pk))[0])["exams"]
    assert (
        all(i["deployment_id"] == ich.pk for e in mine for i in e["inferences"]) and len(mine) == 2
    )
    since = json.loads(run("studies", "--json", "--since", "2026-04-01")[0])["exams"]
    assert [e["id"] for e in since] == [practice[1].pk]
    with pytest.raises(CommandError, match="since: must be a date"):
        run("studies", "--since", "April")


def test_studies_table(practice) -> None:
    out, _ = run("studies")
    assert "slice_thickness" not in out and "The slices are thicker" in out
    assert "2 exams" in out and not any(c in out for c in CANARIES)


def test_exams_import_stores_a_good_file_as_the_command_line(tmp_path, ich, nodule) -> None:
    path = write_csv(tmp_path, good_rows(ich.pk, nodule.pk))
    out, _ = run("exams", "import", str(path), "--no-progress")
    assert "4 rows: 2 exams created, 0 enriched, 3 inferences created, 4 status moves" in out
    assert Exam.objects.count() == 2
    # core's operator at the console (no actor, channel cli), one entry for the whole file:
    # 2 exams, 3 inferences, their 3 + 4 status changes, 2 patients and 1 accession
    entry = AuditEntry.objects.get(action="import")
    assert (entry.actor_name, entry.channel, entry.event_code) == ("", "cli", "110107")
    assert entry.detail["batch"]["count"] == 15 and entry.detail["moves"] == 4
    assert not AuditEntry.objects.filter(object_type="exams.exam", action="create").exists()


def test_exams_import_refuses_a_bad_file_whole(tmp_path, ich, nodule) -> None:
    rows = good_rows(ich.pk, nodule.pk)
    rows[0] = rows[0].replace(",120,no,", ",loud,no,")
    path = write_csv(tmp_path, rows)
    err = StringIO()
    with pytest.raises(CommandError, match="refused \\(1 problem\\); nothing was stored") as info:
        call_command("exams", "import", str(path), stdout=StringIO(), stderr=err)
    assert info.value.returncode == 1
    assert "data row 1 (spreadsheet row 2), column 'kvp'" in err.getvalue()
    assert not any(c in err.getvalue() for c in CANARIES)
    assert Exam.objects.count() == 0


def test_exams_import_of_a_missing_file_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(CommandError) as info:
        run("exams", "import", str(tmp_path / "nope.csv"))
    assert info.value.returncode == 2
