"""Machine principals: registering peers and API clients, their grants and credentials,
finding a peer, and acting as a machine.

    # an administrator (the API, or ``radgov machines`` at the server's console)
    pacs = machines.register(admin, kind="dicom_peer", name="dicom:PACS_MAIN",
                             ae_title="PACS_MAIN", address="10.1.2.3", grants=["exams.ingest"])
    credential, secret = machines.issue_credential(admin, orchestrator, name="prod")

    # a listener, for an association from 10.1.2.3 calling as PACS_MAIN
    peer = machines.find_peer("dicom_peer", address="10.1.2.3", ae_title="PACS_MAIN")
    with machines.acting_as(peer, channel="dicom", client_address="10.1.2.3"):
        exams.services.receive(peer, ...)       # the audit trail names dicom:PACS_MAIN

    # a periodic task, acting as its own principal (declared in a permissions.py TASKS)
    @db_periodic_task(crontab(minute="*/5"))
    @machines.task("monitoring.check_alarms")
    def check_alarms(): ...

The services take the acting person (``None``: the operator at the server's command line)
and refuse anyone but an active administrator.  What a machine may do is the policy's
``machine_may(machine, grant)``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from radgov.core import bearer, context, policy
from radgov.core.audit import Action, record
from radgov.core.errors import Denied, Refused
from radgov.core.models import Machine, MachineCredential, MachineKind
from radgov.core.models.lookup import Lookup
from radgov.core.models.machine import NAME_PREFIX
from radgov.core.roles import Role
from radgov.core.services import service

P = ParamSpec("P")
R = TypeVar("R")

TOKEN_PREFIX = "rgm_"  # noqa: S105 - the marker of a machine credential, not a secret
MAX_DAYS = 732
NAME = re.compile(r"^[a-z]+:[A-Za-z0-9._@-]{1,90}$")
# a periodic task's principal, found on each of its runs (routing's, every pass)
_BY_NAME = Lookup[Machine](lambda name: Machine.objects.filter(name=name).order_by("pk")[:1])


class MachineError(Refused):
    """A request about machines that breaks a rule; the message says which."""


class NotPermitted(Denied):
    """Only an administrator registers machines and issues their credentials."""


class CredentialError(Exception):
    """Why a presented machine credential was refused (said without echoing it)."""


def _require_administrator(user: Any) -> None:
    if user is None:  # the operator at the server's command line
        return
    if (
        policy.is_machine(user)
        or not getattr(user, "is_active", False)
        or getattr(user, "role", None) != Role.ADMINISTRATOR
    ):
        raise NotPermitted("only an administrator registers machines and issues their credentials")


def _check_grants(kind: str, grants: Iterable[str]) -> list[str]:
    chosen = sorted(set(grants))
    if kind == MachineKind.TASK and chosen:
        raise MachineError("a periodic task's grants are declared with the task, not given")
    declared = policy.all_grants()
    for name in chosen:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise MachineError(f"grants: {name!r} is not a declared grant (declared: {known})")
        if kind not in declared[name].kinds:
            raise MachineError(f"grants: {name!r} cannot be held by a {kind.replace('_', ' ')}")
    return chosen


@service
def register(
    user: Any,
    *,
    kind: str,
    name: str,
    description: str = "",
    ae_title: str = "",
    address: str = "",
    application: str = "",
    grants: Iterable[str] = (),
) -> Machine:
    """Register a peer or an API client (a task's principal is made by ``task_principal``)."""
    _require_administrator(user)
    if kind not in MachineKind.values or kind == MachineKind.TASK:
        kinds = ", ".join(k for k in MachineKind.values if k != MachineKind.TASK)
        raise MachineError(f"kind: {kind!r} is not a kind of machine to register ({kinds})")
    name = name.strip()
    if not NAME.match(name) or not name.startswith(NAME_PREFIX[MachineKind(kind)]):
        raise MachineError(
            f"name: {name!r} must be {NAME_PREFIX[MachineKind(kind)]}<letters, digits . _ @ ->"
        )
    if kind == MachineKind.DICOM_PEER and not (ae_title.strip() and address.strip()):
        raise MachineError("a DICOM peer is known by its calling AE title and its address")
    if kind == MachineKind.MLLP_PEER and not address.strip():
        raise MachineError("an MLLP peer is known by its address")
    if len(ae_title.strip()) > 16:
        raise MachineError("ae_title: a DICOM AE title has at most 16 characters")
    if Machine.objects.filter(name=name).exists():
        raise MachineError(f"name: a machine named {name!r} is already registered")
    return Machine.objects.create(
        kind=kind,
        name=name,
        description=description.strip(),
        ae_title=ae_title.strip(),
        address=address.strip(),
        application=application.strip(),
        grants=_check_grants(kind, grants),
        created_by=user,
    )


@service
def set_grants(user: Any, machine: Machine, grants: Iterable[str]) -> Machine:
    _require_administrator(user)
    machine = Machine.objects.select_for_update().get(pk=machine.pk)
    machine.grants = _check_grants(machine.kind, grants)
    machine.save()
    return machine


@service
def deactivate(user: Any, machine: Machine) -> Machine:
    """The machine may no longer act; its credentials are revoked."""
    _require_administrator(user)
    machine = Machine.objects.select_for_update().get(pk=machine.pk)
    machine.is_active = False
    machine.save()
    now = timezone.now()
    for credential in machine.credentials.filter(revoked_at__isnull=True):
        credential.revoked_at = now
        credential.save()
    return machine


@service
def issue_credential(
    user: Any, machine: Machine, *, name: str, days: int = 365
) -> tuple[MachineCredential, str]:
    """A new API credential; the secret is returned once and never stored."""
    _require_administrator(user)
    name = name.strip()
    if not name:
        raise MachineError("name: a credential needs a name (where it is installed)")
    if machine.kind != MachineKind.API_CLIENT or not machine.is_active:
        raise MachineError(
            f"{machine.name} is not an active API client; only those get credentials"
        )
    if not 1 <= days <= MAX_DAYS:
        raise MachineError(f"days: a credential lives 1 to {MAX_DAYS} days, not {days}")
    secret, prefix, digest = bearer.new_secret(TOKEN_PREFIX)
    credential = MachineCredential.objects.create(
        machine=machine,
        name=name,
        prefix=prefix,
        digest=digest,
        issued_by=user,
        expires_at=timezone.now() + timedelta(days=days),
    )
    record(
        action=Action.TOKEN_CREATED, obj=credential, detail={"machine": machine.name, "days": days}
    )
    return credential, secret


@service
def revoke_credential(user: Any, credential: MachineCredential) -> MachineCredential:
    _require_administrator(user)
    credential = MachineCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save()
        record(action=Action.TOKEN_REVOKED, obj=credential)
    return credential


def authenticate(token: str) -> tuple[Machine, MachineCredential]:
    """The machine a presented credential belongs to; raises ``CredentialError``."""
    credential = bearer.find(
        MachineCredential.objects.select_related("machine"),
        TOKEN_PREFIX,
        token,
        CredentialError,
        "machine credential",
    )
    if credential.revoked_at is not None:
        raise CredentialError("machine credential revoked")
    if credential.expires_at <= timezone.now():
        raise CredentialError("machine credential expired")
    if not credential.machine.is_active:
        raise CredentialError("machine deactivated")
    # when it was last used is bookkeeping on the credential, not a change of governed data
    # (as for a person's API token): written without an audit entry
    models.QuerySet(MachineCredential).filter(pk=credential.pk).update(last_used_at=timezone.now())
    return credential.machine, credential


def find_peer(
    kind: str, *, address: str, ae_title: str = "", application: str = ""
) -> Machine | None:
    """The active peer registered for this address (and calling AE title, or HL7 sending
    application^facility, when the peer was registered with one); None: an unknown peer,
    to be refused."""
    candidates = Machine.objects.filter(kind=kind, address=address, is_active=True)
    if kind == MachineKind.DICOM_PEER:
        candidates = candidates.filter(ae_title=ae_title)
    for machine in candidates:
        if kind != MachineKind.MLLP_PEER or machine.application in ("", application):
            return machine
    return None


@service
def _make_task_principal(name: str) -> Machine:
    return Machine.objects.create(
        kind=MachineKind.TASK, name=f"task:{name}", description="periodic task"
    )


def task_principal(name: str) -> Machine:
    """The principal of the periodic task ``name`` (declared in a ``permissions.py``
    ``TASKS``), made on first use."""
    if name not in policy.all_tasks():
        raise MachineError(f"task {name!r} is not declared in any permissions.py TASKS")
    found = _BY_NAME(f"task:{name}")
    if found:
        return found[0]
    try:
        with transaction.atomic():
            return _make_task_principal(name)
    except IntegrityError:  # another worker made it first
        return Machine.objects.get(name=f"task:{name}")


@contextmanager
def acting_as(
    machine: Machine, *, channel: str = "worker", client_address: str = ""
) -> Iterator[context.ActingContext]:
    """Everything audited inside names ``machine`` as the actor."""
    with context.acting_as(
        context.ActingContext(actor=machine, channel=channel, client_address=client_address)
    ) as ctx:
        yield ctx


def task(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a (periodic) task function as the principal of task ``name``."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with acting_as(task_principal(name)):
                return fn(*args, **kwargs)

        return run

    return decorate


def acting_machine() -> Machine | None:
    """The machine of the acting context, if a machine is acting."""
    actor = context.current().user
    return actor if policy.is_machine(actor) else None
