"""The practice-wide conformance checks: the governance group (IV.A) and its
selection process (IV.D).  Each runs once, and only when the practice has a
governance group (without one, each fails with IV.A.1)."""

from __future__ import annotations

from radgov.core.roles import Role
from radgov.governance import selectors as gov
from radgov.governance.conformance.registry import (
    PRACTICE,
    Context,
    Result,
    check,
    failed,
    not_applicable,
    passed,
)
from radgov.governance.models import CriterionCategory, GovernanceGroup
from radgov.training.services import add_months

# --- practice-wide: the governance group (IV.A) and selection (IV.D) --------------------------


@check("group_exists", "IV.A.1", "An AI governance group is established", PRACTICE)
def group_exists(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    return passed(f"Governance group: {', '.join(g.name for g in groups)}.")


@check(
    "group_physician",
    "IV.A.2",
    "The group includes at least one physician/qualified end-user",
    PRACTICE,
)
def group_physician(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    without = [g for g in groups if gov.physician_count(g) < 1]
    if without:
        return failed(
            f"{', '.join(g.name for g in without)} has no physician/qualified end-user among "
            "its current members.",
            "Add a physician (role physician) to the group.",
        )
    counts = "; ".join(
        f"{g.name}: {n} physician member{'s' if n != 1 else ''}"
        for g, n in ((g, gov.physician_count(g)) for g in groups)
    )
    return passed(f"{counts}.")


@check(
    "group_interdisciplinary",
    "IV.A.2",
    "The rest of the group is interdisciplinary (the roles of section III)",
    PRACTICE,
)
def group_interdisciplinary(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    problems, found = [], []
    for g in groups:
        roles = sorted(
            {m.user.role for m in gov.memberships_on(g, ctx.day)} - {Role.PHYSICIAN.value}
        )
        labels = [Role(r).label for r in roles]
        if not roles:
            problems.append(g.name)
        found.append(f"{g.name}: {', '.join(labels) or 'physicians only'}")
    if problems:
        return failed(
            f"Members besides physicians: {'; '.join(found)}.",
            "Add members from the other roles of section III (medical physics, informatics/IT, "
            "data science, technologists, administration, legal/compliance).",
        )
    return passed(f"Members besides physicians: {'; '.join(found)}.")


@check(
    "meetings_recent",
    "IV.A.5",
    "The group meets regularly: a meeting within the meeting window",
    PRACTICE,
)
def meetings_recent(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    since = add_months(ctx.day, -ctx.meeting_months)  # type: ignore[arg-type]
    stale, found = [], []
    for g in groups:
        last = g.meetings.filter(held_on__lte=ctx.day).order_by("-held_on").first()
        if last is None or last.held_on < since:
            stale.append(g.name)
        found.append(
            f"{g.name} last met on {last.held_on:%Y-%m-%d}" if last else f"{g.name} never met"
        )
    months = f"{ctx.meeting_months} month{'s' if ctx.meeting_months != 1 else ''}"
    if stale:
        return failed(
            f"{'; '.join(found)}: no meeting since {since:%Y-%m-%d} (the last {months}).",
            "Hold a governance group meeting and record it with its notes.",
        )
    return passed(f"{'; '.join(found)} (within the last {months}).")


@check("meeting_notes", "IV.A.5", "Meetings in the period have notes", PRACTICE)
def meeting_notes(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    since = add_months(ctx.day, -ctx.meeting_months)  # type: ignore[arg-type]
    held = [
        m
        for g in groups
        for m in g.meetings.filter(held_on__gte=since, held_on__lte=ctx.day).order_by("held_on")
    ]
    if not held:
        return not_applicable(f"No meeting since {since:%Y-%m-%d} to keep notes of (see above).")
    bare = [m for m in held if not m.notes.strip()]
    if bare:
        return failed(
            f"{len(bare)} of {len(held)} meetings since {since:%Y-%m-%d} have no notes: "
            f"{', '.join(str(m) for m in bare)}.",
            "Record the notes of each meeting (meeting page).",
        )
    if len(held) == 1:
        return passed(f"The one meeting since {since:%Y-%m-%d} ({held[0]}) has notes.")
    return passed(f"All {len(held)} meetings since {since:%Y-%m-%d} have notes.")


@check("selection_criteria", "IV.D.1", "Selection criteria are defined", PRACTICE)
def selection_criteria(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    counts = {g.name: len(gov.criteria_of(g)) for g in groups}
    if not any(counts.values()):
        return failed(
            "The group has defined no active selection criteria.",
            "Define the criteria the group scores candidate models on (Requests page).",
        )
    return passed("; ".join(f"{name}: {n} active criteria" for name, n in counts.items()) + ".")


@check(
    "selection_considerations",
    "IV.D.2",
    "The criteria cover clinical, technical and business considerations",
    PRACTICE,
)
def selection_considerations(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    present = {c.category for g in groups for c in gov.criteria_of(g)}
    missing = [c.label.lower() for c in CriterionCategory if c.value not in present]
    if missing:
        return failed(
            f"No active {' or '.join(missing)} selection criterion.",
            f"Define at least one {', one '.join(missing)} criterion.",
        )
    return passed("Active criteria in each category: clinical, technical and business.")
