"""Every API list endpoint and every list page takes as many queries for 12 rows as for 2:
what a row shows is read for the whole page at once, never once per row.

The API's list endpoints are found in the API itself (each GET operation answering a
``radgov.core.paging.Page``), so a new one without a case here fails
``test_every_api_list_has_a_case``.  List pages are named below by hand.  Each case builds
its rows through the services, as the application does, and reads the list as an
administrator who is a governance-group member (who sees every row)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from radgov.accounts import services as accounts
from radgov.api import api
from radgov.compliance import incident_services
from radgov.compliance import retention_services as retention
from radgov.compliance.models import DeidJob
from radgov.compliance.reminders import remind
from radgov.core import generations, machines
from radgov.core.audit import record
from radgov.core.paging import Page
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.evaluation import services as evaluation
from radgov.evaluation.models import AcceptanceRun
from radgov.gateway import endpoints
from radgov.governance import services as governance
from radgov.inventory import services as inventory
from radgov.inventory.models import Deployment
from radgov.training import services as training
from tests.factories import blank_pdf, client_for, make_user

pytestmark = pytest.mark.django_db
PROTOCOL = (
    "name: {name}\ntask: binary\ncolumns: {{case_id: case_id, truth: label, score: ai_score}}\n"
    "threshold: 0.5\nmetrics: [sensitivity]\ncriteria: [{{metric: sensitivity, estimate_at_least: 0.5}}]\n"
)


@pytest.fixture(autouse=True)
def _private_media(private_media: None) -> None:
    """Every list's uploads in a folder of the test's own."""


def world() -> SimpleNamespace:
    w = SimpleNamespace(
        admin=make_user("lists-admin", role=Role.ADMINISTRATOR, is_governance_member=True),
        physicist=make_user(
            "lists-physicist", role=Role.MEDICAL_PHYSICIST, is_governance_member=True
        ),
        reader=make_user("lists-reader", role=Role.PHYSICIAN),
        chair=make_user("lists-chair", role=Role.PHYSICIAN, is_governance_member=True),
        champion=make_user("lists-champion", role=Role.PHYSICIAN, is_clinical_champion=True),
        officer=make_user("lists-officer", role=Role.COMPLIANCE),
        n=0,
    )
    w.product = inventory.create_product(
        w.admin,
        vendor="Acme",
        name="Base",
        category="cadt",
        regulatory_pathway="not_fda",
        not_regulated_reason="locally_developed",
    )
    w.version = inventory.add_model_version(w.admin, w.product, version="1.0")
    w.group = governance.create_group(
        w.admin,
        name="Group",
        members=[(w.chair, "chair"), (w.physicist, "member"), (w.admin, "member")],
    )
    return w


def next_id(w: SimpleNamespace) -> int:
    w.n += 1
    return w.n


# --- what each list shows, n more rows of it --------------------------------------------------


def users(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        make_user(f"lists-user-{next_id(w)}", role=Role.PHYSICIAN)


def tokens(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        accounts.create_token(w.admin, name=f"t{next_id(w)}")


def entries(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        record(action="execute", object_type="test.list", object_id=str(next_id(w)))


def machine_rows(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        machines.register(None, kind="api_client", name=f"api:m{next_id(w)}")


def products(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        inventory.create_product(
            w.admin,
            vendor="Acme",
            name=f"P{next_id(w)}",
            category="cadt",
            regulatory_pathway="not_fda",
            not_regulated_reason="locally_developed",
        )


def versions(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        mv = inventory.add_model_version(w.admin, w.product, version=f"2.{next_id(w)}")
        upload = SimpleUploadedFile(
            "ifu.pdf", blank_pdf() + f"% {w.n}\n".encode(), content_type="application/pdf"
        )
        inventory.upload_document(w.admin, mv, kind="ifu", version_label="A", upload=upload)


@service
def _at_stage(deployment: Deployment, stage: str) -> None:
    Deployment.objects.filter(pk=deployment.pk).update(status=stage)


def deployments(w: SimpleNamespace, n: int) -> None:
    """Each on a version of its own and approved, so that every guard of every app runs."""
    for _ in range(n):
        mv = inventory.add_model_version(w.admin, w.product, version=f"3.{next_id(w)}")
        d = inventory.create_deployment(
            w.admin,
            mv,
            site=f"S{w.n}",
            clinical_champions=[w.champion],
            end_users=[w.reader],
            pilot_users=[w.reader],
            technical_contact=w.admin,
            output_release_policy="after review",
        )
        _at_stage(d, "approved")


def model_endpoints(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        d = inventory.create_deployment(w.admin, w.version, site=f"S{next_id(w)}")
        endpoints.set_endpoint(w.admin, d, ae_title=f"AI{w.n}", host="10.1.2.40", port=104)


def protocols(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        d = inventory.create_deployment(w.admin, w.version, site=f"S{next_id(w)}")
        evaluation.create_protocol(
            w.physicist, deployment=d, source=PROTOCOL.format(name=f"p{w.n}")
        )


@service
def _runs(protocol: Any, user: Any, n: int) -> None:
    for i in range(n):
        AcceptanceRun.objects.create(
            protocol=protocol,
            protocol_hash=protocol.content_hash,
            cases_name=f"c{i}.csv",
            cases_sha256="0" * 64,
            n_cases=1,
            synthetic=False,
            passed=True,
            result={},
            result_sha256="0" * 64,
            report_html="",
            run_by=user,
            created_at=timezone.now(),
        )


def runs(w: SimpleNamespace, n: int) -> None:
    if not hasattr(w, "protocol"):
        d = inventory.create_deployment(w.admin, w.version, site="runs")
        w.protocol = evaluation.lock(
            w.admin,
            evaluation.create_protocol(
                w.physicist, deployment=d, source=PROTOCOL.format(name="runs")
            ),
        )
    _runs(w.protocol, w.physicist, n)


@service
def _jobs(user: Any, n: int) -> None:
    for i in range(n):
        DeidJob.objects.create(created_by=user, purpose=f"study {i}", source_kind="upload")


def jobs(w: SimpleNamespace, n: int) -> None:
    _jobs(w.admin, n)


def holds(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        retention.place_hold(
            w.officer, scope="dates", starts_on=dt.date(2020, 1, 1), reason=f"m{next_id(w)}"
        )


def privacy_incidents(w: SimpleNamespace, n: int, *, days_ago: int = 0) -> None:
    now = timezone.now()
    for _ in range(n):
        incident_services.open_incident(
            w.officer, title=f"I{next_id(w)}", what="a lost laptop",
            discovered_on=timezone.localdate() - dt.timedelta(days=days_ago),
            discovered_by="it", actor_names=["nobody"], window_start=now, window_end=now,
        )  # fmt: skip


def reminders(w: SimpleNamespace, n: int) -> None:
    """Incidents whose notice to individuals is due in ten days: one reminder each."""
    privacy_incidents(w, n, days_ago=50)
    remind()


def groups(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        governance.create_group(
            w.admin, name=f"G{next_id(w)}", members=[(w.chair, "chair"), (w.reader, "member")]
        )


def conflicts(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        governance.declare_conflict(
            w.admin, w.physicist, product=w.product, description=f"c{next_id(w)}"
        )


def requests(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        governance.submit_request(
            w.champion, w.group, clinical_need=f"need {next_id(w)}", proposed_product=w.product
        )


def criteria(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        governance.define_criterion(
            w.admin, w.group, category="clinical", name=f"k{next_id(w)}", weight=1
        )


def meetings(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        governance.create_meeting(
            w.admin,
            w.group,
            held_on=timezone.localdate() - dt.timedelta(days=next_id(w)),
            attendees=[w.admin, w.physicist],
            notes="n",
        )


def issues(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        governance.report_issue(w.reader, description=f"slow {next_id(w)}", model_version=w.version)


def baas(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        governance.record_baa(w.admin, vendor=f"V{next_id(w)}", signed_on=timezone.localdate())


def procedures(w: SimpleNamespace, n: int) -> None:
    for _ in range(n):
        training.create_procedure(
            w.admin,
            model_version=w.version,
            title=f"course {next_id(w)}",
            content="c",
            complexity="basic",
            complexity_note="short",
            required_roles=[Role.PHYSICIAN],
            is_supplemental=True,
        )


def records(w: SimpleNamespace, n: int) -> None:
    if not hasattr(w, "procedure"):
        w.procedure = training.create_procedure(
            w.admin,
            model_version=w.version,
            title="base",
            content="c",
            complexity="basic",
            complexity_note="short",
            required_roles=[Role.PHYSICIAN],
        )
    for _ in range(n):
        person = make_user(f"lists-trainee-{next_id(w)}", role=Role.PHYSICIAN)
        training.record_completion(w.admin, procedure=w.procedure, user=person)


@dataclass(frozen=True)
class Case:
    url: Callable[[SimpleNamespace], str]
    more: Callable[[SimpleNamespace, int], None]
    reader: str = "admin"  # the world's user who reads the list


def at(path: str) -> Callable[[SimpleNamespace], str]:
    return lambda w: path


API_CASES: dict[str, Case] = {
    "api:list_users": Case(at("/api/users"), users),
    "api:list_tokens": Case(at("/api/tokens"), tokens),
    "api:list_audit_entries": Case(at("/api/audit/entries"), entries),
    "api:list_machines": Case(at("/api/machines"), machine_rows),
    "api:inventory_list_products": Case(at("/api/inventory/products"), products),
    "api:inventory_list_versions": Case(
        lambda w: f"/api/inventory/products/{w.product.pk}/versions", versions
    ),
    "api:inventory_list_deployments": Case(at("/api/inventory/deployments"), deployments),
    "api:compliance_list_deid_jobs": Case(at("/api/compliance/deid/jobs"), jobs),
    "api:compliance_list_holds": Case(at("/api/compliance/holds"), holds, "officer"),
    "api:compliance_list_incidents": Case(
        at("/api/compliance/incidents"), privacy_incidents, "officer"
    ),
    "api:compliance_list_reminders": Case(at("/api/compliance/reminders"), reminders, "officer"),
    "api:evaluation_list_protocols": Case(at("/api/evaluation/protocols"), protocols),
    "api:evaluation_list_runs": Case(
        lambda w: f"/api/evaluation/protocols/{w.protocol.pk}/runs", runs
    ),
    "api:governance_list_groups": Case(at("/api/governance/groups"), groups),
    "api:governance_list_conflicts": Case(at("/api/governance/conflicts"), conflicts),
    "api:governance_list_requests": Case(at("/api/governance/requests"), requests),
    "api:governance_list_criteria": Case(at("/api/governance/criteria"), criteria),
    "api:governance_list_meetings": Case(at("/api/governance/meetings"), meetings),
    "api:governance_list_issues": Case(at("/api/governance/issues"), issues),
    "api:governance_list_baas": Case(at("/api/governance/baas"), baas),
    "api:training_list_procedures": Case(at("/api/training/procedures"), procedures),
    "api:training_list_records": Case(at("/api/training/records"), records),
    "api:gateway_list_endpoints": Case(at("/api/gateway/endpoints"), model_endpoints),
}

PAGE_CASES: dict[str, Case] = {
    "accounts:users": Case(at("/account/users/"), users),
    "accounts:tokens": Case(at("/account/tokens/"), tokens),
    "web:audit": Case(at("/audit/"), entries),
    "inventory:products": Case(at("/inventory/"), products),
    "inventory:product": Case(lambda w: f"/inventory/products/{w.product.pk}/", versions),
    "inventory:deployments": Case(at("/inventory/deployments/"), deployments),
    "compliance:deid_jobs": Case(at("/compliance/deid/"), jobs),
    "evaluation:index": Case(at("/evaluation/"), protocols),
    "governance:index": Case(at("/governance/"), conflicts),
    "governance:requests": Case(at("/governance/requests/"), requests),
    "governance:meetings": Case(at("/governance/meetings/"), meetings),
    "governance:issues": Case(at("/governance/issues/"), issues),
    "governance:regulatory": Case(at("/governance/regulatory/"), products),
    "training:mine": Case(at("/training/"), records),
    "training:by_model": Case(at("/training/models/"), procedures),
    "gateway:endpoints": Case(at("/gateway/endpoints/"), model_endpoints),
}


def api_lists() -> set[str]:
    """Route names of every GET operation whose answer is a Page."""
    found = set()
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for op in path_view.operations:
                schema = op.response_models.get(200)
                model = getattr(schema, "model_fields", {}).get("response")
                annotation = getattr(model, "annotation", None)
                if (
                    "GET" in op.methods
                    and isinstance(annotation, type)
                    and issubclass(annotation, Page)
                ):
                    name = getattr(op, "url_name", "") or api.get_operation_url_name(
                        op, router=bound.template
                    )
                    found.add(
                        f"api:{bound.url_name_prefix}_{name}"
                        if bound.url_name_prefix
                        else f"api:{name}"
                    )
    return found


def test_every_api_list_has_a_case() -> None:
    assert api_lists() == set(API_CASES), "a list endpoint without a case here (or a stale case)"


def queries(client: Any, url: str) -> int:
    generations.bump(generations.WATCHED)  # count the reads of the rows, not of the cache's copy
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return len(captured)


@pytest.mark.parametrize("name", sorted({**API_CASES, **PAGE_CASES}))
def test_a_list_takes_as_many_queries_for_12_rows_as_for_2(name: str) -> None:
    case = {**API_CASES, **PAGE_CASES}[name]
    w = world()
    client = client_for(getattr(w, case.reader))
    case.more(w, 2)
    client.get(case.url(w))  # warm: sessions, caches, content types
    two = queries(client, case.url(w))
    case.more(w, 10)
    twelve = queries(client, case.url(w))
    assert twelve == two, f"{name}: {two} queries for 2 rows, {twelve} for 12"
