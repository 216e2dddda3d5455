"""The statuses of an inference (kept free of model imports so that the models, the move
table and the reason catalogue can all use them)."""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    RECEIVED = "received", "Received"
    EXCLUDED = "excluded", "Excluded"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent to the model"
    PROCESSING = "processing", "Processing"
    INFERRED = "inferred", "Inferred"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    RELEASED = "released", "Released"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Call(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    NONE = "none", "No call"


class Contrast(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


class Sex(models.TextChoices):
    MALE = "M", "Male"
    FEMALE = "F", "Female"
    OTHER = "O", "Other"


class Source(models.TextChoices):
    DICOM = "dicom", "DICOM gateway"
    API = "api", "API"
    FILE = "file", "Bulk file"
    HL7 = "hl7", "HL7 v2"
    FHIR = "fhir", "FHIR"
    DEMO = "demo", "Demo practice"


class ResultKind(models.TextChoices):
    SR = "SR", "Structured report (SR)"
    SEG = "SEG", "Segmentation (SEG)"
    SC = "SC", "Secondary capture (SC)"
    PDF = "PDF", "Encapsulated PDF"
    OTHER = "OTHER", "Other"


AGE_BAND_WIDTH = 5
AGE_BAND_TOP = 90  # "90 or older": HIPAA Safe Harbor aggregates ages over 89
AGE_BANDS = [
    (start, f"{start}-{start + AGE_BAND_WIDTH - 1}")
    for start in range(0, AGE_BAND_TOP, AGE_BAND_WIDTH)
] + [(AGE_BAND_TOP, f"{AGE_BAND_TOP}+")]


def age_band(years: float) -> int:
    """The lower bound of the five-year band of an age in years (90 for 90 and older)."""
    return min(int(years // AGE_BAND_WIDTH) * AGE_BAND_WIDTH, AGE_BAND_TOP)
