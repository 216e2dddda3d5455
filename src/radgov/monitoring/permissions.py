"""Who may use monitoring's pages and API (docs/monitoring.md, "Who may do what").

Reports and what is derived from them are patient data: never the vendor (III.F).  Reports
come in from imaging informatics and administrators (the services check again); the
governance group sets watches, uploads the labeller's check and closes alerts (the services
check the capacity).  The periodic task ``monitoring.check_alarms`` holds the grant to suspend
a deployment where the governance group allowed it (``inventory.AlarmSuspension``)."""

from __future__ import annotations

from radgov.core.policy import only, patient_data
from radgov.core.roles import Role
from radgov.exams.access import RECORD
from radgov.inventory.lifecycle import SUSPEND_ON_ALARM

READ = patient_data()
WRITE = patient_data(Role.INFORMATICS, Role.ADMINISTRATOR)
# reports from systems: the same people, and machines that record exams (an interface engine)
SYSTEMS = only(Role.INFORMATICS, Role.ADMINISTRATOR, patient_data=True, grants=(RECORD,))
# governance-group members hold any role but the vendor's; the services check the capacity
GOVERN = patient_data()

RULES = {
    # pages
    "monitoring:overview": READ,
    "monitoring:deployment": READ,
    "monitoring:report_pdf": READ,
    # de-identified, yet only for the governance group, administrators, compliance (the
    # service checks the capacity)
    "monitoring:registry_export": READ,
    "monitoring:close_alert": GOVERN,
    # API
    "api:monitoring_record_report": WRITE,
    "api:monitoring_import_reports": WRITE,
    "api:monitoring_record_fhir_report": SYSTEMS,
    "api:monitoring_get_report": READ,
    "api:monitoring_set_watch": GOVERN,
    "api:monitoring_labeller_check": GOVERN,
    "api:monitoring_performance": READ,
    "api:monitoring_list_alerts": READ,
    "api:monitoring_close_alert": GOVERN,
    "api:monitoring_get_drift": READ,
    "api:monitoring_get_estimate": READ,
    # adverse events: anyone but the vendor reports; the services check who reads and reviews
    "api:monitoring_report_event": READ,
    "api:monitoring_list_events": READ,
    "api:monitoring_review_event": GOVERN,
    "monitoring:events": READ,
    "monitoring:report_event": READ,
    "monitoring:review_event": GOVERN,
    "monitoring:events_to_agenda": GOVERN,
    "api:monitoring_set_drift_reference": GOVERN,
    # interaction and inference events from viewers and orchestrators (issue 17)
    "api:monitoring_record_interactions": SYSTEMS,
    "api:monitoring_record_ndjson": SYSTEMS,
    "api:monitoring_import_interactions": SYSTEMS,
    # override rates: the governance group sees everyone, anyone else their own line
    "monitoring:overrides": READ,
}

TASKS = {
    "monitoring.check_alarms": (SUSPEND_ON_ALARM,),
    "monitoring.check_drift": (),
    "monitoring.roll_up": (),
}
