"""An imaging study as radgov knows it: pseudonymous identities, where and how it was
acquired, and the fields monitoring groups and compares by (docs/exams.md)."""

from __future__ import annotations

from django.db import models

from radgov.core.fields import EncryptedTextField, PseudonymField
from radgov.core.models import AccessionIdentity, PatientIdentity
from radgov.exams.models.base import ProcedureRecord
from radgov.exams.statuses import AGE_BANDS, Contrast, Sex, Source


class Exam(ProcedureRecord):
    study_uid_hash = PseudonymField(
        unique=True, help_text="keyed pseudonym of the Study Instance UID"
    )
    study_uid_encrypted = EncryptedTextField(help_text="the Study Instance UID, AES-GCM encrypted")
    patient = models.ForeignKey(
        PatientIdentity, null=True, blank=True, on_delete=models.PROTECT, related_name="exams"
    )
    accession = models.ForeignKey(
        AccessionIdentity, null=True, blank=True, on_delete=models.PROTECT, related_name="exams"
    )
    site = models.CharField(
        max_length=200, blank=True, help_text="where it was acquired, as deployments name sites"
    )
    study_datetime = models.DateTimeField(null=True, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    manufacturer = models.CharField(max_length=64, blank=True)
    manufacturer_model = models.CharField(max_length=64, blank=True)
    software_versions = models.CharField(max_length=200, blank=True)
    station_name = models.CharField(max_length=64, blank=True)
    protocol_name = models.CharField(max_length=64, blank=True)
    series_description = models.CharField(max_length=64, blank=True)
    slice_thickness_mm = models.FloatField(null=True, blank=True)
    kvp = models.FloatField(null=True, blank=True)
    pixel_spacing_mm = models.FloatField(
        null=True, blank=True, help_text="in-plane pixel spacing (row spacing), mm"
    )
    contrast = models.CharField(max_length=8, choices=Contrast.choices, default=Contrast.UNKNOWN)
    contrast_agent = models.CharField(max_length=64, blank=True)
    contrast_phase = models.CharField(max_length=32, blank=True)
    age_band = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=AGE_BANDS, help_text="lower bound of a five-year band"
    )
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-study_datetime", "-id"]
        indexes = [
            models.Index(fields=["study_datetime"], name="exams_exam_study_dt"),
            models.Index(fields=["site", "study_datetime"], name="exams_exam_site_dt"),
        ]

    def __str__(self) -> str:
        return f"exam {self.pk}"
