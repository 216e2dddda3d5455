"""Who may read and write the record of AI use (docs/exams.md, "Who may read what").

The route rules (``permissions.py``) admit roles to pages and endpoints; the selectors and
services ask these functions again per object, so a loosened route rule still refuses.
Vendors never see patient data (III.F); identifiers are shown only to the roles that work
with patients by name (minimum necessary); writes come from the people who connect an
orchestrator to radgov, from machines holding the ``exams.record`` grant (the gateway's
routing task, an orchestrator's API client) and from the command line's operator.
"""

from __future__ import annotations

import getpass
from typing import Any

from radgov.core import context, policy
from radgov.core.roles import Role
from radgov.exams.errors import NotPermitted

READERS = frozenset(r.value for r in Role if r != Role.VENDOR)
IDENTIFIER_READERS = frozenset(
    r.value
    for r in (
        Role.PHYSICIAN,
        Role.TECHNOLOGIST,
        Role.INFORMATICS,
        Role.ADMINISTRATOR,
        Role.COMPLIANCE,
    )
)
WRITERS = frozenset(r.value for r in (Role.INFORMATICS, Role.ADMINISTRATOR))
RECORD = "exams.record"  # the grant of a machine that records exams and inferences


def is_operator(actor: Any) -> bool:
    """The operator of ``radgov`` at the server's console (who holds the database and the
    keys anyway): core's convention, no actor inside a command's acting context
    (``ActingContext(channel="cli")``)."""
    return actor is None and context.current().channel == "cli"


def person_role(actor: Any) -> str | None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    if not getattr(actor, "is_active", False):
        return None
    return str(getattr(actor, "role", "") or "") or None


def machine_records(actor: Any) -> bool:
    return policy.machine_may(actor, RECORD)


def may_read(actor: Any) -> bool:
    return is_operator(actor) or machine_records(actor) or person_role(actor) in READERS


def may_see_identifiers(actor: Any) -> bool:
    """The command line prints no identifiers and machines never see them."""
    return not policy.is_machine(actor) and person_role(actor) in IDENTIFIER_READERS


def may_write(actor: Any) -> bool:
    return is_operator(actor) or machine_records(actor) or person_role(actor) in WRITERS


def require_read(actor: Any) -> None:
    if not may_read(actor):
        raise NotPermitted("III.F: this role may not read the practice's patient data")


def require_write(actor: Any) -> None:
    if not may_write(actor):
        raise NotPermitted(
            "only imaging informatics and administrators record exams and AI inferences"
        )


def actor_person(actor: Any) -> Any:
    """The person a status change keeps as its actor: None for a machine or no one."""
    return None if actor is None or policy.is_machine(actor) else actor


def actor_name(actor: Any) -> str:
    """The name a status change keeps: the person's or machine's, ``cli:<os account>`` for
    the operator at the console."""
    if is_operator(actor):
        return f"cli:{getpass.getuser()}"
    return actor.get_username() if actor is not None else ""
