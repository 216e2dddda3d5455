"""django-allauth hooks: no self sign-up, audited logins and lockouts, and TOTP
secrets encrypted with radgov's keys (never stored in the clear)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.http import HttpRequest

from radgov.core import crypto
from radgov.core.audit import Action, record
from radgov.core.context import client_address

TOTP_CONTEXT = "mfa.totp"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # an administrator creates accounts (radgov createuser)

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_address(request)

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """A first authenticator is enrolled right after the password login that
        led to the enrollment page: asking for the password again there only
        annoys.  Adding or changing one later still needs reauthentication."""
        request = allauth_context.request
        user = getattr(request, "user", None)
        if app == "allauth.mfa" and user is not None and user.is_authenticated:
            if not Authenticator.objects.filter(user=user).exists():
                return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except Exception:
            record(
                action=Action.DENIED,
                outcome="denied",
                event_code="110114",
                actor_name=str(credentials.get("username", ""))[:150],
                detail={"reason": "too many failed logins: locked out"},
            )
            raise

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        record(
            action=Action.LOGIN_FAILED,
            outcome="failure",
            actor_name=str(credentials.get("username", ""))[:150],
            detail={"reason": "wrong username or password"},
        )


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text, context=TOTP_CONTEXT)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text, context=TOTP_CONTEXT)
