from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from django.urls import reverse
from ninja import FilterLookup, FilterSchema, Query, Router, Schema, Status

from radgov.accounts import services
from radgov.accounts.models import ApiToken, User
from radgov.accounts.tokens import fresh_second_factor
from radgov.core.errors import Denied, unseen
from radgov.core.paging import Page, PageQuery, paginate

router = Router(tags=["accounts"])


class UserOut(Schema):
    id: int
    username: str
    email: str
    role: str
    capacities: list[str]
    license_number: str
    is_active: bool


class UserIn(Schema):
    username: str
    role: str
    email: str = ""
    governance_member: bool = False
    clinical_champion: bool = False
    license_number: str = ""


class LicenseIn(Schema):
    license_number: str


class UserCreated(Schema):
    user: UserOut
    one_time_password: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIn(Schema):
    name: str
    days: int | None = None


class TokenCreated(Schema):
    token: TokenOut
    secret: str


def _user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise unseen("user", user_id)
    return user


@router.get("/me", response=UserOut)
def me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


class UserFilter(FilterSchema):
    username: Annotated[str | None, FilterLookup("username__icontains")] = None
    role: str | None = None
    is_active: bool | None = None


@router.get("/users", response=Page[UserOut])
def list_users(
    request: HttpRequest, filters: Query[UserFilter], page: Query[PageQuery]
) -> dict[str, object]:
    return paginate(filters.filter(User.objects.order_by("username", "pk")), page)


@router.post("/users", response={201: UserCreated})
def create_user(request: HttpRequest, payload: UserIn) -> Status[dict[str, object]]:
    user, password = services.create_user(**payload.dict())
    return Status(201, {"user": user, "one_time_password": password})


@router.get("/users/{user_id}", response=UserOut)
def get_user(request: HttpRequest, user_id: int) -> User:
    return _user(user_id)


@router.post("/users/{user_id}/license", response=UserOut)
def set_license(request: HttpRequest, user_id: int, payload: LicenseIn) -> User:
    """Record (or clear, with "") a physician's license to practise (III.A.1)."""
    user = _user(user_id)
    services.set_license(request.user, user, payload.license_number)  # type: ignore[arg-type]
    return user


@router.post("/users/{user_id}/deactivate", response=UserOut)
def deactivate_user(request: HttpRequest, user_id: int) -> User:
    user = _user(user_id)
    services.deactivate_user(user)
    return user


@router.get("/tokens", response=Page[TokenOut])
def list_tokens(request: HttpRequest, page: Query[PageQuery]) -> dict[str, object]:
    return paginate(ApiToken.objects.filter(user=request.user).order_by("-created_at", "-pk"), page)


@router.post("/tokens", response={201: TokenCreated})
def create_token(request: HttpRequest, payload: TokenIn) -> Status[dict[str, object]]:
    """A new token, for a logged-in session that confirmed its second factor in the last few
    minutes (``POST /accounts/reauthenticate/2fa/`` with a code); never for a token."""
    if getattr(request, "api_token", None) is not None:
        raise Denied("a token cannot mint a token: log in, confirm your second factor")
    if not fresh_second_factor(request):
        raise Denied(
            "creating a token needs a fresh second factor: confirm a code from your "
            f"authenticator app at {reverse('mfa_reauthenticate')} first",
        )
    row, secret = services.create_token(request.user, name=payload.name, days=payload.days)  # type: ignore[arg-type]
    return Status(201, {"token": row, "secret": secret})


@router.post("/tokens/{token_id}/revoke", response=TokenOut)
def revoke_token(request: HttpRequest, token_id: int) -> ApiToken:
    try:
        return services.revoke_token(request.user, token_id)  # type: ignore[arg-type]
    except services.AccountError:
        raise unseen("token", token_id) from None
