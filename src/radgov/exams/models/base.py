"""``ProcedureRecord``: the base of every record of clinical AI use (the exam, each inference
and its history, results, reviews, the gateway's routes, monitoring's reports and events).
Each is part of the patient's procedure record, so its audit entries carry DICOM's
Procedure Record event code; a model that also redacts fields extends ``Audit``."""

from __future__ import annotations

from radgov.core.audit.codes import EventCode
from radgov.core.models import AuditedModel


class ProcedureRecord(AuditedModel):
    class Meta(AuditedModel.Meta):
        abstract = True

    class Audit:
        event_code = EventCode.PROCEDURE_RECORD
