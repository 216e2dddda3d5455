"""Verify the trail in the database: the chain, the checkpoints, the anchor file, and each
batch entry against the rows it names.

Reads, in this order so that concurrent writers cannot cause a false alarm:
the anchor file, the chain heads, the checkpoints, then each stripe's entries in seq order
in chunks (never all in memory), from entry 1 or, after a recorded prune, from the signed
checkpoint the prune stopped at (``prune``).  The walk itself is ``chain.verify_rows``, the
same pure function the tests drive with in-memory rows.  The batches are checked last
(``rowcheck``), unless only the chain is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
    last_seq: int = 0  # of stripe 0
    stripes: int = 0  # how many stripes hold entries
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
            stripes = f" and {self.stripes - 1} more stripes" if self.stripes > 1 else ""
            return (
                f"audit trail intact: {self.entries} entries ({self.first_seq}..{self.last_seq}"
                f"{stripes}), "
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
    heads = {pk - 1: seq for pk, seq in AuditHead.objects.values_list("pk", "seq")}
    cps = list(
        AuditCheckpoint.objects.order_by("number").values("id", *checkpoint.CHECKPOINT_FIELDS)
    )
    cp_problem, expected = checkpoint.verify_checkpoints(cps, checkpoint.public_keys())
    report = Report(checkpoints=len(cps), anchor_checked=anchor is not None)
    found = set(AuditEntry.objects.order_by().values_list("stripe", flat=True).distinct())
    for stripe in sorted({0} | found | set(heads) | set(expected)):
        problem = _walk(
            report, stripe, expected.get(stripe, {}), cps, heads.get(stripe, 0), chunk_size
        )
        if problem is not None:
            report.problems.append(
                problem if not stripe else replace(problem, message=f"stripe {stripe}: {problem}")
            )
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


def _walk(
    report: Report,
    stripe: int,
    expected: dict[int, tuple[int, str]],
    cps: list[dict],
    head_seq: int,
    chunk_size: int,
) -> Problem | None:
    """Walk one stripe's chain; count it in ``report`` and return its first problem."""
    start_seq, prev_hash, prune_problem = prune.walk_start(stripe)
    rows = (
        AuditEntry.objects.filter(stripe=stripe)
        .order_by("seq")
        .values(*ROW_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    try:
        walk = verify_rows(rows, expected=expected, start_seq=start_seq, prev_hash=prev_hash)
    finally:
        rows.close()  # the walk may stop early: release the cursor now
    report.entries += walk.count
    report.stripes += 1 if walk.count else 0
    if stripe == 0:
        report.first_seq, report.last_seq = start_seq, walk.last_seq
    if prune_problem or walk.problem:
        return prune_problem or walk.problem
    return _truncation(stripe, walk.last_seq, cps, head_seq)


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


def _truncation(stripe: int, last_seq: int, cps: list[dict], head_seq: int) -> Problem | None:
    covered = [cp for cp in cps if checkpoint.heads(cp).get(stripe, (0, ""))[0] > last_seq]
    if covered:
        cp = covered[-1]
        return Problem(
            "truncated",
            f"trail ends at {last_seq} but checkpoint {cp['number']} covers "
            f"{checkpoint.heads(cp)[stripe][0]} (truncated)",
            last_seq + 1,
        )
    if head_seq > last_seq:
        return Problem(
            "truncated",
            f"trail ends at {last_seq} but the chain head is at {head_seq} (truncated)",
            last_seq + 1,
        )
    return None
