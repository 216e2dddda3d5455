"""III.H and V: the regulatory checklist per model version, the product's
regulatory profile (local use vs cleared use, PHI to the vendor) and BAAs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.models.base import AuditedModel


class Framework(models.TextChoices):
    HIPAA_HITECH = "hipaa_hitech", "HIPAA/HITECH"
    FDA_SAMD = "fda_samd", "FDA Software as a Medical Device (SaMD)"
    EU_MDR = "eu_mdr", "EU Medical Device Regulation (MDR)"
    EU_AI_ACT = "eu_ai_act", "EU AI Act"
    GDPR = "gdpr", "General Data Protection Regulation (GDPR)"
    CIVIL_RIGHTS_ADA = "civil_rights_ada", "US Civil Rights Act (Title VII) and ADA (bias)"
    STATE_LOCAL = "state_local", "State and local law"


class ItemStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLIANT = "compliant", "Compliant"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NON_COMPLIANT = "non_compliant", "Non-compliant"


class RegulatoryItem(AuditedModel):
    model_version = models.ForeignKey(
        "inventory.ModelVersion", on_delete=models.PROTECT, related_name="regulatory_items"
    )
    framework = models.CharField(max_length=32, choices=Framework.choices)
    status = models.CharField(
        max_length=16, choices=ItemStatus.choices, default=ItemStatus.NOT_STARTED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence = models.TextField(blank=True)
    evidence_document = models.ForeignKey(
        "inventory.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["model_version", "framework"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "framework"], name="governance_one_item_per_framework"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_framework_display()} for {self.model_version}: {self.get_status_display()}"
        )


class RegulatoryProfile(AuditedModel):
    """How the practice uses a product, against what it is cleared for."""

    product = models.OneToOneField(
        "inventory.Product", on_delete=models.PROTECT, related_name="regulatory_profile"
    )
    local_use = models.CharField(
        max_length=32,
        help_text="how the practice uses it, in the inventory's categories (cadt, cadx, ...)",
    )
    scope_of_clearance = models.TextField(blank=True, help_text="the cleared indication for use")
    off_label_decision = models.TextField(
        blank=True, help_text="the group's informed decision to use the product off-label (V)"
    )
    phi_reaches_vendor = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Regulatory profile of {self.product}"


class Baa(AuditedModel):
    """A business associate agreement with a vendor (HIPAA; V)."""

    vendor = models.CharField(max_length=200, help_text="the vendor's name, as in the inventory")
    covers_phi = models.BooleanField(default=True)
    signed_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    document_reference = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["vendor", "-signed_on"]

    def __str__(self) -> str:
        return f"BAA with {self.vendor} signed {self.signed_on:%Y-%m-%d}"
