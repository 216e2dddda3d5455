"""The conformance audit's line for the Notice of Privacy Practices (section V), beside the
BAA's: the notice in force covers the deployment's use.  Registered with the governance
audit's checks when the app is ready (``apps.py``)."""

from __future__ import annotations

from typing import Any

from radgov.compliance import notices
from radgov.compliance.models import NoticeCoverage
from radgov.governance.conformance.registry import (
    DEPLOYMENT,
    Context,
    Result,
    check,
    failed,
    passed,
)

FIX = (
    "Record on the privacy officer's API (/api/compliance/privacy-notice) whether the notice "
    "in force covers this use; amend the notice if it does not."
)


@check(
    "privacy_notice",
    "V",
    "The Notice of Privacy Practices covers the deployment's use of PHI",
    DEPLOYMENT,
)
def privacy_notice(d: Any, ctx: Context) -> Result:
    notice = notices.current(ctx.day)
    if notice is None:
        return failed(f"No Notice of Privacy Practices is in force on {ctx.day:%Y-%m-%d}.", FIX)
    coverage = NoticeCoverage.objects.filter(deployment=d, notice=notice).first()
    if coverage is None:
        return failed(f"Not yet reviewed against the notice in force ({notice.version}).", FIX)
    if not coverage.covered:
        return failed(
            f"The notice in force ({notice.version}) does not cover it: {coverage.note}", FIX
        )
    return passed(
        f"The notice in force ({notice.version}) covers it{': ' + coverage.note if coverage.note else ''}."
    )
