"""Session lifetime, mandatory MFA, API tokens and the permission policy,
applied to every request in that order."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from radgov.accounts import tokens
from radgov.accounts.signals import SESSION_SEEN, SESSION_STARTED
from radgov.core import context, machines, policy
from radgov.core.audit import Action, record
from radgov.core.errors import record_refusal
from radgov.core.middleware import Middleware
from radgov.core.problems import problem

SEEN_EVERY_SECONDS = 60


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class SessionLifetimeMiddleware(Middleware):
    """Ends a session idle longer than RADGOV_SESSION_IDLE_MINUTES, or older than
    RADGOV_SESSION_MAX_HOURS, whatever the activity; then authenticates API tokens."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request) and request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer "):
            denied = self._token_login(request)
            if denied is not None:
                return denied
            # every audit entry of this request names the token it was made with
            token_id = request.api_token.pk  # type: ignore[attr-defined]
            with context.acting_as(replace(context.current(), channel=f"token:{token_id}")):
                return self.get_response(request)
        if request.user.is_authenticated:
            expired = self._expired(request)
            if expired:
                request.radgov_logout_reason = expired  # type: ignore[attr-defined]
                logout(request)
                if is_api(request):
                    return problem(401, f"session ended: {expired}", kind="session-ended")
                return to_login(request, reverse("account_login") + "?expired=1")
            now = timezone.now().timestamp()
            # the idle clock moves at most once a minute: a session write on every request
            # serialized all requests on SQLite's one writer under load
            if now - float(request.session.get(SESSION_SEEN, 0)) >= SEEN_EVERY_SECONDS:
                request.session[SESSION_SEEN] = now
        return self.get_response(request)

    def _expired(self, request: HttpRequest) -> str | None:
        now = timezone.now()
        started = request.session.get(SESSION_STARTED)
        seen = request.session.get(SESSION_SEEN)
        if started is None or seen is None:
            return "session has no start time"
        if now - datetime.fromtimestamp(started, tz=now.tzinfo) > settings.SESSION_MAX_AGE:
            return "absolute session lifetime reached"
        if now - datetime.fromtimestamp(seen, tz=now.tzinfo) > settings.SESSION_IDLE_TIMEOUT:
            return "idle timeout"
        return None

    def _token_login(self, request: HttpRequest) -> HttpResponse | None:
        presented = request.META["HTTP_AUTHORIZATION"].removeprefix("Bearer ").strip()
        try:
            if presented.startswith(machines.TOKEN_PREFIX):  # a machine's API credential
                user, row = machines.authenticate(presented)
            else:
                user, row = tokens.authenticate(presented)
        except (tokens.TokenError, machines.CredentialError) as exc:
            record(
                action=Action.DENIED,
                outcome="denied",
                event_code="110114",
                detail={"reason": str(exc)},
            )
            return problem(401, str(exc), kind="invalid-token")
        request.user = user
        request.api_token = row  # type: ignore[attr-defined]
        request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return None


class MfaRequiredMiddleware(Middleware):
    """A logged-in account that has not enrolled TOTP reaches only the enrollment pages."""

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or getattr(request, "api_token", None) is not None:
            return None
        rule = policy.rule_for(_route_name(request))
        if rule is not None and (rule.public or rule.enrollment):
            return None
        # the kinds of second factor, read once: the dashboard shows them too
        kinds = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
        if Authenticator.Type.TOTP in kinds:
            request.mfa_enrolled = True  # type: ignore[attr-defined]
            request.mfa_types = kinds  # type: ignore[attr-defined]
            return self._one_time_password(request, rule)
        if is_api(request):
            return problem(
                403, "enroll an authenticator app (TOTP) before using radgov", kind="mfa-required"
            )
        return HttpResponseRedirect(reverse("mfa_activate_totp"))

    @staticmethod
    def _one_time_password(request: HttpRequest, rule: Any) -> HttpResponse | None:
        """An account still on the one-time password it was created with reaches only the
        page that changes it (after enrolling MFA)."""
        if not getattr(request.user, "must_change_password", False):
            return None
        if _route_name(request) in ("account_change_password", "account_logout"):
            return None
        if is_api(request):
            return problem(
                403,
                "change the one-time password this account was created with first",
                kind="password-change-required",
            )
        return HttpResponseRedirect(reverse("account_change_password"))


class PermissionPolicyMiddleware(Middleware):
    """Deny by default: every route must have a rule in radgov.core.policy, and the
    user's role must be in it.  Every denial is audited."""

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        name = _route_name(request)
        if request.path.startswith(settings.STATIC_URL):
            return None
        rule = policy.rule_for(name)
        user = request.user
        if rule is not None and rule.public:
            return None
        if rule is not None and not user.is_authenticated:
            if is_api(request):
                return problem(
                    401,
                    "authentication required: log in or send an API token",
                    kind="unauthenticated",
                )
            return to_login(request, f"{reverse('account_login')}?next={request.path}")
        if rule is not None and policy.admits(rule, user):
            return None
        reason = "no permission rule for this route" if rule is None else "role not permitted"
        if rule is not None and policy.is_machine(user):
            reason = "no grant of this machine admits it to this route"
        record_refusal(request, 403, reason, route=name or request.path)
        if is_api(request):
            return problem(403, f"{reason}: {name or request.path}", kind="forbidden-by-policy")
        return render(request, "web/denied.html", {"reason": reason}, status=403)


def to_login(request: HttpRequest, url: str) -> HttpResponse:
    """Send the browser to the login page; an htmx request (a polling status box)
    is told to navigate the whole page, so the login form never lands inside it."""
    if request.headers.get("HX-Request") == "true":
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _route_name(request: HttpRequest) -> str | None:
    """The route being used; for the API, the operation of this HTTP method."""
    match = request.resolver_match
    if match is None:
        return None
    if match.view_name.startswith("api:"):
        from radgov.api import operation_route

        return operation_route(match.view_name, request.method or "GET")
    return match.view_name
