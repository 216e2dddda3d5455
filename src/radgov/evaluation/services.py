"""Every change to acceptance-test protocols and runs (IV.E).

Who may do what (decided here; the route policy only admits roles that could ever qualify):

* writing a protocol, amending a locked one, running a test: the practice's people who
  evaluate models (physicians, medical physicists, imaging informatics, data scientists),
  governance-group members and administrators.  Never a vendor (IV.A.3).
* locking (approving) a protocol: a governance-group member who is not recused from the
  product (IV.A.1, IV.A.3).  The person who wrote the draft may lock it only if they are such
  a member; the lock records who and when.

A run is refused unless the protocol is locked, is the deployment's current version, and the
cases file's identifier screen is clean or a BAA covering the product's vendor is in force
(section V).  A failed criterion is a result, not an error: the run is stored as failed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db.models import Max
from django.utils import timezone

from radgov.accounts.models import User
from radgov.core.errors import Denied, Refused
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.evaluation.protocol import Protocol, ProtocolError, parse_protocol_text

if TYPE_CHECKING:  # the pipeline loads polars and scipy: only when a run is computed
    from radgov.evaluation.identifiers import IdentifierFinding
    from radgov.evaluation.pipeline import Outcome

EVALUATORS = frozenset(
    {Role.PHYSICIAN, Role.MEDICAL_PHYSICIST, Role.INFORMATICS, Role.DATA_SCIENTIST}
)


class EvaluationError(Refused):
    """A protocol or run that breaks a rule; the message says which (and the clause)."""


class NotAllowed(Denied):
    """The acting person may not make this change; the message says who may."""


def may_evaluate(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_active
        and user.role != Role.VENDOR
        and (
            user.role in EVALUATORS or user.role == Role.ADMINISTRATOR or user.is_governance_member
        )
    )


def lock_refusal(user: Any, protocol: AcceptanceProtocol) -> str | None:
    """Why ``user`` may not lock ``protocol`` now, or None."""
    from radgov.governance.recusal import recused

    if not (user.is_active and user.is_governance_member and user.role != Role.VENDOR):
        return "IV.A.1: only a governance-group member approves and locks a protocol"
    why = recused(user, protocol.deployment.model_version.product)
    if why:
        return why
    if protocol.is_locked:
        return "the protocol is already locked"
    if current_version(protocol.deployment_id) != protocol.pk:
        return "a later version of this protocol exists; lock that one"
    return None


def current_version(deployment_id: int) -> int | None:
    """The pk of the deployment's latest protocol version, or None."""
    latest = (
        AcceptanceProtocol.objects.filter(deployment_id=deployment_id).order_by("-version").first()
    )
    return latest.pk if latest else None


def parse(source: str) -> Protocol:
    try:
        return parse_protocol_text(source)
    except ProtocolError as exc:
        raise EvaluationError(str(exc)) from None


def _require_evaluator(user: Any) -> None:
    if not may_evaluate(user):
        raise NotAllowed(
            "IV.E: acceptance tests are written and run by the practice's physicians, medical "
            "physicists, informatics and data-science staff, governance-group members and "
            "administrators; never by a vendor"
        )


# ------------------------------------------------------------------------------ protocols
@service
def create_protocol(user: User, *, deployment: Any, source: str) -> AcceptanceProtocol:
    """The deployment's first protocol, as a draft."""
    _require_evaluator(user)
    if AcceptanceProtocol.objects.filter(deployment=deployment).exists():
        raise EvaluationError(
            "this deployment already has a protocol: edit its draft, or amend the locked version"
        )
    parsed = parse(source)
    now = timezone.now()
    return AcceptanceProtocol.objects.create(
        deployment=deployment,
        version=1,
        name=parsed.name,
        task=parsed.task,
        source=source,
        content_hash=parsed.canonical_hash(),
        created_by=user,
        created_at=now,
        updated_at=now,
    )


@service
def edit_draft(
    user: User, protocol: AcceptanceProtocol, *, source: str, reason: str | None = None
) -> AcceptanceProtocol:
    """Change a protocol that is not locked yet (and, for an amendment, its reason)."""
    _require_evaluator(user)
    protocol = AcceptanceProtocol.objects.select_for_update().get(pk=protocol.pk)
    if protocol.is_locked:
        raise EvaluationError(
            "IV.E.2: the protocol is locked; a change makes a new version (amend it)"
        )
    parsed = parse(source)
    if protocol.amends is not None and parsed.canonical_hash() == protocol.amends.content_hash:
        raise EvaluationError(_SAME_CONTENT)
    protocol.source = source
    protocol.name, protocol.task = parsed.name, parsed.task
    protocol.content_hash = parsed.canonical_hash()
    if protocol.amends_id is not None and reason is not None:
        protocol.amendment_reason = _reason(reason)
    protocol.updated_at = timezone.now()
    protocol.save()
    return protocol


_SAME_CONTENT = (
    "the amended protocol has the same content as the locked one (only layout, comments or "
    "defaults differ); nothing to amend"
)


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason:
        raise EvaluationError("IV.E.2: say why a locked protocol is being changed")
    return reason


@service
def amend(
    user: User, protocol: AcceptanceProtocol, *, source: str, reason: str
) -> AcceptanceProtocol:
    """A new version of a locked protocol, marked as amended after lock."""
    _require_evaluator(user)
    protocol = AcceptanceProtocol.objects.select_for_update().get(pk=protocol.pk)
    if not protocol.is_locked:
        raise EvaluationError("the protocol is still a draft: edit it instead of amending it")
    if current_version(protocol.deployment_id) != protocol.pk:
        raise EvaluationError(
            "a later version of this protocol exists; change that one (a draft is edited, a "
            "locked version amended)"
        )
    why = _reason(reason)
    parsed = parse(source)
    if parsed.canonical_hash() == protocol.content_hash:
        raise EvaluationError(_SAME_CONTENT)
    latest = AcceptanceProtocol.objects.filter(deployment_id=protocol.deployment_id).aggregate(
        v=Max("version")
    )["v"]
    now = timezone.now()
    return AcceptanceProtocol.objects.create(
        deployment_id=protocol.deployment_id,
        version=latest + 1,
        amends=protocol,
        name=parsed.name,
        task=parsed.task,
        source=source,
        content_hash=parsed.canonical_hash(),
        amendment_reason=why,
        amended_after_results=AcceptanceRun.objects.filter(
            protocol__deployment_id=protocol.deployment_id
        ).exists(),
        created_by=user,
        created_at=now,
        updated_at=now,
    )


@service
def lock(user: User, protocol: AcceptanceProtocol) -> AcceptanceProtocol:
    """Approve and lock: from now on the protocol's content is fixed by its hash."""
    protocol = AcceptanceProtocol.objects.select_for_update().get(pk=protocol.pk)
    refusal = lock_refusal(user, protocol)
    if refusal:
        if refusal.startswith("IV.A"):
            raise NotAllowed(refusal)
        raise EvaluationError(refusal)
    if parse(protocol.source).canonical_hash() != protocol.content_hash:
        raise EvaluationError("the stored protocol does not match its hash; it was altered")
    protocol.locked_by = user
    protocol.locked_at = timezone.now()
    protocol.save()
    return protocol


# ------------------------------------------------------------------------------ runs
def run_refusal(user: Any, protocol: AcceptanceProtocol) -> str | None:
    """Why no run may be made against ``protocol`` now, or None."""
    if not may_evaluate(user):
        return "IV.E: you may not run acceptance tests"
    if not protocol.is_locked:
        return "IV.E.2: the protocol must be approved and locked before any result exists"
    if current_version(protocol.deployment_id) != protocol.pk:
        return "a later version of this protocol exists; run that one once it is locked"
    return None


def lock_statement(protocol: AcceptanceProtocol) -> str:
    text = (
        f"Version {protocol.version}, approved and locked by {protocol.locker_name} on "
        f"{protocol.locked_at:%Y-%m-%d %H:%M} UTC; the protocol run is the locked content "
        f"(hash {protocol.content_hash})."
    )
    return f"{text} {protocol.amendment}." if protocol.amendment else text


def _unusable(name: str, exc: Any) -> EvaluationError:
    return EvaluationError(f"the cases file {name!r} cannot be used: " + "; ".join(exc.problems))


def check_may_run(user: Any, protocol: AcceptanceProtocol) -> None:
    """Refuse a run that cannot be made, before its cases file is read."""
    _require_evaluator(user)
    refusal = run_refusal(user, protocol)
    if refusal:
        raise EvaluationError(refusal)


@dataclass(frozen=True)
class BaaInForce:
    """A web run's privacy policy (section V): a cases file with identifiers is used only while
    a BAA with the product's vendor covering PHI is in force."""

    product: Any

    def allow(self, findings: list[IdentifierFinding]) -> str | None:
        from radgov.governance.selectors import baa_covers

        if not findings:
            return None
        if not baa_covers(self.product):
            listed = "; ".join(str(f) for f in findings)
            raise EvaluationError(
                "V: the cases file looks like it holds HIPAA identifiers, and no BAA with "
                f"{self.product.vendor} covering PHI is in force. De-identify or remove these "
                f"columns: {listed}"
            )
        return f"a BAA with {self.product.vendor} covering PHI is in force (V)"


def compute(user: Any, protocol: AcceptanceProtocol, *, path: Path, name: str) -> Outcome:
    """Evaluate a cases file against a locked protocol with the acceptance-test pipeline
    (:mod:`radgov.evaluation.pipeline`); no database writes."""
    from radgov.evaluation import pipeline
    from radgov.evaluation.cases import CasesError

    check_may_run(user, protocol)
    parsed = parse(protocol.source)
    if parsed.canonical_hash() != protocol.content_hash:
        raise EvaluationError("the stored protocol does not match its locked hash; it was altered")
    deployment = protocol.deployment

    def describe(result: dict[str, Any]) -> None:
        result["cases"]["file"] = name
        result["protocol"]["lock"] = lock_statement(protocol)
        result["protocol"]["version"] = protocol.version
        result["protocol"]["amended_after_lock"] = protocol.amended_after_lock
        result["subject"] = {
            "product": str(deployment.model_version.product),
            "model_version": str(deployment.model_version),
            "deployment": str(deployment),
        }

    try:
        return pipeline.run(
            parsed,
            path,
            privacy=BaaInForce(deployment.model_version.product),
            describe=describe,
            page=pipeline.InProcessPage(),
        )
    except CasesError as exc:
        raise _unusable(name, exc) from None


def result_hash(result: dict[str, Any]) -> str:
    """SHA-256 of the result's canonical JSON (keys sorted, no spaces): the same whichever
    database stored it (PostgreSQL's jsonb does not keep key order)."""
    text = json.dumps(result, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


@service
def store_run(user: User, protocol: AcceptanceProtocol, outcome: Outcome) -> AcceptanceRun:
    protocol = AcceptanceProtocol.objects.select_for_update().get(pk=protocol.pk)
    refusal = run_refusal(user, protocol)
    if refusal:  # amended or unlocked while the file was being evaluated
        raise EvaluationError(refusal)
    result = outcome.result
    if result["protocol"]["hash"] != protocol.content_hash:
        raise EvaluationError("the result was computed with another protocol version")
    findings = result["privacy"]["identifier_columns"]
    sha = result["cases"]["sha256"]
    return AcceptanceRun.objects.create(
        protocol=protocol,
        protocol_hash=protocol.content_hash,
        cases_name=result["cases"]["file"][:255],
        cases_sha256=sha,
        repeats=AcceptanceRun.objects.filter(
            protocol__deployment_id=protocol.deployment_id, cases_sha256=sha
        )
        .order_by("created_at", "pk")
        .first(),
        n_cases=result["cases"]["n_rows"],
        synthetic=result["cases"]["synthetic"],
        passed=result["passed"],
        identifier_columns=[{"column": f["column"], "kind": f["kind"]} for f in findings],
        identifiers_allowed_because=result["privacy"]["reason"] or "",
        result=result,
        result_sha256=result_hash(result),
        report_html=outcome.html,
        run_by=user,
        created_at=timezone.now(),
    )


def run_test(user: User, protocol: AcceptanceProtocol, *, path: Path, name: str) -> AcceptanceRun:
    """Evaluate the cases file and store the run (refusals change nothing)."""
    return store_run(user, protocol, compute(user, protocol, path=path, name=name))
