"""Monitoring's records (docs/monitoring.md): the exam's report and the labels radgov.nlp
derived from it, the AI-versus-report comparison per inference, what each deployment is
watched for, the alerts its stop rules raised, and the labeller's measured accuracy."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.fields import EncryptedTextField, PseudonymField
from radgov.core.models import AuditedModel
from radgov.exams.models import Exam, Inference, ProcedureRecord
from radgov.inventory.models import Deployment


class ReportLabelValue(models.TextChoices):
    POSITIVE = "positive", "positive"
    NEGATIVE = "negative", "negative"
    UNCERTAIN = "uncertain", "uncertain"


class Truth(models.TextChoices):
    """The report's verdict on the watched finding; ``absent``: the report does not name it."""

    POSITIVE = "positive", "positive"
    NEGATIVE = "negative", "negative"
    UNCERTAIN = "uncertain", "uncertain"
    ABSENT = "absent", "not mentioned"


class Outcome(models.TextChoices):
    TP = "tp", "AI positive, report positive"
    FP = "fp", "AI positive, report negative"
    FN = "fn", "AI negative, report positive"
    TN = "tn", "AI negative, report negative"
    UNSCORED = "unscored", "report uncertain: not scored"


class Rule(models.TextChoices):
    CONSECUTIVE = "consecutive", "days in a row above the baseline"
    CUSUM = "cusum", "Bernoulli CUSUM"
    EWMA = "ewma", "EWMA of the daily rate"
    DRIFT = "drift", "input or output drift against the reference"
    FIRST_SEEN = "first_seen", "a value never seen in the reference"
    DELIVERY = "delivery", "released results not reaching a destination"
    PRIVACY = "privacy", "a privacy deadline (compliance's reminder)"


class Report(ProcedureRecord):
    """The final report of one exam, found by its accession's keyed pseudonym.  A report
    may come before its exam (``exam`` empty until the exam is recorded)."""

    accession_hash = PseudonymField(unique=True, help_text="the accession's keyed pseudonym")
    exam = models.ForeignKey(
        Exam, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    text = EncryptedTextField(help_text="the report, AES-GCM encrypted")
    text_sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=8)
    labeller_version = models.CharField(max_length=64)
    rules_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    class Audit(ProcedureRecord.Audit):
        redact = ["text"]

    def __str__(self) -> str:
        return f"report {self.pk}"


class ReportLabel(ProcedureRecord):
    """One finding the report mentions, as the labeller read it."""

    report = models.ForeignKey(  # the unique (report, finding) leads with it
        Report, on_delete=models.CASCADE, related_name="labels", db_index=False
    )
    finding = models.CharField(max_length=100)
    label = models.CharField(max_length=10, choices=ReportLabelValue.choices)
    evidence = EncryptedTextField(help_text="the words that decided the label, encrypted")
    rule = models.CharField(max_length=200, blank=True, help_text="the modifier that fired")

    class Meta:
        ordering = ["report", "finding"]
        constraints = [
            models.UniqueConstraint(fields=["report", "finding"], name="monitoring_label_once")
        ]

    class Audit(ProcedureRecord.Audit):
        redact = ["evidence"]


class Watch(AuditedModel):
    """What a deployment is monitored for: the finding its model calls, the baseline period
    the in-control discordance rate comes from, and the stop rules' settings."""

    deployment = models.OneToOneField(Deployment, on_delete=models.CASCADE, related_name="watch")
    finding = models.CharField(max_length=100, help_text="a finding of the labeller's rules")
    baseline_start = models.DateField()
    baseline_end = models.DateField()
    run_length = models.PositiveSmallIntegerField(
        default=7, help_text="days in a row above the baseline interval that raise an alert"
    )
    cusum_shift = models.FloatField(
        default=2.0, help_text="the discordance rate to detect, as a multiple of the baseline's"
    )
    arl0 = models.PositiveIntegerField(
        default=1000, help_text="in-control average run length (exams) of the CUSUM"
    )
    ewma_lambda = models.FloatField(default=0.1)
    ewma_arl0 = models.PositiveIntegerField(
        default=370, help_text="in-control average run length (days) of the EWMA"
    )
    absent_is_negative = models.BooleanField(
        default=True, help_text="a report that does not name the finding counts as negative"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"watch of {self.deployment}"


class Concordance(AuditedModel):
    """The AI's call on the watched finding against the report's, for one inference."""

    inference = models.OneToOneField(
        Inference, on_delete=models.CASCADE, related_name="concordance"
    )
    deployment = models.ForeignKey(  # the (deployment, day) index leads with it
        Deployment, on_delete=models.CASCADE, related_name="concordances", db_index=False
    )
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="concordances")
    finding = models.CharField(max_length=100)
    day = models.DateField(help_text="the study's day (the inference's when unknown)")
    ai = models.CharField(max_length=10)
    truth = models.CharField(max_length=10, choices=Truth.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    compared_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deployment", "day", "id"]
        indexes = [models.Index(fields=["deployment", "day"], name="monitoring_conc_dep_day")]

    @property
    def discordant(self) -> bool:
        return self.outcome in (Outcome.FP, Outcome.FN)


class ConcordanceDay(AuditedModel):
    """What the retention purge keeps of comparisons past their retention: their count per
    deployment, finding, day and outcome, with nothing that leads to an exam or a patient
    (docs/retention.md).  ``analysis.outcomes`` adds them to the rows still kept."""

    deployment = models.ForeignKey(  # the day's unique key leads with it
        Deployment, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    finding = models.CharField(max_length=100)
    day = models.DateField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["deployment", "day", "outcome"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "finding", "day", "outcome"], name="monitoring_day_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.outcome} of {self.deployment_id} on {self.day}"


class Alert(AuditedModel):
    """A stop rule's signal: in the governance group's queue until a member closes it.  The
    compliance role's reminders (rule ``privacy``) are in the same queue, shown to that role
    only, with no deployment when they are about an incident or the notice."""

    deployment = models.ForeignKey(  # the unique (deployment, rule, signal_day) leads with it
        Deployment,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        db_index=False,
    )
    rule = models.CharField(max_length=12, choices=Rule.choices)
    signal_day = models.DateField()
    summary = models.TextField()
    detail = models.JSONField(default=dict)
    suspended = models.BooleanField(default=False, help_text="the alarm suspended the deployment")
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "rule", "signal_day"], name="monitoring_alert_once"
            )
        ]

    def __str__(self) -> str:
        return f"alert {self.pk}: {self.get_rule_display()} on {self.signal_day}"


class LabellerCheck(AuditedModel):
    """The labeller's accuracy on a sample of reports a person labelled: per finding the
    counts, sensitivity and specificity with intervals, and warnings (no report text kept)."""

    labeller_version = models.CharField(max_length=64)
    rules_sha256 = models.CharField(max_length=64)
    reports = models.PositiveIntegerField()
    results = models.JSONField(help_text="per finding: counts, estimates, warnings")
    sha256 = models.CharField(max_length=64, help_text="of the uploaded sample")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]


class DriftReference(AuditedModel):
    """The reference window a deployment's inputs and outputs are compared with (the
    acceptance-test period or a chosen baseline), and when a difference is called drift."""

    deployment = models.OneToOneField(
        Deployment, on_delete=models.CASCADE, related_name="drift_reference"
    )
    reference_start = models.DateField()
    reference_end = models.DateField()
    window_days = models.PositiveSmallIntegerField(
        default=30, help_text="the current window: this many days up to the day checked"
    )
    psi_threshold = models.FloatField(
        default=0.2, help_text="PSI at or above which a column drifts"
    )
    alpha = models.FloatField(default=0.01, help_text="and the test's p-value below this")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"drift reference of {self.deployment}"


class FirstSeen(AuditedModel):
    """A value of an exam's metadata never seen in the reference window: an event of its own
    ("software version VE11 first seen on 3 March"), recorded once per deployment."""

    deployment = models.ForeignKey(  # the unique (deployment, column, value) leads with it
        Deployment, on_delete=models.CASCADE, related_name="first_seen_values", db_index=False
    )
    column = models.CharField(max_length=32)
    value = models.CharField(max_length=200)
    first_seen = models.DateField()
    count = models.PositiveIntegerField(help_text="exams with it in the window it was found in")
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-first_seen", "column", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "column", "value"], name="monitoring_first_seen_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.column} {self.value} first seen on {self.first_seen}"


class EventKind(models.TextChoices):
    ADVERSE_EVENT = "adverse_event", "adverse event"
    NEAR_MISS = "near_miss", "near miss"
    COMPLICATION = "complication", "complication"


class Factor(models.TextChoices):
    AI_ERROR = "ai_error", "AI error"
    OUTSIDE_IFU = "outside_ifu", "use outside the IFU"
    WORKFLOW = "workflow", "workflow"
    TRAINING = "training", "training"
    OTHER = "other", "other"


class Reportable(models.TextChoices):
    NO = "", "not reportable"
    MEDWATCH = "medwatch", "FDA MedWatch (device malfunction)"
    PRIVACY = "privacy", "privacy breach"


class AdverseEvent(ProcedureRecord):
    """An AI-related complication, near miss or adverse event (IV.G.4), in the peer-learning
    review queue until a governance-group member records the finding, the contributing
    factors and the action.  The reporter may stay anonymous to the reviewers."""

    deployment = models.ForeignKey(
        Deployment, on_delete=models.PROTECT, related_name="adverse_events"
    )
    inference = models.ForeignKey(
        Inference, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    occurred_on = models.DateField()
    description = EncryptedTextField(help_text="what happened, encrypted")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    anonymous = models.BooleanField(default=False, help_text="reviewers do not see the reporter")
    reported_at = models.DateTimeField(auto_now_add=True)
    finding = EncryptedTextField(blank=True, help_text="the review's finding, encrypted")
    factors = models.JSONField(default=list, blank=True)
    action = models.TextField(blank=True)
    reportable = models.CharField(max_length=8, choices=Reportable.choices, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agenda_item = models.ForeignKey(
        "governance.AgendaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="the governance meeting's agenda item it was put on",
    )  # fmt: skip

    class Meta:
        ordering = ["-reported_at", "-id"]

    class Audit(ProcedureRecord.Audit):
        redact = ["description", "finding"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"


class InteractionAction(models.TextChoices):
    """What a radiologist did with an AI result, as a PACS or viewer reports it (IV.G.3)."""

    VIEWED = "viewed", "viewed"
    ACCEPTED = "accepted", "accepted"
    MODIFIED = "modified", "modified"
    REJECTED = "rejected", "rejected"
    DISMISSED = "dismissed", "dismissed"
    NOT_OPENED = "not_opened", "not opened"


class Interaction(ProcedureRecord):
    """One thing one user did with one inference's result in a viewer.  Written once, in
    bulk (``radgov.monitoring.interactions``); the override and engagement rates read them
    beside the reviews."""

    # the (inference, user, at) and (user, inference) indexes lead with them
    inference = models.ForeignKey(
        Inference, on_delete=models.PROTECT, related_name="interactions", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    action = models.CharField(max_length=12, choices=InteractionAction.choices)
    at = models.DateTimeField(help_text="when it happened, as the viewer says")
    source = models.CharField(max_length=8, help_text="api, file or demo")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["user", "inference"], name="monitoring_interaction_user"),
            models.Index(fields=["inference", "user", "at"], name="monitoring_interaction_inf"),
        ]

    def __str__(self) -> str:
        return f"{self.action} of inference {self.inference_id} by user {self.user_id}"


# --- daily rollups (docs/monitoring.md, "Rollups") ---------------------------------------------
# Counts derived from the audited records above and rebuilt from them by the periodic task
# ``monitoring.roll_up``: like ``core.ProcessBeat`` they are plain models, since an audit entry
# per rebuilt count would record nothing the comparisons' and inferences' own trail does not.


class RollupState(models.Model):
    """How far a deployment's rollups reach: every day up to ``through`` is rolled up; later
    days are read from the raw rows.  ``built_at``: when the last build started (changes
    since then are rebuilt by the next one)."""

    deployment = models.OneToOneField(Deployment, on_delete=models.CASCADE, related_name="+")
    through = models.DateField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollups of {self.deployment_id} through {self.through}"


class OutcomeDay(models.Model):
    """Comparisons per deployment, day and outcome, in all (``dimension`` blank) and per
    subgroup value (``dimension`` one of ``rollups.SUBGROUPS``; ``value`` blank: unknown).
    The counts the retention purge kept (``ConcordanceDay``) are in the all-exams rows."""

    deployment = models.ForeignKey(  # the day's unique key leads with it
        Deployment, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    dimension = models.CharField(max_length=16, blank=True)
    value = models.CharField(max_length=200, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "dimension", "day", "outcome", "value"],
                name="monitoring_outcome_day_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.outcome} of {self.deployment_id} on {self.day}"


class OrderDay(models.Model):
    """The scored comparisons of one deployment and day in arrival order, one bit each
    (1: discordant), packed: the CUSUM's input without the rows; and the CUSUM's state at
    the day's end for the watch's chart (``cusum_design``, blank: not computed): its value,
    its highest value of the day, and the first of the day's exams at or over the limit, on
    the chart's integer lattice (``analysis.cusum_state``)."""

    deployment = models.ForeignKey(  # the day's unique key leads with it
        Deployment, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()
    n = models.PositiveIntegerField()
    discordant = models.BinaryField()
    cusum_design = models.CharField(max_length=120, blank=True)
    cusum_end = models.BigIntegerField(null=True)
    cusum_high = models.BigIntegerField(null=True)
    cusum_first = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deployment", "day"], name="monitoring_order_day_once")
        ]

    def __str__(self) -> str:
        return f"{self.n} compared by {self.deployment_id} on {self.day}"


class ValueDay(models.Model):
    """Inferences per deployment, day, column and value: exam metadata and outputs for drift
    (continuous ones in fixed bins, ``rollups.BINS``), status, turnaround and reports waiting
    for the technical signals.  ``value`` blank: not known."""

    deployment = models.ForeignKey(  # the day's unique key leads with it
        Deployment, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()
    column = models.CharField(max_length=24)
    value = models.CharField(max_length=200, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "column", "day", "value"], name="monitoring_value_day_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.column}={self.value} of {self.deployment_id} on {self.day}"
