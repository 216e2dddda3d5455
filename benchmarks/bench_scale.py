"""The monitoring overview and a deployment's drift page at scale, with interactions (issue 17,
"Speed and scale"): p95 under 300 ms with 10,000,000 inferences on PostgreSQL and 1,000,000 on
SQLite.

    .venv/bin/python benchmarks/bench_scale.py --database postgres://postgres@127.0.0.1:5432/DB
        [--inferences 1000000] [--requests 30] [--pages drift,page,overview] [--measure-only]
        [--queries]

The database given is emptied and migrated (as in bench_monitoring, whose seeding this
reuses: exams, inferences, reports and comparisons written by SQL over a generated series).
On top of it each inference of the large deployment gets one viewer interaction by one of
five radiologists (``INSERT ... SELECT`` over the inferences, bypassing the services, as a
seed may), so the overview and the pages run beside a full interactions table.  Then the
periodic task's ``roll_up`` builds the rollups and each page is requested ``--requests``
times for a 1,000-inference deployment and the large one in turn (bench_monitoring's
``measure``: median, p95 and the large/small ratio of the p95).  The seed times and the load
average are printed with the figures.  ``--queries`` lists instead each page's statements
for the large deployment, slowest first (with PostgreSQL's plan of the slowest), to find what
grows with the number of inferences.
"""

from __future__ import annotations

import argparse
import time

from bench_monitoring import (
    PAGES,
    build,
    earlier_run,
    loading,
    measure,
    practice,
    setup,
)  # this folder is on sys.path

READERS = 5
ACTIONS = ("viewed", "accepted", "viewed", "modified", "accepted", "rejected", "not_opened")


def seed_interactions(deployment_id: int) -> int:
    """One interaction per inference of the deployment, by one of READERS radiologists."""
    from django.db import connection

    from radgov.accounts.models import User
    from radgov.core.roles import Role

    users = [
        User.objects.create(username=f"bench-reader-{i}", role=Role.PHYSICIAN,
                            license_number=f"R-{i}").pk
        for i in range(READERS)
    ]  # fmt: skip
    user = " ".join(f"WHEN {i} THEN {pk}" for i, pk in enumerate(users))
    action = " ".join(f"WHEN {i} THEN '{a}'" for i, a in enumerate(ACTIONS))
    sql = f"""INSERT INTO monitoring_interaction (inference_id, user_id, action, at, source,
        recorded_at)
    SELECT f.id, CASE f.id % {READERS} {user} END, CASE (f.id * 7) % {len(ACTIONS)} {action}
        END, f.created_at, 'file', f.created_at
    FROM exams_inference f WHERE f.deployment_id = {deployment_id}"""  # noqa: S608
    with loading(("monitoring_interaction",)), connection.cursor() as cursor:
        cursor.execute(sql)
        made = cursor.rowcount
    return int(made)


def queries(chair: object, deployment: object, pages: list[str], top: int = 5) -> None:
    """Each page's statements for ``deployment``, their count and the ``top`` slowest."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(chair)
    for page in pages:
        url = PAGES[page].format(id=deployment.pk)  # type: ignore[attr-defined]
        client.get(url)  # warm-up
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        found = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
        total = sum(float(q["time"]) for q in found)
        print(f"{page}: {len(found)} statements, {total * 1000:.1f} ms in the database")
        for q in found[:top]:
            print(f"  {float(q['time']) * 1000:8.1f} ms  {q['sql'][:400]}")
        if connection.vendor == "postgresql" and found:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN ANALYZE " + found[0]["sql"])
                print("\n".join("    " + row for (row,) in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--inferences", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--pages", default="drift,page,overview")
    parser.add_argument("--measure-only", action="store_true", help="time an earlier run's data")
    parser.add_argument("--queries", action="store_true", help="list an earlier run's statements")
    args = parser.parse_args()
    setup(args.database, fresh=not (args.measure_only or args.queries))
    from django.db import connection

    if args.measure_only or args.queries:
        chair, deployments = earlier_run()
        if args.queries:
            queries(chair, deployments[-1], args.pages.split(","))
            return
    else:
        started = time.perf_counter()
        chair, deployments = practice([1000, args.inferences])
        made = seed_interactions(deployments[-1].pk)  # type: ignore[attr-defined]
        print(
            f"seeded {made:>9,} interactions; the whole seed took {time.perf_counter() - started:7.1f} s"
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
                print(f"database size {cursor.fetchone()[0]}")
        build(deployments)
    measure(chair, deployments, args.pages.split(","), args.requests)


if __name__ == "__main__":
    main()
