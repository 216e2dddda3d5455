"""Acceptance testing's expensive work, done by the worker (radgov.core.jobs): a run over an
uploaded cases file, and a run's report as PDF."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

from radgov.core.exports import PDF
from radgov.core.jobs import JobError, Result, kind
from radgov.core.models import Job


@kind("evaluation.report_pdf", label="acceptance-test report (PDF)")
def report_pdf(job: Job, progress: Callable[[int], None]) -> Result:
    from radgov.evaluation.models import AcceptanceRun
    from radgov.evaluation.report.render import report_pdf as render

    run = AcceptanceRun.objects.filter(pk=job.params.get("run")).first()
    if run is None:
        raise JobError("the run no longer exists")
    return Result(
        body=render(run.report_html),
        name=f"acceptance-run-{run.pk}.pdf",
        content_type=PDF,
    )


@kind("evaluation.run", label="acceptance-test run")
def evaluation_run(job: Job, progress: Callable[[int], None]) -> Result:
    """Evaluate the uploaded cases file (kept, 0600, only until this job has run) against
    the locked protocol, as the person who uploaded it; the result is the run's page."""
    from radgov.evaluation import services
    from radgov.evaluation.models import AcceptanceProtocol
    from radgov.evaluation.uploads import held_upload

    protocol = AcceptanceProtocol.objects.filter(pk=job.params.get("protocol")).first()
    with held_upload(str(job.params.get("upload", ""))) as (path, name):
        if protocol is None:
            raise JobError("the protocol no longer exists")
        progress(5)
        run = services.run_test(job.owner, protocol, path=path, name=name)
    return Result(url=reverse("evaluation:run", args=[run.pk]))
