"""Test data: accounts with a role and, unless asked otherwise, TOTP enrolled."""

from __future__ import annotations

import time
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client

from radgov.accounts.models import User
from radgov.core.roles import Role

PASSWORD = "correct horse battery 42"


def make_user(
    username: str = "", *, role: str = Role.PHYSICIAN, enroll: bool = True, **extra: object
) -> User:
    username = username or f"{role}-{User.objects.count() + 1}"
    if role == Role.PHYSICIAN:  # a qualified end-user is a licensed physician (III.A.1)
        extra.setdefault("license_number", f"TEST-{username}")
    user = User(username=username, role=role, **extra)
    user.set_password(PASSWORD)
    user.save()
    if enroll:
        user.totp_secret = generate_totp_secret()  # type: ignore[attr-defined]
        TOTP.activate(user, user.totp_secret)  # type: ignore[attr-defined]
    return user


def cleared_product(by: User, **fields: Any) -> Any:
    """Acme AI's HeadCheck ICH, a CADt cleared by 510(k) K221240, created by ``by`` through the
    inventory's service; ``fields`` change or add to it."""
    from radgov.inventory.services import create_product

    cleared = {
        "vendor": "Acme AI",
        "name": "HeadCheck ICH",
        "category": "cadt",
        "regulatory_pathway": "fda_510k",
        "fda_number": "K221240",
        "fda_product_code": "QAS",
    }
    return create_product(by, **{**cleared, **fields})


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The code of ``secret``'s 30 s step at ``at``, or now.  Now: when the step ends within
    TOTP_MARGIN seconds, the next step's code, once it has begun; the server takes no other
    step's code (``MFA_TOTP_TOLERANCE = 0``), so a code read at a step's end could be
    refused by the time the request reaches it."""
    if at is None:
        left = 30 - time.time() % 30
        if left < TOTP_MARGIN:
            time.sleep(left)
        at = time.time()
    return format_hotp_value(hotp_value(secret, int(at // 30)))


TOTP_MARGIN = 5  # seconds a test may take to send a code it read (a browser test types it)


def has_totp(user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def client_for(user: User) -> Client:
    """A test client logged in as ``user`` (MFA is the factories' business, not the page's)."""
    client = Client()
    client.force_login(user)
    return client


def post_json(client: Client, url: str, body: Any) -> Any:
    """``client`` posts ``body`` to ``url`` as JSON."""
    return client.post(url, body, content_type="application/json")


def problem(response: Any, status: int) -> str:
    """The ``detail`` of a problem+json answer, after checking its status and type."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return str(response.json()["detail"])


def blank_pdf(pages: int = 1, *, password: str | None = None) -> bytes:
    """A real PDF of blank pages (pypdf writes it), encrypted when a password is given."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
