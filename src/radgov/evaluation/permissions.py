"""Who may use the acceptance-testing pages and API.

Every route admits every role but the vendor's: a manufacturer does not take part in the
practice's evaluation of its own model (IV.A.3).  Finer rules (who writes and runs a test,
who locks a protocol) depend on capacities and recusals, so the services apply them."""

from __future__ import annotations

from radgov.core.policy import only
from radgov.core.roles import Role

STAFF = only(*(r for r in Role if r != Role.VENDOR))

ROUTES = [
    "evaluation:index",
    "evaluation:deployment",
    "evaluation:protocol_new",
    "evaluation:protocol",
    "evaluation:protocol_edit",
    "evaluation:protocol_lock",
    "evaluation:protocol_yaml",
    "evaluation:run_new",
    "evaluation:run",
    "evaluation:run_report",
    "evaluation:run_pdf",
    "evaluation:run_json",
    "api:evaluation_list_protocols",
    "api:evaluation_create_protocol",
    "api:evaluation_get_protocol",
    "api:evaluation_edit_protocol",
    "api:evaluation_amend_protocol",
    "api:evaluation_lock_protocol",
    "api:evaluation_list_runs",
    "api:evaluation_create_run",
    "api:evaluation_get_run",
]

RULES = dict.fromkeys(ROUTES, STAFF)
