"""``radgov evaluate``: run a local acceptance test from files, without a database.

    radgov evaluate --protocol P.yaml --cases C.csv --json OUT.json [--html R.html] [--pdf R.pdf]
                    [--allow-identifiers REASON] [--expect-protocol-hash SHA256] [--no-progress]
    radgov evaluate plan --metric sensitivity --expected 0.9 --half-width 0.05 --prevalence 0.1
    radgov evaluate plan --metric sensitivity --expected 0.9 --at-least 0.8 [--positives 120]
    radgov evaluate plan --protocol P.yaml --prevalence 0.1 --expect sensitivity=0.9 --expect auc=0.95

Exit status: 0 every criterion passed; 1 a criterion failed (the outputs are still written);
2 bad input (protocol, cases file, identifiers, options), with the reason printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

if TYPE_CHECKING:
    from radgov.evaluation.identifiers import IdentifierFinding

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
LONG_RUN_BYTES = 2_000_000  # a cases file this large (about 30,000 rows) gets a progress bar


class _Bar:
    """Steps of a run, shown on a rich progress bar when there is one; ``after``: the steps
    the command takes after the pipeline's (the PDF)."""

    def __init__(self, progress: Any, task: Any, after: int) -> None:
        self.progress, self.task, self.after = progress, task, after

    def expect(self, total: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, total=total + self.after)

    def step(self, label: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=label, advance=1)


@dataclass(frozen=True)
class _StatedReason:
    """The command's privacy policy: a cases file with identifiers is used only with the
    reason given with ``--allow-identifiers`` (recorded in OUT.json, as given)."""

    reason: str | None

    def allow(self, findings: list[IdentifierFinding]) -> str | None:
        if findings and self.reason is None:
            listed = "\n".join(f"  - {f}" for f in findings)
            raise _bad(
                "the cases file looks like it holds HIPAA identifiers; acceptance-testing data "
                "should be de-identified (Safe Harbor).  Remove or de-identify these columns, "
                "or, if a business associate agreement covers this use, pass "
                f"--allow-identifiers REASON:\n{listed}"
            )
        return self.reason


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_BAD_INPUT)


def _expect_pair(text: str) -> tuple[str, float]:
    metric, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--expect takes METRIC=VALUE; got {text!r}")
    return metric.strip(), float(value)


class Command(BaseCommand):
    help = (
        "Run a local acceptance test (protocol + cases file) and write the JSON result and the "
        "report; 'plan' answers sample-size questions.  Needs no database.  Exit status: "
        "0 passed, 1 criteria failed, 2 bad input."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--protocol", metavar="P.yaml", help="protocol YAML file")
        parser.add_argument("--cases", metavar="C.csv", help="cases file (.csv or .parquet)")
        parser.add_argument(
            "--json", dest="json_out", metavar="OUT.json", help="where to write the result"
        )
        parser.add_argument(
            "--html", dest="html_out", metavar="R.html", help="where to write the HTML report"
        )
        parser.add_argument(
            "--pdf", dest="pdf_out", metavar="R.pdf", help="where to write the PDF report"
        )
        parser.add_argument(
            "--allow-identifiers",
            metavar="REASON",
            help="accept a cases file with HIPAA identifiers, stating why (e.g. the BAA that "
            "covers this use); recorded in OUT.json",
        )
        parser.add_argument(
            "--expect-protocol-hash",
            metavar="SHA256",
            help="the hash recorded when the protocol was locked; refuse if it differs",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        sub = parser.add_subparsers(dest="subcommand", title="subcommands")
        plan = sub.add_parser(
            "plan",
            help="sample-size questions (see radgov evaluate plan -h)",
            description=(
                "Sample size for an acceptance test.  Precision: --metric M --expected V "
                "--half-width W --prevalence P.  Bound: --metric M --expected V --at-least T "
                "[--prevalence P] [--power 0.8] gives the cases for the lower confidence bound "
                "to clear T.  Power: add --positives N.  Protocol: --protocol P.yaml "
                "--prevalence P --expect sensitivity=0.9 --expect auc=0.95 plans every "
                "ci_low_at_least criterion."
            ),
        )
        plan.add_argument(
            "--protocol",
            dest="plan_protocol",
            metavar="P.yaml",
            help="plan every ci_low_at_least criterion of this protocol",
        )
        plan.add_argument(
            "--expect", action="append", default=[], metavar="METRIC=VALUE",
            help="expected performance, with --protocol (repeatable)",
        )  # fmt: skip
        plan.add_argument(
            "--metric", choices=["sensitivity", "specificity", "auc"], help="the metric to plan"
        )
        plan.add_argument("--expected", type=float, help="expected value of --metric")
        plan.add_argument("--half-width", type=float, help="precision: CI half-width wanted")
        plan.add_argument("--at-least", type=float, help="threshold the lower bound must clear")
        plan.add_argument(
            "--positives",
            type=int,
            metavar="N",
            help="power question: positives available (negatives, for specificity)",
        )
        plan.add_argument("--prevalence", type=float, help="share of positive cases")
        plan.add_argument("--power", type=float, default=0.8, help="wanted power (default 0.8)")
        plan.add_argument("--confidence-level", type=float, default=0.95, help="default 0.95")
        plan.add_argument(
            "--json", dest="plan_json", metavar="PLAN.json", help="write the answers as JSON"
        )

    # ------------------------------------------------------------------ entry

    def handle(self, *args: Any, **options: Any) -> None:
        from rich.console import Console

        self.console = Console(stderr=False, no_color=options.get("no_color", False))
        if options.get("subcommand") == "plan":
            self._plan(options)
            return
        code = self._run(options)
        if code != EXIT_PASSED:
            sys.exit(code)

    # ------------------------------------------------------------------ run

    def _run(self, options: dict[str, Any]) -> int:
        """The acceptance-test pipeline (:mod:`radgov.evaluation.pipeline`, which also explains
        the command's fast path) on files, then the report's files and the result's table."""
        missing = [f"--{k}" for k in ("protocol", "cases") if not options.get(k)]
        if not options.get("json_out"):
            missing.append("--json")
        if missing:
            raise _bad(f"missing required option(s): {', '.join(missing)}")
        outputs = [options.get(k) for k in ("json_out", "html_out", "pdf_out")]
        for out in filter(None, outputs):
            if not Path(out).parent.resolve().is_dir():
                raise _bad(f"cannot write {out}: the folder {Path(out).parent} does not exist")
        allow = options.get("allow_identifiers")
        if allow is not None and not allow.strip():
            raise _bad("--allow-identifiers needs a reason (e.g. the BAA that covers this use)")

        report = bool(options.get("html_out") or options.get("pdf_out"))
        engines = None
        if report:
            from radgov.evaluation.report.engines import start

            # the chart and PDF engines start in processes of their own (if ``radgov`` has not
            # started them already) while the data load
            engines = start(pdf=bool(options.get("pdf_out")))

        from radgov.evaluation import pipeline
        from radgov.evaluation.cases import CasesError
        from radgov.evaluation.protocol import ProtocolError, load_protocol

        try:
            protocol = load_protocol(options["protocol"])
        except ProtocolError as err:
            raise _bad(str(err)) from None
        expected_hash = options.get("expect_protocol_hash")
        lock = None
        if expected_hash:
            actual = protocol.canonical_hash()
            if actual != expected_hash.strip().lower():
                raise _bad(
                    f"the protocol's hash {actual} differs from the locked hash "
                    f"{expected_hash}: the protocol has changed since it was locked"
                )
            lock = f"matches the locked hash given with --expect-protocol-hash ({actual})"

        def describe(result: dict[str, Any]) -> None:
            if lock:
                result["protocol"]["lock"] = lock

        cases = Path(options["cases"])
        big = cases.is_file() and cases.stat().st_size >= LONG_RUN_BYTES
        with self._progress(show=big and not options["no_progress"], report=report) as bar:
            try:
                outcome = pipeline.run(
                    protocol,
                    cases,
                    privacy=_StatedReason(allow),
                    describe=describe,
                    page=engines[0] if engines else None,
                    json_out=options["json_out"],
                    steps=bar,
                )
            except CasesError as err:
                problems = "\n".join(f"  - {p}" for p in err.problems)
                raise _bad(f"the cases file {cases.name} cannot be used:\n{problems}") from None
            if engines is not None:
                page_engine, pdf_engine = engines
                page_engine.close()
                if options.get("html_out"):
                    tmp = Path(options["html_out"] + ".tmp")
                    tmp.write_text(outcome.html, encoding="utf-8")
                    tmp.replace(options["html_out"])
                bar.step("report: PDF")
                if pdf_engine is not None:
                    pdf_engine.render_pdf(outcome.html, options["pdf_out"])
                    pdf_engine.close()
        self._print_result(outcome.result, [o for o in outputs if o])
        return EXIT_PASSED if outcome.result["passed"] else EXIT_FAILED

    @contextmanager
    def _progress(self, *, show: bool, report: bool) -> Iterator[_Bar]:
        """A rich progress bar on a terminal for long runs; otherwise steps go nowhere."""
        after = 1 if report else 0
        if not (show and self.console.is_terminal):
            yield _Bar(None, None, after)
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]radgov evaluate[/] {task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        ) as progress:
            yield _Bar(progress, progress.add_task("", total=None), after)

    def _print_result(self, result: dict[str, Any], outputs: list[str]) -> None:
        from rich.table import Table

        table = Table(title=f"{result['protocol']['name']}: criteria", show_lines=False)
        for col in ("#", "metric", "where", "rule", "observed", "result"):
            table.add_column(col, overflow="fold", no_wrap=col in ("observed", "result"))
        short = {
            "estimate_at_least": "estimate >=",
            "ci_low_at_least": "ci_low >=",
            "estimate_at_most": "estimate <=",
            "ci_high_at_most": "ci_high <=",
        }
        notes: list[str] = []
        for c in result["criteria"]:
            observed = "—" if c["observed"] is None else f"{c['observed']:.3f}"
            verdict = "[green]PASS[/]" if c["passed"] else "[red]FAIL[/]"
            if c.get("reason"):
                notes.append(f"[red]criterion {c['criterion']}, {c['subgroup']}:[/] {c['reason']}")
                verdict += f" [{len(notes)}]"
            table.add_row(
                str(c["criterion"]),
                c["metric"],
                c["subgroup"],
                f"{short[c['rule']]} {c['threshold']:g}",
                observed,
                verdict,
            )
        self.console.print(table)
        for i, note in enumerate(notes, start=1):
            self.console.print(f"[{i}] {note}", highlight=False)
        for key, group in result["groups"].items():
            if group.get("n_positive") == 0 or group.get("n_negative") == 0:
                missing = "positive" if group.get("n_positive") == 0 else "negative"
                self.console.print(
                    f"[yellow]warning:[/] subgroup {key} has no {missing} cases "
                    f"({group['n']} cases in all): its metrics that need them are not estimable",
                    highlight=False,
                )
        for note in result.get("notes", []):
            self.console.print(f"[yellow]note:[/] {note}", highlight=False)
        n = result["groups"]["overall"]["n"]
        verdict = "[bold green]PASSED[/]" if result["passed"] else "[bold red]FAILED[/]"
        synthetic = " [yellow](synthetic data)[/]" if result["cases"]["synthetic"] else ""
        self.console.print(f"{verdict} on {n:,} cases{synthetic}; wrote {', '.join(outputs)}")

    # ------------------------------------------------------------------ plan

    def _plan(self, options: dict[str, Any]) -> None:
        from rich.table import Table

        from radgov.evaluation import planning
        from radgov.evaluation.protocol import ProtocolError, load_protocol

        level = options["confidence_level"]
        try:
            if options.get("plan_protocol"):
                if options.get("prevalence") is None:
                    raise ValueError("--prevalence is needed with --protocol")
                protocol = load_protocol(options["plan_protocol"])
                expected = dict(_expect_pair(t) for t in options["expect"])
                answers = planning.plan_protocol(
                    protocol,
                    expected=expected,
                    prevalence=options["prevalence"],
                    power=options["power"],
                )
                if not answers:
                    raise ValueError(
                        "the protocol has no ci_low_at_least criterion on sensitivity, "
                        "specificity or AUC to plan for"
                    )
            else:
                metric, expected_value = options.get("metric"), options.get("expected")
                if not metric or expected_value is None:
                    raise ValueError("give --protocol, or --metric and --expected")
                if options.get("half_width") is not None:
                    if options.get("prevalence") is None:
                        raise ValueError("--prevalence is needed with --half-width")
                    answers = [
                        planning.plan_precision(
                            metric, expected=expected_value, half_width=options["half_width"],
                            prevalence=options["prevalence"], confidence_level=level,
                        )
                    ]  # fmt: skip
                elif options.get("at_least") is not None:
                    if options.get("positives") is not None:
                        answers = [
                            planning.plan_power(
                                metric, expected=expected_value, at_least=options["at_least"],
                                n_cases=options["positives"], confidence_level=level,
                            )
                        ]  # fmt: skip
                    else:
                        answers = [
                            planning.plan_bound(
                                metric, expected=expected_value, at_least=options["at_least"],
                                prevalence=options.get("prevalence"), power=options["power"],
                                confidence_level=level,
                            )
                        ]  # fmt: skip
                else:
                    raise ValueError("give --half-width (precision) or --at-least (bound/power)")
        except (ProtocolError, ValueError) as err:
            raise _bad(str(err)) from None

        table = Table(title="Sample size", show_lines=True)
        for col in ("question", "positives", "negatives", "total", "power", "method"):
            table.add_column(col, overflow="fold")

        def show(x: int | float | None) -> str:
            if x is None:
                return "—"
            return f"{x:.3f}" if isinstance(x, float) else f"{x:,}"

        for a in answers:
            question = a.question + (f"\n[dim]{a.note}[/]" if a.note else "")
            table.add_row(
                question,
                show(a.n_positives),
                show(a.n_negatives),
                show(a.n_total),
                show(a.power),
                a.method,
            )
        self.console.print(table)
        if options.get("plan_json"):
            Path(options["plan_json"]).write_text(
                json.dumps([a.to_dict() for a in answers], indent=2) + "\n", encoding="utf-8"
            )
