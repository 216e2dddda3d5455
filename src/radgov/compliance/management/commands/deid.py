"""``radgov deid SRC DST``: de-identify DICOM files to PS3.15 Annex E (thin wrapper).

The command parses the arguments, gets the key and shows progress; the work is the same service
as a job from a page or the API (``radgov.compliance.services``): it records a console job,
acting as the operator at the console, with its audit entries (the job's saves, the import),
and runs it with the command's key, site rules, processes and mapping file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from radgov.compliance import services
from radgov.compliance.deid_options import site_config
from radgov.compliance.models import DeidJob
from radgov.core.context import ActingContext, acting_as
from radgov.dicom.deid.config import ConfigError, load_config
from radgov.dicom.deid.keyed import MIN_KEY_BYTES
from radgov.dicom.deid.profile import EDITION, Option, compile_profile
from radgov.dicom.deid.runner import QUARANTINE_DIR

PURPOSE = "de-identification at the server's console (radgov deid)"

HELP = f"""De-identify DICOM files with the DICOM PS3.15 ({EDITION}) Basic Application Level
Confidentiality Profile and its options (HIPAA Safe Harbor: identifiers removed, dates removed
or shifted per patient, ages over 89 aggregated).  SRC is a file or a folder; DST receives
STUDY/SERIES/INSTANCE.dcm named after the de-identified UIDs (never the source's names, which can
name a patient).  Images that may carry burned-in text are written, de-identified in their headers,
under DST/{QUARANTINE_DIR}/ for review.  The report names source files by a keyed reference;
--mapping keeps their names, encrypted, with the UIDs.  Exit code: 0 when every file was de-identified or
quarantined (quarantined is not a failure, it is listed in the report), 1 when some files failed
(each with its reason in the report) or the run stopped, 2 for a usage error.  The run is recorded
as a de-identification job with its audit entries, which compliance sees.  Options: {", ".join(o.cli_name for o in Option)}."""


class Command(BaseCommand):
    help = HELP
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("src", help="a DICOM file or a folder of DICOM files (only read)")
        parser.add_argument("dst", help="output folder (nothing is written outside it)")
        parser.add_argument("--profile", default="basic", choices=["basic"], help="profile (basic)")
        parser.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="NAME",
            help="a PS3.15 option (CID 7050), repeatable, e.g. retain-longitudinal-modified-dates",
        )
        parser.add_argument(
            "--config",
            metavar="FILE",
            help="site rules (YAML): keep, remove, replace, safe_private, pixel_masks "
            "(default: the file RADGOV_DEID_CONFIG names, as every job started on a page uses)",
        )
        parser.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes")
        parser.add_argument("--report", metavar="REPORT.json", help="write the JSON report here")
        parser.add_argument(
            "--key-file",
            metavar="PATH",
            help=f"read the key (>= {MIN_KEY_BYTES} bytes) from this file instead of the key store",
        )
        parser.add_argument(
            "--mapping",
            metavar="FILE",
            help="write the re-identification table here, encrypted (AES-GCM) under the key",
        )
        parser.add_argument(
            "--purpose", default=PURPOSE, help="why, recorded with the job (default: %(default)s)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def _key(self, key_file: str | None) -> bytes:
        if key_file:
            try:
                key = Path(key_file).read_bytes()
            except OSError as exc:
                raise CommandError(
                    f"cannot read the key file {key_file!r}: {exc.strerror}", returncode=2
                ) from exc
            if len(key) < MIN_KEY_BYTES:
                raise CommandError(
                    f"the key file {key_file!r} holds {len(key)} bytes; at least {MIN_KEY_BYTES} "
                    "are needed",
                    returncode=2,
                )
            return key
        try:
            from radgov.core.keys import derive_key

            return derive_key("deid")
        except Exception as exc:
            raise CommandError(
                f"no key: the radgov key store is not available ({exc}); use --key-file",
                returncode=2,
            ) from exc

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["jobs"] < 1:
            raise CommandError("--jobs must be at least 1", returncode=2)
        key = self._key(opts["key_file"])
        try:
            options = [Option.from_name(name) for name in opts["option"]]
            site = load_config(opts["config"]) if opts["config"] else site_config()
            profile = compile_profile(options, site.rules)  # refused before anything is recorded
        except (ValueError, ConfigError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if site.safe_private and Option.RETAIN_SAFE_PRIVATE not in profile.options:
            self.stderr.write(
                "note: safe_private entries apply only with --option retain-safe-private; "
                "all private elements will be removed"
            )
        src, dst = Path(opts["src"]), Path(opts["dst"])
        if not src.exists():
            raise CommandError(f"source {opts['src']!r} does not exist", returncode=2)
        if src.is_dir() and dst.exists() and os.path.samefile(src, dst):
            raise CommandError("DST must differ from SRC", returncode=2)
        work = services.Work(
            key=key,
            site=site,
            processes=opts["jobs"],
            mapping=Path(opts["mapping"]) if opts["mapping"] else None,
        )
        with acting_as(ActingContext(channel="cli")):
            try:
                job = services.console_job(
                    None, purpose=opts["purpose"], source=src, output=dst, options=options
                )
            except services.DeidJobError as exc:
                raise CommandError(str(exc), returncode=2) from exc
            except DatabaseError as exc:
                raise CommandError(
                    f"the run cannot be recorded: the database is not ready ({exc}); "
                    "run radgov migrate",
                    returncode=2,
                ) from exc
            job = self._run(job, work, not opts["no_progress"])
        self._finish(job, opts["report"])

    def _finish(self, job: DeidJob, report_path: str | None) -> None:
        if not job.report:  # the whole run stopped: no report
            raise CommandError(f"job {job.pk}: {job.error}", returncode=1)
        report = json.loads(job.report)
        if report_path:
            Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
        s = report["summary"]
        self.stdout.write(
            f"{s['files']} files: {s['ok']} de-identified, {s['quarantined']} quarantined for "
            f"review, {s['failed']} failed (PS3.15 {EDITION}, options: "
            f"{', '.join(s['options']) or 'none'}); recorded as de-identification job {job.pk}"
        )
        if job.failed:
            raise CommandError(
                f"{job.failed} file(s) failed; see the reasons in the report", returncode=1
            )

    def _run(self, job: DeidJob, work: services.Work, progress: bool) -> DeidJob:
        if not progress:
            return self._checked(services.run_job(job.pk, work))
        from dataclasses import replace

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
            auto_refresh=False,  # no refresh thread: the worker pool forks safely
        ) as bar:
            task = bar.add_task("de-identifying", total=None)
            last = [0.0]

            def advance(_record: dict[str, Any]) -> None:
                bar.advance(task)
                now = time.monotonic()
                if now - last[0] > 0.1:
                    last[0] = now
                    bar.refresh()

            return self._checked(
                services.run_job(
                    job.pk,
                    replace(work, on_start=lambda n: bar.update(task, total=n), on_file=advance),
                )
            )

    @staticmethod
    def _checked(job: DeidJob | None) -> DeidJob:
        if job is None:  # only a job already taken is not run, and nothing takes console jobs
            raise CommandError("the job was not run", returncode=1)
        return job
