"""IV.D: the practice's selection criteria, candidates and members' scores."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.models.base import AuditedModel


class CriterionCategory(models.TextChoices):
    CLINICAL = "clinical", "Clinical"
    TECHNICAL = "technical", "Technical"
    BUSINESS = "business", "Business"


class SelectionCriterion(AuditedModel):
    group = models.ForeignKey(
        "governance.GovernanceGroup", on_delete=models.PROTECT, related_name="criteria"
    )
    category = models.CharField(max_length=16, choices=CriterionCategory.choices)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    weight = models.DecimalField(max_digits=6, decimal_places=2)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["group", "category", "name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="governance_criterion_name")
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.name} (weight {self.weight})"


class Candidate(AuditedModel):
    """A product (or a named candidate not yet in the inventory) being compared
    for a request."""

    request = models.ForeignKey(
        "governance.ModelRequest", on_delete=models.PROTECT, related_name="candidates"
    )
    product = models.ForeignKey(
        "inventory.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["request", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return str(self.product) if self.product_id else self.name


class Score(AuditedModel):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(SelectionCriterion, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    value = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["candidate", "criterion", "member__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "criterion", "member"], name="governance_one_score"
            ),
            models.CheckConstraint(
                condition=models.Q(value__gte=1, value__lte=5), name="governance_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} scored {self.candidate} {self.value} on {self.criterion.name}"
