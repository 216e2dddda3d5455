from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from radgov.accounts import services
from radgov.accounts.forms import LicenseForm, TokenForm, UserForm
from radgov.accounts.models import ApiToken, User
from radgov.accounts.tokens import fresh_second_factor
from radgov.core.errors import refusal


def users(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            user, password = services.create_user(**form.cleaned_data)
        except services.AccountError as exc:
            form.add_error(None, refusal(request, exc))
        else:
            created = {"username": user.username, "password": password}
            form = UserForm()
    return render(
        request,
        "accounts/users.html",
        {"form": form, "users": User.objects.all(), "created": created},
    )


@require_POST
def user_license(request: HttpRequest, user_id: int) -> HttpResponse:
    user = User.objects.filter(pk=user_id).first()
    form = LicenseForm(request.POST)
    if user is None or not form.is_valid():
        messages.error(request, "no such user, or a license of more than 64 characters")
        return redirect("accounts:users")
    try:
        services.set_license(request.user, user, form.cleaned_data["license_number"])  # type: ignore[arg-type]
    except services.AccountError as exc:
        messages.error(request, refusal(request, exc))
    else:
        messages.success(request, f"License of {user.username} saved.")
    return redirect("accounts:users")


def tokens_page(request: HttpRequest) -> HttpResponse:
    """The person's tokens; creating one asks for a code from the authenticator app first
    (unless one was entered in the last few minutes)."""
    if request.method == "POST" and not fresh_second_factor(request):
        messages.info(request, "Enter a code from your authenticator app to create a token.")
        return redirect(f"{reverse('mfa_reauthenticate')}?next={reverse('accounts:tokens')}")
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _, secret = services.create_token(
                request.user,
                name=form.cleaned_data["name"],
                days=form.cleaned_data["days"],  # type: ignore[arg-type]
            )
        except services.AccountError as exc:
            form.add_error(None, refusal(request, exc))
        else:
            form = TokenForm()
    rows = ApiToken.objects.filter(user=request.user)
    return render(request, "accounts/tokens.html", {"form": form, "tokens": rows, "secret": secret})


@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        services.revoke_token(request.user, token_id)  # type: ignore[arg-type]
    except services.AccountError as exc:
        messages.error(request, refusal(request, exc))
    else:
        messages.success(request, "Token revoked.")
    return redirect("accounts:tokens")
