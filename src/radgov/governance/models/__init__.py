"""The governance group (practice parameter IV.A) and its records: members and
conflicts, requests from clinical champions, meetings and decisions with votes,
the selection rubric (IV.D), issue reports (IV.F.3), and the regulatory
checklist (III.H, V)."""

from radgov.governance.models.group import (
    ConflictDeclaration,
    GovernanceGroup,
    Membership,
    ModelRequest,
    Position,
    RequestStatus,
)
from radgov.governance.models.issues import IssueReport, IssueStatus, Severity
from radgov.governance.models.meetings import (
    RECORD_KINDS_VALUES,
    AgendaItem,
    Choice,
    Decision,
    DecisionKind,
    Meeting,
    Vote,
)
from radgov.governance.models.regulatory import (
    Baa,
    Framework,
    ItemStatus,
    RegulatoryItem,
    RegulatoryProfile,
)
from radgov.governance.models.selection import (
    Candidate,
    CriterionCategory,
    Score,
    SelectionCriterion,
)

__all__ = [
    "RECORD_KINDS_VALUES",
    "AgendaItem",
    "Baa",
    "Candidate",
    "Choice",
    "ConflictDeclaration",
    "CriterionCategory",
    "Decision",
    "DecisionKind",
    "Framework",
    "GovernanceGroup",
    "IssueReport",
    "IssueStatus",
    "ItemStatus",
    "Meeting",
    "Membership",
    "ModelRequest",
    "Position",
    "RegulatoryItem",
    "RegulatoryProfile",
    "RequestStatus",
    "Score",
    "SelectionCriterion",
    "Severity",
    "Vote",
]
