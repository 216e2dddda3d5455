"""Reports in as FHIR R4 DiagnosticReport (docs/monitoring.md, "Reports in").

A DiagnosticReport is validated with ``fhir.resources`` (R4B models, as the release's
bundle), read for its accession number and its text, and stored through
:func:`radgov.monitoring.intake.record_report` (source ``fhir``), like a report from the API
or the MLLP listener.  The report is kept by its accession identifier, so the same resource
sent again changes nothing and a corrected one amends it.  A resource refused is answered as
problem+json whose ``errors`` name each FHIRPath that is wrong, carrying the same problems as
a FHIR ``OperationOutcome`` (member ``operation_outcome``); nothing is stored.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import ValidationError

from radgov.core.services import service
from radgov.exams import access
from radgov.exams.errors import ExamError, Problem
from radgov.monitoring import intake

IDENTIFIER_TYPES = "http://terminology.hl7.org/CodeSystem/v2-0203"
ACCESSION = "ACSN"
# the statuses of a report that is truth (the HL7 path's OBR-25 F and C)
FINAL = ("final", "amended", "corrected", "appended")
RESOURCE = "DiagnosticReport"


@dataclass(frozen=True)
class FhirProblem(Problem):
    code: str = "invalid"  # the OperationOutcome issue type


class FhirError(ExamError):
    """A DiagnosticReport refused; each problem names its FHIRPath."""

    def members(self) -> dict[str, object]:
        return {"operation_outcome": operation_outcome(self.problems)}


def operation_outcome(problems: list[Problem]) -> dict[str, Any]:
    """``problems`` as a FHIR R4 OperationOutcome (built, so validated, by fhir.resources)."""
    issues = [
        {
            "severity": "error",
            "code": getattr(p, "code", "invalid"),
            "diagnostics": p.message,
            **({"expression": [p.field]} if p.field else {}),
        }
        for p in problems
    ]
    built = OperationOutcome(issue=issues)
    return dict(built.model_dump(mode="json", exclude_none=True))


@dataclass(frozen=True)
class ReportIn:
    accession_number: str
    text: str


@service
def record_fhir_report(actor: Any, body: bytes) -> intake.Stored:
    """Store the DiagnosticReport in ``body`` (JSON) or refuse it whole (:class:`FhirError`)."""
    access.require_write(actor)
    found = read(body)
    return intake.record_report(
        actor, accession_number=found.accession_number, text=found.text, source="fhir"
    )


def read(body: bytes) -> ReportIn:
    """The accession number and text of a final DiagnosticReport, or :class:`FhirError`
    naming every problem (never a value the sender sent)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FhirError([FhirProblem("", "the body is not JSON", "structure")]) from None
    if not isinstance(data, dict) or data.get("resourceType") != RESOURCE:
        raise FhirError([FhirProblem("resourceType", f"must be {RESOURCE}", "not-supported")])
    try:
        resource = DiagnosticReport.model_validate(data)
    except ValidationError as exc:
        raise FhirError([_problem(e) for e in exc.errors(include_input=False)]) from None
    problems = []
    if resource.status not in FINAL:
        problems.append(
            FhirProblem(
                f"{RESOURCE}.status",
                f"must be {', '.join(FINAL)}: only a final report is compared with the AI",
                "business-rule",
            )
        )
    accession = _accession(resource)
    if not accession:
        problems.append(
            FhirProblem(
                f"{RESOURCE}.identifier",
                f"holds no accession number: an identifier (or basedOn.identifier) of type "
                f"{ACCESSION} ({IDENTIFIER_TYPES})",
                "required",
            )
        )
    text, text_problems = _text(resource)
    problems.extend(text_problems)
    if problems:
        raise FhirError(problems)
    return ReportIn(accession, text)


def _problem(error: Any) -> FhirProblem:
    where = ".".join(str(part) for part in (RESOURCE, *error.get("loc", ())))
    code = "required" if error.get("type") == "missing" else "invalid"
    return FhirProblem(where, str(error.get("msg", "is not valid")), code)


def _is_accession(identifier: Any) -> bool:
    codings = identifier.type.coding if identifier.type is not None else None
    return any(c.code == ACCESSION and c.system in (None, IDENTIFIER_TYPES) for c in codings or [])


def _accession(resource: DiagnosticReport) -> str:
    """The report's accession identifier, else that of the order it fulfils (basedOn)."""
    identifiers = list(resource.identifier or [])
    identifiers += [r.identifier for r in resource.basedOn or [] if r.identifier is not None]
    for identifier in identifiers:
        if _is_accession(identifier) and (identifier.value or "").strip():
            return str(identifier.value)
    return ""


def _text(resource: DiagnosticReport) -> tuple[str, list[FhirProblem]]:
    """The report's text: its ``text/plain`` presentedForm attachments, else ``conclusion``."""
    parts, problems = [], []
    for i, form in enumerate(resource.presentedForm or []):
        if not (form.contentType or "").startswith("text/plain") or form.data is None:
            continue
        try:
            parts.append(bytes(form.data).decode("utf-8"))
        except (UnicodeDecodeError, binascii.Error):
            where = f"{RESOURCE}.presentedForm[{i}].data"
            problems.append(FhirProblem(where, "is not UTF-8 text", "invalid"))
    text = "\n".join(parts).strip() or (resource.conclusion or "").strip()
    if not text and not problems:
        problems.append(
            FhirProblem(
                f"{RESOURCE}.presentedForm",
                "holds no text/plain report, and conclusion is empty",
                "required",
            )
        )
    elif len(text) > intake.MAX_REPORT_CHARS:
        problems.append(
            FhirProblem(
                f"{RESOURCE}.presentedForm",
                f"the report is longer than {intake.MAX_REPORT_CHARS:,} characters",
                "too-long",
            )
        )
    return text, problems
