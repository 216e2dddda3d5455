"""A deployment's lifecycle as an explicit state machine.

    requested -> under review -> acceptance testing -> approved -> pilot -> deployed
                                                                 \\-> deployed
    any live stage -> suspended -> (back to review, pilot or deployed) ; any stage -> sunset

Every move goes through :func:`transition` (a service): it refuses a move the
table does not allow, runs every guard registered for the target stage, and
refuses when any guard reports something missing, listing *all* of it.  A guard
is ``guard(deployment) -> list[str]``, each item a sentence citing the practice
parameter's clause ("IV.F.2: no IFU document uploaded for version 2.1").

The guards live in one registry object, :data:`LIFECYCLE` (a :class:`Lifecycle`), and every
app registers with it once, in its ``AppConfig.ready`` (``LIFECYCLE.register(guard, *stages)``):
the inventory its own guards, governance the approval decision and, for products that need
extra oversight (IV.H), the IRB determination and the legal/compliance review; training the
training procedure.  Evidence of local acceptance testing (IV.E) comes from providers
registered with ``LIFECYCLE.register_evidence`` (a governance waiver, a passed evaluation
run); each says why it holds none, and a refusal repeats what they say.  Tests replace what
is registered with ``LIFECYCLE.override(...)``, never by patching the module.

A list of deployments asks :func:`blockers` for every row at once: each app may register a
*preload* (``LIFECYCLE.register_preload``) that reads what its guards need for all the rows in a
few queries and keeps it with :func:`remember`; a guard reads it with :func:`fact`, which
computes it for the one deployment when nothing was preloaded (a transition, a detail page).

Only people move a deployment (IV.A.1), with one exception: a monitoring alarm may suspend
one (:func:`suspend_on_alarm`) when the governance group allowed that machine to
(:func:`allow_alarm_suspension`, an ``AlarmSuspension``).  The move is recorded as the
alarm's act, naming the standing permission; resuming stays a person's decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from django.utils import timezone

from radgov.core import context, policy
from radgov.core.audit import Action, record
from radgov.core.errors import Denied, Refused
from radgov.core.services import service
from radgov.inventory.stages import Stage

if TYPE_CHECKING:
    from radgov.core.models import Machine
    from radgov.inventory.models import AlarmSuspension, Deployment

__all__ = [
    "ALLOWED",
    "LIFECYCLE",
    "PILOT_MAX_USERS",
    "Lifecycle",
    "LifecycleError",
    "NotPermitted",
    "Stage",
    "allow_alarm_suspension",
    "allowed_targets",
    "blockers",
    "fact",
    "guards_for",
    "missing_for",
    "remember",
    "suspend_on_alarm",
    "transition",
    "withdraw_alarm_suspension",
]

Guard = Callable[["Deployment"], list[str]]
# None when the provider holds evidence for the deployment; otherwise why it holds none
EvidenceProvider = Callable[["Deployment"], str | None]
# reads, for many deployments at once, what guards will ask; keeps it with remember()
Preload = Callable[[list["Deployment"]], None]
T = TypeVar("T")

PILOT_MAX_USERS = 10

# The allowed moves.  A suspension can be lifted back to where the deployment was
# (pilot or deployed, guards permitting) or sent back to review; sunset is final.
ALLOWED: dict[Stage, tuple[Stage, ...]] = {
    Stage.REQUESTED: (Stage.UNDER_REVIEW, Stage.SUNSET),
    Stage.UNDER_REVIEW: (Stage.ACCEPTANCE_TESTING, Stage.APPROVED, Stage.SUNSET),
    Stage.ACCEPTANCE_TESTING: (Stage.UNDER_REVIEW, Stage.APPROVED, Stage.SUNSET),
    Stage.APPROVED: (Stage.PILOT, Stage.DEPLOYED, Stage.SUSPENDED, Stage.SUNSET),
    Stage.PILOT: (Stage.DEPLOYED, Stage.SUSPENDED, Stage.SUNSET),
    Stage.DEPLOYED: (Stage.SUSPENDED, Stage.SUNSET),
    Stage.SUSPENDED: (Stage.UNDER_REVIEW, Stage.PILOT, Stage.DEPLOYED, Stage.SUNSET),
    Stage.SUNSET: (),
}

# Moves that must say why (recorded on the transition).
REASON_REQUIRED = frozenset({Stage.SUSPENDED, Stage.SUNSET})

SUSPEND_ON_ALARM = "inventory.suspend_on_alarm"  # the policy's grant for an alarm's machine

_facts: ContextVar[dict[tuple[str, Any], Any] | None] = ContextVar(
    "radgov_lifecycle_facts", default=None
)


class Lifecycle:
    """The one registry of what a move needs: guards per target stage, providers of
    acceptance evidence (IV.E), and preloads for lists.  Each app registers once, from its
    ``AppConfig.ready``; registering the same thing twice is a mistake and refused.  Every
    answer to "can this deployment move, and what is missing?" comes from here."""

    def __init__(self) -> None:
        self._guards: dict[Stage, list[Guard]] = {stage: [] for stage in Stage}
        self._evidence: list[EvidenceProvider] = []
        self._preloads: list[Preload] = []

    def register(self, guard: Guard, *targets: Stage | str) -> None:
        """Run ``guard`` before any move into each of ``targets``."""
        for target in targets:
            self._add(self._guards[Stage(target)], guard)

    def register_evidence(self, provider: EvidenceProvider) -> None:
        """``provider(deployment)`` is None when it holds a passed local acceptance test or
        a recorded, justified waiver for the deployment (IV.E), and otherwise says why it
        holds none ("the latest run failed its criteria"), for the refusal to repeat."""
        self._add(self._evidence, provider)

    def register_preload(self, preload: Preload) -> None:
        """Run ``preload(deployments)`` before the guards of a list of deployments run."""
        self._add(self._preloads, preload)

    @staticmethod
    def _add(registered: list[Any], item: Any) -> None:
        if item in registered:
            raise ValueError(f"{item!r} is registered already (register once, in ready())")
        registered.append(item)

    @contextmanager
    def override(
        self,
        *,
        guards: dict[Stage, list[Guard]] | None = None,
        evidence: list[EvidenceProvider] | None = None,
        preloads: list[Preload] | None = None,
    ) -> Iterator[Lifecycle]:
        """For tests: the registry with ``guards`` (stages left out have none), ``evidence``
        and ``preloads`` in place of what the apps registered, until the block ends.  The
        lists are used as given, so a test may add to or empty them inside the block."""
        saved = self._guards, self._evidence, self._preloads
        if guards is not None:
            self._guards = {stage: guards.get(stage, []) for stage in Stage}
        self._evidence = self._evidence if evidence is None else evidence
        self._preloads = self._preloads if preloads is None else preloads
        try:
            yield self
        finally:
            self._guards, self._evidence, self._preloads = saved

    def guards_for(self, target: Stage | str) -> list[Guard]:
        return list(self._guards[Stage(target)])

    def evidence_gaps(self, deployment: Deployment) -> list[str | None]:
        """What each evidence provider says of ``deployment`` (None: it holds evidence)."""
        return [provider(deployment) for provider in list(self._evidence)]

    def missing_for(
        self, deployment: Deployment, target: Stage | str, *, leaving_out: Iterable[Guard] = ()
    ) -> list[str]:
        """What every guard of ``target`` says is missing (empty: the guards would pass),
        except the guards in ``leaving_out`` (reported elsewhere)."""
        skip = set(leaving_out)
        missing: list[str] = []
        for guard in self.guards_for(target):
            if guard not in skip:
                missing.extend(guard(deployment))
        return missing

    def blockers(self, deployments: list[Deployment]) -> dict[Any, dict[str, list[str]]]:
        """For each deployment, for each stage it may move to next, what is missing: the same
        as ``missing_for`` for each, with what the guards need read once for all of them.
        The deployments come with their model version, product and people loaded."""
        token = _facts.set({})
        try:
            for preload in list(self._preloads):
                preload(deployments)
            return {
                d.pk: {t.value: self.missing_for(d, t) for t in allowed_targets(d)}
                for d in deployments
            }
        finally:
            _facts.reset(token)


LIFECYCLE = Lifecycle()
guards_for = LIFECYCLE.guards_for
missing_for = LIFECYCLE.missing_for
blockers = LIFECYCLE.blockers


class LifecycleError(Refused):
    """A transition refused; ``missing`` lists every reason."""

    def __init__(self, message: str, missing: list[str] | None = None) -> None:
        self.missing = list(missing or [])
        if self.missing:
            message = f"{message}: " + "; ".join(self.missing)
        super().__init__(message)


class NotPermitted(Denied):
    """The acting person may not make this change."""


def remember(name: str, key: Any, value: Any) -> None:
    """Keep a preloaded fact (``key``: a deployment's, version's or product's pk)."""
    facts = _facts.get()
    if facts is not None:
        facts[(name, key)] = value


def fact(name: str, key: Any, compute: Callable[[], T]) -> T:
    """The preloaded fact, or ``compute()`` when none was preloaded."""
    facts = _facts.get()
    if facts is not None and (name, key) in facts:
        return facts[(name, key)]  # type: ignore[no-any-return]
    return compute()


def allowed_targets(deployment: Deployment) -> tuple[Stage, ...]:
    return ALLOWED[Stage(deployment.status)]


def may_transition(user: Any) -> bool:
    """Only governance-group members and administrators move a deployment (IV.A.1): people,
    never a machine."""
    return policy.governs(user)


@service
def transition(
    user: Any, deployment: Deployment, to: Stage | str, *, reason: str = ""
) -> Deployment:
    """Move ``deployment`` to stage ``to``; refuses with every missing item, changing nothing.

    Deploying a new version that ``replaces`` an earlier deployment sunsets the earlier
    one in the same transaction, so the practice never runs both or neither.
    """
    from radgov.inventory.models import Deployment

    policy.require_governance(
        user,
        "IV.A.1: only governance-group members and administrators may move a deployment "
        "through its lifecycle",
        denied=NotPermitted,
    )
    try:
        target = Stage(to)
    except ValueError:
        raise LifecycleError(
            f"{to!r} is not a lifecycle stage; stages are {', '.join(Stage.values)}"
        ) from None
    deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
    current = Stage(deployment.status)
    if target not in ALLOWED[current]:
        allowed = ", ".join(s.label.lower() for s in ALLOWED[current]) or "none (sunset is final)"
        raise LifecycleError(
            f"a deployment cannot go from {current.label.lower()} to {target.label.lower()}; "
            f"from {current.label.lower()} it may go to: {allowed}"
        )
    missing = missing_for(deployment, target)
    reason = (reason or "").strip()
    if target in REASON_REQUIRED and not reason:
        missing.append(f"a move to {target.label.lower()} must say why (a reason is required)")
    if missing:
        raise LifecycleError(f"{deployment} cannot move to {target.label.lower()}", missing=missing)
    _move(user, deployment, current, target, reason)
    if target == Stage.DEPLOYED and deployment.replaces_id is not None:
        old = Deployment.objects.select_for_update().get(pk=deployment.replaces_id)
        if old.status != Stage.SUNSET:
            _move(
                user,
                old,
                Stage(old.status),
                Stage.SUNSET,
                f"replaced by {deployment.model_version.version} (deployment {deployment.pk})",
            )
    return deployment


def _move(
    user: Any, deployment: Deployment, current: Stage, target: Stage, reason: str, **on: Any
) -> None:
    from radgov.inventory.models import DeploymentTransition

    deployment.status = target
    if target == Stage.DEPLOYED and deployment.deployment_date is None:
        deployment.deployment_date = timezone.localdate()
    deployment.save()
    DeploymentTransition.objects.create(
        deployment=deployment, from_stage=current, to_stage=target, by=user, reason=reason, **on
    )


# --- suspension by a monitoring alarm (IV.G) -------------------------------------------------


ALARM_RULE = (
    "IV.A.1: only governance-group members and administrators decide which alarms may "
    "suspend a deployment"
)


@service
def allow_alarm_suspension(
    user: Any, deployment: Deployment, machine: Machine, *, note: str = ""
) -> AlarmSuspension:
    """The governance group's standing permission for ``machine``'s alarm to suspend
    ``deployment``; allowing it again while it stands changes nothing."""
    from radgov.inventory.models import AlarmSuspension

    policy.require_governance(user, ALARM_RULE, denied=NotPermitted)
    if not machine.is_active:
        raise LifecycleError(f"{machine} is deactivated")
    if SUSPEND_ON_ALARM not in policy.grants_of(machine):
        raise LifecycleError(
            f"{machine} does not hold the grant {SUSPEND_ON_ALARM}: an administrator gives it "
            "(radgov machines grants), or the task declares it"
        )
    standing = AlarmSuspension.objects.filter(
        deployment=deployment, machine=machine, withdrawn_at__isnull=True
    ).first()
    if standing is not None:
        return standing
    return AlarmSuspension.objects.create(
        deployment=deployment, machine=machine, note=(note or "").strip(), allowed_by=user
    )


@service
def withdraw_alarm_suspension(user: Any, suspension: AlarmSuspension) -> AlarmSuspension:
    from radgov.inventory.models import AlarmSuspension

    policy.require_governance(user, ALARM_RULE, denied=NotPermitted)
    suspension = AlarmSuspension.objects.select_for_update().get(pk=suspension.pk)
    if suspension.withdrawn_at is None:
        suspension.withdrawn_at, suspension.withdrawn_by = timezone.now(), user
        suspension.save()
    return suspension


@service
def suspend_on_alarm(
    machine: Any, deployment: Deployment, *, alarm: str, reason: str
) -> Deployment:
    """Suspend a live deployment because ``machine``'s alarm ``alarm`` fired, as the
    governance group allowed (IV.G).  Refused to anyone but a machine holding the grant, acting
    as itself, with a standing permission for this deployment.  An alarm that fires again on
    a suspended deployment changes nothing."""
    from radgov.inventory.models import AlarmSuspension, Deployment

    if not policy.machine_may(machine, SUSPEND_ON_ALARM):
        raise NotPermitted(
            f"IV.G: only a machine holding {SUSPEND_ON_ALARM} suspends a deployment on an alarm; "
            "people suspend through the lifecycle (transition)"
        )
    if context.current().user is not machine:
        raise NotPermitted(
            f"{machine} must act as itself (radgov.core.machines.acting_as) so the audit trail "
            "names it"
        )
    alarm, reason = (alarm or "").strip(), (reason or "").strip()
    if not alarm or not reason:
        raise LifecycleError("an alarm's suspension names the alarm and says why (reason)")
    deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
    allowed = AlarmSuspension.objects.filter(
        deployment=deployment, machine=machine, withdrawn_at__isnull=True
    ).first()
    if allowed is None:
        raise NotPermitted(
            f"IV.G: the governance group has not allowed {machine} to suspend {deployment}"
        )
    current = Stage(deployment.status)
    if current == Stage.SUSPENDED:
        return deployment
    if Stage.SUSPENDED not in ALLOWED[current]:
        raise LifecycleError(
            f"{deployment} is {current.label.lower()}: not live, nothing to suspend"
        )
    _move(
        None,
        deployment,
        current,
        Stage.SUSPENDED,
        f"alarm {alarm}: {reason}",
        by_machine=machine,
        alarm_suspension=allowed,
    )
    record(
        action=Action.EXECUTE,
        obj=deployment,
        detail={
            "act": "suspend on alarm",
            "alarm": alarm,
            "configuration": allowed.pk,
            "allowed_by": allowed.allowed_by_id,
            "from": current.value,
        },
    )
    return deployment


# --- the inventory's own guards ------------------------------------------------------------


def ifu_guard(deployment: Deployment) -> list[str]:
    from radgov.inventory.models import DocumentKind

    version = deployment.model_version
    has_ifu = fact(
        "inventory.has_ifu",
        version.pk,
        lambda: version.documents.filter(kind=DocumentKind.IFU).exists(),
    )
    if has_ifu:
        return []
    return [f"IV.F.2: no IFU document uploaded for version {version.version}"]


def preload_ifus(deployments: list[Deployment]) -> None:
    from radgov.inventory.models import Document, DocumentKind

    versions = {d.model_version_id for d in deployments}
    with_ifu = set(
        Document.objects.filter(model_version_id__in=versions, kind=DocumentKind.IFU)
        .order_by()
        .values_list("model_version_id", flat=True)
        .distinct()
    )
    for version in versions:
        remember("inventory.has_ifu", version, version in with_ifu)


def release_policy_guard(deployment: Deployment) -> list[str]:
    if deployment.output_release_policy.strip():
        return []
    return [
        "IV.C.2: no output-release policy recorded for the deployment "
        "(how AI results reach the medical record)"
    ]


def pilot_group_guard(deployment: Deployment) -> list[str]:
    count = len(deployment.pilot_users.all())  # prefetched for a list
    if count == 0:
        return ["no pilot group: name the small group of end-users who will pilot the model"]
    if count > PILOT_MAX_USERS:
        return [
            f"the pilot group has {count} end-users; a pilot is a small group "
            f"(at most {PILOT_MAX_USERS})"
        ]
    return []


def end_users_guard(deployment: Deployment) -> list[str]:
    if deployment.end_users.exists():
        return []
    return ["III.A: no qualified end-users named for the deployment"]


ACCEPTANCE_MISSING = "IV.E: no passed local acceptance test and no recorded, justified waiver"


def acceptance_guard(deployment: Deployment) -> list[str]:
    gaps = LIFECYCLE.evidence_gaps(deployment)
    if any(gap is None for gap in gaps):
        return []
    why = f": {'; '.join(gap for gap in gaps if gap)}" if gaps else ""
    return [f"{ACCEPTANCE_MISSING} for {deployment.model_version}{why}"]


def register_inventory_guards() -> None:
    # the group approves on the evidence of a local acceptance test or a justified waiver
    LIFECYCLE.register(ifu_guard, Stage.PILOT, Stage.DEPLOYED)
    LIFECYCLE.register(release_policy_guard, Stage.PILOT, Stage.DEPLOYED)
    LIFECYCLE.register(acceptance_guard, Stage.APPROVED, Stage.PILOT, Stage.DEPLOYED)
    LIFECYCLE.register(pilot_group_guard, Stage.PILOT)
    LIFECYCLE.register(end_users_guard, Stage.DEPLOYED)
    LIFECYCLE.register_preload(preload_ifus)
