"""The audit trail: append-only, hash-chained, checkpointed with signatures.

``record(...)`` is the one audit call (``writer.record``); ``batch(...)`` gathers a bulk
write into one entry (``batch``).  Inside a service, entries join the chain when it commits
(``pending``, ``writer.append``).  The chain format is in ``chain``, checkpoints and the
anchor file in ``checkpoint``, the database-backed check in ``verify`` (and ``rowcheck`` for
the batches' rows), reads of the trail in ``selectors``.
"""

from radgov.core.audit.batch import batch
from radgov.core.audit.codes import Action, EventCode
from radgov.core.audit.writer import record

__all__ = ["Action", "EventCode", "batch", "record"]
