"""The inventory part of the demo practice: six products across the categories (an ICH
triage CADt, a lung nodule CADe, a mammography CADx, a brain volume quantification
tool, a locally developed bone age model and a generative report-drafting model),
their versions with small IFU PDFs made here with WeasyPrint, and deployments
moved through their lifecycle through the real services and guards.

Each deployment is moved toward its demo stage only as far as the guards allow;
where a guard refuses (no approval decision yet, no training procedure...) it stays
and the demo says what is missing.  The inventory's demo runs before governance's
and training's, so a second ``radgov demo`` may take some further; after that,
running it again changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from radgov.inventory import lifecycle, services
from radgov.inventory.models import Deployment, Document, ModelVersion, Product, VendorCompany
from radgov.inventory.stages import Stage

PATH = [
    Stage.UNDER_REVIEW,
    Stage.ACCEPTANCE_TESTING,
    Stage.APPROVED,
    Stage.PILOT,
    Stage.DEPLOYED,
]

PRODUCTS: list[dict[str, Any]] = [
    {
        "vendor": "Brightline Imaging AI",
        "name": "NeuroTriage ICH",
        "category": "cadt",
        "regulatory_pathway": "fda_510k",
        "fda_number": "K239001",
        "fda_product_code": "QAS",
        "ce_ukca": "CE class IIa",
        "vendor_contact": "Dana Ruiz, clinical success, dana.ruiz@brightline.invalid",
        "support_contact": "24/7 support: +1 555 0100, support@brightline.invalid",
        "description": "Flags non-contrast head CT with suspected intracranial hemorrhage so "
        "that the radiologist reads them first.",
    },
    {
        "vendor": "Pulmo Vision",
        "name": "LungScan Nodule",
        "category": "cade",
        "regulatory_pathway": "fda_510k",
        "fda_number": "K221777",
        "fda_product_code": "OEB",
        "vendor_contact": "sales@pulmovision.invalid",
        "support_contact": "support@pulmovision.invalid, +1 555 0140",
        "description": "Marks solid and part-solid lung nodules of 4 mm or more on chest CT.",
    },
    {
        "vendor": "Mammetrics",
        "name": "MammoInsight",
        "category": "cadx",
        "regulatory_pathway": "fda_de_novo",
        "fda_number": "DEN200055",
        "fda_product_code": "QDQ",
        "vendor_contact": "partners@mammetrics.invalid",
        "support_contact": "support@mammetrics.invalid",
        "description": "Scores the likelihood of malignancy of findings on screening "
        "mammography and tomosynthesis.",
    },
    {
        "vendor": "Cortexa",
        "name": "BrainVolume Quant",
        "category": "quantification",
        "regulatory_pathway": "fda_510k",
        "fda_number": "K201234",
        "fda_product_code": "LLZ",
        "vendor_contact": "info@cortexa.invalid",
        "support_contact": "helpdesk@cortexa.invalid",
        "description": "Segments brain structures on 3D T1 MRI and reports volumes with "
        "age- and sex-matched normative percentiles.",
    },
    {
        "vendor": "Demo Radiology Practice (in-house)",
        "name": "BoneAge Local",
        "category": "quantification",
        "regulatory_pathway": "not_fda",
        "not_regulated_reason": "locally_developed",
        "vendor_contact": "Imaging data science team, datasci@demo.invalid",
        "support_contact": "informatics on-call, ext. 4400",
        "description": "Estimates skeletal age from a left-hand radiograph; developed and "
        "validated on the practice's own studies.",
    },
    {
        "vendor": "Scribe Health AI",
        "name": "ReportDraft",
        "category": "generative",
        "regulatory_pathway": "not_fda",
        "not_regulated_reason": "generative_ai",
        "vendor_contact": "enterprise@scribehealth.invalid",
        "support_contact": "support@scribehealth.invalid",
        "description": "A large language model that drafts the findings and impression of a "
        "report from the radiologist's dictated observations.",
    },
]


@dataclass
class DemoVersion:
    product: str
    version: str
    release: dt.date
    notice: dt.date | None
    fields: dict[str, Any]
    ifu_label: str = "Rev A"


VERSIONS = [
    DemoVersion(
        "NeuroTriage ICH",
        "2.0",
        dt.date(2025, 9, 1),
        dt.date(2025, 7, 15),
        {
            "intended_purpose": "Triage and notification of suspected intracranial hemorrhage on "
            "non-contrast head CT of adults; not for diagnosis.",
            "inputs": "Axial non-contrast head CT, slice thickness 0.625 to 5 mm, 64-slice or "
            "more scanners.",
            "outputs": "A flag in the worklist and a notification with a compressed, "
            "non-diagnostic preview image.",
            "limitations": "Not validated under 18 years; post-operative heads with metal "
            "clips and severe motion produce false positives.",
            "performance_factors": "Slice thickness, beam-hardening and metal artifact, "
            "patient motion, scanner manufacturer.",
            "claimed_sensitivity": 0.93,
            "claimed_specificity": 0.92,
            "claim_source": "510(k) summary: 314 cases from 4 US sites, prevalence 41%",
            "model_type": "3D convolutional neural network",
            "intended_users": "Radiologists and emergency physicians",
            "target_population": "Adults (18 years and older) with head CT",
            "decision_role": "informs",
            "out_of_scope_use": "Pediatric patients; contrast-enhanced CT; use as a diagnosis.",
            "funding_source": "Self-funded by the developer",
            "maintenance": "Quarterly releases announced 60 days ahead; vendor monitors "
            "positive rate per site monthly.",
        },
    ),
    DemoVersion(
        "NeuroTriage ICH",
        "2.1",
        dt.date(2026, 10, 1),
        dt.date(2026, 8, 20),
        {
            "release_notes": "Retrained with 40% more post-operative cases to reduce false "
            "positives from surgical clips; no change of indication.",
            "intended_purpose": "Triage and notification of suspected intracranial hemorrhage on "
            "non-contrast head CT of adults; not for diagnosis.",
            "inputs": "Axial non-contrast head CT, slice thickness 0.625 to 5 mm.",
            "outputs": "A worklist flag and a notification with a non-diagnostic preview.",
            "limitations": "Not validated under 18 years.",
            "claimed_sensitivity": 0.94,
            "claimed_specificity": 0.94,
            "claim_source": "Vendor validation, 402 cases, prevalence 38%",
        },
        ifu_label="Rev B",
    ),
    DemoVersion(
        "LungScan Nodule",
        "1.4",
        dt.date(2025, 3, 10),
        dt.date(2025, 1, 20),
        {
            "intended_purpose": "Detection of lung nodules of 4 mm or more on chest CT as a "
            "second reader.",
            "inputs": "Chest CT, slice thickness 2.5 mm or less, any kernel.",
            "outputs": "Nodule marks with diameter and volume, sent to PACS as DICOM SR and "
            "secondary capture.",
            "limitations": "Ground-glass nodules under 6 mm are often missed; not for "
            "post-contrast angiography.",
            "performance_factors": "Slice thickness, reconstruction kernel, respiratory motion.",
            "claimed_sensitivity": 0.88,
            "claimed_specificity": 0.81,
            "claim_source": "510(k) reader study, 230 cases",
        },
    ),
    DemoVersion(
        "LungScan Nodule",
        "1.2",
        dt.date(2024, 6, 1),
        None,
        {"intended_purpose": "Detection of lung nodules on chest CT as a second reader."},
    ),
    DemoVersion(
        "MammoInsight",
        "3.2",
        dt.date(2026, 2, 1),
        dt.date(2025, 12, 1),
        {
            "intended_purpose": "Characterization of findings on screening mammography and "
            "DBT with a malignancy likelihood score.",
            "inputs": "FFDM or DBT, four standard views.",
            "outputs": "A case score 1 to 10 and per-finding scores.",
            "limitations": "Not for diagnostic (call-back) examinations or implants.",
            "performance_factors": "Breast density, vendor of the mammography unit.",
            "claimed_sensitivity": 0.9,
            "claimed_specificity": 0.85,
            "claim_source": "De Novo pivotal study, 1,200 screening exams",
        },
    ),
    DemoVersion(
        "BrainVolume Quant",
        "1.0",
        dt.date(2025, 5, 5),
        None,
        {
            "intended_purpose": "Volumetry of brain structures on 3D T1 MRI with normative "
            "percentiles.",
            "inputs": "3D T1-weighted MRI, 1 mm isotropic, 1.5 T or 3 T.",
            "outputs": "A PDF report and DICOM SEG of the structures.",
            "limitations": "Normative data for ages 18 to 95 only.",
            "performance_factors": "Field strength, scanner manufacturer, motion.",
        },
    ),
    DemoVersion(
        "BoneAge Local",
        "0.9",
        dt.date(2026, 6, 1),
        None,
        {
            "intended_purpose": "Bone age estimate (Greulich and Pyle) from a left-hand "
            "radiograph of a child.",
            "inputs": "Left-hand PA radiograph (CR/DX), ages 0 to 18.",
            "outputs": "Bone age in months with a 95% interval, as a draft for the radiologist.",
            "limitations": "Trained at one site on 4,100 radiographs; not validated for "
            "skeletal dysplasias.",
            "performance_factors": "Positioning, image processing of the detector.",
            "development_data": "4,100 left-hand radiographs of 2015 to 2023 from the "
            "practice's children's wing.",
        },
    ),
    DemoVersion(
        "ReportDraft",
        "0.3",
        dt.date(2026, 9, 15),
        dt.date(2026, 9, 1),
        {
            "intended_purpose": "Draft the findings and impression of a CT or radiograph report "
            "from the radiologist's dictated observations, for the radiologist to edit.",
            "inputs": "Dictated text and the exam's order information; no images.",
            "outputs": "Draft report text shown in the reporting system, never signed by itself.",
            "limitations": "May state findings that were not dictated (hallucination); may "
            "omit laterality; English only.",
            "performance_factors": "Dictation style, exam type, length of the dictation.",
            "decision_role": "augments",
        },
    ),
]


@dataclass
class DemoDeployment:
    product: str
    version: str
    site: str
    target: Stage
    criteria: dict[str, Any]
    routing: str
    policy: str
    reason: str = ""
    pilot: list[str] = field(default_factory=list)


DEPLOYMENTS = [
    DemoDeployment(
        "NeuroTriage ICH",
        "2.0",
        "Main Hospital CT",
        Stage.DEPLOYED,
        {
            "modalities": ["CT"],
            "body_parts": ["HEAD", "BRAIN"],
            "min_age_years": 18,
            "protocol_patterns": ["*HEAD*"],
            "max_slice_thickness_mm": 5,
            "contrast": "no",
        },
        "DICOM C-STORE from the CT scanners' auto-route to the AI gateway (AE NEUROAI); "
        "results return as HL7 ORU to the worklist.",
        "Flags reach the worklist at once; no AI result enters the medical record.",
        pilot=["dr.okafor"],
    ),
    DemoDeployment(
        "ReportDraft",
        "0.3",
        "Main Hospital reading rooms",
        Stage.PILOT,
        {"modalities": ["CT", "CR", "DX"], "min_age_years": 18},
        "HL7 ORM from the RIS opens a drafting session; FHIR DiagnosticReport (preliminary) "
        "back to the reporting system.",
        "Drafts are visible only to the dictating radiologist and enter the record only "
        "when signed by them.",
        pilot=["dr.chen"],
    ),
    DemoDeployment(
        "LungScan Nodule",
        "1.4",
        "Outpatient Imaging Center",
        Stage.PILOT,
        {
            "modalities": ["CT"],
            "body_parts": ["CHEST"],
            "min_age_years": 18,
            "max_slice_thickness_mm": 2.5,
        },
        "DICOM auto-route of chest CT series with thickness 2.5 mm or less.",
        "SR and marks to PACS after the radiologist accepts them.",
        pilot=["dr.okafor", "dr.chen"],
    ),
    DemoDeployment(
        "MammoInsight",
        "3.2",
        "Breast Center",
        Stage.ACCEPTANCE_TESTING,
        {"modalities": ["MG"], "body_parts": ["BREAST"], "sexes": ["F"], "min_age_years": 35},
        "DICOM from the mammography units; scores as DICOM SR to the breast reading station.",
        "",
    ),
    DemoDeployment(
        "BrainVolume Quant",
        "1.0",
        "Neuro MRI",
        Stage.APPROVED,
        {
            "modalities": ["MR"],
            "body_parts": ["BRAIN", "HEAD"],
            "min_age_years": 18,
            "max_age_years": 95,
            "manufacturers": ["GE*", "SIEMENS*", "Philips*"],
            "protocol_patterns": ["*MPRAGE*", "*BRAVO*", "*3D*T1*"],
        },
        "DICOM auto-route of 3D T1 series; report as encapsulated PDF to PACS.",
        "",
    ),
    DemoDeployment(
        "BoneAge Local",
        "0.9",
        "Children's wing",
        Stage.UNDER_REVIEW,
        {"modalities": ["CR", "DX"], "body_parts": ["HAND"], "max_age_years": 18},
        "DICOM from the children's wing radiography rooms.",
        "",
    ),
    DemoDeployment(
        "NeuroTriage ICH",
        "2.0",
        "Community Hospital ED",
        Stage.SUSPENDED,
        {
            "modalities": ["CT"],
            "body_parts": ["HEAD", "BRAIN"],
            "min_age_years": 18,
            "contrast": "no",
        },
        "DICOM auto-route from the ED scanner to the AI gateway.",
        "Flags reach the ED worklist at once; no AI result enters the medical record.",
        reason="Suspended after the ED scanner's software upgrade changed the head protocol; "
        "re-testing before it resumes.",
        pilot=["dr.okafor"],
    ),
    DemoDeployment(
        "MammoInsight",
        "3.2",
        "Community Hospital",
        Stage.REQUESTED,
        {"modalities": ["MG"], "sexes": ["F"]},
        "",
        "",
    ),
    DemoDeployment(
        "LungScan Nodule",
        "1.2",
        "Community Hospital",
        Stage.SUNSET,
        {"modalities": ["CT"], "body_parts": ["CHEST"]},
        "",
        "",
        reason="Request withdrawn: the community hospital moved its chest CT to the outpatient center.",
    ),
]


def ifu_pdf(product: Product, version: str, fields: dict[str, Any], label: str) -> bytes:
    """A small but real IFU, written by WeasyPrint at demo time (nothing is downloaded)."""
    from radgov.core.pdf import render_pdf

    rows = "".join(
        f"<tr><th>{escape(k.replace('_', ' ').capitalize())}</th><td>{escape(str(v))}</td></tr>"
        for k, v in fields.items()
        if k in ("intended_purpose", "inputs", "outputs", "limitations", "performance_factors")
    )
    html = f"""<html><head><style>
    body {{ font-family: sans-serif; font-size: 10pt; }} h1 {{ font-size: 16pt; }}
    th {{ text-align: left; vertical-align: top; width: 30%; }} td, th {{ padding: 4pt; }}
    </style></head><body>
    <h1>{escape(product.name)} {escape(version)}: Instructions for use</h1>
    <p>{escape(product.vendor)} · document {escape(label)} · demo document for the radgov demo practice</p>
    <table>{rows}</table>
    <p>Support: {escape(product.support_contact)}</p></body></html>"""
    return render_pdf(html)


BEYOND_TESTING = (Stage.APPROVED, Stage.PILOT, Stage.DEPLOYED, Stage.SUSPENDED)


def awaiting_approval() -> list[Deployment]:
    """The demo's deployments waiting in acceptance testing that it means to take further:
    the governance group's demo approves them (approved means the group approved)."""
    out = []
    for spec in DEPLOYMENTS:
        if spec.target not in BEYOND_TESTING:
            continue
        d = Deployment.objects.filter(
            model_version__product__name=spec.product,
            model_version__version=spec.version,
            site=spec.site,
            status=Stage.ACCEPTANCE_TESTING,
        ).first()
        if d is not None:
            out.append(d)
    return out


# The vendor account of the demo belongs to the ICH triage model's maker (III.F).
VENDOR_ACCOUNT = ("vendor.rep", "Brightline Imaging AI")


def _vendor_account(admin: Any) -> None:
    username, company_name = VENDOR_ACCOUNT
    account = get_user_model().objects.filter(username=username).first()
    company = VendorCompany.objects.filter(name=company_name).first()
    if account is not None and company is not None and not account.vendor_companies.exists():
        services.add_representative(admin, company, account)


def _people() -> dict[str, Any] | None:
    names = ["admin", "dr.chen", "dr.okafor", "informatics"]
    found = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
    return found if len(found) == len(names) else None


def _advance(user: Any, d: Deployment, spec: DemoDeployment) -> str:
    if spec.target == Stage.SUNSET:
        if d.status != Stage.SUNSET:
            d = lifecycle.transition(user, d, Stage.SUNSET, reason=spec.reason)
        return "sunset"
    if Stage(d.status) not in (Stage.REQUESTED, *PATH):
        return d.get_status_display().lower()
    path = [Stage.REQUESTED, *PATH]
    goal = path.index(Stage.DEPLOYED if spec.target == Stage.SUSPENDED else spec.target)
    while path.index(Stage(d.status)) < goal:
        current = path.index(Stage(d.status))
        # skip stages the table does not require (approved may go straight to deployed)
        step = path[current + 1]
        if step == Stage.PILOT and spec.target == Stage.DEPLOYED and not spec.pilot:
            step = Stage.DEPLOYED
        try:
            d = lifecycle.transition(user, d, step, reason="demo practice")
        except lifecycle.LifecycleError as exc:
            return f"{d.get_status_display().lower()} (not {step.label.lower()} yet: {'; '.join(exc.missing)})"
    if spec.target == Stage.SUSPENDED:
        d = lifecycle.transition(user, d, Stage.SUSPENDED, reason=spec.reason)
    return d.get_status_display().lower()


def load(stdout: Any) -> None:
    p = _people()
    if p is None:
        stdout.write("Inventory: demo accounts missing; skipped.")
        return
    keeper, uploader, chair = p["informatics"], p["admin"], p["dr.chen"]
    products = {}
    for spec in PRODUCTS:
        row = Product.objects.filter(company__name=spec["vendor"], name=spec["name"]).first()
        products[spec["name"]] = row or services.create_product(keeper, **spec)
    versions = {}
    for v in VERSIONS:
        product = products[v.product]
        row = ModelVersion.objects.filter(product=product, version=v.version).first()
        if row is None:
            row = services.add_model_version(
                keeper,
                product,
                version=v.version,
                release_date=v.release,
                advance_notice_date=v.notice,
                **v.fields,
            )
        versions[(v.product, v.version)] = row
        if not Document.objects.filter(model_version=row, kind="ifu").exists():
            content = ifu_pdf(product, v.version, v.fields, v.ifu_label)
            services.upload_document(
                uploader,
                row,
                kind="ifu",
                version_label=v.ifu_label,
                title=f"{product.name} {v.version} instructions for use",
                upload=SimpleUploadedFile(f"{product.name}-{v.version}-IFU.pdf", content),
            )
    _vendor_account(uploader)
    report = []
    for dep in DEPLOYMENTS:
        mv = versions[(dep.product, dep.version)]
        d = Deployment.objects.filter(model_version=mv, site=dep.site).first()
        if d is None:
            users = {u.username: u for u in get_user_model().objects.all()}
            d = services.create_deployment(
                keeper,
                mv,
                site=dep.site,
                clinical_champions=[p["dr.okafor"]],
                end_users=[p["dr.chen"], p["dr.okafor"]],
                pilot_users=[users[n] for n in dep.pilot if n in users],
                technical_contact=keeper,
                inclusion_criteria=dep.criteria,
                routing_notes=dep.routing,
                output_release_policy=dep.policy,
            )
        report.append(f"  {dep.product} {dep.version} at {dep.site}: {_advance(chair, d, dep)}")
    # the vendor's new ICH version re-enters review; the deployed 2.0 runs on
    ich = Deployment.objects.filter(
        model_version=versions[("NeuroTriage ICH", "2.0")], site="Main Hospital CT"
    ).first()
    if ich is not None and not ich.replaced_by.exists():
        new = services.propose_upgrade(keeper, ich, versions[("NeuroTriage ICH", "2.1")])
        report.append(
            f"  NeuroTriage ICH 2.1 proposed to replace 2.0: {new.get_status_display().lower()}"
        )
    stdout.write(
        f"Inventory: {Product.objects.count()} products, {ModelVersion.objects.count()} versions, "
        f"{Deployment.objects.count()} deployments:"
    )
    for line in report:
        stdout.write(line)
