"""The record of AI use (docs/exams.md): split by subdomain; later issues add review.py,
report.py and interaction.py beside these."""

from radgov.exams.models.exam import Exam
from radgov.exams.models.inference import Inference, ResultObject, StatusChange

__all__ = ["Exam", "Inference", "ResultObject", "StatusChange"]
