from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from radgov.core.roles import Capacity, Role


class User(AbstractUser):
    """A person with exactly one role of section III, and optionally the
    capacities of governance-group member and clinical champion."""

    role = models.CharField(max_length=32, choices=Role.choices)
    is_governance_member = models.BooleanField(default=False)
    is_clinical_champion = models.BooleanField(default=False)
    must_change_password = models.BooleanField(
        default=False,
        help_text="the account still has the one-time password it was created with; it must "
        "be changed at first login",
    )
    license_number = models.CharField(
        max_length=64,
        blank=True,
        help_text="a physician's license to practise (jurisdiction and number), which makes "
        "them eligible as a qualified end-user (III.A.1)",
    )

    class Meta:
        ordering = ["username"]

    @property
    def capacities(self) -> list[str]:
        held = []
        if self.is_governance_member:
            held.append(Capacity.GOVERNANCE_MEMBER.value)
        if self.is_clinical_champion:
            held.append(Capacity.CLINICAL_CHAMPION.value)
        return held

    @property
    def is_qualified_end_user(self) -> bool:
        """III.A.1 / II: a licensed physician (training on a model is checked separately)."""
        return self.role == Role.PHYSICIAN and bool(self.license_number.strip())

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else "no role"


class ApiToken(models.Model):
    """A personal API token.  Only a SHA-256 digest of the secret is stored; the
    token acts with its owner's role and nothing more, and expires."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class LoginSession(models.Model):
    """Which sessions belong to which user, so that logout elsewhere, disabling an
    account and the absolute session lifetime can end them all."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    started_at = models.DateTimeField()
    client_address = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"session of user {self.user_id} since {self.started_at:%Y-%m-%d %H:%M}"
