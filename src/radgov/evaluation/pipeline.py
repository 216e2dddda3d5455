"""One acceptance-test pipeline: a protocol and a cases file in, the result and its report out.

``radgov evaluate`` (files only, no database) and a run from a page or the API (a job the
worker runs: :mod:`radgov.evaluation.jobs`, through :func:`radgov.evaluation.services.compute`)
both call :func:`run`.  Its steps, in order:

1. **read** a sample of the file (its first rows, every column as text);
2. **screen** the sample for HIPAA identifiers (:mod:`radgov.evaluation.identifiers`);
3. **decide** with the caller's :class:`PrivacyPolicy`: the policy refuses the file (raising the
   caller's own error) or says why it may be used.  The command's policy is a reason stated
   with ``--allow-identifiers``; a web run's is a BAA with the product's vendor in force
   (section V).  Nothing but the sample has been read when the policy refuses;
4. **load** the whole file and check it against the protocol (every problem by column and row:
   :class:`~radgov.evaluation.cases.CasesError`);
5. **evaluate** every metric overall and in every subgroup, then the criteria
   (:mod:`radgov.evaluation.runner`);
6. **JSON**: the result as in ``OUT.json`` (:mod:`radgov.evaluation.result`), with what the
   caller knows of the run (``describe``: the protocol's lock, the deployment tested), written
   atomically if asked;
7. **render** the report page with the caller's :class:`Page`.

Nothing here needs a database or Django's app registry.

The command's fast path
-----------------------
``benchmarks/bench_evaluate.py`` (``make bench``) holds ``radgov evaluate`` with an HTML and a
PDF report on 100,000 cases to under 3 seconds on two cores, the start of a new process
included.  Most of a fresh run is start-up rather than statistics, so the command:

* runs without ``django.setup()`` (``radgov.cli.WITHOUT_APPS``): the settings and radgov's
  logging are read, no app is loaded and no database opened;
* starts the report's engines first of all, before the settings are read
  (:func:`radgov.evaluation.report.engines.start_for_command_line`), each in a process of its
  own: the chart engine (vl-convert's JavaScript runtime, which holds the GIL for the half
  second its first chart takes) and the PDF engine (WeasyPrint and its native libraries).
  They start on the second core while this process reads and evaluates the cases;
* evaluates in two stages (:func:`~radgov.evaluation.runner.evaluate_in_stages`): all but the
  ROC confidence band first, which :meth:`Page.prepare` hands to the page engine so that it
  draws the charts without the band while the band's bootstrap runs here (those charts are
  kept only if the final result, but for the band, is the same);
* keeps to one BLAS thread (``OPENBLAS_NUM_THREADS=1``, set by ``radgov.cli``): OpenBLAS's
  spinning threads would take the core the engines need;
* gives WeasyPrint each chart as an SVG image rather than inline SVG
  (:func:`~radgov.evaluation.report.render.pdf_html`: the same pages, a sixth faster);
* spares the garbage collector what is loaded for good (``gc.freeze`` in the engines and at
  the command's exit).

A web run has nothing of this to gain: the worker has its imports done, so it draws the page
in its own process (:class:`InProcessPage`), and the result and page are the same
(``tests/evaluation/test_pipeline.py``).
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cases import SYNTHETIC_COLUMN, load_cases, read_sample
from .identifiers import IdentifierFinding, find_identifiers
from .protocol import Protocol
from .result import Privacy, to_json_dict, write_json
from .runner import Evaluation, evaluate_in_stages, planned_steps

__all__ = ["InProcessPage", "Outcome", "Page", "PrivacyPolicy", "Steps", "run"]


class PrivacyPolicy(typing.Protocol):
    def allow(self, findings: list[IdentifierFinding]) -> str | None:
        """Why a file with these identifier findings (none: a clean screen) may be used, as
        recorded with the result (None: nothing to record); or raise the caller's refusal."""


class Page(typing.Protocol):
    """Draws the report page of a result (charts and HTML)."""

    def prepare(self, preliminary: dict[str, Any]) -> None:
        """Start on a result that lacks only the ROC confidence band (a head start only)."""

    def render_html(self, result: dict[str, Any]) -> str: ...


class Steps(typing.Protocol):
    """Hears the pipeline's steps (a progress bar); ``expect`` gives their number."""

    def expect(self, total: int) -> None: ...

    def step(self, label: str) -> None: ...


class InProcessPage:
    """The report page drawn in this process, when asked for (a web run in the worker)."""

    def prepare(self, preliminary: dict[str, Any]) -> None:
        """No head start: charts drawn now would hold this process up, not save it time."""

    def render_html(self, result: dict[str, Any]) -> str:
        from .report.render import render_html

        return render_html(result)


class _Unheard:
    def expect(self, total: int) -> None:
        pass

    def step(self, label: str) -> None:
        pass


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]  # as written to OUT.json
    html: str  # the report page; "" when no page was asked for


def run(
    protocol: Protocol,
    path: Path,
    *,
    privacy: PrivacyPolicy,
    describe: Callable[[dict[str, Any]], None] | None = None,
    page: Page | None = None,
    json_out: str | Path | None = None,
    steps: Steps | None = None,
) -> Outcome:
    """Evaluate the cases file at ``path`` against ``protocol`` (see the module's docstring).

    ``describe`` adds what the caller knows to the result before it is written or drawn;
    ``json_out``, if given, receives the result before the page is drawn.  Raises
    :class:`~radgov.evaluation.cases.CasesError` for a file that cannot be used, and whatever
    ``privacy`` raises for identifiers it does not allow; nothing is written then.
    """
    heard = steps or _Unheard()
    heard.step("reading and checking the cases")
    findings = find_identifiers(read_sample(path), ignore=frozenset({SYNTHETIC_COLUMN}))
    record = Privacy(findings=findings, allowed=bool(findings), reason=privacy.allow(findings))
    cases = load_cases(path, protocol)
    heard.expect(1 + planned_steps(protocol, cases) + (1 if page is not None else 0))
    now = dt.datetime.now(dt.UTC)  # one time stamp: the preliminary result is the final's

    def as_json(evaluation: Evaluation) -> dict[str, Any]:
        result = to_json_dict(evaluation, record, now=now)
        if describe is not None:
            describe(result)
        return result

    stages = evaluate_in_stages(protocol, cases, progress=heard.step)
    preliminary = next(stages)
    if page is not None:
        page.prepare(as_json(preliminary))
    result = as_json(next(stages))
    if json_out is not None:
        write_json(result, json_out)
    if page is None:
        return Outcome(result=result, html="")
    heard.step("report: charts and page")
    return Outcome(result=result, html=page.render_html(result))
