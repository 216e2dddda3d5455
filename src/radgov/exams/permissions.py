"""Who may use the exams pages and API (docs/exams.md, "Who may read what").

Every rule is ``patient_data``: an exam and what the AI did with it are patient-linked, so
never the vendor (III.F).  Reading is open to every other role (identifiers only to some:
the selectors decide, per object); writing to imaging informatics and administrators, the
people who connect an orchestrator.  The selectors and services check again per object."""

from __future__ import annotations

from radgov.core.policy import Grant, grant, patient_data
from radgov.core.roles import Role

READ = patient_data()
WRITE = patient_data(Role.INFORMATICS, Role.ADMINISTRATOR)
# Review (issue 16): a physician reviews; the services check end-user and training per result.
REVIEW = patient_data(Role.PHYSICIAN)

RULES = {
    # pages
    "exams:worklist": READ,
    "exams:study": READ,
    "exams:review_worklist": REVIEW,
    "exams:review_result": REVIEW,
    "exams:release_settings": READ,  # destinations: the services admit WRITE roles only
    # API
    "api:exams_list_exams": READ,
    "api:exams_get_exam": READ,
    "api:exams_list_inferences": READ,
    "api:exams_get_inference": READ,
    "api:exams_create_exam": WRITE,
    "api:exams_record_inference": WRITE,
    "api:exams_move_inference": WRITE,
    "api:exams_record_outputs": WRITE,
    "api:exams_add_result": WRITE,
    "api:exams_record_events": WRITE,
    "api:exams_import_file": WRITE,
    "api:exams_review_worklist": REVIEW,
    "api:exams_get_review": REVIEW,
    "api:exams_review_result": REVIEW,
    "api:exams_add_addendum": REVIEW,
    "api:exams_release_direct": WRITE,
    # the release policy is no patient data; the service admits governance members only
    "api:exams_get_release_policy": READ,
    "api:exams_set_release_policy": READ,
    "api:exams_list_destinations": WRITE,
    "api:exams_set_destination": WRITE,
    "api:exams_probe_destination": WRITE,
}

GRANTS: dict[str, Grant] = {
    "exams.record": grant(
        "record exams, AI inferences, their moves and outputs (exams.services)",
        "api_client",
        "task",
    ),
    "exams.deliver": grant(
        "send released AI results (SR, ORU, FHIR) to the practice's PACS, RIS and EMR", "task"
    ),
}
TASKS = {"exams.deliver_releases": ("exams.deliver",)}
