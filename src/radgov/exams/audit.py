"""Reads of the record of AI use, audited.

* Writes are audited by ``AuditedModel`` inside the services; the bulk path gathers them
  into one ``import`` entry (DICOM 110107) with core's ``radgov.core.audit.batch`` (count,
  row keys, digest of what was stored, and the SHA-256 of the file).
* Reads of patient data are ``read`` entries (110111 Procedure Record): :func:`read_exams`.
  They name the exams read (ids, never identifiers) and whether identifiers were shown.
* The command line acts as core's operator (no actor, channel ``cli``); its entries name
  ``cli:<os account>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from radgov.core.audit import Action, EventCode, record
from radgov.exams.access import actor_name

# A list read names at most this many exams one by one; the rest are counted.
MAX_IDS_LISTED = 500


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
            actor_name=actor_name(actor),
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
        actor_name=actor_name(actor),
        detail=detail,
    )
