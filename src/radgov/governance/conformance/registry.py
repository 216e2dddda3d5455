"""The core of the conformance checks: results, the context every check sees,
the registry and the ``check`` decorator that fills it, and small helpers.  The
checks themselves are in ``practice_checks`` and ``deployment_checks``;
``checks`` gathers them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.apps import apps

from radgov.governance.models import GovernanceGroup
from radgov.inventory.stages import Stage

PRACTICE, DEPLOYMENT = "practice", "deployment"
# The stages a deployment is audited in: the model is in clinical use.
AUDITED_STAGES = (Stage.PILOT, Stage.DEPLOYED)


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a secret
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    Status.PASS: "pass",
    Status.FAIL: "FAIL",
    Status.NOT_APPLICABLE: "not applicable",
}


@dataclass(frozen=True)
class Result:
    status: Status
    found: str
    fix: str = ""


def passed(found: str) -> Result:
    return Result(Status.PASS, found)


def failed(found: str, fix: str) -> Result:
    return Result(Status.FAIL, found, fix)


def not_applicable(found: str) -> Result:
    return Result(Status.NOT_APPLICABLE, found)


@dataclass(frozen=True)
class Context:
    """What every check sees: the moment audited and the settings in force."""

    at: dt.datetime
    meeting_months: int

    @property
    def day(self) -> dt.date:
        from django.utils import timezone

        return timezone.localtime(self.at).date()


@dataclass(frozen=True)
class Check:
    id: str
    clause: str
    title: str
    scope: str
    run: Callable[..., Result]
    # lifecycle guards whose findings this check reports (the catch-all leaves them out)
    covers: tuple[Callable[..., list[str]], ...] = field(default=())


REGISTRY: dict[str, Check] = {}


def check(
    id: str, clause: str, title: str, scope: str, *, covers: tuple[Any, ...] = ()
) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Register a check: ``fn(deployment, ctx)`` for a deployment; for the practice
    ``fn(ctx, groups)``, run only when the practice has a governance group (without
    one, every practice line fails with IV.A.1)."""

    def register(fn: Callable[..., Result]) -> Callable[..., Result]:
        if id in REGISTRY:
            raise ValueError(f"conformance check {id!r} is registered twice")
        run = fn
        if scope == PRACTICE:

            def run(ctx: Context) -> Result:
                groups = list(GovernanceGroup.objects.order_by("pk"))
                return fn(ctx, groups) if groups else NO_GROUP

        REGISTRY[id] = Check(id, clause, title, scope, run, tuple(covers))
        return fn

    return register


def lacking(missing: list[str], fix: str, *, capital: bool = False) -> Result:
    """A failure saying what is missing: the sentences as written, joined into one;
    ``capital``: its first letter made a capital (only that one: names, DICOM and clause
    numbers keep their case, as ``str.capitalize`` would not)."""
    found = "; ".join(missing)
    return failed(f"{found[:1].upper() if capital else found[:1]}{found[1:]}.", fix)


def guard_check(
    id: str,
    clause: str,
    title: str,
    guard: Callable[[Any], list[str]],
    *,
    fix: Callable[[Any], str],
    ok: Callable[[Any], str],
) -> None:
    """Register the deployment check that reports one lifecycle guard: what the guard finds
    missing fails with ``fix(d)``; when nothing is, the deployment passes with ``ok(d)``."""

    def run(d: Any, ctx: Context) -> Result:
        missing = guard(d)
        return lacking(missing, fix(d)) if missing else passed(ok(d))

    check(id, clause, title, DEPLOYMENT, covers=(guard,))(run)


def checks(scope: str) -> list[Check]:
    return [c for c in REGISTRY.values() if c.scope == scope]


def component_exists(app_label: str) -> bool:
    """Whether an app keeps records in the database yet (it has models)."""
    try:
        return bool(list(apps.get_app_config(app_label).get_models()))
    except LookupError:
        return False


def names(users: Any) -> str:
    return ", ".join(u.get_username() for u in users)


NO_GROUP = failed(
    "IV.A.1: the practice has no AI governance group.",
    "An administrator creates the governance group with its first members (Governance page).",
)
