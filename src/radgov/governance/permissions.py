"""Who may use the governance group's pages and API.

Governance records are open to the practice's staff (every role but the
vendor's: IV.A.3); what someone may *change* depends on a capacity (member of
the group, clinical champion), checked by the services, which refuse with the
rule.  Administrators manage the group (III.G); anyone logged in may report an
issue with a model (IV.F.3)."""

from __future__ import annotations

from radgov.core.policy import Rule, anyone, only
from radgov.core.roles import Role
from radgov.governance.conformance.permissions import RULES as CONFORMANCE_RULES

STAFF = tuple(r for r in Role if r != Role.VENDOR)


def staff() -> Rule:
    return only(*STAFF)


ADMIN = only(Role.ADMINISTRATOR)

RULES: dict[str, Rule] = {
    # pages
    "governance:index": staff(),
    "governance:member_add": ADMIN,
    "governance:group_settings": ADMIN,
    "governance:member_remove": ADMIN,
    "governance:conflict_declare": staff(),
    "governance:requests": staff(),
    "governance:request": staff(),
    "governance:candidate_add": staff(),
    "governance:score": staff(),
    "governance:meetings": staff(),
    "governance:meeting": staff(),
    "governance:meeting_pdf": staff(),
    "governance:vote": staff(),
    "governance:issues": staff(),
    "governance:issue_update": staff(),
    "governance:report_issue": anyone(),
    "governance:regulatory": staff(),
    "governance:checklist": staff(),
    # API
    "api:governance_list_groups": staff(),
    "api:governance_get_group": staff(),
    "api:governance_create_group": ADMIN,
    "api:governance_add_member": ADMIN,
    "api:governance_update_group_settings": ADMIN,
    "api:governance_remove_member": ADMIN,
    "api:governance_designate_champion": ADMIN,
    "api:governance_list_conflicts": staff(),
    "api:governance_declare_conflict": staff(),
    "api:governance_list_requests": staff(),
    "api:governance_submit_request": staff(),
    "api:governance_get_request": staff(),
    "api:governance_set_request_status": staff(),
    "api:governance_list_criteria": staff(),
    "api:governance_define_criterion": staff(),
    "api:governance_add_candidate": staff(),
    "api:governance_score_candidate": staff(),
    "api:governance_get_comparison": staff(),
    "api:governance_list_meetings": staff(),
    "api:governance_create_meeting": staff(),
    "api:governance_get_meeting": staff(),
    "api:governance_set_attendees": staff(),
    "api:governance_record_notes": staff(),
    "api:governance_close_meeting": staff(),
    "api:governance_add_agenda_item": staff(),
    "api:governance_record_decision": staff(),
    "api:governance_get_decision": staff(),
    "api:governance_cast_vote": staff(),
    "api:governance_meeting_notes_pdf": staff(),
    "api:governance_list_issues": staff(),
    "api:governance_report_issue": anyone(),
    "api:governance_update_issue": staff(),
    "api:governance_get_checklist": staff(),
    "api:governance_set_regulatory_item": staff(),
    "api:governance_set_regulatory_profile": staff(),
    "api:governance_list_baas": staff(),
    "api:governance_record_baa": staff(),
}

RULES.update(CONFORMANCE_RULES)
