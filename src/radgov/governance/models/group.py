"""The group, its members, their declared conflicts, and requests from clinical champions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.models.base import AuditedModel


class GovernanceGroup(AuditedModel):
    """IV.A.1: the practice's AI governance group."""

    name = models.CharField(max_length=200, unique=True)
    charter = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who sees how members voted and what they declared: the group's members, administrators
    # and legal/compliance always; the practice's other staff only when the group allows it.
    votes_visible_to_staff = models.BooleanField(
        default=False, help_text="every staff member sees vote tallies and who voted how"
    )
    conflicts_visible_to_staff = models.BooleanField(
        default=False, help_text="every staff member sees the declared conflicts of interest"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def active_memberships(self) -> models.QuerySet[Membership]:
        return self.memberships.filter(left_on__isnull=True).select_related("user")


class Position(models.TextChoices):
    CHAIR = "chair", "Chair"
    MEMBER = "member", "Member"


class Membership(AuditedModel):
    """A person's seat on the group; active while ``left_on`` is empty.  Kept in
    step with ``User.is_governance_member`` by the services."""

    group = models.ForeignKey(GovernanceGroup, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="governance_memberships"
    )
    position = models.CharField(max_length=16, choices=Position.choices, default=Position.MEMBER)
    joined_on = models.DateField()
    left_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["group", "left_on", "-position", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "user"],
                condition=models.Q(left_on__isnull=True),
                name="governance_one_active_membership",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_position_display()}) in {self.group}"

    @property
    def is_active(self) -> bool:
        return self.left_on is None


class ConflictDeclaration(AuditedModel):
    """IV.A.3: a declared conflict of interest, on a product or on a whole vendor."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conflict_declarations"
    )
    product = models.ForeignKey(
        "inventory.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    vendor = models.CharField(
        max_length=200, blank=True, help_text="a vendor's name, as in the inventory"
    )
    description = models.TextField()
    declared_on = models.DateField()

    class Meta:
        ordering = ["-declared_on", "-id"]

    def __str__(self) -> str:
        return f"{self.user}: conflict on {self.product or self.vendor}"

    @property
    def subject(self) -> str:
        return str(self.product) if self.product_id else f"vendor {self.vendor}"


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class ModelRequest(AuditedModel):
    """IV.A.4: a request for a new AI model, brought to the group by a clinical champion."""

    group = models.ForeignKey(GovernanceGroup, on_delete=models.PROTECT, related_name="requests")
    champion = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="model_requests"
    )
    clinical_need = models.TextField()
    proposed_product = models.ForeignKey(
        "inventory.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    candidate_name = models.CharField(
        max_length=200, blank=True, help_text="when the product is not in the inventory yet"
    )
    expected_benefit = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED
    )
    decision = models.ForeignKey(
        "governance.Decision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"Request #{self.pk}: {self.subject_name}"

    @property
    def subject_name(self) -> str:
        return str(self.proposed_product) if self.proposed_product_id else self.candidate_name
