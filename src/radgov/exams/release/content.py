"""What a release says, gathered once from the records and handed to every standard's
builder, so the SR, the ORU and the FHIR bundle cannot disagree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from radgov.dicom.sr import Algorithm, ReportedStudy


@dataclass(frozen=True)
class Released:
    study: ReportedStudy
    patient_issuer: str
    algorithm: Algorithm
    findings: list[dict[str, Any]]
    score: float | None
    confidence: float | None
    call: str
    reviewer: str  # the reviewing physician's name, DICOM PN style (Family^Given) or a username
    decision: str  # accept, modify, or "" under direct release
    concordance: str
    released_at: dt.datetime
    deployment_site: str
    correction: bool = False  # a withdrawal: the correction each standard has
    patient_may_see: bool = True  # False: the policy keeps it from the patient portal

    @property
    def reviewed(self) -> bool:
        return bool(self.decision)

    @property
    def statement(self) -> str:
        """The plain words saying AI produced the result and who reviewed it."""
        made = (
            f"Produced by artificial intelligence: {self.algorithm.name} "
            f"{self.algorithm.version} ({self.algorithm.manufacturer})."
        )
        if self.correction:
            return f"{made} This result was withdrawn; disregard the earlier release."
        if not self.reviewed:
            return f"{made} Released without physician review under the practice's policy."
        verb = "accepted" if self.decision == "accept" else "modified"
        family, _, given = self.reviewer.partition("^")
        return (
            f"{made} Reviewed and {verb} by {f'{given} {family}'.strip()}; "
            f"the reviewer's read is {self.concordance} with the AI."
        )


def gather(
    inference: Any, review: Any | None, *, correction: bool = False, patient_may_see: bool = True
) -> Released:
    """The release of ``inference`` as ``review`` left it (None: direct release).  Reads the
    identifiers the destinations need; the caller's service audits the release."""
    from django.utils import timezone

    exam = inference.exam
    mv = inference.deployment.model_version
    product = mv.product
    study = ReportedStudy(
        study_instance_uid=exam.study_uid_encrypted.reveal(),
        patient_id=exam.patient.mrn_encrypted.reveal() if exam.patient else "",
        accession_number=(
            exam.accession.accession_number_encrypted.reveal() if exam.accession else ""
        ),
        study_datetime=exam.study_datetime,
        modality=exam.modality,
    )
    findings = inference.findings
    if review is not None and review.decision == "modify":
        findings = review.findings
    reviewer = ""
    if review is not None:
        person = review.reviewer
        full = f"{person.last_name}^{person.first_name}".strip("^")
        reviewer = full or f"{person.get_username()}^"  # one component, said so (PN)
    return Released(
        study=study,
        patient_issuer=exam.patient.issuer if exam.patient else "",
        algorithm=Algorithm(
            name=product.name,
            version=inference.model_version or mv.version,
            manufacturer=product.company.name,
            uid=f"2.25.{int(mv.pk) + 10**12}",
        ),
        findings=list(findings) or [{"label": f"{product.name} result", "present": None}],
        score=inference.score,
        confidence=inference.confidence,
        call=inference.call,
        reviewer=reviewer,
        decision=review.decision if review is not None else "",
        concordance=review.concordance if review is not None else "",
        released_at=timezone.now(),
        deployment_site=inference.deployment.site,
        correction=correction,
        patient_may_see=patient_may_see,
    )
