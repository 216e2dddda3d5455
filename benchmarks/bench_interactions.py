"""Bulk ingest of interaction events on PostgreSQL (issue 17; run by ``make bench``, never by
tests).

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/bench_interactions.py [--quick]

What a PACS sends: an NDJSON body of interaction events (``{"type": "interaction",
"inference_id": ..., "username": ..., "action": ..., "at": ...}``), stored whole by
``radgov.monitoring.bulk.record_ndjson``: the lines parsed, every row checked (its inference
and user looked up once for the body, its action and time), then one audited ``ingest``
(COPY, one batch entry with the digest of the rows).  The figure is events per second from
the body's bytes to the commit, the median of repeated bodies; also the same rows naming
their inference by study UID and deployment (a keyed hash per row) and the ingest alone.
Then NDJSON bodies of inference events on studies not yet recorded (the study's metadata and
the model's result, a line each), stored by the same service: an exam, an inference and two
history rows a line, through the same audited ``ingest``; then as many such bodies as the
machine has cores, sent at once by a client process each (separate transactions, as
separate callers of the API would send them).  Beside each, the CPU an event costs this
process and its PostgreSQL backend, and what that lets the machine's cores store at most,
however many bodies arrive at once; and the same four rows of each inference event written
by PostgreSQL alone (``plain_rate``), what the database stores from one connection.
Target: at least 20,000 events/s.  The inferences (and their exams, users, deployment) are
seeded first, in a scratch database ``<name>_bench_interactions`` made and dropped as in
bench_audit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.exams.conftest
# bench_audit: this folder is on sys.path
from bench_audit import at_once, backend_cpu, scratch_database, setup_django

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
READERS = 20
ACTIONS = ("viewed", "accepted", "viewed", "modified", "viewed", "rejected", "not_opened")


def seed(inferences: int) -> tuple[Any, Any, list[int]]:
    """An informatics account, a deployment, READERS radiologists and ``inferences`` exams
    with one inference each; returns (the actor, the deployment, the inference ids)."""
    from tests.exams.conftest import make_deployment
    from tests.factories import make_user

    from radgov.core.audit import batch
    from radgov.core.roles import Role
    from radgov.core.services import service
    from radgov.exams.models import Exam, Inference
    from radgov.exams.services.exam import study_uid_hash

    actor = make_user("bench-informatics", role=Role.INFORMATICS)
    deployment = make_deployment(actor, "PE Finder", "Main Hospital CT")
    for i in range(READERS):
        make_user(f"rad-{i:02d}", role=Role.PHYSICIAN)

    @service
    def write() -> list[int]:  # not measured: bulk_create fills the blank columns
        with batch(action="import", detail={"source": "bench seed"}):
            exams = Exam.objects.bulk_create(
                Exam(study_uid_hash=study_uid_hash(uid(i)), study_uid_encrypted=uid(i),
                     source="api", study_datetime=T0)
                for i in range(inferences)
            )  # fmt: skip
            made = Inference.objects.bulk_create(
                Inference(exam=e, deployment=deployment, status="inferred", status_at=T0,
                          score=0.8, call="positive")
                for e in exams
            )  # fmt: skip
            return [i.pk for i in made]

    return actor, deployment, write()


def uid(i: int) -> str:
    return f"1.2.826.0.1.3680043.10.77.{i}"


def body(ids: list[int], n: int, *, deployment: int | None = None) -> bytes:
    lines = []
    for i in range(n):
        k = i % len(ids)
        where: dict[str, Any] = (
            {"inference_id": ids[k]}
            if deployment is None
            else {"study_instance_uid": uid(k), "deployment_id": deployment}
        )
        at = (T0 + dt.timedelta(seconds=i)).isoformat()
        lines.append(
            json.dumps(
                {
                    "type": "interaction",
                    **where,
                    "username": f"rad-{i % READERS:02d}",
                    "action": ACTIONS[i % len(ACTIONS)],
                    "at": at,
                }  # fmt: skip
            )
        )
    return "\n".join(lines).encode()


def inference_body(first: int, n: int, deployment: int) -> bytes:
    """``n`` inference events on studies not yet recorded (UIDs from ``first``): the study's
    metadata and the model's result, as a vendor's orchestrator reports them."""
    lines = []
    for i in range(first, first + n):
        at = (T0 + dt.timedelta(seconds=i)).isoformat()
        event = {
            "type": "inference", "study_instance_uid": uid(i), "site": "Main Hospital CT",
            "study_datetime": at, "modality": "CT", "body_part": "CHEST",
            "manufacturer": "SIEMENS", "manufacturer_model": "SOMATOM Force",
            "software_versions": "VE11", "slice_thickness_mm": 1.0, "kvp": 120,
            "patient_age": 40 + i % 50, "patient_sex": "MF"[i % 2], "deployment_id": deployment,
            "status": "inferred", "status_at": at, "score": (i % 1000) / 1000,
            "call": "positive" if i % 7 == 0 else "negative", "event_id": f"job-{i}",
        }  # fmt: skip
        lines.append(json.dumps(event))
    return "\n".join(lines).encode()


Figures = tuple[float, float, float | None]


def timed(store: Callable[[Any], None], bodies: list[Any], n: int) -> Figures:
    """(events per wall second, CPU microseconds an event in this process, CPU microseconds an
    event in its PostgreSQL backend or None when the server is not on this machine), each the
    median over ``bodies`` of ``n`` events, each body stored by ``store``.  The two CPU
    figures together bound what any number of bodies at once can store on c cores: at most
    c / (both) events a second (the server's other processes, its WAL writer and autovacuum,
    left out, so the bound is generous)."""
    backend = backend_cpu()
    wall, cpu, server = [], [], []
    for data in bodies:
        start, start_cpu, start_server = time.perf_counter(), time.process_time(), backend()
        store(data)
        wall.append(n / (time.perf_counter() - start))
        cpu.append((time.process_time() - start_cpu) / n * 1e6)
        used = backend()
        server.append(None if used is None else (used - start_server) / n * 1e6)
    known = [s for s in server if s is not None]
    return (
        statistics.median(wall),
        statistics.median(cpu),
        statistics.median(known) if known else None,
    )


def rate(actor: Any, bodies: list[bytes], n: int, *, key: str = "interactions") -> Figures:
    """``timed`` for NDJSON bodies stored by radgov; ``key``: the answer's count of what each
    body stores."""
    from radgov.monitoring.bulk import record_ndjson

    def store(data: bytes) -> None:
        stored = record_ndjson(actor, data)
        assert stored[key] == n, stored  # noqa: S101 - a bench's check

    return timed(store, bodies, n)


def bound(cpu: float, server: float | None) -> str:
    """What the cores allow, in words, from the CPU an event costs (``rate``)."""
    cores = os.cpu_count() or 1
    if server is None:
        return f"CPU an event: {cpu:.0f} us here (the server's not measured: not on this machine)"
    return (
        f"CPU an event: {cpu:.0f} us here, {server:.0f} us in PostgreSQL's backend; "
        f"{cores} cores allow at most {cores / (cpu + server) * 1e6:,.0f} events/s"
    )


def plain_rows(first: int, n: int, deployment: int, actor: int) -> dict[str, list[str]]:
    """The four rows radgov stores for each of ``n`` inference events on new studies (UIDs
    from ``first``; ``inference_body``'s values), as COPY text by table, without the keys:
    each row's own and the exam's or inference's it names are drawn when it is written."""
    at = "2026-03-01T00:00:00.000000Z"
    rows: dict[str, list[str]] = {"exams_exam": [], "exams_inference": [], "exams_statuschange": []}
    for i in range(first, first + n):
        digest = hashlib.sha256(uid(i).encode()).hexdigest()
        rows["exams_exam"].append(
            f"{digest}\tv1:{digest}\tapi\t{at}\t{at}\tMain Hospital CT\t{at}\tCT\tCHEST\t"
            f"SIEMENS\tSOMATOM Force\tVE11\t\t\t\t1.0\t120.0\tunknown\t\t\t{4 + i % 5}\tF"
        )
        rows["exams_inference"].append(
            f"{deployment}\tinferred\t{at}\t\t\t0.5\tnegative\t\\N\t[]\t\t\t\t{at}\t{at}"
        )
        rows["exams_statuschange"] += [
            f"\treceived\t{at}\t{at}\t{actor}\tbench\t\t\t\t\t\\N",
            f"received\tinferred\t{at}\t{at}\t{actor}\tbench\t\t\t\t\t{digest}",
        ]
    return rows


PLAIN_COLUMNS = {
    "exams_exam": "study_uid_hash, study_uid_encrypted, source, created_at, updated_at, site, "
    "study_datetime, modality, body_part, manufacturer, manufacturer_model, software_versions, "
    "station_name, protocol_name, series_description, slice_thickness_mm, kvp, contrast, "
    "contrast_agent, contrast_phase, age_band, sex",
    "exams_inference": "exam_id, deployment_id, status, status_at, reason_code, reason, score, "
    "call, confidence, findings, model_version, vendor_status, vendor_reason, created_at, "
    "inferred_at",
    "exams_statuschange": "inference_id, from_status, to_status, at, recorded_at, actor_id, "
    "actor_name, reason_code, reason, vendor_status, vendor_reason, key_hash",
}


def plain_rate(bodies: list[dict[str, list[str]]], n: int) -> Figures:
    """``timed`` for PostgreSQL alone: each body's rows (``plain_rows``) written as radgov's
    ingest writes them (keys drawn from the three sequences in one query by the ingest's own
    ``_draw``, then COPY, one transaction a body) from text made beforehand, so this process
    does next to nothing: what the database itself stores of these rows on this machine."""
    from django.db import connection, transaction

    from radgov.core.models.ingest import _draw
    from radgov.exams.models import Exam, Inference, StatusChange

    models = {"exams_exam": Exam, "exams_inference": Inference, "exams_statuschange": StatusChange}

    def store(rows: dict[str, list[str]]) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            drawn = _draw(cursor, {models[table]: len(lines) for table, lines in rows.items()})
            keys = {table: drawn[model] for table, model in models.items()}
            named = {  # the keys each table's rows name before their own columns
                "exams_exam": [""] * n,
                "exams_inference": [f"{e}\t" for e in keys["exams_exam"]],
                "exams_statuschange": [f"{i}\t" for i in keys["exams_inference"] for _ in (1, 2)],
            }
            for table, lines in rows.items():
                text = "".join(
                    f"{key}\t{ref}{line}\n"
                    for key, ref, line in zip(keys[table], named[table], lines, strict=True)
                )
                statement = f"COPY {table} (id, {PLAIN_COLUMNS[table]}) FROM STDIN"
                with cursor.cursor.copy(statement) as copy:
                    copy.write(text)

    return timed(store, bodies, n)


def side_by_side(actor: Any, bodies: list[bytes], n: int) -> float:
    """Events per wall second when each of ``bodies`` (``n`` inference events on new
    studies each) is sent at once by a client of its own: one process and one connection
    a body, as separate callers of the API would be."""
    from django.db import connections

    from radgov.core.context import ActingContext, acting_as
    from radgov.monitoring.bulk import record_ndjson

    def client(data: bytes, go: Any) -> None:
        with acting_as(ActingContext(channel="cli")):
            go.wait()
            stored = record_ndjson(actor, data)
        assert stored["inferences_created"] == n, stored  # noqa: S101 - a bench's check
        connections.close_all()

    return len(bodies) * n / at_once([(client, (data,)) for data in bodies], "client")


def ingest_rate(actor: Any, ids: list[int], n: int, repeats: int) -> float:
    """The audited COPY alone, from checked rows."""
    from radgov.core.audit import batch
    from radgov.core.services import service
    from radgov.monitoring.models import Interaction

    users = list(
        type(actor).objects.filter(username__startswith="rad-").values_list("pk", flat=True)
    )
    now = dt.datetime.now(dt.UTC)
    rows = [
        (ids[i % len(ids)], users[i % len(users)], ACTIONS[i % len(ACTIONS)],
         T0 + dt.timedelta(seconds=i), now, "api")
        for i in range(n)
    ]  # fmt: skip

    @service
    def write() -> None:
        with batch(action="import", detail={"source": "bench"}):
            Interaction.objects.ingest(
                ["inference_id", "user_id", "action", "at", "recorded_at", "source"], rows
            )

    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        write()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events and repeats")
    args = parser.parse_args()
    inferences, n, repeats = (5_000, 20_000, 2) if args.quick else (50_000, 100_000, 3)
    setup_django()
    name, original = scratch_database("bench_interactions")
    from django.db import connection

    from radgov.core.context import ActingContext, acting_as

    try:
        with acting_as(ActingContext(channel="cli")):
            actor, deployment, ids = seed(inferences)
            from radgov.monitoring.bulk import record_ndjson

            record_ndjson(actor, body(ids, 1))  # warm-up: one line
            by_id = rate(actor, [body(ids, n)] * repeats, n)
            by_uid = rate(actor, [body(ids, n, deployment=deployment.pk)] * repeats, n)
            alone = ingest_rate(actor, ids, n, repeats)
            new = [inference_body(inferences + r * n, n, deployment.pk) for r in range(repeats)]
            events = rate(actor, new, n, key="inferences_created")
            plain = plain_rate(
                [plain_rows(10**9 + r * n, n, deployment.pk, actor.pk) for r in range(repeats)], n
            )
            first = inferences + repeats * n
            clients = os.cpu_count() or 1
            together = side_by_side(
                actor, [inference_body(first + c * n, n, deployment.pk) for c in range(clients)], n
            )
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
    load = os.getloadavg()[0]
    print(f"PostgreSQL, scratch database {name} (dropped); {os.cpu_count()} cores, load {load:.1f}")
    print(f"NDJSON bodies of {n:,} interaction events over {inferences:,} inferences "
          f"(median of {repeats})")  # fmt: skip
    verdict = "ok" if by_id[0] >= 20_000 else "MISSED"
    print(f"  by inference_id         {by_id[0]:>9,.0f} events/s  (target >= 20,000)  {verdict}")
    print(f"  by study UID+deployment {by_uid[0]:>9,.0f} events/s")
    print(f"  by id: {bound(*by_id[1:])}")
    print(f"  audited ingest alone    {alone:>9,.0f} events/s")
    verdict = "ok" if events[0] >= 20_000 else "MISSED"
    print(f"NDJSON bodies of {n:,} inference events on new studies (exam, inference, history)")
    print(f"  wall                    {events[0]:>9,.0f} events/s  (target >= 20,000)  {verdict}")
    print(f"  {bound(*events[1:])}")
    print(f"  PostgreSQL alone, the same rows from text made beforehand {plain[0]:>9,.0f} events/s")
    print(f"    {bound(*plain[1:])}")
    print(f"  {clients} bodies at once, a client each {together:>9,.0f} events/s  "
          f"({together / events[0]:.2f}x one body at a time)")  # fmt: skip


if __name__ == "__main__":
    main()
