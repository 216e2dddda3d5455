"""The record of AI use (docs/exams.md): split by subdomain; later issues add report.py and
interaction.py beside these."""

from radgov.exams.models.exam import Exam
from radgov.exams.models.inference import Inference, ResultObject, StatusChange
from radgov.exams.models.review import (
    Audience,
    Concordance,
    Delivery,
    DeliveryStatus,
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
    "Exam",
    "Inference",
    "RejectReason",
    "ReleaseMode",
    "ReleasePolicy",
    "ResultObject",
    "Review",
    "ReviewDecision",
    "Standard",
    "StatusChange",
]
