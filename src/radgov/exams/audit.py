"""Every audit interaction of the exams app, in one place.

* Writes are audited by ``AuditedModel`` inside the services (one entry per row today).
  :func:`batch` wraps the bulk path and adds one ``import`` entry (DICOM 110107) with the
  count and the SHA-256 of what was imported.  When core's batch entries land, ``batch``
  becomes that one entry and the per-row entries of the bulk path go: a change here.
* Reads of patient data are ``read`` entries (110111 Procedure Record): :func:`read_exams`.
  They name the exams read (ids, never identifiers) and whether identifiers were shown.
* The command line's actor is made by :func:`command_line`; it becomes core's machine actor
  when that lands.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from radgov.core.audit import Action, EventCode, record
from radgov.core.context import ActingContext, acting_as
from radgov.exams.access import CommandLine

# A list read names at most this many exams one by one; the rest are counted.
MAX_IDS_LISTED = 500


@contextmanager
def command_line() -> Iterator[CommandLine]:
    """Act as the command line's operator: the audit trail names ``cli:<os account>``."""
    operator = CommandLine(f"cli:{getpass.getuser()}")
    # ActingContext takes its user from the request; a stand-in request carries the operator
    with acting_as(ActingContext(channel="cli", request=SimpleNamespace(user=operator))):
        yield operator


@dataclass
class Batch:
    """What a bulk write tells its one audit entry."""

    what: str
    sha256: str = ""
    counts: dict[str, int] = field(default_factory=dict)


@contextmanager
def batch(actor: Any, what: str, *, sha256: str = "") -> Iterator[Batch]:
    """Wrap a bulk write (inside its service's transaction); on success, one ``import``
    entry with the counts the body filled in and the digest of the input."""
    summary = Batch(what=what, sha256=sha256)
    yield summary
    record(
        action=Action.IMPORT,
        object_type="exams.batch",
        event_code=EventCode.IMPORT,
        actor=actor,
        detail={"what": summary.what, "sha256": summary.sha256, **summary.counts},
    )


def read_exams(
    actor: Any,
    exam_ids: Sequence[int],
    *,
    what: str,
    identifiers: bool = False,
    total: int | None = None,
    filters: dict[str, Any] | None = None,
) -> None:
    """One ``read`` entry for exams shown to ``actor`` (a page, an API answer, a listing)."""
    ids = list(dict.fromkeys(exam_ids))
    detail: dict[str, Any] = {"what": what, "identifiers": identifiers}
    if len(ids) == 1 and total is None:
        record(
            action=Action.READ,
            object_type="exams.exam",
            object_id=str(ids[0]),
            event_code=EventCode.PROCEDURE_RECORD,
            actor=actor,
            detail=detail,
        )
        return
    detail.update(
        exams=ids[:MAX_IDS_LISTED],
        shown=len(ids),
        total=len(ids) if total is None else total,
        filters={k: v for k, v in (filters or {}).items() if v not in (None, "")},
    )
    record(
        action=Action.READ,
        object_type="exams.exam",
        event_code=EventCode.PROCEDURE_RECORD,
        actor=actor,
        detail=detail,
    )
