"""A test URLconf: the project's URLs with the conformance audit's routes in the
governance namespace, as the governance app's urls.py will include them.  Once
they are wired there, this adds nothing."""

from django.urls import URLResolver, include, path

from radgov import urls as root
from radgov.governance import urls as governance
from radgov.governance.conformance.urls import urlpatterns as conformance


def _names(patterns: list) -> set[str]:  # type: ignore[type-arg]
    out: set[str] = set()
    for p in patterns:
        out |= _names(p.url_patterns) if isinstance(p, URLResolver) else {p.name}
    return out


_wired = _names(governance.urlpatterns)
_patterns = governance.urlpatterns + [p for p in conformance if p.name not in _wired]

urlpatterns = [
    path("governance/", include((_patterns, "governance")))
    if isinstance(p, URLResolver) and getattr(p, "namespace", None) == "governance"
    else p
    for p in root.urlpatterns
]


def rules_with_conformance() -> dict:  # type: ignore[type-arg]
    """The permission policy with the conformance audit's rules (a no-op once the
    governance app merges them)."""
    from radgov.core import policy
    from radgov.governance.conformance.permissions import RULES

    return {**policy.all_rules(), **RULES}
