"""The record of AI use (docs/exams.md): split by subdomain; later issues add report.py and
interaction.py beside these."""

from radgov.exams.models.base import ProcedureRecord
from radgov.exams.models.exam import Exam
from radgov.exams.models.inference import Inference, ResultObject, StatusChange
from radgov.exams.models.review import (
    Audience,
    Concordance,
    Delivery,
    DeliveryStatus,
    Destination,
    RejectReason,
    ReleaseMode,
    ReleasePolicy,
    Review,
    ReviewDecision,
    Standard,
)

__all__ = [
    "Audience",
    "Concordance",
    "Delivery",
    "DeliveryStatus",
    "Destination",
    "Exam",
    "Inference",
    "ProcedureRecord",
    "RejectReason",
    "ReleaseMode",
    "ReleasePolicy",
    "ResultObject",
    "Review",
    "ReviewDecision",
    "Standard",
    "StatusChange",
]
