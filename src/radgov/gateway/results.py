"""A model's result coming back through the listener (docs/gateway.md, "And back").

An SR, SEG or Secondary Capture instance sent by a model's node (its calling AE title is the
deployment's endpoint), or retrieved from a STOW-RS service by ``polling``, for a study whose inference is ``sent`` or ``processing`` is that
inference's result: it is recorded as a result object, and an SR's content gives the
outputs: NUM items named "Score" and "Confidence", TEXT items "Call", "Model version",
"Status" and "Reason", CODE items "Finding" (each a finding's label).  A status of
``REJECTED`` moves the inference to rejected with the vendor's reason; otherwise the
outputs move it to ``inferred``.  The same result again changes nothing.  A local Python
model's answer (``take_answer``) is made into such an SR and recorded the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom.dsutils import encode, encode_file_meta

from radgov.core import crypto
from radgov.core.services import service
from radgov.exams import services as exams
from radgov.exams.models import Inference
from radgov.exams.outputs import Outputs
from radgov.exams.services.inference import SOP_UID_NAMESPACE
from radgov.exams.statuses import ResultKind, Status
from radgov.gateway import demo_node, spool
from radgov.gateway.local import Answer, Rejection
from radgov.gateway.models import Instance
from radgov.inventory.models import Deployment

RESULTS_TASK = "gateway.results"
WAITING = (Status.SENT, Status.PROCESSING)


def kind_of(sop_class_uid: str) -> str | None:
    """SR, SEG or SC for the storage classes a model answers with; None for anything else."""
    name = UID(sop_class_uid).name
    if "SR Storage" in name or name.endswith("SR"):
        return ResultKind.SR
    if "Segmentation Storage" in name:
        return ResultKind.SEG
    if "Secondary Capture" in name:
        return ResultKind.SC
    return None


def _items(content: Any) -> list[Dataset]:
    """Every content item of an SR, depth first."""
    found = []
    for item in content or []:
        found.append(item)
        found.extend(_items(item.get("ContentSequence")))
    return found


def _name(item: Dataset) -> str:
    concept = item.get("ConceptNameCodeSequence")
    return str(concept[0].CodeMeaning).strip().lower() if concept else ""


def read_sr(dataset: Dataset) -> tuple[Outputs, str, str]:
    """(outputs, vendor status, vendor reason) from an SR's content items."""
    numbers: dict[str, float] = {}
    texts: dict[str, str] = {}
    findings = []
    for item in _items(dataset.get("ContentSequence")):
        kind, name = str(item.get("ValueType", "")), _name(item)
        if kind == "NUM" and item.get("MeasuredValueSequence"):
            numbers[name] = float(item.MeasuredValueSequence[0].NumericValue)
        elif kind == "TEXT":
            texts[name] = str(item.get("TextValue", "")).strip()
        elif kind == "CODE" and name == "finding" and item.get("ConceptCodeSequence"):
            findings.append({"label": str(item.ConceptCodeSequence[0].CodeMeaning)})
    outputs = Outputs(
        score=numbers.get("score"),
        confidence=numbers.get("confidence"),
        call=texts.get("call", ""),
        findings=findings,
        model_version=texts.get("model version", ""),
    )
    return outputs, texts.get("status", ""), texts.get("reason", "")


@service
def take_result(
    actor: Any,
    instance: Instance,
    *,
    sop_uid: str,
    calling_ae: str = "",
    deployment: Deployment | None = None,
    base: Path | None = None,
) -> Inference | None:
    """Record ``instance`` as the result of the inference waiting for it from
    ``calling_ae``'s model (or, retrieved from a STOW-RS service, from ``deployment``'s);
    None when it is no model's result."""
    kind = kind_of(instance.sop_class_uid)
    exam = instance.study.exam
    if kind is None or exam is None:
        return None
    waiting = Inference.objects.filter(exam=exam, status__in=WAITING)
    if deployment is not None:
        waiting = waiting.filter(deployment=deployment)
    else:
        waiting = waiting.filter(deployment__gateway_endpoint__ae_title=calling_ae)
    inference = waiting.order_by("pk").first()
    if inference is None:
        return None
    instance.is_result = True
    instance.save()
    dataset = pydicom.dcmread(spool.path_of(instance.file_ref, base=base))
    return _take(
        actor,
        inference,
        dataset,
        kind=kind,
        sop_uid=sop_uid,
        stored=spool.Stored(instance.file_ref, instance.sha256, instance.size, written=False),
        event=f"gateway:result:{instance.pk}",
    )


@service
def take_answer(
    actor: Any, inference: Inference, answer: Answer | Rejection, *, base: Path | None = None
) -> Inference | None:
    """Record a local model's ``answer`` as the result of ``inference`` (sent, waiting): made
    into an SR in the spool, then recorded as a DICOM node's SR is.  None when the
    inference waits for nothing (recorded before)."""
    if inference.status not in WAITING:
        return None
    study_uid = inference.exam.study_uid_encrypted.reveal()
    sr = demo_node.result_sr(study_uid, demo_node.items_of(answer))
    sr.Manufacturer = "radgov local model"
    encoded = encode(sr, is_implicit_vr=False, is_little_endian=True)
    assert encoded is not None  # noqa: S101 - pynetdicom encodes what pydicom built
    uid_key = crypto.pseudonym(str(sr.SOPInstanceUID), namespace=SOP_UID_NAMESPACE)
    stored = spool.write(
        uid_key, encode_file_meta(sr.file_meta), encoded, sha256=spool.digest(encoded), base=base
    )
    return _take(
        actor,
        inference,
        sr,
        kind=ResultKind.SR,
        sop_uid=str(sr.SOPInstanceUID),
        stored=stored,
        event=f"gateway:local:{inference.pk}",
    )


def _take(
    actor: Any,
    inference: Inference,
    dataset: Dataset,
    *,
    kind: str,
    sop_uid: str,
    stored: spool.Stored,
    event: str,
) -> Inference:
    """A result object recorded for ``inference``; an SR's content gives its outputs (or
    the vendor's rejection)."""
    exams.add_result_object(
        actor,
        inference,
        kind=kind,
        sop_instance_uid=sop_uid,
        sop_class_uid=str(dataset.SOPClassUID),
        file_ref=stored.file_ref,
        sha256=stored.sha256,
        size=stored.size,
    )
    if kind != ResultKind.SR:
        return inference
    outputs, status, reason = read_sr(dataset)
    if status.upper() == "REJECTED":
        return exams.move(
            actor,
            inference,
            Status.REJECTED,
            reason_code="vendor_rejected",
            event_id=event,
            vendor_status=status,
            vendor_reason=reason,
        ).inference
    return exams.record_outputs(actor, inference, outputs, event_id=event).inference
