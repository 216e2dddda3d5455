"""The one permission policy: which roles may use which route, and what machines may do.

Deny by default: a route whose name is not in ``RULES`` is refused to everyone,
so a new page or API route is unreachable until someone decides who may use it
(and the golden role x route table in tests/accounts/route_matrix.csv is updated).

A rule marked ``patient_data`` can never admit the vendor role: section III.F of
the practice parameter gives vendors no claim on a practice's patient data.

Machines (``radgov.core.models.Machine``: a DICOM or MLLP peer, an API client, a periodic
task) hold *grants*, never roles.  A grant is declared once (``GRANTS`` here or in an app's
``permissions.py``: what it allows and which kinds of machine may hold it); an
administrator gives grants to peers and API clients, and a periodic task's grants are
declared with the task (``TASKS``).  A route admits a machine only if its rule names one of
the machine's grants (``only(..., grants=...)``, ``machines(...)``); a service asks
``machine_may(actor, grant)``.  Nothing else admits a machine.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from radgov.core.errors import Denied
from radgov.core.roles import Role

ALL_ROLES = frozenset(r.value for r in Role)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    public: bool = False  # reachable without login (login pages, health check)
    patient_data: bool = False
    enrollment: bool = False  # reachable by a logged-in user who has not enrolled MFA yet
    grants: frozenset[str] = frozenset()  # machines holding one of these may use the route

    def __post_init__(self) -> None:
        if self.patient_data and Role.VENDOR.value in self.roles:
            raise ValueError("a rule on patient-linked data cannot admit the vendor role")

    def allows(self, role: str | None) -> bool:
        return self.public or (role is not None and role in self.roles)


@dataclass(frozen=True)
class Grant:
    """Something a machine may be allowed to do, and which kinds of machine may hold it."""

    meaning: str
    kinds: frozenset[str]


def public() -> Rule:
    return Rule(roles=ALL_ROLES, public=True)


def anyone(*, enrollment: bool = False) -> Rule:
    """Any logged-in person, whatever the role."""
    return Rule(roles=ALL_ROLES, enrollment=enrollment)


def only(*roles: Role, patient_data: bool = False, grants: Iterable[str] = ()) -> Rule:
    return Rule(
        roles=frozenset(r.value for r in roles),
        patient_data=patient_data,
        grants=frozenset(grants),
    )


def machines(*grants: str, patient_data: bool = False) -> Rule:
    """A route for machines holding one of ``grants``, and no person."""
    return Rule(roles=frozenset(), patient_data=patient_data, grants=frozenset(grants))


def grant(meaning: str, *kinds: str) -> Grant:
    return Grant(meaning=meaning, kinds=frozenset(kinds))


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
    "web:audit_export": only(*STEWARDS),
    "accounts:users": only(Role.ADMINISTRATOR),
    "accounts:user_license": only(Role.ADMINISTRATOR),
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
    "api:not_found": anyone(),  # the catch-all: answers 404, serves nothing
    "api:me": anyone(),
    "api:list_users": only(Role.ADMINISTRATOR),
    "api:create_user": only(Role.ADMINISTRATOR),
    "api:get_user": only(Role.ADMINISTRATOR),
    "api:deactivate_user": only(Role.ADMINISTRATOR),
    "api:set_license": only(Role.ADMINISTRATOR),
    "api:list_tokens": anyone(),
    "api:create_token": anyone(),
    "api:revoke_token": anyone(),
    "api:list_audit_entries": only(*STEWARDS),
    "api:list_machines": only(Role.ADMINISTRATOR),
    "api:register_machine": only(Role.ADMINISTRATOR),
    "api:get_machine": only(Role.ADMINISTRATOR),
    "api:set_machine_grants": only(Role.ADMINISTRATOR),
    "api:deactivate_machine": only(Role.ADMINISTRATOR),
    "api:issue_machine_credential": only(Role.ADMINISTRATOR),
    "api:revoke_machine_credential": only(Role.ADMINISTRATOR),
}

# The platform's own grants and periodic tasks with grants (none yet: an app declares its
# own in its permissions.py, ``GRANTS = {"<app>.<name>": grant(...)}`` and
# ``TASKS = {"<app>.<task>": ("<grant>", ...)}``).
GRANTS: dict[str, Grant] = {}
TASKS: dict[str, tuple[str, ...]] = {}


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


def _app_policies() -> Iterable[tuple[str, Any]]:
    for app in DOMAIN_APPS:
        if importlib.util.find_spec(f"radgov.{app}.permissions") is not None:
            yield app, importlib.import_module(f"radgov.{app}.permissions")


@functools.cache
def all_grants() -> dict[str, Grant]:
    merged = dict(GRANTS)
    for app, module in _app_policies():
        for name, declared in getattr(module, "GRANTS", {}).items():
            if not name.startswith(f"{app}."):
                raise ValueError(
                    f"radgov.{app}.permissions may only declare {app}.* grants, not {name!r}"
                )
            merged[name] = declared
    return merged


@functools.cache
def all_tasks() -> dict[str, frozenset[str]]:
    """{task name: its grants}: the periodic tasks that act as principals of their own."""
    merged = {name: frozenset(grants) for name, grants in TASKS.items()}
    for app, module in _app_policies():
        for name, grants in getattr(module, "TASKS", {}).items():
            if not name.startswith(f"{app}."):
                raise ValueError(
                    f"radgov.{app}.permissions may only declare {app}.* tasks, not {name!r}"
                )
            merged[name] = frozenset(grants)
    for name, grants in merged.items():
        for g in grants:
            if "task" not in all_grants().get(g, Grant("", frozenset())).kinds:
                raise ValueError(f"task {name} is declared with {g!r}, which no task may hold")
    return merged


@functools.cache
def all_rules() -> dict[str, Rule]:
    merged = dict(RULES)
    for app, module in _app_policies():
        for name, rule in module.RULES.items():
            if not (name.startswith(f"{app}:") or name.startswith(f"api:{app}_")):
                raise ValueError(
                    f"radgov.{app}.permissions may only rule on its own routes, not {name!r}"
                )
            merged[name] = rule
    for name, rule in merged.items():
        unknown = rule.grants - set(all_grants())
        if unknown:
            raise ValueError(f"the rule for {name} names undeclared grants: {sorted(unknown)}")
    return merged


def is_machine(actor: Any) -> bool:
    return bool(getattr(actor, "is_machine", False))


def grants_of(machine: Any) -> frozenset[str]:
    """What a machine holds: a task's from its declaration, anyone else's as given."""
    if machine.kind == "task":
        return all_tasks().get(machine.name.removeprefix("task:"), frozenset())
    return frozenset(machine.grants or ())


def machine_may(actor: Any, name: str) -> bool:
    """Deny by default: an active machine holding the declared grant ``name`` for its kind."""
    if not is_machine(actor) or not actor.is_active:
        return False
    declared = all_grants().get(name)
    return declared is not None and actor.kind in declared.kinds and name in grants_of(actor)


def governs(actor: Any) -> bool:
    """Is ``actor`` a governance-group member or an administrator, who decide on deployments
    and their monitoring (IV.A.1)?  People only: never a machine, never a vendor's account."""
    return bool(
        actor is not None
        and not is_machine(actor)
        and actor.is_authenticated
        and actor.is_active
        and (actor.is_governance_member or actor.role == Role.ADMINISTRATOR)
        and actor.role != Role.VENDOR
    )


def require_governance(actor: Any, refusal: str, *, denied: type[Exception] = Denied) -> None:
    """Refuse ``actor`` unless they :func:`govern <governs>`: ``denied(refusal)``, where the
    refusal cites the clause and says who may.  ``denied`` is the calling app's refusal."""
    if not governs(actor):
        raise denied(refusal)


def admits(rule: Rule, actor: Any) -> bool:
    """May ``actor`` (a person, a machine, or an anonymous visitor) use a route of ``rule``?"""
    if rule.public:
        return True
    if is_machine(actor):
        return any(machine_may(actor, name) for name in rule.grants)
    if not getattr(actor, "is_authenticated", False):
        return False
    return rule.allows(getattr(actor, "role", None))


def rule_for(route_name: str | None) -> Rule | None:
    return all_rules().get(route_name or "")


def owner_of(route_name: str) -> str:
    """Which app's golden table lists the route ("accounts" for the platform's)."""
    for app in DOMAIN_APPS:
        if route_name.startswith((f"{app}:", f"api:{app}_")):
            return app
    return "accounts"
