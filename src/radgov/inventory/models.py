"""The inventory of imaging AI (practice parameter IV.B.2): products, model
versions with their documentation, and deployments at a site with their
lifecycle stage, people and routing criteria."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.models.base import AuditedModel
from radgov.dicom.criteria import Criteria
from radgov.inventory.stages import Stage


class Category(models.TextChoices):
    CADE = "cade", "CADe (detection)"
    CADT = "cadt", "CADt (triage / notification)"
    CADX = "cadx", "CADx (diagnosis)"
    QUANTIFICATION = "quantification", "Quantification"
    GENERATIVE = "generative", "Generative / foundation model"
    OTHER = "other", "Other"


class RegulatoryPathway(models.TextChoices):
    FDA_510K = "fda_510k", "FDA 510(k)"
    FDA_DE_NOVO = "fda_de_novo", "FDA De Novo"
    FDA_PMA = "fda_pma", "FDA PMA"
    NOT_FDA = "not_fda", "Not FDA-regulated"


class NotRegulatedReason(models.TextChoices):
    LOCALLY_DEVELOPED = "locally_developed", "Locally developed"
    GENERATIVE_AI = "generative_ai", "Generative AI"
    RESEARCH = "research", "Research use"


class DecisionRole(models.TextChoices):
    INFORMS = "informs", "Informs clinical management"
    AUGMENTS = "augments", "Augments clinical management"
    REPLACES = "replaces", "Replaces clinical management"


class VendorCompany(AuditedModel):
    """A manufacturer/developer (III.F): its products, and the vendor accounts that belong
    to it and see only its products (never another company's)."""

    name = models.CharField(max_length=200, unique=True)
    representatives = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="vendor_companies",
        help_text="vendor accounts of this company (one company per account)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "vendor companies"

    def __str__(self) -> str:
        return self.name


class Product(AuditedModel):
    company = models.ForeignKey(
        VendorCompany,
        on_delete=models.PROTECT,
        related_name="products",
        help_text="the manufacturer/developer",
    )
    vendor_contact = models.TextField(
        blank=True, help_text="name, e-mail, phone of the vendor's contact"
    )
    support_contact = models.TextField(blank=True, help_text="where to report a problem (IV.B.2.i)")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=32, choices=Category.choices)
    regulatory_pathway = models.CharField(max_length=32, choices=RegulatoryPathway.choices)
    fda_number = models.CharField(
        max_length=32, blank=True, help_text="510(k) K-number, De Novo DEN-number or PMA P-number"
    )
    fda_product_code = models.CharField(
        max_length=8, blank=True, help_text="three-letter FDA product code"
    )
    ce_ukca = models.CharField(
        max_length=200, blank=True, help_text="CE / UKCA marking and class, if any"
    )
    not_regulated_reason = models.CharField(
        max_length=32, choices=NotRegulatedReason.choices, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"], name="inventory_product_company_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.name}"

    @property
    def vendor(self) -> str:
        """The manufacturer/developer's name (its company's)."""
        return self.company.name

    @property
    def is_fda_regulated(self) -> bool:
        return self.regulatory_pathway != RegulatoryPathway.NOT_FDA

    @property
    def needs_extra_oversight(self) -> bool:
        """Not FDA-regulated, or generative: IRB determination and legal review needed."""
        return not self.is_fda_regulated or self.category == Category.GENERATIVE


class ModelVersion(AuditedModel):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=64)
    release_date = models.DateField(null=True, blank=True)
    release_notes = models.TextField(blank=True)
    advance_notice_date = models.DateField(
        null=True, blank=True, help_text="when the vendor announced this version to the practice"
    )
    # III.A.2: what the practice must understand
    intended_purpose = models.TextField(blank=True)
    inputs = models.TextField(blank=True)
    outputs = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    performance_factors = models.TextField(
        blank=True, help_text="factors that change performance (scanner, protocol, population...)"
    )
    # IFU performance claims
    claimed_sensitivity = models.FloatField(null=True, blank=True)
    claimed_specificity = models.FloatField(null=True, blank=True)
    claim_source = models.TextField(
        blank=True, help_text="where the claim comes from and on which population"
    )
    # model card (CHAI Applied Model Card, ONC HTI-1 source attributes)
    model_type = models.CharField(
        max_length=200, blank=True, help_text="e.g. 3D convolutional network"
    )
    intended_users = models.TextField(blank=True)
    target_population = models.TextField(blank=True, help_text="intended patient population")
    decision_role = models.CharField(
        max_length=16,
        choices=DecisionRole.choices,
        blank=True,
        help_text="intended decision-making role (HTI-1)",
    )
    out_of_scope_use = models.TextField(
        blank=True, help_text="tasks, situations or populations where use is cautioned against"
    )
    known_biases = models.TextField(blank=True, help_text="known biases or ethical considerations")
    clinical_risk_level = models.CharField(max_length=200, blank=True)
    development_data = models.TextField(
        blank=True,
        help_text="training data: sources, dates, inclusion/exclusion, demographic representativeness",
    )
    bias_mitigation = models.TextField(blank=True, help_text="approach to fairness and bias")
    external_validation = models.TextField(
        blank=True, help_text="external validation: data source, setting, who tested, process"
    )
    maintenance = models.TextField(
        blank=True, help_text="the developer's update, monitoring and correction process"
    )
    funding_source = models.CharField(max_length=200, blank=True)
    references = models.TextField(blank=True, help_text="publications, evaluations of outcomes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "-release_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "version"], name="inventory_modelversion_product_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.version}"


class Deployment(AuditedModel):
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="deployments"
    )
    site = models.CharField(max_length=200)
    status = models.CharField(max_length=32, choices=Stage.choices, default=Stage.REQUESTED)
    deployment_date = models.DateField(null=True, blank=True)
    clinical_champions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="championed_deployments"
    )
    end_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="qualified_deployments",
        help_text="qualified end-users",
    )
    pilot_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="pilot_deployments",
        help_text="the named small group of end-users of a pilot",
    )
    technical_contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="technical_deployments",
    )
    inclusion_criteria = models.JSONField(
        default=dict, blank=True, help_text="radgov.dicom.criteria.Criteria as a dict"
    )
    routing_notes = models.TextField(blank=True, help_text="DICOM / HL7 / FHIR routing notes")
    output_release_policy = models.TextField(
        blank=True, help_text="how and when the model's output is released (IV.C)"
    )
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model_version} at {self.site}"

    @property
    def product(self) -> Product:
        return self.model_version.product

    @property
    def criteria(self) -> Criteria:
        """The inclusion/exclusion criteria as a ``radgov.dicom.criteria.Criteria`` that the
        routing engine evaluates: ``deployment.criteria.evaluate(attributes)``."""
        return Criteria.from_dict(self.inclusion_criteria or {})


class AlarmSuspension(AuditedModel):
    """The governance group's standing decision that ``machine`` (a monitoring alarm: a
    periodic task or a monitoring system's API client) may suspend ``deployment`` when its
    alarm fires (IV.G).  Set and withdrawn by a governance-group member or an
    administrator; resuming the deployment stays a person's decision."""

    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="alarm_suspensions"
    )
    machine = models.ForeignKey("core.Machine", on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True, help_text="why, or the decision that settled it")
    allowed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    allowed_at = models.DateTimeField(auto_now_add=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["allowed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "machine"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="inventory_alarmsuspension_one_standing",
            )
        ]

    def __str__(self) -> str:
        return f"alarm suspension {self.pk} of {self.deployment} by {self.machine}"


class DeploymentTransition(AuditedModel):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.CharField(max_length=32, choices=Stage.choices)
    to_stage = models.CharField(max_length=32, choices=Stage.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_machine = models.ForeignKey(
        "core.Machine", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    alarm_suspension = models.ForeignKey(
        AlarmSuspension, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.deployment}: {self.from_stage} -> {self.to_stage}"

    @property
    def by_name(self) -> str | None:
        """Who made the move: a person's user name, or a machine's name."""
        if self.by is not None:
            return self.by.username
        return self.by_machine.name if self.by_machine is not None else None


class DocumentKind(models.TextChoices):
    IFU = "ifu", "Instructions for use (IFU)"
    RELEASE_NOTES = "release_notes", "Release notes"
    OTHER = "other", "Other"


def document_path(instance: Document, filename: str) -> str:
    return f"inventory/{instance.model_version_id}/{instance.sha256}.pdf"


class Document(AuditedModel):
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(max_length=32, choices=DocumentKind.choices)
    version_label = models.CharField(
        max_length=64, help_text="the document's own version, e.g. 'Rev C'"
    )
    title = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=document_path, max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_version", "kind", "-uploaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "kind", "version_label"],
                name="inventory_document_version_kind_label",
            )
        ]

    class Audit:
        # the uploader's file name can say anything; the trail keeps the SHA-256 and size
        redact = ["original_name"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.version_label} of {self.model_version}"
