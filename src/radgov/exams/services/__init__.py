"""Every write to the record of AI use (docs/exams.md, "The services"): split like the
models, exams in ``exam``, inferences and their moves, outputs and result objects in
``inference``, the bulk path in ``bulk``, a routed study's inferences in ``routed``."""

from radgov.exams.errors import (
    BatchError,
    ExamConflict,
    ExamError,
    MoveError,
    NotPermitted,
    Problem,
)
from radgov.exams.services.bulk import BatchResult, Event, record_events
from radgov.exams.services.exam import Recorded, find_exam, record_exam
from radgov.exams.services.inference import (
    Moved,
    add_result_object,
    move,
    record_inference,
    record_outputs,
)
from radgov.exams.services.routed import Decided, record_routed, rows_routed

__all__ = [
    "BatchError",
    "BatchResult",
    "Decided",
    "Event",
    "ExamConflict",
    "ExamError",
    "Moved",
    "MoveError",
    "NotPermitted",
    "Problem",
    "Recorded",
    "add_result_object",
    "find_exam",
    "move",
    "record_events",
    "record_exam",
    "record_inference",
    "record_outputs",
    "record_routed",
    "rows_routed",
]
