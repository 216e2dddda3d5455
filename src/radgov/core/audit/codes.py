"""What an audit entry says: the action, its DICOM event code (PS3.15 A.5,
CID 400 "Audit Event ID") and the coded action/outcome used by both exports."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    READ = "read"
    EXPORT = "export"
    IMPORT = "import"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    DENIED = "denied"
    MFA_ENROLLED = "mfa_enrolled"
    MFA_REMOVED = "mfa_removed"
    TOKEN_CREATED = "token_created"  # noqa: S105 - an action name, not a secret
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - an action name, not a secret
    KEY_ROTATED = "key_rotated"
    EXECUTE = "execute"


class EventCode(StrEnum):
    APPLICATION_ACTIVITY = "110100"
    AUDIT_LOG_USED = "110101"
    BEGIN_TRANSFERRING = "110102"
    INSTANCES_ACCESSED = "110103"
    INSTANCES_TRANSFERRED = "110104"
    STUDY_DELETED = "110105"
    EXPORT = "110106"
    IMPORT = "110107"
    NETWORK_ENTRY = "110108"
    ORDER_RECORD = "110109"
    PATIENT_RECORD = "110110"
    PROCEDURE_RECORD = "110111"
    QUERY = "110112"
    SECURITY_ALERT = "110113"
    USER_AUTHENTICATION = "110114"

    @property
    def meaning(self) -> str:
        return MEANINGS[self]


MEANINGS: dict[EventCode, str] = {
    EventCode.APPLICATION_ACTIVITY: "Application Activity",
    EventCode.AUDIT_LOG_USED: "Audit Log Used",
    EventCode.BEGIN_TRANSFERRING: "Begin Transferring DICOM Instances",
    EventCode.INSTANCES_ACCESSED: "DICOM Instances Accessed",
    EventCode.INSTANCES_TRANSFERRED: "DICOM Instances Transferred",
    EventCode.STUDY_DELETED: "DICOM Study Deleted",
    EventCode.EXPORT: "Export",
    EventCode.IMPORT: "Import",
    EventCode.NETWORK_ENTRY: "Network Entry",
    EventCode.ORDER_RECORD: "Order Record",
    EventCode.PATIENT_RECORD: "Patient Record",
    EventCode.PROCEDURE_RECORD: "Procedure Record",
    EventCode.QUERY: "Query",
    EventCode.SECURITY_ALERT: "Security Alert",
    EventCode.USER_AUTHENTICATION: "User Authentication",
}

# The default event code of each action.  A model may choose its own for
# create/update/delete/read with ``class Audit: event_code = EventCode.PATIENT_RECORD``,
# and any use of the audit trail itself is 110101 whatever the action.
DEFAULT_EVENT: dict[Action, EventCode] = {
    Action.CREATE: EventCode.APPLICATION_ACTIVITY,
    Action.UPDATE: EventCode.APPLICATION_ACTIVITY,
    Action.DELETE: EventCode.APPLICATION_ACTIVITY,
    Action.EXECUTE: EventCode.APPLICATION_ACTIVITY,
    Action.READ: EventCode.PATIENT_RECORD,  # reads are recorded for patient-linked data
    Action.EXPORT: EventCode.EXPORT,
    Action.IMPORT: EventCode.IMPORT,
    Action.LOGIN: EventCode.USER_AUTHENTICATION,
    Action.LOGIN_FAILED: EventCode.USER_AUTHENTICATION,
    Action.LOGOUT: EventCode.USER_AUTHENTICATION,
    # DICOM files changes of security attributes and refused use of a
    # restricted function under Security Alert (CID 403 event types).
    Action.DENIED: EventCode.SECURITY_ALERT,
    Action.MFA_ENROLLED: EventCode.SECURITY_ALERT,
    Action.MFA_REMOVED: EventCode.SECURITY_ALERT,
    Action.TOKEN_CREATED: EventCode.SECURITY_ALERT,
    Action.TOKEN_REVOKED: EventCode.SECURITY_ALERT,
    Action.KEY_ROTATED: EventCode.SECURITY_ALERT,
}

AUDIT_TRAIL_TYPES = frozenset({"core.auditentry", "core.auditcheckpoint"})

# DICOM EventActionCode / FHIR AuditEvent.action: Create, Read, Update, Delete, Execute.
ACTION_CODE: dict[str, str] = {
    Action.CREATE: "C",
    Action.IMPORT: "C",
    Action.READ: "R",
    Action.EXPORT: "R",
    Action.UPDATE: "U",
    Action.DELETE: "D",
}

# DICOM EventOutcomeIndicator / FHIR AuditEvent.outcome.
OUTCOMES: dict[str, str] = {"success": "0", "denied": "4", "failure": "8"}


def default_event_code(action: Action, object_type: str, model: type | None = None) -> EventCode:
    if object_type in AUDIT_TRAIL_TYPES and action in (Action.READ, Action.EXPORT):
        return EventCode.AUDIT_LOG_USED
    chosen = getattr(getattr(model, "Audit", None), "event_code", None)
    if chosen and action in (Action.CREATE, Action.UPDATE, Action.DELETE, Action.READ):
        return EventCode(chosen)
    return DEFAULT_EVENT[action]


def action_code(action: str) -> str:
    return ACTION_CODE.get(action, "E")


def outcome_code(outcome: str) -> str:
    return OUTCOMES[outcome]
