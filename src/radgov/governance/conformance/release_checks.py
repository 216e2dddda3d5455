"""The conformance check of review before release (V, issue 16): each deployment in pilot
or deployed has a release policy recorded by the governance group; direct release names
the decision that allowed it."""

from __future__ import annotations

from typing import Any

from radgov.governance.conformance.registry import (
    DEPLOYMENT,
    Context,
    Result,
    check,
    failed,
    passed,
)


@check(
    "release_gate", "V", "Release of AI output after review, or by a recorded decision", DEPLOYMENT
)
def release_gate(d: Any, ctx: Context) -> Result:
    from radgov.exams.models import ReleaseMode, ReleasePolicy

    policy = ReleasePolicy.objects.select_related("decision__meeting").filter(deployment=d).first()
    if policy is None:
        return failed(
            "No release policy is recorded; results wait for review by default, but the "
            "governance group has not decided it.",
            "Record the release policy (review required, or direct release under a decision).",
        )
    seen = (
        f"seen before review by {policy.get_seen_before_review_display().lower()}, after by "
        f"{policy.get_seen_after_review_display().lower()}"
    )
    if policy.mode == ReleaseMode.REVIEW_REQUIRED:
        return passed(f"Released only after review by a qualified end-user; {seen}.")
    decision = policy.decision
    when = decision.meeting.held_on if decision is not None else None
    said = (decision.rationale or decision.motion).strip() if decision is not None else ""
    return passed(
        f"Direct release, allowed by the governance decision of {when:%Y-%m-%d} "
        f"(decision {decision.pk if decision else '?'}: {said[:160]}); {seen}."
    )
