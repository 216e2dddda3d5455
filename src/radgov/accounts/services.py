"""Every change to accounts, sessions and tokens: one transaction, one audit entry."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from radgov.accounts import tokens
from radgov.accounts.models import ApiToken, LoginSession, User
from radgov.core import config
from radgov.core.audit import Action, record
from radgov.core.errors import Refused
from radgov.core.roles import Role
from radgov.core.services import service


class AccountError(Refused):
    """A request about accounts that breaks a rule; the message says which."""


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise AccountError(f"unknown role {role!r}; the roles are: {', '.join(Role.values)}")
    return role


MAX_LICENSE = 64


def _check_license(role: str, license_number: str) -> str:
    license_number = (license_number or "").strip()
    if license_number and role != Role.PHYSICIAN:
        raise AccountError(
            "III.A.1: a license to practise is recorded for physicians/qualified end-users, "
            f"not for the role {role!r}"
        )
    if len(license_number) > MAX_LICENSE:
        raise AccountError(f"a license number is at most {MAX_LICENSE} characters")
    return license_number


@service
def create_user(
    username: str,
    *,
    role: str,
    email: str = "",
    password: str | None = None,
    governance_member: bool = False,
    clinical_champion: bool = False,
    license_number: str = "",
) -> tuple[User, str]:
    """Create an account; returns it and its one-time password (generated when
    none is given, and then to be changed at first login).  The person must enroll MFA at
    first login."""
    username = username.strip()
    if not username:
        raise AccountError("a username is required")
    _check_role(role)
    license_number = _check_license(role, license_number)
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(f"a user named {username!r} already exists")
    one_time = password is None
    password = password or secrets.token_urlsafe(12)
    user = User(
        username=username,
        email=email,
        role=role,
        is_governance_member=governance_member,
        is_clinical_champion=clinical_champion,
        must_change_password=one_time,
        license_number=license_number,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountError("password refused: " + " ".join(exc.messages)) from None
    user.set_password(password)
    try:
        user.save()
    except IntegrityError:
        raise AccountError(f"a user named {username!r} already exists") from None
    record(
        action=Action.CREATE,
        obj=user,
        detail={
            "role": role,
            "governance_member": governance_member,
            "clinical_champion": clinical_champion,
        },
    )
    return user, password


@service
def set_license(actor: User, user: User, license_number: str) -> User:
    """An administrator records (or clears) a physician's license to practise."""
    if getattr(actor, "role", None) != Role.ADMINISTRATOR:
        raise AccountError("III.G: an administrator records a physician's license")
    license_number = _check_license(user.role, license_number)
    before = user.license_number
    if before != license_number:
        user.license_number = license_number
        user.save(update_fields=["license_number"])
        record(action=Action.UPDATE, obj=user, changes={"license_number": [before, license_number]})
    return user


@service
def deactivate_user(user: User) -> int:
    """Disable an account and end every session it holds; returns how many ended."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = end_sessions(user)
    revoke_all_tokens(user, reason="account disabled")
    record(
        action=Action.UPDATE,
        obj=user,
        changes={"is_active": [True, False]},
        detail={"sessions_ended": ended},
    )
    return ended


def end_sessions(user: User, *, keep: str | None = None) -> int:
    """Delete the user's server-side sessions (called inside a service)."""
    rows = LoginSession.objects.filter(user=user)
    if keep:
        rows = rows.exclude(session_key=keep)
    keys = list(rows.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    rows.delete()
    return len(keys)


def max_token_days() -> int:
    return config.get_int("RADGOV_API_TOKEN_MAX_DAYS")


@service
def create_token(user: User, *, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new personal token.  Whoever calls this has checked that the person confirmed their
    second factor just now (a page or the API with a fresh MFA check; never a token)."""
    name = name.strip()
    if not name:
        raise AccountError("a token needs a name")
    longest = max_token_days()
    days = days if days is not None else min(config.get_int("RADGOV_API_TOKEN_DAYS"), longest)
    if not 1 <= days <= longest:
        raise AccountError(
            f"token lifetime must be 1 to {longest} days (RADGOV_API_TOKEN_MAX_DAYS), not {days}"
        )
    secret, prefix, digest = tokens.new_token()
    row = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        digest=digest,
        expires_at=timezone.now() + timedelta(days=days),
    )
    record(action=Action.TOKEN_CREATED, obj=row, detail={"name": name, "days": days})
    return row, secret


@service
def revoke_all_tokens(user: User, *, reason: str) -> int:
    """Revoke every live token of ``user`` (a password change, an MFA reset, a disabled
    account: a token must not outlive the credentials it was minted under)."""
    rows = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True))
    for row in rows:
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
        record(action=Action.TOKEN_REVOKED, obj=row, actor=user, detail={"reason": reason})
    return len(rows)


@service
def password_changed(user: User, *, keep_session: str | None = None) -> int:
    """After a password change (or set, or reset): the one-time password is gone, every
    token minted under the old one is revoked and every other session ends (ASVS 3.3.3); the
    session that changed it (``keep_session``) goes on.  Returns how many tokens."""
    if user.must_change_password:
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
    end_sessions(user, keep=keep_session)
    return revoke_all_tokens(user, reason="password changed")


@service
def revoke_token(user: User, token_id: int) -> ApiToken:
    row = ApiToken.objects.filter(pk=token_id, user=user).first()
    if row is None:
        raise AccountError("no such token among yours")
    if row.revoked_at is None:
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
        record(action=Action.TOKEN_REVOKED, obj=row)
    return row
