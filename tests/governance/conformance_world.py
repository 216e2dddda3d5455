"""A fully conformant deployed model, built with the other apps' own services,
and the knobs to leave one piece out at a time (tests of the conformance audit)."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from radgov.compliance import notices
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.evaluation import services as evaluation
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.evaluation.synthetic import generate_ich_cases, write_cases
from radgov.exams.services import review as release
from radgov.governance import services as governance
from radgov.governance.conformance.checks import Status
from radgov.governance.models import Framework
from radgov.inventory import lifecycle
from radgov.inventory import services as inventory
from radgov.inventory.models import Deployment
from radgov.training import services as training
from tests.factories import blank_pdf, cleared_product, make_user
from tests.governance.conftest import decide

PDF = blank_pdf()


def pdf_upload(name: str = "ifu.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@dataclass
class Omit:
    """What to leave out of the conformant world (all False: nothing)."""

    release_notes: bool = False  # IV.B.2.a
    deployment_date: bool = False  # IV.B.2.b
    ifu: bool = False  # IV.B.2.c
    intended_purpose: bool = False  # IV.B.2.d
    waiver: bool = False  # IV.B.2.e / IV.E
    routing_notes: bool = False  # IV.B.2.f
    criteria: bool = False  # IV.B.2.f
    training_log: bool = False  # IV.B.2.g: one end-user never trained
    champion_email: bool = False  # IV.B.2.i
    support_contact: bool = False  # IV.B.2.i
    baa: bool = False  # V
    notice: bool = False  # V: the Notice of Privacy Practices covers the use
    irb: bool = False  # IV.H (generative only)
    monitoring: bool = False  # IV.G.1: no watch, no comparison with the reports
    extra: set[str] = field(default_factory=set)


def people() -> SimpleNamespace:
    return SimpleNamespace(
        admin=make_user("cf-admin", role=Role.ADMINISTRATOR),
        informatics=make_user("cf-informatics", role=Role.INFORMATICS),
        chen=make_user("cf-chen", role=Role.PHYSICIAN),
        physicist=make_user("cf-physicist", role=Role.MEDICAL_PHYSICIST),
        privacy=make_user("cf-privacy", role=Role.COMPLIANCE),
        champion=make_user(
            "cf-champion",
            role=Role.PHYSICIAN,
            is_clinical_champion=True,
            email="champion@practice.invalid",
        ),
        reader=make_user("cf-reader", role=Role.PHYSICIAN),
        late=make_user("cf-late", role=Role.PHYSICIAN),
    )


def practice(p: SimpleNamespace, *, meeting_days_ago: int = 10) -> SimpleNamespace:
    """The governance group, its criteria in every category and a recent meeting with notes."""
    today = timezone.localdate()
    group = governance.create_group(
        p.admin,
        name="Conformance test group",
        members=[(p.chen, "chair"), (p.physicist, "member"), (p.privacy, "member")],
        joined_on=today - dt.timedelta(days=800),
    )
    for category, name in (
        ("clinical", "Sensitivity on local cases"),
        ("technical", "PACS integration"),
        ("business", "Cost per study"),
    ):
        governance.define_criterion(p.chen, group, category=category, name=name, weight=1)
    meeting = governance.create_meeting(
        p.chen,
        group,
        held_on=today - dt.timedelta(days=meeting_days_ago),
        attendees=[p.chen, p.physicist, p.privacy],
        notes="Reviewed the deployment; approved; acceptance test waived.",
    )
    return SimpleNamespace(group=group, meeting=meeting)


@service
def force_stage(deployment: Deployment, stage: str, *, dated: bool = True) -> Deployment:
    """Put a deployment at ``stage`` without the lifecycle (a record the guards would
    have refused: how data in a migrated or edited database can stand)."""
    Deployment.objects.filter(pk=deployment.pk).update(
        status=stage, deployment_date=timezone.localdate() if dated else None
    )
    deployment.refresh_from_db()
    return deployment


@service
def clear_deployment_date(deployment: Deployment) -> Deployment:
    Deployment.objects.filter(pk=deployment.pk).update(deployment_date=None)
    deployment.refresh_from_db()
    return deployment


def deployed_model(
    p: SimpleNamespace,
    world: SimpleNamespace,
    omit: Omit | None = None,
    *,
    generative: bool = False,
    name: str = "HeadCheck ICH",
) -> Deployment:
    """A deployed model with every IV.B.2 field, approval, waiver, training and the
    regulatory records, through the services; ``omit`` leaves pieces out."""
    o = omit or Omit()
    if generative:
        product = inventory.create_product(
            p.informatics,
            vendor="LLM Co",
            name=name,
            category="generative",
            regulatory_pathway="not_fda",
            not_regulated_reason="generative_ai",
            support_contact="" if o.support_contact else "help@llm.invalid",
        )
    else:
        product = cleared_product(
            p.informatics,
            name=name,
            support_contact="" if o.support_contact else "support@acme.invalid, +1 555 0100",
        )
    version = inventory.add_model_version(
        p.informatics,
        product,
        version="2.1",
        release_notes="" if o.release_notes else "2.1: retrained on 2025 data; fewer false flags",
        intended_purpose=""
        if o.intended_purpose
        else "Triage of non-contrast head CT with suspected intracranial hemorrhage",
    )
    if not o.ifu:
        inventory.upload_document(
            p.informatics, version, kind="ifu", version_label="Rev A", upload=pdf_upload()
        )
    champion = p.champion
    if o.champion_email:
        champion = make_user(
            f"cf-champion-{name[:4].lower()}", role=Role.PHYSICIAN, is_clinical_champion=True
        )
    end_users = [p.reader, p.chen] + ([p.late] if o.training_log else [])
    deployment = inventory.create_deployment(
        p.informatics,
        version,
        site="Main hospital",
        clinical_champions=[champion],
        end_users=end_users,
        pilot_users=[p.reader],
        technical_contact=p.informatics,
        inclusion_criteria={} if o.criteria else {"modalities": ["CT"], "min_age_years": 18},
        routing_notes=""
        if o.routing_notes
        else "DICOM C-STORE from the CT modalities to the AI node",
        output_release_policy="Results go to PACS only after radiologist review",
    )
    release.set_release_policy(p.admin, deployment, mode="review_required")
    governance.set_regulatory_profile(
        p.privacy,
        product,
        local_use=product.category,
        scope_of_clearance="as cleared",
        phi_reaches_vendor=True,
    )
    if not o.baa:
        governance.record_baa(
            p.privacy,
            vendor=product.vendor,
            signed_on=timezone.localdate() - dt.timedelta(days=100),
        )
    if not o.notice:
        notices.current() or notices.record_notice(
            p.privacy,
            version="2026-01",
            effective_on=timezone.localdate() - dt.timedelta(days=100),
            uses="treatment, payment and operations, AI analysis of images by vendors",
        )
        notices.set_coverage(p.privacy, deployment_id=deployment.pk, covered=True, note="s. 3")
    for fw in Framework:
        governance.set_regulatory_item(
            p.privacy, version, fw.value, status="compliant", evidence=f"{fw.label} reviewed"
        )
    meeting = world.meeting
    members = (p.chen, p.physicist, p.privacy)
    decide(
        p.chen,
        meeting,
        "approve",
        motion=f"Approve {deployment}",
        rationale="Meets the need",
        deployment=deployment,
        yes=members,
    )
    if not o.waiver:
        decide(
            p.chen,
            meeting,
            "acceptance_test_waiver",
            motion="Waive local acceptance testing",
            rationale="Validated at the sister site",
            justification="Same scanners and protocols as the sister site's acceptance test",
            deployment=deployment,
            yes=members,
        )
    if generative:
        if not o.irb:
            decide(
                p.chen,
                meeting,
                "irb_determination",
                motion="IRB determination",
                rationale="Quality improvement",
                determination="Exempt: quality improvement, not research",
                product=product,
            )
        decide(
            p.privacy,
            meeting,
            "legal_review",
            motion="Legal/compliance review",
            rationale="Reviewed the contract and data flows",
            product=product,
        )
    procedure = training.create_procedure(
        p.admin,
        model_version=version,
        title=f"{name} for radiologists",
        content="Inputs, outputs, limitations; ten worked cases.",
        complexity="intermediate",
        complexity_note="Triage changes worklist order: readers must know its failure modes.",
        required_roles=[Role.PHYSICIAN],
    )
    for user in (p.reader, p.chen):  # a guided session: the trainer signs it off (IV.F.1)
        training.record_completion(p.admin, procedure=procedure, user=user)
        if not o.ifu:
            training.attest_ifu(user, version)
    if not o.monitoring:
        monitored(p, deployment)
    forced = o.ifu or o.waiver or o.baa or o.irb
    if forced:  # the guards refuse these on purpose: put it there directly
        return force_stage(deployment, "deployed")
    for stage in ("under_review", "approved", "pilot", "deployed"):
        deployment = lifecycle.transition(p.chen, deployment, stage, reason="test")
    if o.deployment_date:
        deployment = clear_deployment_date(deployment)
    return deployment


def monitored(p: SimpleNamespace, deployment: Deployment) -> None:
    """A watch on the deployment and one exam of yesterday whose AI call was compared with
    its report (IV.G.1), through the exams and monitoring services."""
    from radgov.monitoring import configure
    from tests.monitoring.conftest import exam_with_call

    today = timezone.localdate()
    configure.set_watch(
        p.chen, deployment, finding="intracranial_hemorrhage",
        baseline_start=today - dt.timedelta(days=60), baseline_end=today - dt.timedelta(days=31),
    )  # fmt: skip
    n = 9000 + deployment.pk  # one exam per deployment of the world
    inference = exam_with_call(
        p.informatics, deployment, n, today - dt.timedelta(days=1), ai=True, truth=True
    )
    _reviewed(p.reader, inference)


@service
def _reviewed(reader: Any, inference: Any) -> None:
    """The result reviewed (IV.G.3): the record the review gate leaves, written directly, as
    the reader's training is not what this world is about."""
    from radgov.exams.models import Review

    Review.objects.create(
        inference=inference, reviewer=reader, decision="accept", concordance="concordant",
        reviewed_at=timezone.now(),
    )  # fmt: skip


# --- local acceptance testing (IV.E), through the evaluation services ------------------------


def protocol_source(*, passes: bool = True, name: str = "HeadCheck acceptance test") -> str:
    """A small binary protocol; ``passes=False`` asks for a sensitivity no model reaches."""
    bar = 0.5 if passes else 0.999
    return (
        f"name: {name}\n"
        "task: binary\n"
        "columns: {case_id: case_id, truth: label, score: ai_score}\n"
        "threshold: 0.5\n"
        "metrics: [sensitivity, specificity]\n"
        f"criteria: [{{metric: sensitivity, estimate_at_least: {bar}}}]\n"
    )


def locked_protocol(p: SimpleNamespace, deployment: Deployment, **kw: Any) -> AcceptanceProtocol:
    """Version 1, written by the physicist and locked by the chair."""
    protocol = evaluation.create_protocol(
        p.physicist, deployment=deployment, source=protocol_source(**kw)
    )
    return evaluation.lock(p.chen, protocol)


def run_cases(
    p: SimpleNamespace, protocol: AcceptanceProtocol, *, synthetic: bool = False, mrn: bool = False
) -> AcceptanceRun:
    """A run on 300 generated cases: marked synthetic or not, with an MRN column or not."""
    frame = generate_ich_cases(300, seed=3)
    if not synthetic:
        frame = frame.drop("synthetic")
    if mrn:
        frame = frame.with_columns(mrn=frame["case_id"].str.replace("SYN-", "M"))
    with tempfile.TemporaryDirectory() as folder:
        path = write_cases(frame, Path(folder) / "cases.csv")
        return evaluation.run_test(p.physicist, protocol, path=path, name="cases.csv")


@service
def forget_identifier_cover(run: AcceptanceRun) -> AcceptanceRun:
    """A run with identifier columns and no BAA on record (the services refuse to store one)."""
    AcceptanceRun.objects.filter(pk=run.pk).update(identifiers_allowed_because="")
    run.refresh_from_db()
    return run


def section(report: Any, deployment: Any) -> dict[str, Any]:
    """The audit's lines of one deployment, by check id."""
    (s,) = [s for s in report.deployments if s.deployment_id == deployment.pk]
    return {ln.check_id: ln for ln in s.lines}


def failing(report: Any) -> set[str]:
    """The ids of the checks that failed, anywhere in the report."""
    return {ln.check_id for ln in report.lines() if ln.status == Status.FAIL}
