"""Logins, logouts and MFA changes go into the audit trail; each login is tied to
its session so the session can be ended from elsewhere."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset, password_set
from allauth.mfa.signals import authentication_failed, authenticator_added, authenticator_removed
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.utils import timezone

from radgov.accounts.models import LoginSession
from radgov.core.audit import Action, record
from radgov.core.context import client_address

SESSION_STARTED = "radgov_started"
SESSION_SEEN = "radgov_seen"


@receiver(user_logged_in)
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    now = timezone.now()
    request.session[SESSION_STARTED] = now.timestamp()
    request.session[SESSION_SEEN] = now.timestamp()
    request.session.save()
    LoginSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={"user": user, "started_at": now, "client_address": client_address(request)},
    )
    record(action=Action.LOGIN, actor=user, obj=user)


@receiver(user_logged_out)
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    if request is not None and request.session.session_key:
        LoginSession.objects.filter(session_key=request.session.session_key).delete()
    record(
        action=Action.LOGOUT,
        actor=user,
        obj=user,
        detail={"reason": getattr(request, "radgov_logout_reason", "user")},
    )


@receiver(authenticator_added)
def on_mfa_added(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    # A new session id once the second factor is in place (ASVS 3.2.1).
    old_key = request.session.session_key
    request.session.cycle_key()
    LoginSession.objects.filter(session_key=old_key).update(session_key=request.session.session_key)
    record(action=Action.MFA_ENROLLED, actor=user, obj=user, detail={"type": authenticator.type})


@receiver(authenticator_removed)
def on_mfa_removed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    from radgov.accounts.services import revoke_all_tokens

    record(action=Action.MFA_REMOVED, actor=user, obj=user, detail={"type": authenticator.type})
    revoke_all_tokens(user, reason="second factor removed")


@receiver(password_changed)
@receiver(password_set)
@receiver(password_reset)
def on_password_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """A token or another session never outlives the password it began under; the one-time
    password of a new account is gone."""
    from radgov.accounts.services import password_changed as changed

    session = getattr(request, "session", None)
    changed(user, keep_session=session.session_key if session is not None else None)


@receiver(authentication_failed)
def on_mfa_failed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    record(
        action=Action.LOGIN_FAILED,
        outcome="failure",
        actor=user,
        detail={"reason": f"wrong {authenticator.type} code"},
    )
