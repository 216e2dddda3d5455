"""The release in HL7 v2.5.1 and FHIR R4, read back by the libraries that read them: hl7apy's
strict parser and ``fhir.resources``."""

from __future__ import annotations

import dataclasses
import datetime as dt

from radgov.dicom.sr import Algorithm, ReportedStudy
from radgov.exams.release import fhir, hl7
from radgov.exams.release.content import Released

BLEED = {
    "label": "intracranial hemorrhage",
    "present": True,
    "code": {"scheme": "SCT", "value": "1386000", "meaning": "Intracranial hemorrhage"},
    "measurements": [{"name": "volume", "value": 12.5, "unit": "ml"}],
}
RELEASED = Released(
    study=ReportedStudy("1.2.826.0.1.3680043.10.99.1", "MRN|7^X", "ACC-1"),
    patient_issuer="HOSP_A",
    algorithm=Algorithm("NeuroTriage ICH", "2.0.3", "NeuroTriage Inc", uid="2.25.42"),
    findings=[BLEED, {"label": "midline shift", "present": False}],
    score=0.91,
    confidence=0.8,
    call="positive",
    reviewer="Doe^Jane",
    decision="accept",
    concordance="concordant",
    released_at=dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.UTC),
    deployment_site="Main Hospital CT",
)


def test_the_oru_reads_back_with_the_reviewed_findings_and_the_statement() -> None:
    msg = hl7.read_oru(hl7.build_oru(RELEASED, control_id="CTRL1"))
    assert msg.validate() and msg.msh.msh_10.value == "CTRL1" and msg.msh.msh_12.value == "2.5.1"
    result = msg.oru_r01_patient_result
    assert (
        result.oru_r01_patient.pid.pid_3.value == "MRN\\F\\7\\S\\X^^^HOSP_A"
    )  # escaped, not split
    order = result.oru_r01_order_observation
    assert order.obr.obr_3.value == "ACC-1" and order.obr.obr_25.value == "F"
    obx = [o.obx for o in order.oru_r01_observation]
    assert [(o.obx_3.obx_3_1.value, o.obx_5.value) for o in obx] == [
        ("1386000", "373066001^Yes^SCT"),
        ("midline shift", "373067005^No^SCT"),
        ("AISCORE", "0.91"),
    ]
    assert {o.obx_11.value for o in obx} == {"F"}
    assert "Reviewed and accepted by Jane Doe" in order.nte[0].nte_3.value


def test_a_correction_has_result_status_c() -> None:
    fixed = dataclasses.replace(RELEASED, correction=True)
    order = hl7.read_oru(
        hl7.build_oru(fixed, control_id="C2")
    ).oru_r01_patient_result.oru_r01_order_observation
    assert order.obr.obr_25.value == "C" and "withdrawn" in order.nte[0].nte_3.value


def test_the_fhir_bundle_parses_with_each_resource_marked_as_ai() -> None:
    bundle = fhir.read_bundle(fhir.build_bundle(RELEASED, bundle_id="b-1").model_dump_json())
    kinds = [e.resource.__resource_type__ for e in bundle.entry]
    assert kinds == ["Device", "Observation", "Observation", "DiagnosticReport", "Provenance"]
    device, bleed, shift, report, provenance = (e.resource for e in bundle.entry)
    assert device.manufacturer == "NeuroTriage Inc" and device.version[0].value == "2.0.3"
    for produced in (bleed, shift, report):
        assert [c.code for c in produced.meta.security] == ["AIAST"]
    assert bleed.valueBoolean is True and shift.valueBoolean is False
    assert bleed.component[0].valueQuantity.value == 12.5
    assert report.status == "final" and len(report.result) == 2
    assert "Produced by artificial intelligence" in report.conclusion
    agents = {a.type.text: a.who for a in provenance.agent}
    assert (
        agents["author"].reference == bundle.entry[0].fullUrl
        and agents["verifier"].display == "Doe Jane"
    )


def test_a_direct_release_names_no_reviewer() -> None:
    direct = dataclasses.replace(RELEASED, decision="", concordance="", reviewer="")
    bundle = fhir.build_bundle(direct, bundle_id="b-2")
    provenance = bundle.entry[-1].resource
    assert [a.type.text for a in provenance.agent] == ["author"]
    assert "without physician review" in direct.statement
