"""IV.A.5: meetings with attendees, agenda, notes, and decisions with votes.

A meeting is open until its chair approves the minutes, which closes it: from then on its
decisions are final (no vote, decision, note, agenda item or attendance changes).  A change
of mind afterwards is a new decision at a later meeting that ``reconsiders`` the old one;
the old record stays as it was."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.models.base import AuditedModel


class Meeting(AuditedModel):
    group = models.ForeignKey(
        "governance.GovernanceGroup", on_delete=models.PROTECT, related_name="meetings"
    )
    held_on = models.DateField()
    title = models.CharField(max_length=200, default="Governance group meeting")
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="governance_meetings"
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="when the chair approved the minutes; decisions final"
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.held_on:%Y-%m-%d})"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class AgendaItem(AuditedModel):
    """One subject of a meeting: a request, a product or a deployment."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    order = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    request = models.ForeignKey(
        "governance.ModelRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey(
        "inventory.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deployment = models.ForeignKey(
        "inventory.Deployment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    discussion = models.TextField(blank=True)

    class Meta:
        ordering = ["meeting", "order", "id"]

    def __str__(self) -> str:
        return f"{self.order}. {self.title}"


class DecisionKind(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    ACCEPTANCE_TEST_WAIVER = "acceptance_test_waiver", "Waive local acceptance testing"
    ACCEPT_AMENDMENT = "accept_amendment", "Accept a protocol amended after results"
    IRB_DETERMINATION = "irb_determination", "IRB determination (recorded)"
    LEGAL_REVIEW = "legal_review", "Legal/compliance review (recorded)"
    OTHER = "other", "Other"


# Records of what someone else determined (the IRB, legal/compliance): recorded, not voted.
RECORD_KINDS = frozenset({DecisionKind.IRB_DETERMINATION, DecisionKind.LEGAL_REVIEW})
RECORD_KINDS_VALUES = frozenset(k.value for k in RECORD_KINDS)


class Decision(AuditedModel):
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="decisions")
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    kind = models.CharField(max_length=32, choices=DecisionKind.choices)
    motion = models.CharField(max_length=300)
    deployment = models.ForeignKey(
        "inventory.Deployment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey(
        "inventory.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    request = models.ForeignKey(
        "governance.ModelRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    protocol = models.ForeignKey(
        "evaluation.AcceptanceProtocol",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the acceptance-test protocol amended after results that this accepts",
    )
    rationale = models.TextField(blank=True)
    justification = models.TextField(blank=True, help_text="why acceptance testing is waived")
    determination = models.TextField(blank=True, help_text="the IRB's determination")
    comparison = models.JSONField(
        null=True, blank=True, help_text="the selection comparison as it stood when recorded"
    )
    reconsiders = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reconsidered_by",
        help_text="the final decision of an earlier meeting that this one changes",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.motion}"

    @property
    def is_voted(self) -> bool:
        return self.kind not in RECORD_KINDS

    def tally(self) -> dict[str, int]:
        counts = {c.value: 0 for c in Choice}
        for vote in self.votes.all():  # prefetched votes when the caller read them already
            counts[vote.choice] += 1
        return counts

    @property
    def outcome(self) -> str:
        """ "recorded" for records; for votes "passed" when yes > no (votes are
        only accepted from eligible attendees of a meeting with quorum),
        "not passed" otherwise, "no votes yet" before the first while the meeting is open."""
        if not self.is_voted:
            return "recorded"
        tally = self.tally()
        if not any(tally.values()):
            return "not passed" if self.meeting.is_closed else "no votes yet"
        return "passed" if tally[Choice.YES] > tally[Choice.NO] else "not passed"

    @property
    def passed(self) -> bool:
        return self.outcome in ("passed", "recorded")

    @property
    def is_final(self) -> bool:
        return self.meeting.is_closed


class Choice(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    ABSTAIN = "abstain", "Abstain"


class Vote(AuditedModel):
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=8, choices=Choice.choices)
    cast_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["decision", "member__username"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "member"], name="governance_one_vote")
        ]

    def __str__(self) -> str:
        return f"{self.member}: {self.choice}"
