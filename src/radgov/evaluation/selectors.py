"""Reads for the acceptance-testing pages: every deployment's protocol and latest run.

Acceptance-test results are aggregate figures over de-identified cases (the cases file is
not kept), so reading them is not a read of patient data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from radgov.evaluation.guards import (
    gap_of,
    latest_locked,
    latest_of,
    latest_run,
    post_hoc_note,
    rerun_note,
)
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun


@dataclass(frozen=True)
class Row:
    deployment: Any
    protocol: AcceptanceProtocol | None  # the latest version
    run: AcceptanceRun | None  # the latest run of any version
    gap: str | None  # why there is no acceptance evidence, None when there is


def overview() -> list[Row]:
    from radgov.inventory.models import Deployment

    deployments = list(
        Deployment.objects.select_related("model_version__product__company").order_by(
            "model_version__product__company__name", "model_version__product__name", "pk"
        )
    )
    latest = latest_of(deployments)
    return [
        Row(
            d,
            latest.protocol.get(d.pk),
            latest.run.get(d.pk),
            gap_of(latest.locked.get(d.pk), latest.run.get(d.pk)),
        )
        for d in deployments
    ]


def current_protocol(deployment: Any) -> AcceptanceProtocol | None:
    return (
        AcceptanceProtocol.objects.filter(deployment=deployment)
        .select_related("locked_by", "created_by")
        .order_by("-version")
        .first()
    )


def protocols_of(deployment: Any) -> list[AcceptanceProtocol]:
    return list(
        AcceptanceProtocol.objects.filter(deployment=deployment).select_related(
            "locked_by", "created_by", "amends"
        )
    )


def runs_of(deployment: Any) -> list[AcceptanceRun]:
    return list(
        AcceptanceRun.objects.filter(protocol__deployment=deployment).select_related(
            "protocol", "run_by", "repeats"
        )
    )


def summary(deployment: Any) -> str:
    """One sentence for the deployment's inventory record (IV.B.2.e)."""
    protocol = current_protocol(deployment)
    if protocol is None:
        return "No acceptance-test protocol yet."
    state = f"locked {protocol.locked_at:%Y-%m-%d}" if protocol.is_locked else "draft, not locked"
    text = f"Protocol {protocol.name!r}, version {protocol.version} ({state})."
    run = latest_run(deployment)
    if run is not None:
        verdict = "passed" if run.passed else "failed"
        data = "synthetic cases" if run.synthetic else "cases"
        text += f" Latest run {run.created_at:%Y-%m-%d}: {verdict} on {run.n_cases:,} {data}."
        text += "".join(
            f" {note}" for note in (post_hoc_note(run.protocol), rerun_note(run)) if note
        )
    gap = gap_of(latest_locked(deployment), run)
    text += f" Not yet acceptance evidence: {gap}." if gap else " Counts as acceptance evidence."
    return text
