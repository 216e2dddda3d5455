"""Every write of the DICOM gateway (docs/gateway.md): an instance stored before it is
acknowledged, a quiet study completed and routed to every live deployment whose criteria
admit it, with the reason for every deployment that did not get it.

Each service writes in one transaction with one audit entry (core's ``audit.batch``): one
``Instances Transferred`` (110104) entry per instance stored by ``store_instance`` (a
model's result, an instance retrieved or posted), one ``Procedure Record`` (110111) entry
per routed study.  The listener's images are recorded in groups by ``gateway.groups``.  The
listener acts as the calling peer (a registered ``core.Machine``); routing acts as the task
principal ``task:gateway.route``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
import pydicom.errors
from django.db import IntegrityError, connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from pydicom.tag import Tag

from radgov.core import crypto, machines, policy
from radgov.core.audit import Action, EventCode, batch
from radgov.core.errors import Denied
from radgov.core.models.ingest import drawn_together
from radgov.core.models.lookup import Lookup
from radgov.core.services import service
from radgov.dicom.criteria import Criteria, CriteriaError
from radgov.exams import services as exams
from radgov.exams.errors import ExamError
from radgov.exams.metadata import StudyMetadata
from radgov.exams.models import Exam, Inference
from radgov.exams.services.exam import record_within, study_uid_hash
from radgov.exams.services.inference import SOP_UID_NAMESPACE
from radgov.exams.statuses import Source, Status
from radgov.gateway import results, routing, spool
from radgov.gateway.models import Instance, Route, Study
from radgov.gateway.remediation import REMEDIABLE
from radgov.inventory.models import Deployment
from radgov.inventory.stages import Stage

log = logging.getLogger("radgov.gateway")
STORE = "gateway.store"  # a DICOM peer's grant to send studies to the listener
ROUTE_TASK = "gateway.route"
LIVE = (Stage.PILOT, Stage.DEPLOYED)
ROUTED = ["completed_at", "exam", "problem"]  # what routing changes on a study
# the header attributes routing reads (the exam's and the criteria's): only these are parsed
HEADER = sorted({*StudyMetadata.DICOM_KEYWORDS, *Criteria.KEYWORDS})
_HEADER_TAGS = [Tag(keyword) for keyword in HEADER]  # pydicom would look each one up per read
ROUTE_COLUMNS = (
    "study_id", "deployment_id", "inference_id", "outcome", "reasons", "criteria", "decided_at",
    "poll_problem",
)  # fmt: skip
# routing's reads, made once (radgov.core.models.lookup): the quiet studies; a study locked,
# with its first image's file and whether an exam of it is recorded; the live deployments,
# of a site or all, as their keys and criteria (the database's JSON text of them: criteria
# are compiled once by that text, so unchanged ones are neither decoded nor encoded again)
_QUIET = Lookup[int](
    lambda cutoff: (
        Study.objects.filter(completed_at__isnull=True)
        .filter(last_received_at__lte=cutoff)
        .order_by("last_received_at")
        .values_list("pk", flat=True)
    )
)
_LOCKED = Lookup[Study](
    lambda pk: (
        Study.objects.select_for_update()
        .annotate(
            first_image=Subquery(images(OuterRef("pk")).values("file_ref")[:1]),
            recorded=Exists(Exam.objects.filter(study_uid_hash=OuterRef("study_uid_hash"))),
        )
        .filter(pk=pk)
    )
)
_CRITERIA = ("pk", Cast("inclusion_criteria", TextField()))
_LIVE = Lookup[tuple[int, str]](
    lambda: Deployment.objects.filter(status__in=LIVE).order_by("pk").values_list(*_CRITERIA)
)
_LIVE_AT = Lookup[tuple[int, str]](
    lambda site: (
        Deployment.objects.filter(status__in=LIVE)
        .filter(site=site)
        .order_by("pk")
        .values_list(*_CRITERIA)
    )
)


class NotPermitted(Denied):
    """The peer may not store instances here."""


@dataclass(frozen=True)
class Received:
    instance: Instance
    duplicate: bool  # the same instance (UID and bytes) was already stored
    conflict: bool  # the same UID came before with other bytes: kept beside it


@service
def store_instance(peer: Any, **instance: Any) -> Received:
    """Store one instance received from ``peer`` durably and record it (``instance``: the
    arguments of ``keep_instance``); the listener answers a model's result with success
    only after this returns (the row is committed when it does)."""
    if not policy.machine_may(peer, STORE):
        raise NotPermitted(f"the peer is not allowed to store instances (grant {STORE})")
    return keep_instance(peer, **instance)


def keep_instance(
    peer: Any,
    *,
    calling_ae: str,
    study_uid: str,
    sop_uid: str,
    sop_class_uid: str,
    transfer_syntax_uid: str,
    meta: bytes,
    dataset: bytes,
    site: str = "",
    base: Path | None = None,
    detail: dict[str, Any] | None = None,
) -> Received:
    """Inside a service: store one instance durably and record it (Instances Transferred,
    110104, as the acting principal), from ``peer`` (None: retrieved by radgov itself);
    ``detail`` adds to the audit entry's.  Success is answered only after the service
    returns: the file written, fsynced and renamed into the spool, and its row
    committed.  The file is written in a spool thread (``spool.writing``) while its row is
    recorded, and the transaction commits only once the file is durable (it rolls back when
    writing failed).  The write starts once the transaction has begun: on SQLite a store
    refused for a busy database (its ``BEGIN IMMEDIATE`` timed out) writes no file."""
    uid_key = crypto.pseudonym(sop_uid, namespace=SOP_UID_NAMESPACE)
    sha256 = spool.digest(dataset)
    file = spool.writing(uid_key, meta, dataset, sha256=sha256, base=base)
    try:
        return _record(
            peer,
            file,
            calling_ae=calling_ae,
            study_uid=study_uid,
            uid_key=uid_key,
            sha256=sha256,
            size=len(dataset),
            sop_class_uid=sop_class_uid,
            transfer_syntax_uid=transfer_syntax_uid,
            site=site,
            detail=detail,
        )
    finally:
        futures.wait([file])  # the write never outlives the call, even when recording failed


def _record(
    peer: Any,
    file: Future[spool.Stored],
    *,
    calling_ae: str,
    study_uid: str,
    uid_key: str,
    sha256: str,
    size: int,
    sop_class_uid: str,
    transfer_syntax_uid: str,
    site: str,
    detail: dict[str, Any] | None,
) -> Received:
    """The row of an instance whose ``file`` is being written (inside ``keep_instance``),
    with its study's and one audit entry, ``file.result()`` awaited last.  The same instance
    again (its UID and digest already recorded) gets no second row; the same UID with
    another digest is kept as a conflict."""
    recorded = list(Instance.objects.filter(sop_uid_hash=uid_key))
    if all(row.sha256 != sha256 for row in recorded) and lock_studies({study_uid}):
        recorded = list(Instance.objects.filter(sop_uid_hash=uid_key))  # another's, meanwhile
    same = next((row for row in recorded if row.sha256 == sha256), None)
    if same is not None:
        file.result()
        return Received(same, duplicate=True, conflict=same.conflict)
    conflict = bool(recorded)
    now = timezone.now()
    with batch(
        action=Action.CREATE,
        object_type="gateway.instance",
        event_code=EventCode.INSTANCES_TRANSFERRED,
        detail={
            "calling_ae": calling_ae,
            "sop_class_uid": sop_class_uid,
            "conflict": conflict,
            **(detail or {}),
        },
    ):
        study = open_study(study_uid, site, now, reopen=results.kind_of(sop_class_uid) is None)
        instance = Instance.objects.create(
            study=study,
            sop_uid_hash=uid_key,
            sop_class_uid=str(sop_class_uid),
            transfer_syntax_uid=str(transfer_syntax_uid),
            file_ref=spool.place(uid_key, sha256),
            sha256=sha256,
            size=size,
            calling_ae=calling_ae,
            peer=peer,
            conflict=conflict,
        )
    file.result()  # durable before the commit that follows
    return Received(instance, duplicate=False, conflict=conflict)


def lock_studies(study_uids: set[str]) -> bool:
    """Inside a service, before reading the instances already recorded: hold these studies
    (made or not yet) until the commit, taken in one order by every process, so that two
    listener processes (or two machines) recording images of one study take turns, and the
    second reads what the first recorded: a retransmission gets no second row, the same UID
    with other bytes is marked a conflict.  SQLite's writers already take turns (its write
    lock is taken at BEGIN); returns whether it took locks (False: SQLite)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        for key in sorted(study_uid_hash(crypto.normalize(uid)) for uid in study_uids):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
    return True


def open_study(
    study_uid: str, site: str, now: dt.datetime, *, reopen: bool, count: int = 1
) -> Study:
    """The study being assembled, ``count`` instances more (created on its first instance;
    reopened when an image arrives after it was routed, so the late images are routed too;
    a model's result, an SR, SEG or SC, does not reopen it).  The caller holds the study's
    ``lock_studies``: several associations may bring a new study's first images at once,
    and the first to take that lock makes its row, the others find it once that commits."""
    key = study_uid_hash(crypto.normalize(study_uid))
    study = Study.objects.select_for_update().filter(study_uid_hash=key).first()
    if study is None:
        study = Study(
            study_uid_hash=key,
            study_uid_encrypted=crypto.normalize(study_uid),
            site=site,
            first_received_at=now,
            last_received_at=now,
        )
    study.last_received_at = now
    study.instance_count += count
    if reopen:
        study.completed_at = None
    study.save()
    return study


def quiet_studies(*, now: dt.datetime | None = None, quiet_seconds: float) -> list[int]:
    """The studies no instance reached for ``quiet_seconds``, not yet routed."""
    return _QUIET((now or timezone.now()) - dt.timedelta(seconds=quiet_seconds))


def complete_quiet_studies(
    *, now: dt.datetime | None = None, quiet_seconds: float, base: Path | None = None
) -> list[Study]:
    """Complete and route every quiet study, each in its own transaction (the listener's
    loop and the tests call this; nothing sleeps)."""
    from radgov.gateway import groups  # it records through this module

    groups.settle()  # no study is complete while images of it wait to be recorded
    routed: list[Study] = []
    quiet = quiet_studies(now=now, quiet_seconds=quiet_seconds)
    if not quiet:  # the listener's loop, most passes: no principal to look up
        return routed
    with machines.acting_as(machines.task_principal(ROUTE_TASK)) as ctx:
        for pk in quiet:
            try:
                try:
                    routed.append(route_study(ctx.actor, pk, base=base))
                except IntegrityError:  # its exam recorded by another source after the lock
                    routed.append(route_study(ctx.actor, pk, base=base))  # it is found now
            except (OSError, pydicom.errors.InvalidDicomError) as exc:
                # its files are not in this machine's spool (or unreadable): the next pass,
                # or the listener that has them, routes it; the others go on
                log.error(
                    "study %s not routed: its first image could not be read (%s)", pk, type(exc)
                )
    return routed


def images(study: Study | OuterRef, *, after: dt.datetime | None = None) -> QuerySet[Instance]:
    """The study's stored images (not results, not conflicting copies), oldest first; only
    those received after ``after`` when given."""
    rows = Instance.objects.filter(study=study, conflict=False, is_result=False)
    if after is not None:
        rows = rows.filter(received_at__gt=after)
    return rows.order_by("received_at", "id")


def attributes_of(
    study: Study, *, base: Path | None = None, after: dt.datetime | None = None
) -> dict[str, Any]:
    """The study's header attributes that routing reads (``HEADER``) by keyword, from its
    first stored image (the first received after ``after`` when given; pixel data and every
    other attribute never parsed)."""
    first = images(study, after=after).values_list("file_ref", flat=True).first()
    return _header(first, base=base)


def _header(file_ref: str | None, *, base: Path | None) -> dict[str, Any]:
    if file_ref is None:
        return {}
    path = spool.path_of(file_ref, base=base)
    dataset = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_HEADER_TAGS)
    return {
        element.keyword: element.value
        for element in dataset
        if element.keyword and element.VR != "SQ"
    }


@service
def route_study(actor: Any, pk: int, *, base: Path | None = None) -> Study:
    """Record the exam of a complete study and decide, for every live deployment of its
    site, whether the model gets it: queued, excluded or rejected, with every reason.
    Raises ``IntegrityError``, having written nothing, when another source recorded the
    study's exam after the lock read that none was (routing it again finds that exam)."""
    found = _LOCKED(pk)  # locked, with its first image's file and its exam's presence
    if not found:
        raise Study.DoesNotExist(f"no study {pk}")
    study = found[0]
    if study.completed_at is not None:
        return study  # another listener or an earlier run routed it
    first_routing = study.exam_id is None  # its routes are made only once its exam is set
    study.completed_at = timezone.now()
    with batch(
        action=Action.CREATE,
        object_type="gateway.study",
        object_id=str(study.pk),
        event_code=EventCode.PROCEDURE_RECORD,
        detail={"what": "study routed", "instances": study.instance_count},
    ):
        attributes = _header(study.first_image, base=base)
        try:
            meta = StudyMetadata.from_dicom(attributes, site=study.site)
            recorded = record_within(actor, meta, source=Source.DICOM, new=not study.recorded)
        except ExamError as exc:
            study.problem = str(exc)
            study.save(update_fields=ROUTED)
            return study
        study.exam, study.problem = recorded.exam, ""
        study.save(update_fields=ROUTED)
        _route_all(
            actor,
            study,
            _live_deployments(study.site),
            attributes,
            first_routing=first_routing,
            new_exam=recorded.created,
            base=base,
        )
    return study


def _live_deployments(site: str) -> list[tuple[int, str]]:
    """(key, criteria as JSON text) of each live deployment of ``site`` (of all, without)."""
    return _LIVE_AT(site) if site else _LIVE()


def _decide(
    inclusion_criteria: Mapping[str, Any] | str | None, attributes: dict[str, Any]
) -> tuple[dict[str, Any], routing.Decision]:
    """A deployment's criteria as applied (recorded on its route) and the decision."""
    try:
        compiled = routing.compiled(routing.criteria_of(inclusion_criteria))
    except CriteriaError as exc:
        return Criteria().to_dict(), routing.Decision(
            routing.EXCLUDED, "other", (f"the deployment's criteria cannot be applied: {exc}",)
        )
    return dict(compiled.applied), compiled.decide(attributes)


def _route_all(
    actor: Any,
    study: Study,
    deployments: list[tuple[int, str]],
    attributes: dict[str, Any],
    *,
    first_routing: bool,
    new_exam: bool,
    base: Path | None = None,
) -> None:
    """Decide for each deployment, record the inferences at once and their routes
    (``first_routing``: the study has no route to look up; ``new_exam``: its exam was
    created in this transaction, so it has no inference to look up either)."""
    assert study.exam is not None  # noqa: S101 - set by route_study before routing
    routed = (
        {} if first_routing else {r.deployment_id: r for r in Route.objects.filter(study=study)}
    )
    decided = []
    for key, criteria in deployments:
        route = routed.get(key)
        if route is not None:
            # late images of a routed study: the first decision stands, unless they are the
            # study resent after a rejection a technologist can fix
            _route_resent(actor, route, base=base)
        else:
            decided.append((key, *_decide(criteria, attributes)))
    # a new exam's rows are all new: their keys are drawn in one query, not three
    ahead = {**exams.rows_routed(len(decided)), Route: len(decided)} if new_exam else {}
    with drawn_together(ahead):
        inferences = exams.record_routed(
            actor,
            study.exam,
            [
                exams.Decided(
                    d, decision.outcome, decision.reason_code, "; ".join(decision.reasons)
                )
                for d, _, decision in decided
            ],
            new_exam=new_exam,
        )
        now = timezone.now().astimezone(dt.UTC)
        Route.objects.ingest(
            ROUTE_COLUMNS,
            [
                (
                    study.pk,
                    d,
                    inference,
                    decision.outcome,
                    list(decision.reasons),
                    criteria,
                    now,
                    "",
                )
                for (d, criteria, decision), inference in zip(decided, inferences, strict=True)
            ],
        )


def _route_resent(actor: Any, route: Route, *, base: Path | None) -> None:
    """Route again a study rejected for a reason a technologist can fix (slice thickness,
    kVp, contrast, ...) when new images of it arrived after the rejection: the inference
    goes back to ``queued`` ("resent"), and the new images are judged by the deployment's
    criteria as they are now: queued for the model, or rejected again with the reason.
    The decision is made on the first image received after the rejection, and only the
    images received after it are sent to the model (the new series replaces the one the
    model could not use)."""
    inference = Inference.objects.select_for_update().get(pk=route.inference_id)
    if inference.status != Status.REJECTED or inference.reason_code not in REMEDIABLE:
        return
    rejected_at = inference.status_at
    count = images(route.study, after=rejected_at).count()
    if not count:
        return
    criteria, decision = _decide(
        route.deployment.inclusion_criteria,
        attributes_of(route.study, base=base, after=rejected_at),
    )
    turn = inference.history.count()
    exams.move(
        actor,
        inference,
        Status.QUEUED,
        reason=f"Resent: {count} new image(s) after the rejection; routed again.",
        event_id=f"gateway:resent:{route.pk}:{turn}",
    )
    if decision.outcome != routing.QUEUED:
        code, words = decision.reason_code, "; ".join(decision.reasons)
        if decision.outcome == routing.EXCLUDED:  # an inference rejected is never excluded
            code, words = "other", f"The resent images are outside this model's criteria: {words}"
        exams.move(
            actor,
            inference,
            Status.REJECTED,
            reason_code=code,
            reason=words,
            event_id=f"gateway:rejected:{route.pk}:{turn}",
        )
    route.outcome = decision.outcome if decision.outcome != routing.EXCLUDED else routing.REJECTED
    route.reasons, route.criteria = list(decision.reasons), criteria
    route.attempts, route.sent_at, route.resent_after = 0, None, rejected_at
    route.save()
