"""The governance group's API: /api/governance/, one module per subdomain as the models are
split (group, selection, meetings, issues, regulatory).  Every write calls a service; its
refusal reaches the caller through the API's one error handler (radgov.core.errors): 422
naming the rule and its clause, 403 when the caller lacks the role or capacity, and nothing
changes.  Answers are schemas that read the records' attributes."""

from __future__ import annotations

from ninja import Router

from radgov.governance.api import group, issues, meetings, regulatory, selection
from radgov.governance.conformance.api import router as conformance_router

router = Router(tags=["governance"])
for _part in (group, selection, meetings, issues, regulatory):
    router.add_router("", _part.router)
router.add_router("/conformance", conformance_router)
