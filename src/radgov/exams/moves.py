"""An inference's status as an explicit state machine (the shape of
``radgov.inventory.lifecycle``): a table of allowed moves, guards other apps register for a
target status, and refusals that say what is allowed instead.

    received -> queued -> sent -> processing -> inferred -> released <-> withdrawn
    (forward steps may be skipped); received -> excluded (final);
    received, queued, sent, processing -> rejected | failed -> queued (resent, retried)

The move itself is the service ``radgov.exams.services.move``.  A guard is
``guard(inference) -> list[str]``, each item a sentence of what is missing (issue 16 holds
release until review this way).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from radgov.core.registries import swapped
from radgov.exams.reasons import NEEDS_REASON
from radgov.exams.statuses import Status

if TYPE_CHECKING:
    from radgov.exams.models import Inference

Guard = Callable[["Inference"], list[str]]

S = Status
PIPELINE = (S.QUEUED, S.SENT, S.PROCESSING, S.INFERRED)
ALLOWED: dict[Status, tuple[Status, ...]] = {
    S.RECEIVED: (*PIPELINE, S.EXCLUDED, S.REJECTED, S.FAILED),
    S.QUEUED: (S.SENT, S.PROCESSING, S.INFERRED, S.REJECTED, S.FAILED),
    S.SENT: (S.PROCESSING, S.INFERRED, S.REJECTED, S.FAILED),
    S.PROCESSING: (S.INFERRED, S.REJECTED, S.FAILED),
    S.INFERRED: (S.RELEASED,),
    S.RELEASED: (S.WITHDRAWN,),
    S.WITHDRAWN: (S.RELEASED,),
    S.REJECTED: (S.QUEUED,),  # resent after a technologist fixed it
    S.FAILED: (S.QUEUED,),  # retried
    S.EXCLUDED: (),
}

REASON_REQUIRED = frozenset(Status(s) for s in NEEDS_REASON)


def refusal(current: Status | str, target: Status | str) -> str | None:
    """None when the table allows the move; otherwise why not, naming what is allowed."""
    current, target = Status(current), Status(target)
    allowed = ALLOWED[current]
    if target in allowed:
        return None
    if not allowed:
        return f"an inference cannot go from {current.value} to {target.value}: {current.value} is final"
    return (
        f"an inference cannot go from {current.value} to {target.value}; from {current.value} "
        f"it may go to: {', '.join(s.value for s in allowed)}"
    )


class Guards:
    """The guards of each target status, registered once from the apps' ``ready()``
    (``exams/apps.py``); tests replace them with :meth:`override`."""

    def __init__(self) -> None:
        self._by_target: dict[Status, list[Guard]] = {status: [] for status in Status}

    def register(self, target: Status | str, guard: Guard) -> None:
        """Run ``guard`` before any move into ``target``.  Registering twice is harmless."""
        guards = self._by_target[Status(target)]
        if guard not in guards:
            guards.append(guard)

    def missing_for(self, inference: Inference, target: Status | str) -> list[str]:
        """What every guard of ``target`` says is missing (empty: the guards would pass)."""
        missing: list[str] = []
        for guard in self._by_target[Status(target)]:
            missing.extend(guard(inference))
        return missing

    def guarded(self, target: Status | str) -> bool:
        """True when some guard is registered for ``target`` (a bulk write that makes many
        moves at once runs them only then)."""
        return bool(self._by_target[Status(target)])

    def override(self) -> AbstractContextManager[Guards]:
        """For tests: no guard registered until the block ends (register some inside)."""
        return swapped(self, "_by_target", {status: [] for status in Status})


GUARDS = Guards()
register_guard = GUARDS.register
missing_for = GUARDS.missing_for
guarded = GUARDS.guarded
