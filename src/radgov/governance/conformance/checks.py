"""The registry of conformance checks.

A check has an id, the clause of the practice parameter it cites (numbered as in
the spec's text, e.g. "IV.B.2.e"), a scope (the practice, or one deployment) and
a function returning a :class:`Result`: a status, a plain sentence of what was
found and, unless it passed, what would fix it.

Checks reuse the other apps' own rules rather than re-deriving them: the
inventory lifecycle's guards (``radgov.inventory.lifecycle``), the governance
guards and selectors, the training gate (``radgov.training.access``) and the
acceptance-test evidence (``radgov.evaluation.guards``).
"""

# Importing the modules registers their checks.
from radgov.governance.conformance import (
    deployment_checks,
    monitoring_checks,
    practice_checks,
    release_checks,
)
from radgov.governance.conformance.registry import (
    AUDITED_STAGES,
    DEPLOYMENT,
    LABELS,
    PRACTICE,
    REGISTRY,
    Check,
    Context,
    Result,
    Status,
    check,
    checks,
    component_exists,
)

__all__ = [
    "AUDITED_STAGES",
    "DEPLOYMENT",
    "LABELS",
    "PRACTICE",
    "REGISTRY",
    "Check",
    "Context",
    "Result",
    "Status",
    "check",
    "checks",
    "component_exists",
    "deployment_checks",
    "monitoring_checks",
    "practice_checks",
    "release_checks",
]
