"""django-allauth hooks: no self sign-up, audited logins and lockouts, and TOTP
secrets encrypted with radgov's keys (never stored in the clear)."""

from __future__ import annotations

import time
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.core import context as allauth_context
from allauth.core.internal import ratelimit
from allauth.mfa.adapter import DefaultMFAAdapter
from django.http import HttpRequest

from radgov.core import crypto
from radgov.core.audit import Action, record
from radgov.core.context import client_address

TOTP_CONTEXT = "mfa.totp"
# failed logins per client address (RADGOV_LOGIN_FAILURES_PER_CLIENT), kept apart from the
# per-account count, which allauth clears after a successful second factor
CLIENT_FAILURES = "login_failed_client"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # an administrator creates accounts (radgov createuser)

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_address(request)

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """Enrolling the first authenticator and viewing its recovery codes come
        right after the password login that led there: a login within the
        reauthentication timeout counts as fresh.  Later changes to MFA still
        ask for the password again."""
        request = allauth_context.request
        if app == "allauth.mfa" and request is not None and request.user.is_authenticated:
            records = get_authentication_records(request, request.user)
            if (
                records
                and time.time() - records[-1]["at"] < account_settings.REAUTHENTICATION_TIMEOUT
            ):
                return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Counts the attempt against the client's and the account's limits (a successful
        login gives both back); over either, the login is refused and the lockout audited."""
        self._client_usage = ratelimit.consume(
            request, app="allauth.account", action=CLIENT_FAILURES
        )
        try:
            if not self._client_usage:
                raise self.validation_error("too_many_login_attempts")
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

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        user = super().authenticate(request, **credentials)
        usage = getattr(self, "_client_usage", None)
        if user is not None and usage:
            usage.rollback()  # only this attempt's count: never the client's earlier failures
        return user

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
