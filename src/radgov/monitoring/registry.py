"""The registry export (issue 17; docs/monitoring.md, "Registry export"): one deployment's
monitoring data, de-identified, in the spirit of the ACR Assess-AI registry's four input
categories: study metadata, AI results, demographics as bands, and report-derived labels.

What it leaves out, by construction (the columns are a fixed list, never "every field"):
every identifier and pseudonym (no study UID, accession, patient id or their keyed hashes, no
radgov row id; a record is numbered within the file only), the site and station names, the
series description and the report's text, and every date but the study's ISO week
(``2026-W05``).  Ages are five-year bands (90 and older as one band, as HIPAA's Safe Harbor
asks) and sex as recorded.

The file says what it holds: a ``metadata`` block in the JSON, ``#`` lines before the header in
the CSV.  Only the governance group, administrators and the compliance role may export; each
export is recorded in the audit trail (DICOM 110106) with the deployment and the row count.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from django.utils import timezone

from radgov.core import policy
from radgov.core.roles import Role
from radgov.exams.errors import NotPermitted
from radgov.exams.models import Inference
from radgov.exams.statuses import AGE_BANDS
from radgov.inventory.models import Deployment
from radgov.monitoring.models import Concordance, ReportLabel

FORMATS = ("csv", "json")
STUDY = (
    ("modality", "exam__modality"),
    ("body_part", "exam__body_part"),
    ("manufacturer", "exam__manufacturer"),
    ("manufacturer_model", "exam__manufacturer_model"),
    ("software_versions", "exam__software_versions"),
    ("protocol_name", "exam__protocol_name"),
    ("slice_thickness_mm", "exam__slice_thickness_mm"),
    ("kvp", "exam__kvp"),
    ("pixel_spacing_mm", "exam__pixel_spacing_mm"),
    ("contrast", "exam__contrast"),
)
AI = (
    ("status", "status"),
    ("reason_code", "reason_code"),
    ("score", "score"),
    ("call", "call"),
    ("confidence", "confidence"),
    ("model_version", "model_version"),
)
DEMOGRAPHICS = (("sex", "exam__sex"),)
CATEGORIES = {
    "study metadata": ["study_week", *(name for name, _ in STUDY)],
    "AI results": [name for name, _ in AI],
    "demographics (bands)": ["age_band", *(name for name, _ in DEMOGRAPHICS)],
    "report-derived labels": ["outcome", "labels"],
}
AGE_LABELS = dict(AGE_BANDS)
EXPORTERS = "the governance group, administrators and the compliance role"


def may_export(actor: Any) -> bool:
    return policy.governs(actor) or (
        not policy.is_machine(actor)
        and getattr(actor, "is_authenticated", False)
        and getattr(actor, "role", None) == Role.COMPLIANCE
    )


def require_export(actor: Any) -> None:
    if not may_export(actor):
        raise NotPermitted(f"the registry export is for {EXPORTERS} only")


def iso_week(when: dt.datetime | None) -> str:
    if when is None:
        return ""
    year, week, _ = timezone.localtime(when).isocalendar()
    return f"{year}-W{week:02d}"


def records(deployment: Deployment) -> list[dict[str, Any]]:
    """The de-identified rows, in study-week order, numbered from 1."""
    fields = [path for _, path in (*STUDY, *AI, *DEMOGRAPHICS)]
    rows = list(
        Inference.objects.filter(deployment=deployment)
        .order_by("exam__study_datetime", "pk")
        .values("pk", "exam_id", "exam__study_datetime", "exam__age_band", *fields)
    )
    labels: dict[int, dict[str, str]] = {}
    for exam_id, finding, label in ReportLabel.objects.filter(
        report__exam__inferences__deployment=deployment
    ).values_list("report__exam_id", "finding", "label"):
        labels.setdefault(exam_id, {})[finding] = label
    outcomes = dict(
        Concordance.objects.filter(deployment=deployment).values_list("inference_id", "outcome")
    )
    out = []
    for number, row in enumerate(rows, start=1):
        band = row["exam__age_band"]
        record: dict[str, Any] = {
            "record": number,
            "study_week": iso_week(row["exam__study_datetime"]),
        }
        record.update({name: row[path] for name, path in STUDY})
        record.update({name: row[path] for name, path in AI})
        record["age_band"] = "" if band is None else AGE_LABELS[band]
        record.update({name: row[path] for name, path in DEMOGRAPHICS})
        record["outcome"] = outcomes.get(row["pk"], "")
        record["labels"] = labels.get(row["exam_id"], {})
        out.append(record)
    return out


def metadata(deployment: Deployment, count: int) -> dict[str, Any]:
    product = deployment.model_version.product
    return {
        "what": "radgov registry export: one deployment's monitoring data, de-identified "
        "(in the spirit of the ACR Assess-AI registry)",
        "deployment": {
            "product": product.name,
            "model_version": deployment.model_version.version,
        },
        "exported_on": iso_week(timezone.now()),
        "records": count,
        "categories": CATEGORIES,
        "de_identification": (
            "no identifiers or pseudonyms (no study UID, accession, patient id, keyed hash or "
            "radgov row id; 'record' numbers rows within this file only); no site, station, "
            "series description or report text; dates reduced to the ISO week; ages in "
            "five-year bands, 90 and older as one"
        ),
        "labels": "report-derived labels per finding (positive, negative, uncertain) from "
        "radgov.nlp; outcome: the AI call against the watched finding (tp, fp, fn, tn, unscored)",
    }


def export(actor: Any, deployment: Deployment, fmt: str) -> tuple[bytes, dict[str, Any]]:
    """The export as ``fmt`` (csv or json), and what the audit entry records of it."""
    require_export(actor)
    if fmt not in FORMATS:
        raise ValueError(f"the format must be one of {', '.join(FORMATS)}")
    rows = records(deployment)
    meta = metadata(deployment, len(rows))
    if fmt == "json":
        body = json.dumps({"metadata": meta, "records": rows}, indent=1, default=str)
    else:
        body = _csv(meta, rows)
    return body.encode("utf-8"), {"deployment": deployment.pk, "records": len(rows)}


def _csv(meta: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    for key, value in meta.items():
        out.write(f"# {key}: {json.dumps(value) if isinstance(value, dict) else value}\n")
    findings = sorted({f for row in rows for f in row["labels"]})
    columns = [name for name in rows[0] if name != "labels"] if rows else ["record"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*columns, *(f"label_{f}" for f in findings)])
    for row in rows:
        values = ["" if row[c] is None else row[c] for c in columns]
        writer.writerow([*values, *(row["labels"].get(f, "") for f in findings)])
    return out.getvalue()
