"""The records of clinical AI use share one base: each one's audit entries carry DICOM's
Procedure Record event code, and a model that redacts fields still does."""

from __future__ import annotations

from django.apps import apps

from radgov.core.audit.codes import Action, EventCode, default_event_code
from radgov.core.models.base import redacted_fields
from radgov.exams.models import ProcedureRecord

RECORDS = {
    "exams.exam": set(),
    "exams.inference": set(),
    "exams.statuschange": set(),
    "exams.resultobject": {"sop_uid_encrypted"},
    "exams.review": {"reason"},
    "gateway.route": set(),
    "gateway.remediation": set(),
    "monitoring.report": {"text"},
    "monitoring.reportlabel": {"evidence"},
    "monitoring.adverseevent": {"description", "finding"},
    "monitoring.interaction": set(),
}


def test_every_record_of_ai_use_is_audited_as_a_procedure_record() -> None:
    records = {m._meta.label_lower: m for m in apps.get_models() if issubclass(m, ProcedureRecord)}
    assert set(records) == set(RECORDS)
    for label, model in records.items():
        for action in (Action.CREATE, Action.UPDATE, Action.DELETE, Action.READ):
            assert default_event_code(action, label, model) == EventCode.PROCEDURE_RECORD, label
        assert RECORDS[label] <= redacted_fields(model), label
