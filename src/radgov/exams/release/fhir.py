"""A release as a FHIR R4 transaction bundle, validated with ``fhir.resources`` (R4B models):
a DiagnosticReport with one Observation per finding, a Device for the model (name, version,
manufacturer) and a Provenance naming the device and the reviewer.  AI-produced content is
marked as HL7's AI Transparency on FHIR does: the security label ``AIAST`` (AI asserted) on
every resource the AI produced.  Where the release policy keeps the output from the
patient portal, the report and observations also carry ``NOPAT`` (no disclosure to the
patient without the attending's authorization).  A withdrawal is the same report
``entered-in-error``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from radgov.dicom.sr import LOCAL_SCHEME
from radgov.exams.release.content import Released

AI_LABEL = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "AIAST",
    "display": "Artificial Intelligence asserted",
}
NOT_FOR_PATIENT = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "code": "NOPAT",
    "display": "no disclosure to patient, family or caregivers without attending provider's "
    "authorization",
}
SYSTEMS = {
    "SCT": "http://snomed.info/sct",
    "LN": "http://loinc.org",
    "RADLEX": "http://radlex.org",
    "UCUM": "http://unitsofmeasure.org",
}
STUDY_UID_SYSTEM = "urn:dicom:uid"


def _system(scheme: str) -> str:
    return SYSTEMS.get(scheme.upper(), f"urn:radgov:codes:{scheme.lower()}")


def _concept(finding: dict[str, Any]) -> dict[str, Any]:
    code = finding.get("code") or {}
    if code:
        coding = {"system": _system(code["scheme"]), "code": code["value"]}
        return {"coding": [{**coding, "display": code["meaning"]}], "text": finding["label"]}
    return {
        "coding": [{"system": _system(LOCAL_SCHEME), "code": finding["label"]}],
        "text": finding["label"],
    }


def _observation(
    finding: dict[str, Any], status: str, refs: dict[str, str], meta: dict[str, Any]
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "meta": meta,
        "status": status,
        "code": _concept(finding),
        "subject": {"reference": refs["patient"]},
        "device": {"reference": refs["device"]},
    }
    if finding.get("present") is not None:
        obs["valueBoolean"] = bool(finding["present"])
    components = [
        {
            "code": {"text": str(m["name"])},
            "valueQuantity": {
                "value": float(m["value"]),
                "unit": str(m["unit"]),
                "system": SYSTEMS["UCUM"],
                "code": str(m["unit"]),
            },
        }
        for m in finding.get("measurements") or ()
    ]
    if components:
        obs["component"] = components
    if finding.get("location"):
        obs["bodySite"] = {"text": str(finding["location"])}
    return obs


def build_bundle(released: Released, *, bundle_id: str) -> Bundle:
    """The transaction bundle (validated by building it with ``fhir.resources``)."""
    status = "entered-in-error" if released.correction else "final"
    urls = {k: f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, bundle_id + k)}" for k in ("r", "d", "v")}
    refs = {
        "patient": f"Patient?identifier={released.patient_issuer}|{released.study.patient_id}",
        "device": urls["d"],
    }
    meta = {"security": [AI_LABEL] if released.patient_may_see else [AI_LABEL, NOT_FOR_PATIENT]}
    observations = [_observation(f, status, refs, meta) for f in released.findings]
    obs_urls = [
        f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{bundle_id}o{i}')}"
        for i in range(len(observations))
    ]
    device = {
        "resourceType": "Device",
        "identifier": [
            {"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{released.algorithm.uid}"}
        ],
        "manufacturer": released.algorithm.manufacturer,
        "deviceName": [{"name": released.algorithm.name, "type": "model-name"}],
        "version": [{"value": released.algorithm.version}],
    }
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "meta": meta,
        "status": status,
        "code": {
            "coding": [{"system": _system(LOCAL_SCHEME), "code": "AIRESULT"}],
            "text": f"{released.algorithm.name} result",
        },
        "subject": {"reference": refs["patient"]},
        "issued": released.released_at.isoformat(),
        "identifier": [
            {"system": STUDY_UID_SYSTEM, "value": f"urn:oid:{released.study.study_instance_uid}"}
        ],
        "result": [{"reference": u} for u in obs_urls],
        "conclusion": released.statement,
    }
    if released.study.accession_number:
        report["identifier"].append(
            {"type": {"text": "accession"}, "value": released.study.accession_number}
        )
    agents: list[dict[str, Any]] = [
        {
            "type": {"text": "author"},
            "who": {"reference": urls["d"], "display": released.algorithm.name},
        }
    ]
    if released.reviewed:
        agents.append(
            {"type": {"text": "verifier"}, "who": {"display": released.reviewer.replace("^", " ")}}
        )
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": urls["r"]}, *({"reference": u} for u in obs_urls)],
        "recorded": released.released_at.isoformat(),
        "agent": agents,
    }
    entries = [
        (urls["d"], device, "Device"),
        *((u, o, "Observation") for u, o in zip(obs_urls, observations, strict=True)),
        (urls["r"], report, "DiagnosticReport"),
        (urls["v"], provenance, "Provenance"),
    ]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": bundle_id,
            "type": "transaction",
            "entry": [
                {"fullUrl": u, "resource": r, "request": {"method": "POST", "url": kind}}
                for u, r, kind in entries
            ],
        }
    )


def read_bundle(text: str) -> Bundle:
    """Parse a bundle (what ``build_bundle`` made, or what a peer holds) with its resources."""
    return Bundle.model_validate(json.loads(text))
