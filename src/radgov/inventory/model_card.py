"""A model card for one model version, from what the inventory holds.

Two views of the same record:

* the **CHAI Applied Model Card** (Coalition for Health AI, draft schema v0.2,
  github.com/coalition-for-health-ai/mc-schema, ``v0.2/schema.xsd`` and its examples):
  BasicInfo, ReleaseInfo, ModelSummary, UsesAndDirections, Warnings,
  TrustIngredients (AISystemFacts, TransparencyInformation), KeyMetrics
  (UsefulnessUsabilityEfficacy, FairnessEquity, SafetyReliability), Resources;
* the **ONC HTI-1 source attributes** of a predictive decision support
  intervention (45 CFR 170.315(b)(11)(iv)(B), 31 attributes in nine groups: details
  and output, purpose, cautioned out-of-scope use, development details and input
  features, fairness in development, external validation, quantitative measures of
  performance, ongoing maintenance, update and correction).

A field the inventory does not hold (or holds empty) is ``None`` and is listed in
``empty_fields``, so the governance group sees what to ask the vendor for.  Field
names keep the sources' own spelling.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import timezone

from radgov.inventory.models import Category, DocumentKind, ModelVersion, RegulatoryPathway

SCHEMA = "radgov-model-card/1 (CHAI Applied Model Card v0.2 + ONC HTI-1 DSI source attributes)"

OUTPUT_TYPE = {
    Category.CADE: "classification (detection of findings, marked on the images)",
    Category.CADT: "classification (triage: flags studies with suspected findings)",
    Category.CADX: "classification / prediction (characterization of findings)",
    Category.QUANTIFICATION: "analysis (quantitative measurements)",
    Category.GENERATIVE: "other (generated text for review)",
    Category.OTHER: "other",
}

# HTI-1 predictive DSI source attributes: key -> the rule's wording (abridged)
HTI1_ATTRIBUTES: list[tuple[str, str]] = [
    ("developer_name_contact", "Name and contact information for the intervention developer"),
    ("funding_source", "Funding source of the intervention's development"),
    ("output_value", "Description of value that the intervention produces as an output"),
    (
        "output_type",
        "Whether the output is a prediction, classification, recommendation, evaluation, analysis or other",
    ),
    ("intended_use", "Intended use of the intervention"),
    ("intended_patient_population", "Intended patient population(s)"),
    ("intended_users", "Intended user(s)"),
    ("intended_decision_role", "Intended decision-making role (informs, augments, replaces)"),
    ("cautioned_use", "Tasks, situations or populations where use is cautioned against"),
    ("known_risks_limitations", "Known risks, inappropriate settings or uses, known limitations"),
    (
        "training_inclusion_exclusion",
        "Exclusion and inclusion criteria that influenced the training data",
    ),
    ("demographic_input_features", "Use of race, ethnicity, language, sex, ... as input features"),
    ("training_demographic_representativeness", "Demographic representativeness of training data"),
    (
        "training_relevance_to_setting",
        "Relevance of training data to the intended deployed setting",
    ),
    ("fairness_approach", "Approach taken to ensure the output is fair"),
    ("bias_management", "Approaches to manage, reduce or eliminate bias"),
    ("external_validation_source", "Data source, setting or environment of external validation"),
    ("external_validation_party", "Party that conducted the external testing"),
    ("external_validation_demographics", "Demographic representativeness of the external data"),
    ("external_validation_process", "Description of the external validation process"),
    ("validity_internal", "Validity in test data from the same source as the training data"),
    ("fairness_internal", "Fairness in test data from the same source as the training data"),
    ("validity_external", "Validity in data from a different source than the training data"),
    ("fairness_external", "Fairness in data from a different source than the training data"),
    ("outcome_evaluations", "References to evaluations of the intervention's effect on outcomes"),
    ("validity_monitoring", "Process and frequency by which validity is monitored over time"),
    ("validity_local", "Validity of the intervention in local data"),
    ("fairness_monitoring", "Process and frequency by which fairness is monitored over time"),
    ("fairness_local", "Fairness of the intervention in local data"),
    ("update_process", "Process and frequency by which the intervention is updated"),
    (
        "correction_frequency",
        "How often performance is corrected when validity/fairness risks are found",
    ),
]


def _v(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value


def regulatory_text(model_version: ModelVersion) -> str:
    p = model_version.product
    if p.regulatory_pathway == RegulatoryPathway.NOT_FDA:
        text = f"Not FDA-regulated ({p.get_not_regulated_reason_display()})"
    else:
        text = f"{p.get_regulatory_pathway_display()} {p.fda_number}, product code {p.fda_product_code}"
    if p.ce_ukca:
        text += f"; {p.ce_ukca}"
    return text


def _claims(mv: ModelVersion) -> str | None:
    parts = []
    if mv.claimed_sensitivity is not None:
        parts.append(f"sensitivity {mv.claimed_sensitivity:.1%}")
    if mv.claimed_specificity is not None:
        parts.append(f"specificity {mv.claimed_specificity:.1%}")
    if not parts:
        return None
    text = "IFU claims " + ", ".join(parts)
    return f"{text} ({mv.claim_source.strip()})" if mv.claim_source.strip() else text


def _metric_results(mv: ModelVersion) -> list[dict[str, Any]] | None:
    results = []
    if mv.claimed_sensitivity is not None:
        results.append({"label": "Sensitivity", "value": mv.claimed_sensitivity})
    if mv.claimed_specificity is not None:
        results.append({"label": "Specificity", "value": mv.claimed_specificity})
    return results or None


def chai_card(mv: ModelVersion) -> dict[str, dict[str, Any]]:
    p = mv.product
    ifu = mv.documents.filter(kind=DocumentKind.IFU).order_by("-uploaded_at").first()
    inputs_outputs = None
    if mv.inputs.strip() or mv.outputs.strip():
        inputs_outputs = f"Input: {mv.inputs.strip() or '(not recorded)'}\nOutput: {mv.outputs.strip() or '(not recorded)'}"
    return {
        "BasicInfo": {
            "ModelName": _v(p.name),
            "ModelDeveloper": _v(p.vendor),
            "DeveloperContact": _v(p.vendor_contact) or _v(p.support_contact),
        },
        "ReleaseInfo": {
            "ReleaseStage": regulatory_text(mv),
            "ReleaseDate": mv.release_date.isoformat() if mv.release_date else None,
            "ReleaseVersion": _v(mv.version),
            "GlobalAvailability": _v(p.ce_ukca),
            "RegulatoryApproval": (
                f"{p.get_regulatory_pathway_display()} {p.fda_number}"
                if p.is_fda_regulated
                else None
            ),
        },
        "ModelSummary": {
            "Summary": _v(p.description),
            "Keywords": p.get_category_display(),
        },
        "UsesAndDirections": {
            "IntendedUseAndWorkflow": _v(mv.intended_purpose),
            "PrimaryIntendedUsers": _v(mv.intended_users),
            "HowToUse": (
                f"See the IFU: {ifu.title or ifu.original_name}, {ifu.version_label}"
                if ifu
                else None
            ),
            "TargetedPatientPopulation": _v(mv.target_population),
            "CautionedOutOfScopeSettings": _v(mv.out_of_scope_use),
        },
        "Warnings": {
            "KnownRisksAndLimitations": _v(mv.limitations),
            "KnownBiasesOrEthicalConsiderations": _v(mv.known_biases),
            "ClinicalRiskLevel": _v(mv.clinical_risk_level),
        },
        "AISystemFacts": {
            "OutcomesAndOutputs": _v(mv.outputs),
            "ModelType": _v(mv.model_type),
            "InputDataSource": _v(mv.inputs),
            "OutputAndInputDataTypes": inputs_outputs,
            "DevelopmentDataCharacterization": _v(mv.development_data),
            "BiasMitigationApproaches": _v(mv.bias_mitigation),
            "OngoingMaintenance": _v(mv.maintenance),
            "Security": None,
            "Transparency": None,
        },
        "TransparencyInformation": {
            "FundingSource": _v(mv.funding_source),
            "StakeholdersConsulted": None,
        },
        "KeyMetrics.UsefulnessUsabilityEfficacy": {
            "MetricGoal": "Performance claimed in the IFU" if _metric_results(mv) else None,
            "Results": _metric_results(mv),
            "TestingDataDescription": _v(mv.claim_source),
            "ValidationProcessAndJustification": _v(mv.external_validation),
        },
        "KeyMetrics.FairnessEquity": {"MetricGoal": None, "Results": None},
        "KeyMetrics.SafetyReliability": {"MetricGoal": None, "Results": None},
        "Resources": {
            "EvaluationReferences": _v(mv.references),
            "PeerReviewedPublications": None,
            "PatientConsentOrDisclosure": None,
        },
    }


def hti1_attributes(mv: ModelVersion) -> dict[str, Any]:
    p = mv.product
    developer = ", ".join(x for x in (p.vendor, p.vendor_contact.strip()) if x) or None
    values: dict[str, Any] = {
        "developer_name_contact": developer,
        "funding_source": _v(mv.funding_source),
        "output_value": _v(mv.outputs),
        "output_type": OUTPUT_TYPE.get(Category(p.category)),
        "intended_use": _v(mv.intended_purpose),
        "intended_patient_population": _v(mv.target_population),
        "intended_users": _v(mv.intended_users),
        "intended_decision_role": mv.get_decision_role_display() if mv.decision_role else None,
        "cautioned_use": _v(mv.out_of_scope_use),
        "known_risks_limitations": _v(mv.limitations),
        "training_inclusion_exclusion": _v(mv.development_data),
        "demographic_input_features": None,
        "training_demographic_representativeness": None,
        "training_relevance_to_setting": None,
        "fairness_approach": _v(mv.bias_mitigation),
        "bias_management": _v(mv.bias_mitigation),
        "external_validation_source": _v(mv.external_validation),
        "external_validation_party": None,
        "external_validation_demographics": None,
        "external_validation_process": _v(mv.external_validation),
        "validity_internal": _claims(mv),
        "fairness_internal": None,
        "validity_external": None,
        "fairness_external": None,
        "outcome_evaluations": _v(mv.references),
        "validity_monitoring": _v(mv.maintenance),
        "validity_local": None,  # from local acceptance testing and monitoring, once linked
        "fairness_monitoring": None,
        "fairness_local": None,
        "update_process": _v(mv.maintenance),
        "correction_frequency": None,
    }
    return {key: values[key] for key, _ in HTI1_ATTRIBUTES}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def build(model_version: ModelVersion) -> dict[str, Any]:
    """The model card as a JSON-ready dict, with ``empty_fields`` listing what is not held."""
    mv = model_version
    chai = chai_card(mv)
    hti1 = hti1_attributes(mv)
    empty = [
        f"chai.{section}.{name}"
        for section, values in chai.items()
        for name, value in values.items()
        if _empty(value)
    ]
    empty += [f"hti1.{key}" for key, value in hti1.items() if _empty(value)]
    deployments = [
        {
            "id": d.pk,
            "site": d.site,
            "stage": d.status,
            "deployment_date": d.deployment_date.isoformat() if d.deployment_date else None,
        }
        for d in mv.deployments.order_by("pk")
    ]
    total = sum(len(v) for v in chai.values()) + len(hti1)
    return {
        "schema": SCHEMA,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "model_version": {
            "id": mv.pk,
            "product": str(mv.product),
            "version": mv.version,
            "regulatory_status": regulatory_text(mv),
            "needs_extra_oversight": mv.product.needs_extra_oversight,
        },
        "chai_applied_model_card": chai,
        "hti1_source_attributes": hti1,
        "local_deployments": deployments,
        "empty_fields": empty,
        "completeness": {"filled": total - len(empty), "total": total},
    }


def hti1_labels() -> dict[str, str]:
    return dict(HTI1_ATTRIBUTES)


SECTION_LABELS = {
    "BasicInfo": "Basic information",
    "ReleaseInfo": "Release",
    "KeyMetrics.UsefulnessUsabilityEfficacy": "Key metrics: usefulness, usability, efficacy",
    "KeyMetrics.FairnessEquity": "Key metrics: fairness and equity",
    "KeyMetrics.SafetyReliability": "Key metrics: safety and reliability",
}


def words(name: str) -> str:
    """A CHAI field name as a person reads it: "AISystemFacts" -> "AI system facts"."""
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+|\d+", name)
    text = " ".join(p if p.isupper() and len(p) > 1 else p.lower() for p in parts)
    return text[:1].upper() + text[1:]


def section_label(name: str) -> str:
    return SECTION_LABELS.get(name) or words(name)


def empty_field_label(path: str) -> str:
    """``chai.BasicInfo.ModelName`` -> "CHAI basic information: model name"; an HTI-1 key
    -> its attribute's wording."""
    source, _, rest = path.partition(".")
    if source == "hti1":
        return f"HTI-1: {hti1_labels().get(rest, rest)}"
    section, _, field = rest.rpartition(".")
    return f"CHAI {section_label(section).lower()}: {words(field).lower()}"
