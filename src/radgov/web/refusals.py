"""A page's refused request in the audit trail, as the API's are (``radgov.api.refused``).

A service that refuses has rolled back, so nothing it would have written is in the trail;
the refusal itself is: who tried what on which page, and the rule's sentence (which names
no patient data)."""

from __future__ import annotations

from django.http import HttpRequest

from radgov.core.audit import Action, record


def record_refusal(request: HttpRequest, reason: str) -> None:
    match = request.resolver_match
    record(
        action=Action.DENIED,
        outcome="failure",
        object_type="route",
        object_id=match.view_name if match else request.path,
        detail={"method": request.method, "reason": reason[:300]},
    )
