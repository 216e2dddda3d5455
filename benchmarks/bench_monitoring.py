"""Monitoring pages at 1,000 and at 1,000,000 inferences (issue 15, "Speed"; issue 17, "Speed
and scale"), read from the daily rollups.

    .venv/bin/python benchmarks/bench_monitoring.py --database postgres://postgres@127.0.0.1:5432/DB
        [--small 1000] [--large 1000000] [--requests 40] [--pages page,drift,...]

The database given is emptied and migrated (use one kept for benchmarks; a SQLite file path
works too: ``--database sqlite:////tmp/bench.sqlite3``).  Two watched deployments, each with
a drift reference window, get ``--small`` and ``--large`` inferences spread over the last 365
days: exams with varied metadata (three sites, four manufacturers, six scanner models, a
software version first seen 20 days ago), the model's scores and calls, reports for nine in
ten results and their comparisons with the AI.  The rows are written by SQL over a generated
series (``INSERT ... SELECT``), not the ORM row by row; the report texts and UIDs are
placeholders, since no page here decrypts them.  Then the periodic task's ``roll_up`` builds
the rollups (timed once per deployment) and each page is requested ``--requests`` times for the
small and the large deployment in turn (A B A B ...), by a governance-group member logged in
to Django's test client in this process; the first request of each is a warm-up.  Pages: the
deployment's monitoring page (performance, stop rules, drift and the label-free estimate
together), the API's performance, drift and estimate of it alone, and the overview (the same
for both: every deployment's lights).  Printed:
median and 95th percentile per page and deployment, and the large/small ratio of the p95.
Targets: p95 under 300 ms at 1,000,000 and about the same as at 1,000.
"""

# ruff: noqa: S608 - the seeding SQL holds only this script's numbers and constants

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DAYS = 365
PAGES = {  # the deployment's page shows its performance, drift and label-free estimate
    "page": "/monitoring/deployments/{id}/",
    "performance": "/api/monitoring/deployments/{id}/performance",
    "drift": "/api/monitoring/deployments/{id}/drift",
    "estimate": "/api/monitoring/deployments/{id}/estimate",
    "overview": "/monitoring/",
}


def u(salt: int) -> str:
    """A uniform number in [0, 1) from the exam's id, the same in PostgreSQL and SQLite."""
    return f"(((e.id * 2654435761 + {salt}) % 1000003) / 1000003.0)"


def series(vendor: str, n: int) -> str:
    if vendor == "postgresql":
        return f"WITH s(i) AS (SELECT generate_series(CAST(1 AS BIGINT), {n}))"
    return f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})"  # noqa: S608


def at(vendor: str, day: str, minutes: str) -> str:
    """The first day plus ``day`` days and ``minutes`` minutes, as each database stores it."""
    if vendor == "postgresql":
        return f"(%(first)s::timestamptz + ({day}) * interval '1 day' + ({minutes}) * interval '1 minute')"
    return f"datetime(%(first)s, '+' || ({day}) || ' days', '+' || ({minutes}) || ' minutes')"


def seed(deployment_id: int, n: int, first: dt.date) -> None:
    """``n`` exams with inferences, reports and comparisons for one deployment."""
    from django.db import connection

    vendor = connection.vendor
    tag = f"bench-{deployment_id}"
    day = f"(((i - 1) * {DAYS}) / {n})"
    when = at(vendor, day, "480 + i % 600")
    exams = f"""{series(vendor, n)}
    INSERT INTO exams_exam (study_uid_hash, study_uid_encrypted, site, study_datetime, modality,
        body_part, manufacturer, manufacturer_model, software_versions, station_name,
        protocol_name, series_description, slice_thickness_mm, kvp, pixel_spacing_mm, contrast,
        contrast_agent, contrast_phase, age_band, sex, source, created_at, updated_at)
    SELECT '{tag}-' || i, 'placeholder', CASE i % 3 WHEN 0 THEN 'Main' WHEN 1 THEN 'North'
        ELSE 'South' END, {when}, 'CT', 'CHEST', CASE i % 4 WHEN 0 THEN 'GE' WHEN 1 THEN
        'SIEMENS' WHEN 2 THEN 'Philips' ELSE 'Canon' END, 'M' || (i % 6),
        CASE WHEN {day} >= {DAYS - 20} AND i % 4 = 1 THEN 'VE11' ELSE 'VE10' END,
        'CT' || (i % 10), 'P' || (i % 5), '{tag}', CASE i % 3 WHEN 0 THEN 0.6 WHEN 1 THEN 1.2
        ELSE 2.5 END, CASE i % 4 WHEN 0 THEN 100.0 ELSE 120.0 END, 0.6 + (i % 20) / 100.0,
        CASE i % 2 WHEN 0 THEN 'yes' ELSE 'no' END, '', '', ((i * 7) % 19) * 5,
        CASE i % 2 WHEN 0 THEN 'F' ELSE 'M' END, 'api', {when}, {when}
    FROM s"""
    truth = f"({u(2)} < 0.2)"
    score = f"(CASE WHEN {truth} THEN 0.45 + 0.55 * {u(3)} ELSE 0.6 * {u(3)} END)"
    status = f"(CASE WHEN {u(5)} < 0.03 THEN 'rejected' WHEN {u(5)} < 0.04 THEN 'failed' ELSE 'released' END)"
    created = "e.created_at"
    done = (
        f"{created} + ({u(6)} * 30) * interval '1 minute'"
        if vendor == "postgresql"
        else f"datetime({created}, '+' || CAST({u(6)} * 30 AS INTEGER) || ' minutes')"
    )
    inferences = f"""INSERT INTO exams_inference (exam_id, deployment_id, status, status_at,
        reason_code, reason, score, call, confidence, findings, model_version, vendor_status,
        vendor_reason, created_at, inferred_at)
    SELECT e.id, {deployment_id}, {status}, {created}, '', '', {score},
        CASE WHEN {score} >= 0.5 THEN 'positive' ELSE 'negative' END, {score}, '[]', '2.0', '',
        '', {created}, {done}
    FROM exams_exam e WHERE e.series_description = '{tag}'"""
    reports = f"""INSERT INTO monitoring_report (accession_hash, exam_id, text, text_sha256,
        source, labeller_version, rules_sha256, received_at, updated_at)
    SELECT '{tag}-' || e.id, e.id, 'placeholder', '{"0" * 64}', 'api', 'bench', '{"0" * 64}',
        {created}, {created}
    FROM exams_exam e JOIN exams_inference f ON f.exam_id = e.id
    WHERE e.series_description = '{tag}' AND f.status = 'released' AND {u(7)} < 0.9"""
    the_day = (
        "CAST(e.study_datetime AS DATE)" if vendor == "postgresql" else "date(e.study_datetime)"
    )
    outcome = (
        f"CASE WHEN f.call = 'positive' AND {truth} THEN 'tp' WHEN f.call = 'positive' THEN 'fp' "
        f"WHEN {truth} THEN 'fn' ELSE 'tn' END"
    )
    comparisons = f"""INSERT INTO monitoring_concordance (inference_id, deployment_id, report_id,
        finding, day, ai, truth, outcome, compared_at)
    SELECT f.id, {deployment_id}, r.id, 'pulmonary_embolism', {the_day}, f.call,
        CASE WHEN {truth} THEN 'positive' ELSE 'negative' END, {outcome}, {created}
    FROM exams_exam e JOIN exams_inference f ON f.exam_id = e.id
        JOIN monitoring_report r ON r.exam_id = e.id
    WHERE e.series_description = '{tag}'"""
    with connection.cursor() as cursor:
        for sql in (exams, inferences, reports, comparisons):
            cursor.execute(sql.replace("%", "%%").replace("%%(first)s", "%(first)s"),
                           {"first": first.isoformat()})  # fmt: skip


SEEDED = ("exams_exam", "exams_inference", "monitoring_report", "monitoring_concordance")


def _secondary(cursor: Any, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(drop, create) statements of the tables' indexes and unique constraints but their
    primary keys, as the database has them."""
    if cursor.db.vendor == "postgresql":
        cursor.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%s)",
            [list(tables)],
        )
        found = [
            (
                f'ALTER TABLE {t} DROP CONSTRAINT "{name}"',
                f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {d}',
            )
            for t, name, d in cursor.fetchall()
        ]
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename = ANY(%s) AND NOT "
            "EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [list(tables)],
        )
        return found + [(f'DROP INDEX "{name}"', d) for name, d in cursor.fetchall()]
    marks = ", ".join("%s" for _ in tables)
    cursor.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})",
        list(tables),
    )
    return [(f'DROP INDEX "{name}"', d) for name, d in cursor.fetchall()]


@contextlib.contextmanager
def loading(tables: tuple[str, ...]) -> Iterator[None]:
    """Bulk loading into ``tables``: their secondary indexes (and unique constraints) are
    dropped before and built again after (one sort each instead of 10,000,000 random inserts
    into each), with more memory for the joins and the builds; on PostgreSQL the foreign keys
    are not checked row by row (``session_replication_role = replica``, as ``pg_restore
    --disable-triggers`` does: the seed's rows are consistent by construction).  Then ANALYZE."""
    from django.db import connection

    with connection.cursor() as cursor:
        made = _secondary(cursor, tables)
        if connection.vendor == "postgresql":
            cursor.execute("SET work_mem = '256MB'; SET maintenance_work_mem = '1GB'")
            cursor.execute("SET session_replication_role = replica")
        for drop, _ in made:
            cursor.execute(drop)
    yield
    with connection.cursor() as cursor:
        started = time.perf_counter()
        for _, create in made:
            cursor.execute(create)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("RESET work_mem; RESET maintenance_work_mem")
        cursor.execute("ANALYZE")
        print(f"indexes built and analysed in {time.perf_counter() - started:7.1f} s")


def setup(database: str, *, fresh: bool = True) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("RADGOV_DATA_DIR", tempfile.mkdtemp(prefix="bench-monitoring-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "radgov.settings"
    sys.path.insert(0, str(ROOT / "src"))
    from radgov.cli import start

    start()  # as a radgov process starts (collector.start_up)
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    if not fresh:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    if connection.vendor == "sqlite":
        connection.close()
        Path(connection.settings_dict["NAME"]).unlink(missing_ok=True)
    from radgov.core.schema import bring_up_to_date

    bring_up_to_date()


def practice(sizes: list[int]) -> tuple[object, list[object]]:
    """A governance-group physician and one watched deployment per size."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from radgov.accounts.models import User
    from radgov.core.roles import Role

    chair = User(username="bench-chair", role=Role.PHYSICIAN, license_number="B-1",
                 is_governance_member=True)  # fmt: skip
    chair.set_password("correct horse battery 42")
    chair.save()
    TOTP.activate(chair, generate_totp_secret())
    first = dt.date.today() - dt.timedelta(days=DAYS)
    made = []
    with loading(SEEDED):
        for n in sizes:
            made.append(_seeded(chair, n, first))
    return chair, made


def _seeded(chair: object, n: int, first: dt.date) -> object:
    """One watched deployment with a drift reference window and ``n`` inferences."""
    from radgov.inventory import services as inventory
    from radgov.monitoring import configure, drift

    product = inventory.create_product(
        chair, vendor="Bench Inc", name=f"PE Finder {n}", category="cadt",
        regulatory_pathway="fda_510k", fda_number="K123456", fda_product_code="QAS",
    )  # fmt: skip
    version = inventory.add_model_version(chair, product, version="2.0")
    deployment = inventory.create_deployment(chair, version, site="Main")
    baseline = (first, first + dt.timedelta(days=29))
    configure.set_watch(chair, deployment, finding="pulmonary_embolism",
                        baseline_start=baseline[0], baseline_end=baseline[1])  # fmt: skip
    drift.set_reference(chair, deployment, reference_start=baseline[0],
                        reference_end=baseline[1])  # fmt: skip
    started = time.perf_counter()
    seed(deployment.pk, n, first)
    print(f"seeded {n:>9,} inferences in {time.perf_counter() - started:7.1f} s")
    return deployment


def build(deployments: list[object]) -> None:
    """Build the rollups and the CUSUM states, then have PostgreSQL count the new rows (the
    pages' plans depend on it)."""
    from django.db import connection
    from django.utils import timezone

    from radgov.monitoring import analysis, rollups

    for deployment in deployments:
        started = time.perf_counter()
        found = rollups.roll_up(deployment.pk, today=timezone.localdate())  # type: ignore[attr-defined]
        built = time.perf_counter()
        stored = analysis.store_cusum(deployment.watch)  # type: ignore[attr-defined]
        print(
            f"rollups of deployment {deployment.pk}: {found['days']} days in "  # type: ignore[attr-defined]
            f"{built - started:7.1f} s; CUSUM state of {stored} days in "
            f"{time.perf_counter() - built:7.1f} s"
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measure(chair: object, deployments: list[object], pages: list[str], requests: int) -> None:
    from django.test import Client

    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    client = Client()
    client.force_login(chair)
    for page in pages:
        urls = [PAGES[page].format(id=d.pk) for d in deployments]  # type: ignore[attr-defined]
        times: list[list[float]] = [[] for _ in urls]
        cpu: list[list[float]] = [[] for _ in urls]  # this process's CPU: less noisy when busy
        for k in range(requests + 1):
            for j, url in enumerate(urls):
                started, used = time.perf_counter(), time.process_time()
                response = client.get(url)
                took = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}")
                if k:
                    times[j].append(took)
                    cpu[j].append((time.process_time() - used) * 1000)
        p95 = [statistics.quantiles(t, n=20)[-1] for t in times]
        for url, t, c, q in zip(urls, times, cpu, p95, strict=True):
            print(
                f"{page:<12} {url:<36} median {statistics.median(t):7.1f} ms  p95 {q:7.1f} ms  "
                f"CPU median {statistics.median(c):6.1f} ms  (load {os.getloadavg()[0]:.1f})"
            )
        if len(p95) == 2:
            print(f"{page:<12} p95 large/small {p95[1] / p95[0]:.2f}")


def earlier_run() -> tuple[object, list[object]]:
    """The chair and the deployments an earlier run seeded."""
    from radgov.accounts.models import User
    from radgov.inventory.models import Deployment

    return User.objects.get(username="bench-chair"), list(Deployment.objects.order_by("pk"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument(
        "--measure-only", action="store_true", help="time the pages of an earlier run's data"
    )
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="migrate an earlier run's data, build its rollups afresh, then time the pages",
    )
    args = parser.parse_args()
    setup(args.database, fresh=not (args.measure_only or args.build_only))
    if args.measure_only or args.build_only:
        chair, deployments = earlier_run()
    if args.build_only:
        from radgov.core.schema import bring_up_to_date
        from radgov.monitoring.models import RollupState

        bring_up_to_date()
        RollupState.objects.all().delete()
        build(deployments)
    elif not args.measure_only:
        chair, deployments = practice([args.small, args.large])
        build(deployments)
    measure(chair, deployments, args.pages.split(","), args.requests)


if __name__ == "__main__":
    main()
