"""Results polled back from a STOW-RS model endpoint (docs/gateway.md, "STOW-RS").

A vendor that only speaks DICOMweb does not push its results to the listener: every
``RADGOV_GATEWAY_POLL_SECONDS`` each inference ``sent`` (or ``processing``) to a STOW-RS
endpoint has its study searched on that service (QIDO-RS); each SR, SEG or Secondary
Capture instance there that radgov did not send and has not retrieved yet is retrieved
(WADO-RS), written to the spool like a received instance and handed to the listener's result
matching (``results.take_result``), in one service per instance: Instances Transferred
(110104) as ``task:gateway.results``.  Keyed by SOP Instance UID, so a pass that runs again
retrieves and records nothing twice.  A search or retrieval that fails is a failed attempt,
its reason kept on the route (``poll_problem``) and nothing stored; the endpoint's
``result_minutes`` still fails an inference that gets no result (``delivery.time_out``).
The network is used outside any transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from radgov.core import config, crypto, machines
from radgov.core.services import service
from radgov.exams.models import Inference
from radgov.exams.services.inference import SOP_UID_NAMESPACE
from radgov.exams.statuses import ResultKind
from radgov.gateway import results, services, wado
from radgov.gateway.models import EndpointKind, Instance, Route

MAX_PER_POLL = 10  # results retrieved per study and pass; the rest on the next pass


@dataclass(frozen=True)
class Polled:
    route: Route
    problem: str | None
    retrieved: int


def due(*, now: dt.datetime, interval: dt.timedelta) -> list[int]:
    """Routes waiting for a STOW-RS model's result, not asked within ``interval``."""
    return list(
        Route.objects.filter(
            inference__status__in=results.WAITING,
            sent_at__isnull=False,
            deployment__gateway_endpoint__kind=EndpointKind.STOW,
        )
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - interval))
        .order_by("sent_at", "pk")
        .values_list("pk", flat=True)
    )


def poll_results(*, now: dt.datetime | None = None, base: Path | None = None) -> list[Polled]:
    """Ask every due route's STOW-RS service for its results once; returns what each pass
    found (the routes as recorded afterwards)."""
    now = now or timezone.now()
    interval = dt.timedelta(seconds=config.get_int("RADGOV_GATEWAY_POLL_SECONDS"))
    done = []
    with machines.acting_as(machines.task_principal(results.RESULTS_TASK)) as ctx:
        for pk in due(now=now, interval=interval):
            route = claim(ctx.actor, pk, now=now, interval=interval)
            if route is None:
                continue  # another listener is asking
            problem, retrieved = _poll(ctx.actor, route, base=base)
            done.append(Polled(record_poll(ctx.actor, pk, problem), problem, retrieved))
    return done


@service
def claim(actor: Any, pk: int, *, now: dt.datetime, interval: dt.timedelta) -> Route | None:
    """The route, marked asked at ``now``; None when it was asked within ``interval``."""
    route = (
        Route.objects.select_for_update(of=("self",))
        .select_related("study", "deployment__gateway_endpoint")
        .get(pk=pk)
    )
    if route.polled_at is not None and route.polled_at > now - interval:
        return None
    route.polled_at = now
    route.save()
    return route


def _poll(actor: Any, route: Route, *, base: Path | None) -> tuple[str | None, int]:
    """Search the study and retrieve each new result: (problem or None, retrieved)."""
    endpoint = route.deployment.gateway_endpoint
    study_uid = route.study.study_uid_encrypted.reveal()
    asked = {
        "authorization": endpoint.authorization,
        "timeout": float(endpoint.timeout_seconds),
    }
    limit = config.get_int("RADGOV_DICOM_MAX_DATASET_MB") * 1024 * 1024
    taken = 0
    try:
        for one in _new_results(wado.search(endpoint.url, study_uid, **asked))[:MAX_PER_POLL]:
            retrieved = wado.retrieve(endpoint.url, study_uid, one, max_bytes=limit, **asked)
            take_retrieved(actor, route.pk, retrieved, base=base)
            taken += 1
    except wado.AnswerError as exc:
        return str(exc), taken
    except OSError:
        return "a retrieved result could not be written to this machine's spool", taken
    except IntegrityError:  # stored by another listener's pass in the same instant
        return "the same result was being stored by another pass; asked again next pass", taken
    return None, taken


def _new_results(found: list[wado.Found]) -> list[wado.Found]:
    """The results among ``found`` that radgov neither sent nor retrieved before (known by
    their SOP Instance UID's keyed hash), an SR last: its outputs close the inference, so
    the SEG and Secondary Capture of the same answer are recorded first."""
    kinds = {f.sop_uid: results.kind_of(f.sop_class_uid) for f in found}
    keys = {f.sop_uid: crypto.pseudonym(f.sop_uid, namespace=SOP_UID_NAMESPACE) for f in found}
    known = set(
        Instance.objects.filter(sop_uid_hash__in=keys.values()).values_list(
            "sop_uid_hash", flat=True
        )
    )
    new = [f for f in found if kinds[f.sop_uid] is not None and keys[f.sop_uid] not in known]
    return sorted(new, key=lambda f: kinds[f.sop_uid] == ResultKind.SR)


@service
def take_retrieved(
    actor: Any, pk: int, retrieved: wado.Retrieved, *, base: Path | None = None
) -> Inference | None:
    """Store a retrieved result and match it to the route's inference, as the listener does
    with a received one (the same instance again changes nothing)."""
    route = Route.objects.select_related("study", "deployment__gateway_endpoint").get(pk=pk)
    ds, endpoint = retrieved.dataset, route.deployment.gateway_endpoint
    received = services.keep_instance(
        None,
        calling_ae=endpoint.ae_title,
        study_uid=str(ds.StudyInstanceUID),
        sop_uid=str(ds.SOPInstanceUID),
        sop_class_uid=str(ds.SOPClassUID),
        transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
        meta=retrieved.meta,
        dataset=retrieved.encoded,
        site=route.study.site,
        base=base,
        detail={"retrieved_from": endpoint.target, "route": route.pk},
    )
    if received.duplicate:
        return None
    return results.take_result(
        actor,
        received.instance,
        sop_uid=str(ds.SOPInstanceUID),
        deployment=route.deployment,
        base=base,
    )


@service
def record_poll(actor: Any, pk: int, problem: str | None) -> Route:
    """Keep why the last asking failed (or clear it)."""
    route = Route.objects.select_for_update().select_related("inference").get(pk=pk)
    if route.poll_problem != (problem or ""):
        route.poll_problem = problem or ""
        route.save()
    return route
