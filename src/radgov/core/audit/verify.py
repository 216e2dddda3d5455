"""Verify the trail in the database: the chain, the checkpoints, the anchor file, and each
batch entry against the rows it names.

Reads, in this order so that concurrent writers cannot cause a false alarm:
the anchor file, the chain head, the checkpoints, then the entries in seq order
in chunks (never all in memory), from entry 1 or, after a recorded prune, from the signed
checkpoint the prune stopped at (``prune``).  The walk itself is ``chain.verify_rows``, the
same pure function the tests drive with in-memory rows.  The batches are checked last
(``rowcheck``), unless only the chain is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from radgov.core.audit import checkpoint, prune, rowcheck
from radgov.core.audit.chain import ROW_FIELDS, Problem, verify_rows
from radgov.core.audit.codes import Action, EventCode
from radgov.core.audit.writer import record
from radgov.core.models import AuditCheckpoint, AuditEntry, AuditHead


@dataclass
class Report:
    entries: int = 0
    first_seq: int = 1  # after a prune (radgov.core.audit.prune), the oldest entry kept
    last_seq: int = 0
    checkpoints: int = 0
    anchor_checked: bool = False
    rows: rowcheck.RowReport | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            anchor = "anchor file matches" if self.anchor_checked else "no anchor file"
            batches = "batches not checked against their rows"
            if self.rows is not None:
                batches = (
                    f"batches matching their rows: {self.rows.checked}, "
                    f"superseded by later writes: {self.rows.superseded}"
                )
            return (
                f"audit trail intact: {self.entries} entries ({self.first_seq}..{self.last_seq}), "
                f"signed checkpoints: {self.checkpoints}, {anchor}, {batches}"
            )
        return "; ".join(str(p) for p in self.problems)


def verify_trail(
    *,
    chunk_size: int = 2000,
    record_use: bool = True,
    actor_name: str | None = None,
    batch_rows: bool = True,
) -> Report:
    """Check everything (the batches' rows unless ``batch_rows`` is False); then (by default)
    record the verification as a use of the audit log."""
    try:
        anchor, anchor_problem = checkpoint.read_anchor(), None
    except checkpoint.AnchorUnreadable as exc:
        anchor, anchor_problem = None, Problem("anchor", str(exc))
    head = AuditHead.objects.filter(pk=1).values("seq").first()
    cps = list(
        AuditCheckpoint.objects.order_by("number").values("id", *checkpoint.CHECKPOINT_FIELDS)
    )
    cp_problem, expected = checkpoint.verify_checkpoints(cps, checkpoint.public_keys())
    start_seq, prev_hash, prune_problem = prune.walk_start()
    rows = AuditEntry.objects.order_by("seq").values(*ROW_FIELDS).iterator(chunk_size=chunk_size)
    try:
        walk = verify_rows(rows, expected=expected, start_seq=start_seq, prev_hash=prev_hash)
    finally:
        rows.close()  # the walk may stop early: release the cursor now
    report = Report(
        entries=walk.count,
        first_seq=start_seq,
        last_seq=walk.last_seq,
        checkpoints=len(cps),
        anchor_checked=anchor is not None,
    )
    if prune_problem:
        report.problems.append(prune_problem)
    elif walk.problem:
        report.problems.append(walk.problem)
    else:
        report.problems.extend(_truncation(walk.last_seq, cps, head["seq"] if head else 0))
    if cp_problem:
        report.problems.append(cp_problem)
    anchor_problem = anchor_problem or checkpoint.check_anchor(anchor, cps)
    if anchor_problem:
        report.problems.append(anchor_problem)
    if batch_rows:
        report.rows = rowcheck.check_batches(chunk_size=chunk_size)
        report.problems.extend(report.rows.problems)
    if record_use:
        _record_check(report, actor_name)
    return report


def _record_check(report: Report, actor_name: str | None) -> None:
    try:
        with transaction.atomic():
            record(
                action=Action.READ,
                object_type="core.auditentry",
                event_code=EventCode.AUDIT_LOG_USED,
                outcome="success" if report.ok else "failure",
                detail={
                    "purpose": "verify",
                    "entries": report.entries,
                    "intact": report.ok,
                    "batch_rows": report.rows is not None,
                },
                actor_name=actor_name,
            )
    except IntegrityError:
        # Only a tampered trail gets here: the head points at a seq that is taken.
        report.problems.append(
            Problem(
                "head",
                "this check could not be recorded: the chain head disagrees with the entries",
            )
        )


def _truncation(last_seq: int, cps: list[dict], head_seq: int) -> list[Problem]:
    problems = []
    covered = [cp for cp in cps if cp["seq"] > last_seq]
    if covered:
        cp = covered[-1]
        problems.append(
            Problem(
                "truncated",
                f"trail ends at {last_seq} but checkpoint {cp['number']} covers {cp['seq']} (truncated)",
                last_seq + 1,
            )
        )
    elif head_seq > last_seq:
        problems.append(
            Problem(
                "truncated",
                f"trail ends at {last_seq} but the chain head is at {head_seq} (truncated)",
                last_seq + 1,
            )
        )
    return problems
