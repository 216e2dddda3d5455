"""Who may use the compliance pages and API.

A de-identification job's source is PHI (and its report names the source's files), so every
rule is ``patient_data``: never the vendor (section III.F).
"""

from __future__ import annotations

from radgov.core.policy import patient_data
from radgov.core.roles import Role

# Retention, legal holds, access cases and incidents: the privacy officer's alone (V).  Holds
# and incidents name exams and patients by id and pseudonym: patient data.
PRIVACY = patient_data(Role.COMPLIANCE)

DEID = patient_data(Role.INFORMATICS, Role.DATA_SCIENTIST, Role.COMPLIANCE, Role.ADMINISTRATOR)

RULES = {
    "compliance:deid_jobs": DEID,
    "compliance:deid_new": DEID,
    "compliance:deid_job": DEID,
    "compliance:deid_job_status": DEID,
    "compliance:deid_report": DEID,
    "compliance:deid_report_json": DEID,
    "compliance:deid_output": DEID,
    "compliance:deid_requeue": DEID,
    "compliance:deid_share": DEID,
    "api:compliance_create_deid_job": DEID,
    "api:compliance_upload_deid_job": DEID,
    "api:compliance_list_deid_jobs": DEID,
    "api:compliance_get_deid_job": DEID,
    "api:compliance_get_deid_report": DEID,
    "api:compliance_requeue_deid_job": DEID,
    "api:compliance_share_deid_job": DEID,
    "compliance:retention": PRIVACY,
    "compliance:retention_set": PRIVACY,
    "compliance:hold_new": PRIVACY,
    "compliance:hold_release": PRIVACY,
    "compliance:cases": PRIVACY,
    "compliance:case": PRIVACY,
    "compliance:incidents": PRIVACY,
    "compliance:incident": PRIVACY,
    "compliance:incident_pdf": PRIVACY,
    "compliance:incident_from_event": PRIVACY,
    "compliance:notice": PRIVACY,
    **{
        f"api:compliance_{name}": PRIVACY
        for name in (
            "get_retention",
            "set_retention",
            "purge_plan",
            "list_holds",
            "place_hold",
            "release_hold",
            "list_incidents",
            "open_incident",
            "get_incident",
            "get_incident_patients",
            "assess_incident",
            "decide_incident",
            "record_incident_notice",
            "get_privacy_notice",
            "record_privacy_notice",
            "review_privacy_notice",
            "set_notice_coverage",
            "list_reminders",
            "list_privacy_events",
            "incident_from_event",
        )
    },
}

# The periodic tasks act as their own principals and need no grant: they call services
# directly, never a route.
TASKS: dict[str, tuple[str, ...]] = {
    "compliance.purge": (),
    "compliance.detect_access": (),
    "compliance.remind": (),
}
