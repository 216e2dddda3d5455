from __future__ import annotations

import pytest

from radgov.governance import selectors, services
from radgov.governance.services import GovernanceError, GovernancePermissionError

pytestmark = pytest.mark.django_db


def test_issue_reaches_the_review_queue_and_is_resolved(group, people, inv):
    low = services.report_issue(
        people.tech, deployment=inv.deployment, description="Slow", severity="low"
    )
    bad = services.report_issue(
        people.okafor,
        model_version=inv.version,
        description="Missed bleed",
        severity="patient_safety",
    )
    assert low.model_version == inv.version
    assert list(selectors.review_queue()) == [bad, low]
    with pytest.raises(GovernancePermissionError, match="IV.F.3"):
        services.update_issue(people.tech, low, status="closed", resolution="x")
    with pytest.raises(GovernanceError, match="resolution written down"):
        services.update_issue(people.chen, bad, status="resolved")
    services.update_issue(people.chen, bad, status="triaged")
    services.update_issue(people.chen, bad, status="resolved", resolution="Vendor patch 2.1.1")
    assert list(selectors.review_queue()) == [low]


def test_issue_needs_a_subject(people):
    with pytest.raises(GovernanceError, match="names the deployment or model version"):
        services.report_issue(people.tech, description="x")
