"""The one acceptance-test pipeline (radgov.evaluation.pipeline): its order of steps, the
privacy policy and page it is given, and the same result from ``radgov evaluate`` and from a
run on the web."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from radgov.evaluation import pipeline
from radgov.evaluation.cases import CasesError
from radgov.evaluation.identifiers import IdentifierFinding
from radgov.evaluation.protocol import Protocol, parse_protocol_text
from radgov.evaluation.synthetic import generate_ich_cases, write_cases

from . import test_services
from .conftest import ROOT
from .test_services import cases_file, locked_protocol, passing_source

world = test_services.world
_quick_passwords = test_services._quick_passwords  # seven people: hashing kept quick


class Refused(Exception):
    pass


class Recorded:
    """A privacy policy that allows every file, recording what it was shown."""

    def __init__(self) -> None:
        self.seen: list[list[IdentifierFinding]] = []

    def allow(self, findings: list[IdentifierFinding]) -> str | None:
        self.seen.append(findings)
        return "stated reason" if findings else None


class NoIdentifiers:
    def allow(self, findings: list[IdentifierFinding]) -> str | None:
        if findings:
            raise Refused(", ".join(f.column for f in findings))
        return None


class Watching:
    """A page that notes what it is given, and whether OUT.json was there when it drew."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.prepared: list[dict[str, Any]] = []
        self.json_before_page: bool | None = None

    def prepare(self, preliminary: dict[str, Any]) -> None:
        self.prepared.append(preliminary)

    def render_html(self, result: dict[str, Any]) -> str:
        self.json_before_page = self.out.is_file()
        return f"<p>{result['passed']}</p>"


@pytest.fixture
def protocol() -> Protocol:
    return parse_protocol_text(passing_source())


def test_the_policy_decides_on_the_screen_before_the_file_is_read_in_full(
    tmp_path: Path, protocol: Protocol
) -> None:
    frame = generate_ich_cases(200, seed=3).drop("synthetic")
    frame = frame.with_columns(frame["case_id"].alias("mrn")).drop("label")  # and no truth
    path = write_cases(frame, tmp_path / "c.csv")
    with pytest.raises(Refused, match="mrn"):
        pipeline.run(protocol, path, privacy=NoIdentifiers(), json_out=tmp_path / "o.json")
    with pytest.raises(CasesError, match="label"):  # an allowing policy: the file's own fault
        pipeline.run(protocol, path, privacy=Recorded(), json_out=tmp_path / "o.json")
    assert not (tmp_path / "o.json").exists()


def test_the_policy_reason_is_recorded_with_the_findings(
    tmp_path: Path, protocol: Protocol
) -> None:
    frame = generate_ich_cases(300, seed=3).drop("synthetic")
    path = write_cases(frame.with_columns(frame["case_id"].alias("mrn")), tmp_path / "c.csv")
    policy = Recorded()
    privacy = pipeline.run(protocol, path, privacy=policy).result["privacy"]
    assert [[f.column for f in seen] for seen in policy.seen] == [["mrn"]]
    assert privacy["allowed"] is True and privacy["reason"] == "stated reason"
    assert [f["column"] for f in privacy["identifier_columns"]] == ["mrn"]


def test_steps_page_and_json_in_order(tmp_path: Path, protocol: Protocol) -> None:
    path = write_cases(generate_ich_cases(400, seed=5), tmp_path / "c.csv")
    out = tmp_path / "o.json"
    page = Watching(out)
    heard: list[str] = []
    expected: list[int] = []

    class Steps:
        def expect(self, total: int) -> None:
            expected.append(total)

        def step(self, label: str) -> None:
            heard.append(label)

    def describe(result: dict[str, Any]) -> None:
        result["protocol"]["lock"] = "as described"

    outcome = pipeline.run(
        protocol, path, privacy=Recorded(), describe=describe, page=page, json_out=out,
        steps=Steps(),
    )  # fmt: skip
    assert outcome.html == f"<p>{outcome.result['passed']}</p>" and page.json_before_page
    assert json.loads(out.read_text()) == outcome.result
    assert outcome.result["protocol"]["lock"] == "as described"
    (preliminary,) = page.prepared  # all but the ROC band, described the same way
    assert "roc_band" in outcome.result["curves"] and "roc_band" not in preliminary["curves"]
    final = {**outcome.result, "curves": dict(outcome.result["curves"])}
    del final["curves"]["roc_band"]
    assert preliminary == final
    assert heard[0] == "reading and checking the cases" and heard[-1] == "report: charts and page"
    assert expected == [len(heard)]
    assert pipeline.run(protocol, path, privacy=Recorded()).html == ""  # no page, no drawing


# what only the database knows of a run: the protocol's lock, its version, the product tested
WHERE_RUN = ("lock", "version", "amended_after_lock")


def test_the_command_and_a_web_run_give_the_same_result(
    world: dict[str, Any],
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huey.contrib.djhuey import HUEY

    from radgov.evaluation.models import AcceptanceRun
    from tests.factories import client_for

    monkeypatch.setattr(HUEY, "immediate", True)  # the worker runs each job as it is queued
    locked = locked_protocol(world)
    cases = cases_file(tmp_path, "cases.csv")
    client = client_for(world["scientist"])
    with cases.open("rb") as fh, django_capture_on_commit_callbacks(execute=True):
        queued = client.post(f"/api/evaluation/protocols/{locked.pk}/runs", {"cases": fh})
    assert client.get(queued["Location"]).json()["status"] == "done"
    web = AcceptanceRun.objects.get().result

    protocol_file = tmp_path / "p.yaml"
    protocol_file.write_text(locked.source)
    out = tmp_path / "out.json"
    command = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "radgov"), "evaluate", "--protocol", str(protocol_file),
            "--cases", str(cases), "--json", str(out),
            "--expect-protocol-hash", locked.content_hash,
        ],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "DATABASE_URL": "sqlite:////nonexistent/dir/no.db"},
    )  # fmt: skip
    assert command.returncode == 0, command.stderr
    cli = json.loads(out.read_text())

    assert web.pop("subject")["product"] == "Acme AI HeadCheck ICH"
    for result in (web, cli):
        del result["generated_at"]
        for key in WHERE_RUN:
            result["protocol"].pop(key, None)
    assert web == cli
    assert yaml.safe_load(locked.source)["name"] == cli["protocol"]["name"]
