"""Who may be named on a deployment, and as what: a clinical champion holds the capacity,
is not a member of the governance group (IV.A.4) and not a vendor; qualified end-users and
the pilot group are licensed physicians (III.A.1); the local technical contact is the
practice's own.  The deployment services refuse anyone else with these sentences, and the
conformance audit reads the people recorded with them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from radgov.core.roles import Role


def named(value: Iterable[Any] | None) -> list[Any]:
    """The people given, without the empty picks."""
    return [p for p in (value or []) if p is not None]


def _champion_problem(user: Any) -> str | None:
    if user.role == Role.VENDOR:
        return "is a vendor (IV.A.4: a clinical champion is a clinician of the practice)"
    if user.is_governance_member:
        return (
            "is a member of the governance group (IV.A.4: a clinical champion brings requests "
            "to the group and is not a member of it)"
        )
    if not user.is_clinical_champion:
        return "is not designated a clinical champion (an administrator designates them)"
    return None


def _end_user_problem(user: Any) -> str | None:
    if user.role != Role.PHYSICIAN:
        return (
            f"is {user.role_label}, not a physician (III.A.1: a qualified end-user is a "
            "licensed physician)"
        )
    if not user.license_number.strip():
        return (
            "has no license recorded (III.A.1: a qualified end-user is a licensed physician; "
            "an administrator records the license)"
        )
    return None


def people_problems(
    *,
    clinical_champions: Iterable[Any] = (),
    end_users: Iterable[Any] = (),
    pilot_users: Iterable[Any] = (),
    technical_contact: Any = None,
) -> list[str]:
    """What is wrong with the people named on a deployment, one sentence each, naming the
    field and the person: champions (IV.A.4), qualified end-users and the pilot group
    (III.A.1), the local technical contact (IV.B.2.i).  Empty when everyone fits."""
    checks = [
        ("clinical_champions", named(clinical_champions), _champion_problem),
        ("end_users", named(end_users), _end_user_problem),
        ("pilot_users", named(pilot_users), _end_user_problem),
    ]
    problems = []
    for field, users, problem_of in checks:
        for user in users:
            why = "'s account is disabled" if not user.is_active else problem_of(user)
            if why:
                sep = "" if why.startswith("'") else " "
                problems.append(f"{field}: {user.get_username()}{sep}{why}")
    if technical_contact is not None and technical_contact.role == Role.VENDOR:
        problems.append(
            f"technical_contact: {technical_contact.get_username()} is a vendor; the local "
            "technical contact is the practice's own (IV.B.2.i)"
        )
    return problems
