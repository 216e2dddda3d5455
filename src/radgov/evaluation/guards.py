"""Acceptance-test evidence for the deployment lifecycle (IV.E), registered with the
inventory's lifecycle in ``EvaluationConfig.ready``.

A deployment has evidence when its latest run is on the latest locked protocol version,
passed every criterion, and used real cases.  A run on synthetic data shows that the
protocol and the pipeline work; it says nothing about the model on local patients, so it
never counts.  A later failed run replaces an earlier pass.
"""

from __future__ import annotations

from typing import Any

from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun


def latest_locked(deployment: Any) -> AcceptanceProtocol | None:
    return (
        AcceptanceProtocol.objects.filter(deployment=deployment, locked_at__isnull=False)
        .order_by("-version")
        .first()
    )


def latest_run(deployment: Any) -> AcceptanceRun | None:
    return (
        AcceptanceRun.objects.filter(protocol__deployment=deployment)
        .select_related("protocol")
        .first()
    )


def evidence_gap(deployment: Any) -> str | None:
    """Why the deployment has no acceptance-test evidence, or None when it has."""
    return gap_of(latest_locked(deployment), latest_run(deployment))


def gap_of(locked: AcceptanceProtocol | None, run: AcceptanceRun | None) -> str | None:
    """:func:`evidence_gap` from a deployment's latest locked protocol and latest run, for a
    caller that has read them already."""
    if locked is None:
        return "no approved and locked acceptance-test protocol"
    if run is None or run.protocol_id != locked.pk:
        return f"no run of the locked protocol {locked} yet"
    if run.synthetic:
        return f"the latest run ({run.created_at:%Y-%m-%d}) used synthetic cases"
    if not run.passed:
        return f"the latest run ({run.created_at:%Y-%m-%d}) failed its criteria"
    return None


def register() -> None:
    from radgov.inventory.lifecycle import register_acceptance_evidence

    register_acceptance_evidence(evidence_gap)
