"""The demo practice's local acceptance testing (IV.E), through the evaluation services:

* NeuroTriage ICH 2.0 at Main Hospital CT (the deployed ICH triage model): the example
  protocol (``examples/ich-triage-protocol.yaml``, the one in the docs) written by datasci,
  locked by the chair dr.chen, and run by datasci on 1,200 synthetic cases (fixed seed;
  the file says it is synthetic).  The run fails one criterion: the protocol asks for the
  AUC in every subgroup, and the children's band has no positive case.  Synthetic runs are
  never lifecycle evidence, so the deployment still stands on the group's waiver.
* NeuroTriage ICH 2.0 at Community Hospital ED (suspended until it is re-tested): the same
  protocol locked and run on the synthetic cases, then amended after those results were
  seen (version 2, with its reason) to report each scanner model once the ED scanner's
  software changed; version 2 is locked and run on the same file, so the run is marked a
  rerun and the protocol post hoc.  The governance group's demo accepts the amendment by
  a decision of its December meeting.
* MammoInsight 3.2 at Breast Center (in acceptance testing): a draft protocol the group
  has not locked.

Idempotent: each step is taken only when its record is missing.  Without the inventory's
deployments or the demo accounts it says so and skips."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model

from radgov.evaluation import services
from radgov.evaluation.models import AcceptanceProtocol
from radgov.evaluation.selectors import summary
from radgov.evaluation.synthetic import generate_ich_cases, write_cases

EXAMPLE_PROTOCOL = Path(__file__).with_name("examples") / "ich-triage-protocol.yaml"
N_CASES, SEED = 1200, 7
CASES_NAME = f"ich-triage-synthetic-{N_CASES}-seed{SEED}.csv"

ICH = ("NeuroTriage ICH", "2.0", "Main Hospital CT")
ED = ("NeuroTriage ICH", "2.0", "Community Hospital ED")
MAMMO = ("MammoInsight", "3.2", "Breast Center")

ED_REASON = (
    "The ED scanner's software upgrade changed the head protocol (reconstruction kernel and "
    "slice thickness). The re-test before the deployment resumes reports the AUC for each "
    "scanner model, so that the upgraded scanner is judged on its own cases."
)

MAMMO_DRAFT = """\
# Draft for the group's review: agree the threshold and criteria before anyone sees results.
name: MammoInsight screening local acceptance test
task: binary
columns: {case_id: exam_id, truth: cancer_within_12_months, score: case_score}
threshold: 7
metrics: [sensitivity, specificity, ppv, auc]
subgroups: [density, manufacturer, {column: age, bins: [35, 50, 65, 120]}]
criteria:
  - {metric: sensitivity, ci_low_at_least: 0.80}
  - {metric: specificity, estimate_at_least: 0.85}
  - {metric: auc, ci_low_at_least: 0.85, subgroups: [density]}
ifu_claims:
  - {metric: sensitivity, value: 0.90, source: "De Novo pivotal study, 1,200 screening exams"}
  - {metric: specificity, value: 0.85, source: "De Novo pivotal study, 1,200 screening exams"}
"""


def find_deployment(product: str, version: str, site: str) -> Any:
    from radgov.inventory.models import Deployment

    return Deployment.objects.filter(
        model_version__product__name=product, model_version__version=version, site=site
    ).first()


def _people() -> dict[str, Any] | None:
    names = ["dr.chen", "datasci", "physicist"]
    found = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
    return found if len(found) == len(names) else None


def _version(deployment: Any, number: int) -> AcceptanceProtocol | None:
    return AcceptanceProtocol.objects.filter(deployment=deployment, version=number).first()


def _first(author: Any, deployment: Any, source: str) -> AcceptanceProtocol:
    existing = _version(deployment, 1)
    return existing or services.create_protocol(author, deployment=deployment, source=source)


def _locked(chair: Any, protocol: AcceptanceProtocol) -> AcceptanceProtocol:
    if protocol.is_locked or services.lock_refusal(chair, protocol):
        return protocol
    return services.lock(chair, protocol)


def _synthetic_run(runner: Any, protocol: AcceptanceProtocol) -> None:
    """Write the synthetic cases to a temporary file and run the locked protocol on them."""
    if protocol.runs.exists() or services.run_refusal(runner, protocol):
        return
    with tempfile.TemporaryDirectory(prefix="radgov-demo-") as folder:
        path = write_cases(generate_ich_cases(N_CASES, seed=SEED), Path(folder) / CASES_NAME)
        services.run_test(runner, protocol, path=path, name=CASES_NAME)


def _amended(author: Any, chair: Any, protocol: AcceptanceProtocol) -> AcceptanceProtocol | None:
    """Version 2 of a locked protocol: the same test, with the scanner model as a subgroup."""
    second = _version(protocol.deployment, 2)
    if second is None and protocol.is_locked:
        source = protocol.source.replace(
            "subgroups: [sex, manufacturer,", "subgroups: [sex, manufacturer, scanner,"
        )
        if source == protocol.source:  # not the example any more: leave it as it is
            return None
        second = services.amend(author, protocol, source=source, reason=ED_REASON)
    return _locked(chair, second) if second is not None else None


def load(stdout: Any) -> None:
    p = _people()
    ich, ed, mammo = find_deployment(*ICH), find_deployment(*ED), find_deployment(*MAMMO)
    if p is None or ich is None:
        stdout.write("Evaluation: no demo accounts or ICH triage deployment; skipped.")
        return
    example = EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
    chair, datasci, physicist = p["dr.chen"], p["datasci"], p["physicist"]
    tested = _locked(chair, _first(datasci, ich, example))
    _synthetic_run(datasci, tested)
    if ed is not None:
        first = _locked(chair, _first(physicist, ed, example))
        _synthetic_run(physicist, first)  # results seen before the amendment: post hoc
        second = _amended(physicist, chair, first)
        if second is not None:
            _synthetic_run(physicist, second)  # the same file again: a rerun
    if mammo is not None:
        _first(physicist, mammo, MAMMO_DRAFT)
    stdout.write("Evaluation (local acceptance testing):")
    for deployment in (d for d in (ich, ed, mammo) if d is not None):
        stdout.write(f"  {deployment}: {summary(deployment)}")
