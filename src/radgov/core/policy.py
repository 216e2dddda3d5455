"""The one permission policy: which roles may use which route.

Deny by default: a route whose name is not in ``RULES`` is refused to everyone,
so a new page or API route is unreachable until someone decides who may use it
(and the golden role x route table in tests/accounts/route_matrix.csv is updated).

A rule marked ``patient_data`` can never admit the vendor role: section III.F of
the practice parameter gives vendors no claim on a practice's patient data.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass

from radgov.core.roles import Role

ALL_ROLES = frozenset(r.value for r in Role)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    public: bool = False  # reachable without login (login pages, health check)
    patient_data: bool = False
    enrollment: bool = False  # reachable by a logged-in user who has not enrolled MFA yet

    def __post_init__(self) -> None:
        if self.patient_data and Role.VENDOR.value in self.roles:
            raise ValueError("a rule on patient-linked data cannot admit the vendor role")

    def allows(self, role: str | None) -> bool:
        return self.public or (role is not None and role in self.roles)


def public() -> Rule:
    return Rule(roles=ALL_ROLES, public=True)


def anyone(*, enrollment: bool = False) -> Rule:
    """Any logged-in person, whatever the role."""
    return Rule(roles=ALL_ROLES, enrollment=enrollment)


def only(*roles: Role, patient_data: bool = False) -> Rule:
    return Rule(roles=frozenset(r.value for r in roles), patient_data=patient_data)


def patient_data(*roles: Role) -> Rule:
    """Routes that show or change patient-linked data; every role but the vendor's by default."""
    chosen: Iterable[str] = (r.value for r in roles) if roles else (ALL_ROLES - {Role.VENDOR.value})
    return Rule(roles=frozenset(chosen), patient_data=True)


STEWARDS = (Role.ADMINISTRATOR, Role.COMPLIANCE)

RULES: dict[str, Rule] = {
    # platform
    "healthz": public(),
    "web:dashboard": anyone(),
    "web:audit": only(*STEWARDS),
    # background jobs: a person's own (radgov.core.jobs scopes them to their owner)
    "web:job": anyone(),
    "web:job_status": anyone(),
    "web:job_result": anyone(),
    "web:job_requeue": anyone(),
    "api:get_job": anyone(),
    "api:get_job_result": anyone(),
    "accounts:users": only(Role.ADMINISTRATOR),
    "accounts:tokens": anyone(),
    "accounts:token_revoke": anyone(),
    # login, logout and MFA enrollment (django-allauth).  Its other routes stay denied by
    # default: e-mail management and verification, password reset by e-mail, login and
    # reauthentication by e-mailed code (radgov sends no e-mail; an administrator resets)
    "account_login": public(),
    "account_logout": anyone(enrollment=True),
    "account_signup": public(),  # answers "closed": accounts are created by an administrator
    "account_reauthenticate": anyone(enrollment=True),
    "account_change_password": anyone(),
    "account_inactive": public(),
    "mfa_authenticate": public(),  # the second step of login, before the session is a login
    "mfa_reauthenticate": anyone(enrollment=True),
    "mfa_reauthenticate_webauthn": anyone(enrollment=True),
    "mfa_index": anyone(enrollment=True),
    "mfa_activate_totp": anyone(enrollment=True),
    "mfa_deactivate_totp": anyone(),
    "mfa_view_recovery_codes": anyone(enrollment=True),
    "mfa_generate_recovery_codes": anyone(enrollment=True),
    "mfa_download_recovery_codes": anyone(enrollment=True),
    "mfa_add_webauthn": anyone(enrollment=True),
    "mfa_list_webauthn": anyone(),
    "mfa_remove_webauthn": anyone(),
    "mfa_edit_webauthn": anyone(),
    # API
    "api:openapi-json": anyone(),
    "api:openapi-view": anyone(),
    "api:me": anyone(),
    "api:list_users": only(Role.ADMINISTRATOR),
    "api:create_user": only(Role.ADMINISTRATOR),
    "api:get_user": only(Role.ADMINISTRATOR),
    "api:deactivate_user": only(Role.ADMINISTRATOR),
    "api:list_tokens": anyone(),
    "api:create_token": anyone(),
    "api:revoke_token": anyone(),
    "api:list_audit_entries": only(*STEWARDS),
}


# The domain apps, each of which may bring pages (urls.py), an API router (api.py)
# and the rules for them (permissions.py with a RULES dict, built with the helpers
# above).  Their page routes are named "<app>:<name>", their API routes
# "api:<app>_<name>".
DOMAIN_APPS = (
    "inventory",
    "governance",
    "training",
    "evaluation",
    "exams",
    "monitoring",
    "gateway",
    "compliance",
)


@functools.cache
def all_rules() -> dict[str, Rule]:
    merged = dict(RULES)
    for app in DOMAIN_APPS:
        if importlib.util.find_spec(f"radgov.{app}.permissions") is None:
            continue
        module = importlib.import_module(f"radgov.{app}.permissions")
        for name, rule in module.RULES.items():
            if not (name.startswith(f"{app}:") or name.startswith(f"api:{app}_")):
                raise ValueError(
                    f"radgov.{app}.permissions may only rule on its own routes, not {name!r}"
                )
            merged[name] = rule
    return merged


def rule_for(route_name: str | None) -> Rule | None:
    return all_rules().get(route_name or "")


def owner_of(route_name: str) -> str:
    """Which app's golden table lists the route ("accounts" for the platform's)."""
    for app in DOMAIN_APPS:
        if route_name.startswith((f"{app}:", f"api:{app}_")):
            return app
    return "accounts"
