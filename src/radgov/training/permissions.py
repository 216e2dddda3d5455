"""Who may use the training pages and API.

Every route admits every role but the vendor's: a vendor is not an end-user of
the practice's models and has no claim on its people's training records (III.F).
Finer rules are capacities, not roles, so the services and selectors apply them:
governance-group members and administrators write procedures and see everyone's
training; clinical champions see and record training for their deployments'
people; everyone else sees and records their own."""

from __future__ import annotations

from radgov.core.policy import only
from radgov.core.roles import Role

STAFF = only(*(r for r in Role if r != Role.VENDOR))

RULES = {
    "training:mine": STAFF,
    "training:procedure": STAFF,
    "training:attest": STAFF,
    "training:by_model": STAFF,
    "training:procedure_create": STAFF,
    "training:procedure_edit": STAFF,
    "training:record_new": STAFF,
    "api:training_list_procedures": STAFF,
    "api:training_create_procedure": STAFF,
    "api:training_list_records": STAFF,
    "api:training_record_completion": STAFF,
    "api:training_attest_ifu": STAFF,
    "api:training_check": STAFF,
}
