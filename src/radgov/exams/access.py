"""Who may read and write the record of AI use (docs/exams.md, "Who may read what").

The route rules (``permissions.py``) admit roles to pages and endpoints; the selectors and
services ask these functions again per object, so a loosened route rule still refuses.
Vendors never see patient data (III.F); identifiers are shown only to the roles that work
with patients by name (minimum necessary); writes come from the people who connect an
orchestrator to radgov, and from the command line's operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class CommandLine:
    """The operator of ``radgov`` on the server (who holds the database and the keys anyway),
    named ``cli:<account>`` in the audit trail.  Core's machine actors replace it when they
    land; until then it is made only by ``radgov.exams.audit.command_line``."""

    username: str
    pk: None = None
    role: str = ""
    is_authenticated: bool = True
    is_active: bool = True

    def get_username(self) -> str:
        return self.username


def _person_role(actor: Any) -> str | None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    if not getattr(actor, "is_active", False):
        return None
    return str(getattr(actor, "role", "") or "") or None


def may_read(actor: Any) -> bool:
    return isinstance(actor, CommandLine) or _person_role(actor) in READERS


def may_see_identifiers(actor: Any) -> bool:
    """The command line prints no identifiers, so its operator is not among these."""
    return not isinstance(actor, CommandLine) and _person_role(actor) in IDENTIFIER_READERS


def may_write(actor: Any) -> bool:
    return isinstance(actor, CommandLine) or _person_role(actor) in WRITERS


def require_read(actor: Any) -> None:
    if not may_read(actor):
        raise NotPermitted("III.F: this role may not read the practice's patient data")


def require_write(actor: Any) -> None:
    if not may_write(actor):
        raise NotPermitted(
            "only imaging informatics and administrators record exams and AI inferences"
        )


def actor_name(actor: Any) -> str:
    return actor.get_username() if actor is not None else ""
