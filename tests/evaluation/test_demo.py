"""The demo practice's acceptance testing: the example protocol locked and run on synthetic
cases, an amended and a draft protocol; synthetic runs leave the lifecycle as it was; a
second ``radgov demo`` changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from radgov.core.models import AuditEntry
from radgov.evaluation import demo
from radgov.evaluation.guards import evidence_gap, post_hoc_note
from radgov.evaluation.models import AcceptanceProtocol
from radgov.inventory import lifecycle
from radgov.inventory.models import Deployment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]


def _protocols(product: str, version: str, site: str) -> list[AcceptanceProtocol]:
    return list(
        AcceptanceProtocol.objects.filter(deployment=demo.find_deployment(product, version, site))
    )


def test_without_the_inventory_demo_it_skips() -> None:
    out = io.StringIO()
    demo.load(out)
    assert "skipped" in out.getvalue()
    assert not AcceptanceProtocol.objects.exists()


def test_demo_runs_the_example_protocol_on_synthetic_cases_and_twice_changes_nothing() -> None:
    call_command("demo", stdout=io.StringIO())

    (tested,) = _protocols(*demo.ICH)
    assert tested.source == demo.EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
    assert tested.is_locked and tested.locked_by.username == "dr.chen"
    (run,) = tested.runs.all()
    assert (run.synthetic, run.n_cases, run.run_by.username) == (True, 1200, "datasci")
    assert run.cases_name == demo.CASES_NAME and run.identifier_columns == []
    assert run.result["cases"]["synthetic"] is True and "AMENDED" not in run.report_html
    # children are out of the IFU's scope: no positive case, so the AUC there is not estimable
    failed = [(c["metric"], c["subgroup"]) for c in run.result["criteria"] if not c["passed"]]
    assert failed == [("auc", "age=[0,18)")] and not run.passed
    assert "synthetic cases" in (evidence_gap(tested.deployment) or "")

    # amended after the first run's results were seen, rerun on the same file, and accepted
    # by the governance group's decision (IV.E.2)
    second, first = _protocols(*demo.ED)
    assert (second.version, second.amends_id, second.is_locked) == (2, first.pk, True)
    assert second.amendment_reason == demo.ED_REASON and second.amended_after_results
    assert "scanner" in second.source and first.runs.count() == 1
    (rerun,) = second.runs.all()
    assert rerun.repeats == first.runs.get()
    assert "accepted by the governance group's decision" in post_hoc_note(second)

    (draft,) = _protocols(*demo.MAMMO)
    assert not draft.is_locked and draft.task == "binary"

    # a synthetic run is never evidence: the live deployments stand on the group's waivers
    live = Deployment.objects.filter(status__in=("pilot", "deployed"))
    assert live.count() == 3
    assert all(lifecycle.acceptance_guard(d) == [] for d in live)

    entries = AuditEntry.objects.count()
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert AuditEntry.objects.count() == entries
    text = out.getvalue()
    assert "Latest run " in text and ": failed on 1,200 synthetic cases." in text
    assert (
        "Breast Center: Protocol 'MammoInsight screening local acceptance test', version 1 (draft"
        in text
    )
