"""Who may read the conformance audit: the practice's staff, every role but the
vendor's (IV.A.3), as for the governance group's other records.  Merged into
``radgov.governance.permissions.RULES``."""

from __future__ import annotations

from radgov.core.policy import Rule, only
from radgov.core.roles import Role

STAFF = tuple(r for r in Role if r != Role.VENDOR)

RULES: dict[str, Rule] = {
    "governance:conformance_page": only(*STAFF),
    "governance:conformance_pdf": only(*STAFF),
    "governance:conformance_json": only(*STAFF),
    "governance:conformance_failing": only(*STAFF),
    "api:governance_conformance_report": only(*STAFF),
    "api:governance_conformance_pdf": only(*STAFF),
}
