from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from radgov import __version__
from radgov.accounts.models import ApiToken
from radgov.core import health
from radgov.core.audit.selectors import list_entries
from radgov.core.models import AuditEntry

MFA_LABELS = {
    Authenticator.Type.TOTP: "authenticator app (TOTP)",
    Authenticator.Type.RECOVERY_CODES: "recovery codes",
    Authenticator.Type.WEBAUTHN: "security key (WebAuthn)",
}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({**health.status(), "version": __version__})


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "capacities": [c.replace("_", " ") for c in user.capacities],  # type: ignore[union-attr]
        "mfa_types": sorted(
            {MFA_LABELS.get(a.type, a.type) for a in Authenticator.objects.filter(user=user)}
        ),
        "idle_minutes": int(settings.SESSION_IDLE_TIMEOUT.total_seconds() // 60),
        "max_hours": int(settings.SESSION_MAX_AGE.total_seconds() // 3600),
        "token_count": ApiToken.objects.filter(
            user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).count(),
        "health": health.status(),
        "audit_count": AuditEntry.objects.count(),
    }
    return render(request, "web/dashboard.html", context)


@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    entries = list(list_entries(request.user, limit=200))
    return render(request, "web/audit.html", {"entries": entries})
