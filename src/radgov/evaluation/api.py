"""Local acceptance testing over the API (IV.E): protocols written as drafts, locked by a
governance-group member, amended as new versions; runs made by uploading a cases file.

Refusals are problem+json: 403 when the person may not, 422 naming the rule (and the
practice parameter's clause) when the input breaks one, 404 for an unknown id.  A run whose
criteria fail is a result, not a refusal: it is created with ``passed: false``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from django.db import models
from django.http import HttpRequest, HttpResponse
from ninja import Field, File, FilterLookup, FilterSchema, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from radgov.core.errors import NotFound
from radgov.core.jobs import JobError
from radgov.core.jobs_api import JobOut, job_accepted
from radgov.core.paging import Page, PageQuery, paginate
from radgov.evaluation import services
from radgov.evaluation.guards import post_hoc_note
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.evaluation.uploads import start_run

router = Router(tags=["evaluation"])
M = TypeVar("M", bound=models.Model)


class ProtocolIn(Schema):
    deployment_id: int
    source: str


class EditIn(Schema):
    source: str
    reason: str | None = None


class AmendIn(Schema):
    source: str
    reason: str


class ProtocolOut(Schema):
    id: int
    deployment_id: int
    version: int
    name: str
    task: str
    source: str
    content_hash: str
    locked: bool = Field(alias="is_locked")
    locked_by: str | None
    locked_at: datetime | None
    amends_id: int | None
    amended_after_lock: bool
    amendment_reason: str
    amended_after_results: bool
    created_by: str = Field(alias="created_by.username")
    created_at: datetime
    run_ids: list[int]

    @staticmethod
    def resolve_locked_by(protocol: AcceptanceProtocol) -> str | None:
        return protocol.locked_by.username if protocol.locked_by else None

    @staticmethod
    def resolve_run_ids(protocol: AcceptanceProtocol) -> list[int]:
        if hasattr(protocol, "listed_runs"):  # read for a whole list
            return [r.pk for r in protocol.listed_runs]
        return list(protocol.runs.order_by("pk").values_list("pk", flat=True))


class IdentifierColumnOut(Schema):
    column: str
    kind: str


class RunOut(Schema):
    id: int
    protocol_id: int
    protocol_version: int = Field(alias="protocol.version")
    protocol_hash: str
    cases_name: str
    cases_sha256: str
    n_cases: int
    synthetic: bool
    passed: bool
    identifier_columns: list[IdentifierColumnOut]
    identifiers_allowed_because: str
    result_sha256: str
    run_by: str = Field(alias="run_by.username")
    created_at: datetime
    repeats_id: int | None = Field(
        description="an earlier run of the deployment with the same cases file (SHA-256)"
    )
    post_hoc: str = Field(
        description="'' unless the protocol was amended after results were seen; then whether "
        "the governance group accepted the amendment (IV.E.2)"
    )

    @staticmethod
    def resolve_post_hoc(run: AcceptanceRun) -> str:
        return post_hoc_note(run.protocol)


class RunDetailOut(RunOut):
    result: dict[str, Any]


def _get(model: type[M], pk: int, kind: str) -> M:
    """The row, or 404 (the API's error handler audits the refusal)."""
    row = model._default_manager.filter(pk=pk).first()
    if row is None:
        raise NotFound(f"no {kind} {pk}")
    return row


def _protocol(protocol_id: int) -> AcceptanceProtocol:
    return _get(AcceptanceProtocol, protocol_id, "acceptance-test protocol")


# --- protocols ---------------------------------------------------------------------------------


class ProtocolFilter(FilterSchema):
    deployment: Annotated[int | None, FilterLookup("deployment_id")] = None
    name: Annotated[str | None, FilterLookup("name__icontains")] = None
    locked: bool | None = Field(None, description="true: locked only; false: drafts only")

    def filter_locked(self, value: bool | None) -> models.Q:
        return models.Q() if value is None else models.Q(locked_at__isnull=not value)


@router.get("/protocols", response=Page[ProtocolOut])
def list_protocols(
    request: HttpRequest, filters: Query[ProtocolFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    runs = AcceptanceRun.objects.order_by("pk").only("pk", "protocol_id")
    rows = AcceptanceProtocol.objects.select_related("locked_by", "created_by").prefetch_related(
        models.Prefetch("runs", queryset=runs, to_attr="listed_runs")
    )
    return paginate(filters.filter(rows.order_by("deployment_id", "-version", "pk")), page)


@router.post("/protocols", response={201: ProtocolOut})
def create_protocol(request: HttpRequest, payload: ProtocolIn) -> Status[AcceptanceProtocol]:
    """The deployment's first protocol, as a draft (YAML in ``source``)."""
    from radgov.inventory.models import Deployment

    deployment = _get(Deployment, payload.deployment_id, "deployment")
    row = services.create_protocol(request.user, deployment=deployment, source=payload.source)
    return Status(201, row)


@router.get("/protocols/{protocol_id}", response=ProtocolOut)
def get_protocol(request: HttpRequest, protocol_id: int) -> AcceptanceProtocol:
    return _protocol(protocol_id)


@router.put("/protocols/{protocol_id}", response=ProtocolOut)
def edit_protocol(request: HttpRequest, protocol_id: int, payload: EditIn) -> AcceptanceProtocol:
    """Replace a draft's source (and an amendment's reason); a locked protocol is amended."""
    return services.edit_draft(request.user, _protocol(protocol_id), **payload.dict())


@router.post("/protocols/{protocol_id}/amend", response={201: ProtocolOut})
def amend_protocol(
    request: HttpRequest, protocol_id: int, payload: AmendIn
) -> Status[AcceptanceProtocol]:
    """A new draft version of a locked protocol, marked as amended after lock."""
    return Status(201, services.amend(request.user, _protocol(protocol_id), **payload.dict()))


@router.post("/protocols/{protocol_id}/lock", response=ProtocolOut)
def lock_protocol(request: HttpRequest, protocol_id: int) -> AcceptanceProtocol:
    """Approve and lock (a governance-group member not recused from the product)."""
    return services.lock(request.user, _protocol(protocol_id))


# --- runs --------------------------------------------------------------------------------------


@router.get("/protocols/{protocol_id}/runs", response=Page[RunOut])
def list_runs(request: HttpRequest, protocol_id: int, page: Query[PageQuery]) -> dict[str, Any]:
    rows = _protocol(protocol_id).runs.select_related("protocol", "run_by")
    return paginate(rows.order_by("-created_at", "-pk"), page)


@router.post("/protocols/{protocol_id}/runs", response={202: JobOut})
def create_run(request: HttpRequest, protocol_id: int, cases: File[UploadedFile]) -> HttpResponse:
    """Multipart upload of a cases file (CSV or Parquet, at most RADGOV_MAX_UPLOAD_MB),
    evaluated against the locked protocol by the worker: 202 with the job (``Location``);
    once done, its ``result`` is the run (``/evaluation/runs/{id}/``, or ``GET
    /api/evaluation/runs/{id}``).  What can be refused before reading the file is refused
    here (403, 422); a file that cannot be used fails the job, saying why.  The file is not
    kept."""
    protocol = _protocol(protocol_id)
    try:
        job = start_run(request.user, protocol, cases)
    except JobError as exc:
        raise HttpError(429, str(exc)) from None
    return job_accepted(job)


@router.get("/runs/{run_id}", response=RunDetailOut)
def get_run(request: HttpRequest, run_id: int) -> AcceptanceRun:
    """A run's metadata and the stored result JSON (``result_sha256`` is the SHA-256 of its
    canonical form: keys sorted, no spaces)."""
    return _get(AcceptanceRun, run_id, "acceptance run")
