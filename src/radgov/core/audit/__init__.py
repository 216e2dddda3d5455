"""The audit trail: append-only, hash-chained, checkpointed with signatures.

``record(...)`` is the one audit call; see ``writer.record``.  The chain format
is in ``chain``, checkpoints and the anchor file in ``checkpoint``, the
database-backed check in ``verify``, reads of the trail in ``selectors``.
"""

from radgov.core.audit.codes import Action, EventCode
from radgov.core.audit.writer import record

__all__ = ["Action", "EventCode", "record"]
