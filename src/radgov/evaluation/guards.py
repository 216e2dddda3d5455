"""Acceptance-test evidence for the deployment lifecycle (IV.E), registered with the
inventory's lifecycle in ``EvaluationConfig.ready``.

A deployment has evidence when its latest run is on the latest locked protocol version,
passed every criterion, and used real cases.  A run on synthetic data shows that the
protocol and the pipeline work; it says nothing about the model on local patients, so it
never counts.  A later failed run replaces an earlier pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.inventory.lifecycle import fact, remember


def latest_locked(deployment: Any) -> AcceptanceProtocol | None:
    return (
        AcceptanceProtocol.objects.filter(deployment=deployment, locked_at__isnull=False)
        .order_by("-version")
        .first()
    )


def latest_run(deployment: Any) -> AcceptanceRun | None:
    return (
        AcceptanceRun.objects.filter(protocol__deployment=deployment)
        .select_related("protocol", "repeats__protocol")
        .first()
    )


def evidence_gap(deployment: Any) -> str | None:
    """Why the deployment has no acceptance-test evidence, or None when it has."""
    return fact(
        "evaluation.gap",
        deployment.pk,
        lambda: gap_of(latest_locked(deployment), latest_run(deployment)),
    )


@dataclass(frozen=True)
class Latest:
    """For many deployments at once (by pk): the latest protocol version, the latest locked
    one and the latest run, as ``current_protocol``, ``latest_locked`` and ``latest_run``
    find them one by one.  Runs come without their stored result and report."""

    protocol: dict[Any, AcceptanceProtocol]
    locked: dict[Any, AcceptanceProtocol]
    run: dict[Any, AcceptanceRun]


def latest_of(deployments: list[Any]) -> Latest:
    latest = Latest({}, {}, {})
    protocols = AcceptanceProtocol.objects.filter(deployment__in=deployments)
    for p in protocols.select_related("locked_by", "created_by").order_by("-version"):
        latest.protocol.setdefault(p.deployment_id, p)
        if p.locked_at is not None:
            latest.locked.setdefault(p.deployment_id, p)
    runs = AcceptanceRun.objects.filter(protocol__deployment__in=deployments)
    for r in runs.select_related("protocol").defer("result", "report_html"):
        latest.run.setdefault(r.protocol.deployment_id, r)  # the runs' own order: latest first
    return latest


def preload(deployments: list[Any]) -> None:
    """The evidence gap of a whole list of deployments, in two queries."""
    latest = latest_of(deployments)
    for d in deployments:
        remember("evaluation.gap", d.pk, gap_of(latest.locked.get(d.pk), latest.run.get(d.pk)))


REASON_SHOWN = 140  # characters of an amendment's reason in a sentence about it


def amendment_decision(protocol: AcceptanceProtocol) -> Any:
    """The group's standing decision accepting ``protocol``'s amendment after results."""
    from radgov.governance.selectors import amendment_acceptance

    return amendment_acceptance(protocol)


def unaccepted_amendment(protocol: AcceptanceProtocol) -> bool:
    """Amended after results, and the group has not accepted the amendment (IV.E.2)."""
    return protocol.amended_after_results and amendment_decision(protocol) is None


def post_hoc_note(protocol: AcceptanceProtocol) -> str:
    """'' unless ``protocol`` was amended after results were seen; then that it was, and
    whether the governance group accepted the amendment (IV.E.2)."""
    if not protocol.amended_after_results:
        return ""
    reason = protocol.amendment_reason.strip()
    reason = reason if len(reason) <= REASON_SHOWN else reason[: REASON_SHOWN - 1] + "…"
    text = (
        f"Post hoc: protocol version {protocol.version} was amended after results were seen "
        f"(reason: {reason})"
    )
    decision = amendment_decision(protocol)
    if decision is None:
        return (
            f"{text}; the governance group has not accepted the amendment, so its runs are "
            "not acceptance evidence (IV.E.2)."
        )
    return (
        f"{text}; accepted by the governance group's decision #{decision.pk} of "
        f"{decision.meeting.held_on:%Y-%m-%d}."
    )


def rerun_note(run: AcceptanceRun) -> str:
    """'' unless the run's cases file was used before for the deployment (same SHA-256)."""
    first = run.repeats
    if first is None:
        return ""
    return (
        f"Rerun: the same cases file (SHA-256 {run.cases_sha256[:12]}…) was used by run "
        f"{first.pk} of {first.created_at:%Y-%m-%d} (protocol version {first.protocol.version})."
    )


def gap_of(locked: AcceptanceProtocol | None, run: AcceptanceRun | None) -> str | None:
    """:func:`evidence_gap` from a deployment's latest locked protocol and latest run, for a
    caller that has read them already."""
    if locked is None:
        return "no approved and locked acceptance-test protocol"
    if run is None or run.protocol_id != locked.pk:
        return f"no run of the locked protocol {locked} yet"
    if unaccepted_amendment(locked):
        return (
            f"protocol version {locked.version} was amended after results were seen and the "
            "governance group has not accepted the amendment (IV.E.2)"
        )
    if run.synthetic:
        return f"the latest run ({run.created_at:%Y-%m-%d}) used synthetic cases"
    if not run.passed:
        return f"the latest run ({run.created_at:%Y-%m-%d}) failed its criteria"
    return None


def register() -> None:
    from radgov.inventory.lifecycle import LIFECYCLE

    LIFECYCLE.register_evidence(evidence_gap)
    LIFECYCLE.register_preload(preload)
