"""A reviewed AI result as a DICOM Structured Report, TID 1500 Measurement Report (issue 16).

:func:`build_measurement_report` makes a Comprehensive 3D SR with highdicom: each finding a
TID 1501 measurement group (its coded finding, present or absent, its measurements in UCUM
units), the algorithm identified (name, version, manufacturer) in every group, the AI as
device observer and the reviewing physician as person observer, and a plain statement
that AI produced the result and who reviewed it.  A correction (a withdrawn release) is a
new instance that names the instance it replaces (``previous``: Predecessor Documents).

Findings are the exams app's findings (docs/exams.md): ``label``, optional ``present``,
``code`` (``scheme``, ``value``, ``meaning``) and ``measurements`` (``name``, ``value``,
``unit``).  A finding without a code is coded with the label under the local scheme
``99RADGOV``.

Pure Python: no Django import (ARCHITECTURE.md rule 1).  highdicom and pydicom's code
dictionary are imported when a report is built, not with this module: every radgov process
loads this module through the URL configuration, and they cost each one about 19 MB and a
tenth of a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydicom import Dataset
from pydicom.uid import generate_uid

if TYPE_CHECKING:
    import highdicom as hd

__all__ = ["LOCAL_SCHEME", "Algorithm", "ReportedStudy", "build_measurement_report"]

LOCAL_SCHEME = "99RADGOV"
# coded concepts as (value, scheme, meaning), made highdicom's when a report is built
PRESENT = ("373066001", "SCT", "Yes")
ABSENT = ("373067005", "SCT", "No")
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
COMMENT = ("121106", "DCM", "Comment")


@dataclass(frozen=True)
class ReportedStudy:
    """The study the report belongs to: its identifiers, as the PACS knows them."""

    study_instance_uid: str
    patient_id: str = ""
    accession_number: str = ""
    study_datetime: dt.datetime | None = None
    modality: str = ""


@dataclass(frozen=True)
class Algorithm:
    name: str
    version: str
    manufacturer: str
    uid: str = field(default_factory=generate_uid)


def _code(finding: Mapping[str, Any]) -> hd.sr.CodedConcept:
    import highdicom as hd

    code = finding.get("code") or {}
    if code:
        return hd.sr.CodedConcept(str(code["value"]), str(code["scheme"]), str(code["meaning"]))
    label = str(finding["label"])
    return hd.sr.CodedConcept(label[:16].upper().replace(" ", "_"), LOCAL_SCHEME, label)


def _group(
    finding: Mapping[str, Any], n: int, algorithm: hd.sr.AlgorithmIdentification
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    import highdicom as hd

    concept = _code(finding)
    evaluations = []
    if finding.get("present") is not None:
        value = hd.sr.CodedConcept(*(PRESENT if finding["present"] else ABSENT))
        evaluations.append(hd.sr.QualitativeEvaluation(name=concept, value=value))
    measurements = [
        hd.sr.Measurement(
            name=hd.sr.CodedConcept(
                str(m["name"])[:16].upper().replace(" ", "_"), LOCAL_SCHEME, str(m["name"])
            ),
            value=float(m["value"]),
            unit=hd.sr.CodedConcept(str(m["unit"]), "UCUM", str(m["unit"])),
            algorithm_id=algorithm,
        )
        for m in finding.get("measurements") or ()
    ]
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=generate_uid(), identifier=f"finding {n}: {finding['label']}"[:64]
        ),
        finding_type=concept,
        algorithm_id=algorithm,
        measurements=measurements or None,
        qualitative_evaluations=evaluations or None,
    )


def _study_header(study: ReportedStudy, sop_instance_uid: str, series_instance_uid: str) -> Dataset:
    """The patient and study attributes highdicom copies into the report.  highdicom wants
    evidence to be instances; the study's images are not radgov's to name, so the header
    carries the report's own UIDs and the evidence list is dropped again afterwards."""
    header = Dataset()
    header.SOPClassUID = COMPREHENSIVE_3D_SR
    header.SOPInstanceUID = sop_instance_uid
    header.SeriesInstanceUID = series_instance_uid
    header.StudyInstanceUID = study.study_instance_uid
    header.PatientID = study.patient_id
    header.PatientName = ""
    header.PatientBirthDate = ""
    header.PatientSex = ""
    header.AccessionNumber = study.accession_number
    header.StudyID = ""
    header.StudyDate = f"{study.study_datetime:%Y%m%d}" if study.study_datetime else ""
    header.StudyTime = f"{study.study_datetime:%H%M%S}" if study.study_datetime else ""
    header.ReferringPhysicianName = ""
    return header


def build_measurement_report(
    *,
    study: ReportedStudy,
    algorithm: Algorithm,
    findings: Sequence[Mapping[str, Any]],
    reviewer: str,
    statement: str,
    institution: str = "",
    previous: Dataset | None = None,
    sop_instance_uid: str | None = None,
    series_instance_uid: str | None = None,
) -> hd.sr.Comprehensive3DSR:
    """The reviewed result as a TID 1500 report; ``reviewer`` is the person observer's
    name (DICOM PN, e.g. ``Doe^Jane``; empty under direct release: the report is then
    unverified and the AI its only observer), ``statement`` the plain words saying AI
    produced it and who reviewed it.  ``previous``: the report this one corrects."""
    if not findings:
        raise ValueError("findings: a measurement report needs at least one finding")
    if not statement.strip():
        raise ValueError("statement: say that AI produced the result and who reviewed it")
    import highdicom as hd
    from pydicom.sr.codedict import codes

    algorithm_id = hd.sr.AlgorithmIdentification(name=algorithm.name, version=algorithm.version)
    context = hd.sr.ObservationContext(
        observer_person_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                name=reviewer
            ),
        )
        if reviewer
        else None,
        observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device,
            observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
                uid=algorithm.uid,
                name=f"{algorithm.name} {algorithm.version}"[:64],
                manufacturer_name=algorithm.manufacturer,
                model_name=algorithm.name,
            ),
        ),
    )
    report = hd.sr.MeasurementReport(
        observation_context=context,
        procedure_reported=hd.sr.CodedConcept("363679005", "SCT", "Imaging procedure"),
        imaging_measurements=[_group(f, n, algorithm_id) for n, f in enumerate(findings, 1)],
    )
    content = report[0]
    content.ContentSequence.append(
        hd.sr.TextContentItem(
            name=hd.sr.CodedConcept(*COMMENT),
            value=statement[:1024],
            relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
        )
    )
    sop_instance_uid = sop_instance_uid or generate_uid()
    series_instance_uid = series_instance_uid or generate_uid()
    sr = hd.sr.Comprehensive3DSR(
        evidence=[_study_header(study, sop_instance_uid, series_instance_uid)],
        content=content,
        series_instance_uid=series_instance_uid,
        series_number=900,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer=algorithm.manufacturer,
        institution_name=institution or None,
        is_complete=True,
        is_final=True,
        is_verified=bool(reviewer),
        verifying_observer_name=reviewer or None,
        verifying_organization=(institution or "radgov") if reviewer else None,
        previous_versions=[previous] if previous is not None else None,
        record_evidence=False,
        series_description="AI result, reviewed",
    )
    if "CurrentRequestedProcedureEvidenceSequence" in sr:
        del sr.CurrentRequestedProcedureEvidenceSequence  # only the report itself was listed
    return sr
