"""The stages of a deployment's lifecycle (kept free of model imports so that
``models.py`` and ``lifecycle.py`` can both use them)."""

from __future__ import annotations

from django.db import models


class Stage(models.TextChoices):
    REQUESTED = "requested", "Requested"
    UNDER_REVIEW = "under_review", "Under review"
    ACCEPTANCE_TESTING = "acceptance_testing", "Acceptance testing"
    APPROVED = "approved", "Approved"
    PILOT = "pilot", "Pilot"
    DEPLOYED = "deployed", "Deployed"
    SUSPENDED = "suspended", "Suspended"
    SUNSET = "sunset", "Sunset"
