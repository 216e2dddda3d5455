"""Every change to governance records.  Each service takes the acting user, checks the
rules of the practice parameter, writes in one transaction and leaves the audit trail; a
broken rule raises ``GovernanceError`` naming it, and nothing changes.

One module per subdomain, mirroring ``governance.models``; ``common`` holds the checks
they share and ``errors`` what they refuse with.  Import from this package."""

from radgov.governance.services.common import CHAMPION_RULE, PHYSICIAN_RULE
from radgov.governance.services.errors import GovernanceError, GovernancePermissionError
from radgov.governance.services.group import (
    add_member,
    create_group,
    declare_conflict,
    designate_champion,
    remove_member,
    set_request_status,
    submit_request,
    update_group_settings,
)
from radgov.governance.services.issues import report_issue, update_issue
from radgov.governance.services.meetings import (
    add_agenda_item,
    cast_vote,
    close_meeting,
    create_meeting,
    record_decision,
    record_discussion,
    record_notes,
    set_attendees,
)
from radgov.governance.services.regulatory import (
    REGULATORY_ROLES,
    keeps_checklist,
    record_baa,
    set_regulatory_item,
    set_regulatory_profile,
)
from radgov.governance.services.selection import add_candidate, define_criterion, score_candidate

__all__ = [
    "CHAMPION_RULE",
    "PHYSICIAN_RULE",
    "REGULATORY_ROLES",
    "GovernanceError",
    "GovernancePermissionError",
    "add_agenda_item",
    "add_candidate",
    "add_member",
    "cast_vote",
    "close_meeting",
    "create_group",
    "create_meeting",
    "declare_conflict",
    "define_criterion",
    "designate_champion",
    "keeps_checklist",
    "record_baa",
    "record_decision",
    "record_discussion",
    "record_notes",
    "remove_member",
    "report_issue",
    "score_candidate",
    "set_attendees",
    "set_regulatory_item",
    "set_regulatory_profile",
    "set_request_status",
    "submit_request",
    "update_group_settings",
    "update_issue",
]
