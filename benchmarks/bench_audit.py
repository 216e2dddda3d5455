"""The audit trail at machine pace, on PostgreSQL (run by ``make bench``, never by tests).

    .venv/bin/python benchmarks/bench_audit.py [--quick]

1. Audited bulk ingest of inference-like events: services of 2,000 events, each one batch
   entry (``radgov.core.audit.batch``) over ``Model.objects.ingest`` (COPY, keys from the
   sequence, the digest of the rows), against the very same rows copied with the audit
   switched off (a plain ``COPY`` in ``transaction.atomic()``), and, for scale, the audited
   ``bulk_create`` a service would use for a handful of rows.  Targets: at least 0.5x the
   plain inserts, and at least 20,000 events/s.  The ratio is the median of ratios
   of runs taken in pairs (audited, plain, audited, ...), as in bench_stats.
2. Concurrent writers: 8 processes against 1, each committing messages (one service per
   message writing 5 events in a batch, as a listener does per MLLP message or C-STORE).
   Target: 8 writers at least 4x one writer.  Beside each ratio, the most the machine's
   cores allow: c cores commit at most c / (CPU a message, writer and backend together, as
   section 3 measures it) messages a second, so 8 writers can never do better than that over
   one writer's rate, however the writers share the chain.  Measured twice: with the
   database work alone (CPU-bound: on a machine with c cores no more than about c times one
   writer can be had), and with 2 ms of waiting inside each service (a file fsync on a real
   disk, a peer's round trip).  Both with the chain striped (``AUDIT_STRIPES``, 8 on
   PostgreSQL: an append takes whichever stripe's head is free), again with one stripe, as
   it was before, to show what the stripes buy, and with the audit switched off (the same
   inserts in a plain transaction): 8 audited writers against 8 unaudited ones says what
   the audit costs concurrency, whatever the machine's cores.

3. CPU per message: the same 5-row messages in this one process, audited and unaudited in
   turn, with the CPU time of the writer (``time.process_time``) and of its PostgreSQL
   backend (``/proc/<pid>/stat``, when the server is on this machine) per message, and the
   statements per message.  On a shared, busy machine these say more than the rates: eight
   writers on c cores are bound by what a message costs both processes together.

The events go to a stand-in audited model shaped like an inference event (two ids, a UID,
a status, a score, a time, a JSON column), created with Django's schema editor: it has no
foreign keys, so the rows need no exams or deployments behind them.  Everything runs in a scratch database, ``<name>_bench_audit`` on the server
``DATABASE_URL`` names (default: the local PostgreSQL), created with Django's own
test-database machinery and dropped at the end; it never uses a ``test_`` database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.core.audit_support

from tests.core.audit_support import EVENT_COLUMNS as COLUMNS  # noqa: E402
from tests.core.audit_support import define_event_model as event_model  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/radgov"
BATCH = 2000
MESSAGE_ROWS = 5
WAIT = 0.002
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
HOW = {
    "commit": "append at commit, striped (now)",
    "one": "append at commit, one stripe (before)",
    "off": "the same inserts, audit switched off",
}


def setup_django(bench: str = "bench_audit") -> str:
    """Point radgov at the server, with a private data folder (keys, anchor file); ``bench``
    names the benchmark (bench_mllp shares this)."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"{bench} measures PostgreSQL; DATABASE_URL is {url.split('@')[-1]!r}")
    data = tempfile.mkdtemp(prefix=f"radgov-{bench.replace('_', '-')}-")
    os.environ.update(
        DATABASE_URL=url,
        RADGOV_DATA_DIR=data,
        RADGOV_KEY_FILE=os.path.join(data, "keys.json"),
        DJANGO_SETTINGS_MODULE="radgov.settings",
    )
    os.environ.pop("REDIS_URL", None)
    from radgov.cli import start

    start()  # as a radgov process starts (collector.start_up)
    return url


def scratch_database(suffix: str = "bench_audit") -> tuple[str, str]:
    """Create and migrate ``<name>_<suffix>``; returns (its name, the original name)."""
    from django.db import connection

    original = connection.settings_dict["NAME"]
    if original.startswith("test_"):
        sys.exit(f"refusing to benchmark next to a test database ({original})")
    name = f"{original}_{suffix}"
    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return name, original


def define_event_model() -> Any:
    """The audit tests' inference-shaped model (ids, a status, a score, a time, JSON), with
    its table in the scratch database."""
    from django.db import connection

    model = event_model()
    with connection.schema_editor() as editor:
        editor.create_model(model)
    return model


def event_rows(n: int, start: int) -> list[tuple[Any, ...]]:
    """What arrives: plain tuples, as parsed from a file or a message."""
    return [
        (
            start + i,
            1 + i % 7,
            f"1.2.826.0.1.3680043.2.{start + i}",
            "inferred",
            None if i % 10 == 0 else 0.5 + (i % 1000) / 2000,
            T0 + dt.timedelta(milliseconds=start + i),
            {"finding": "ich", "p": 0.93, "model": "3.1"} if i % 3 else {},
        )
        for i in range(n)
    ]


def events(model: Any, rows: list[tuple[Any, ...]]) -> list[Any]:
    return [model(**dict(zip(COLUMNS, row, strict=True))) for row in rows]


# --- 1. bulk ingest ---------------------------------------------------------------------------


def ingest_audited(model: Any, rows: list[tuple[Any, ...]]) -> None:
    from radgov.core.audit import batch
    from radgov.core.services import service

    @service
    def ingest(chunk: list[tuple[Any, ...]]) -> None:
        with batch(action="import", detail={"source": "bench"}):
            model.objects.ingest(COLUMNS, chunk)

    for i in range(0, len(rows), BATCH):
        ingest(rows[i : i + BATCH])


def ingest_plain(model: Any, rows: list[tuple[Any, ...]]) -> None:
    from django.db import connection, transaction
    from psycopg import sql
    from psycopg.types.json import Jsonb

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    )
    for i in range(0, len(rows), BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy(statement) as copy:
                for row in rows[i : i + BATCH]:
                    copy.write_row((*row[:-1], Jsonb(row[-1])))


def ingest_bulk_create(model: Any, rows: list[tuple[Any, ...]]) -> None:
    from radgov.core.audit import batch
    from radgov.core.services import service

    @service
    def ingest(chunk: list[tuple[Any, ...]]) -> None:
        with batch(action="import", detail={"source": "bench"}):
            model.objects.bulk_create(events(model, chunk))

    for i in range(0, len(rows), BATCH):
        ingest(rows[i : i + BATCH])


def bench_ingest(model: Any, n: int, pairs: int) -> dict[str, float]:
    rows = event_rows(n, 0)
    for warm in (ingest_audited, ingest_plain, ingest_bulk_create):
        warm(model, rows[:BATCH])
    audited, plain, ratios = [], [], []
    for _ in range(pairs):
        start = time.perf_counter()
        ingest_audited(model, rows)
        middle = time.perf_counter()
        ingest_plain(model, rows)
        end = time.perf_counter()
        audited.append(n / (middle - start))
        plain.append(n / (end - middle))
        ratios.append((end - middle) / (middle - start))
    start = time.perf_counter()
    ingest_bulk_create(model, rows)
    return {
        "audited": statistics.median(audited),
        "plain": statistics.median(plain),
        "ratio": statistics.median(ratios),
        "bulk_create": n / (time.perf_counter() - start),
    }


# --- 2. concurrent writers ---------------------------------------------------------------------


def message_writers(model: Any, wait: float = 0.0) -> dict[str, Any]:
    """Two ways of committing one message: ``audited`` (a service, its rows in one batch
    entry) and ``unaudited`` (the same inserts in a plain transaction), each waiting
    ``wait`` seconds inside its transaction."""
    from django.db import models, transaction

    from radgov.core.audit import batch
    from radgov.core.services import service

    @service
    def audited(rows: list[tuple[Any, ...]]) -> None:
        with batch(action="import", detail={"message": rows[0][0]}):
            model.objects.bulk_create(events(model, rows))
        if wait:
            time.sleep(wait)

    def unaudited(rows: list[tuple[Any, ...]]) -> None:
        with transaction.atomic():
            models.QuerySet(model).bulk_create(events(model, rows))  # past the audited manager
            if wait:
                time.sleep(wait)

    return {"audited": audited, "unaudited": unaudited}


def writer(model_ready: Any, ident: int, messages: int, wait: float, how: str, go: Any) -> None:
    """One writer process: ``messages`` messages of MESSAGE_ROWS events each, written ``how``:
    ``commit`` (a service, the chain appended at commit to a free stripe), ``one`` (the same
    with one stripe, the old way) or ``off`` (the same inserts, no audit)."""
    from django.conf import settings
    from django.db import connections

    connections.close_all()  # never share the parent's connection
    model = model_ready()
    if how == "one":
        settings.AUDIT_STRIPES = 1  # this process only: every append queues for one head
    ways = message_writers(model, wait)
    message = ways["unaudited" if how == "off" else "audited"]
    base = 10_000_000 * (ident + 1)
    go.wait()
    for k in range(messages):
        message(event_rows(MESSAGE_ROWS, base + k * MESSAGE_ROWS))
    connections.close_all()


def bench_writers(count: int, messages: int, wait: float, how: str) -> float:
    """Messages committed per second by ``count`` writer processes together."""
    jobs = [(writer, (registered_model, i, messages, wait, how)) for i in range(count)]
    return count * messages / at_once(jobs, "writer")


def at_once(jobs: list[tuple[Callable[..., None], tuple[Any, ...]]], what: str) -> float:
    """Seconds from the moment every job's process (forked: each opens its own connection)
    is ready until the last has finished.  Each job is called with its arguments and a
    barrier, which it waits on before its timed work."""
    from django.db import connections

    connections.close_all()  # a forked process must not share this one's
    ctx = multiprocessing.get_context("fork")
    go = ctx.Barrier(len(jobs) + 1)
    procs = [ctx.Process(target=target, args=(*args, go)) for target, args in jobs]
    for p in procs:
        p.start()
    go.wait()
    start = time.perf_counter()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    if any(p.exitcode for p in procs):
        sys.exit(f"a {what} process failed")
    return elapsed


# --- 3. CPU per message ----------------------------------------------------------------------


def backend_cpu() -> Any:
    """A function returning the CPU seconds this connection's backend has used, or None."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = f"/proc/{cursor.fetchone()[0]}/stat"
    if not os.access(stat, os.R_OK):
        return lambda: None

    def used() -> float:
        fields = open(stat).read().rsplit(")", 1)[1].split()  # noqa: SIM115
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return used


def bench_cpu(model: Any, messages: int, rounds: int) -> dict[str, dict[str, float | None]]:
    """Per message, median of ``rounds`` interleaved rounds: writer and backend CPU
    microseconds, and statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ways, used = message_writers(model), backend_cpu()
    start = 50_000_000
    for way in ways.values():  # warm up: statements prepared, caches filled
        for _ in range(50):
            way(event_rows(MESSAGE_ROWS, start := start + MESSAGE_ROWS))
    seen: dict[str, dict[str, list[float]]] = {name: {} for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            cpu, backend = time.process_time(), used()
            for _ in range(messages):
                way(event_rows(MESSAGE_ROWS, start := start + MESSAGE_ROWS))
            spent = seen[name]
            spent.setdefault("writer", []).append((time.process_time() - cpu) / messages * 1e6)
            if backend is not None:
                spent.setdefault("backend", []).append((used() - backend) / messages * 1e6)
    out: dict[str, dict[str, float | None]] = {}
    for name, way in ways.items():
        with CaptureQueriesContext(connection) as queries:
            for _ in range(10):
                way(event_rows(MESSAGE_ROWS, start := start + MESSAGE_ROWS))
        out[name] = {
            "writer": statistics.median(seen[name]["writer"]),
            "backend": statistics.median(seen[name]["backend"])
            if "backend" in seen[name]
            else None,
            "statements": len(queries) / 10,
        }
    return out


def ceiling(cores: int, one: float, spent: dict[str, float | None]) -> float | None:
    """The most 8 writers can commit against one writer's ``one`` messages a second on
    ``cores`` cores, when each message costs the writer and its backend ``spent`` CPU
    together: cores / CPU a message, over ``one``, and never more than 8 (None when the
    backend's CPU is not known)."""
    backend = spent["backend"]
    if backend is None:
        return None
    writer = spent["writer"]
    assert writer is not None  # noqa: S101 - always measured
    return min(8.0, cores / ((writer + backend) / 1e6) / one)


_model: Any = None


def registered_model() -> Any:
    return _model


def bench_scaling(messages: int, wait: float, how: str, repeats: int) -> tuple[float, float, float]:
    """(1 writer's rate, 8 writers' rate, median of their ratios), runs taken in pairs."""
    ones, eights, ratios = [], [], []
    for _ in range(repeats):
        one = bench_writers(1, messages * 2, wait, how)
        eight = bench_writers(8, messages, wait, how)
        ones.append(one)
        eights.append(eight)
        ratios.append(eight / one)
    return statistics.median(ones), statistics.median(eights), statistics.median(ratios)


def main() -> None:
    global _model
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events and repeats")
    args = parser.parse_args()
    n, pairs, messages, repeats = (20_000, 3, 100, 1) if args.quick else (100_000, 5, 300, 3)
    setup_django()
    name, original = scratch_database()
    from django.db import connection

    try:
        _model = define_event_model()
        ingest = bench_ingest(_model, n, pairs)
        cpu_load = os.getloadavg()[0]
        per_message = bench_cpu(_model, messages * 2, 3 if args.quick else 5)
        cpu_load = (cpu_load + os.getloadavg()[0]) / 2
        cpu = os.cpu_count() or 1
        table = []
        loads = {}
        for label, wait in (
            ("database work only", 0.0),
            (f"{WAIT * 1000:.0f} ms wait inside", WAIT),
        ):
            for how in HOW:
                table.append((label, how, *bench_scaling(messages, wait, how, repeats)))
                loads[label, how] = os.getloadavg()[0]
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
    print(f"PostgreSQL, scratch database {name} (dropped); {os.cpu_count()} CPU cores")
    print(
        f"1. bulk ingest of {n:,} inference-like events, services of {BATCH:,} (median of {pairs} pairs)"
    )
    print(
        f"   audited {ingest['audited']:>9,.0f} events/s   (target >= 20,000)  "
        f"{'ok' if ingest['audited'] >= 20_000 else 'MISSED'}"
    )
    print(f"   plain   {ingest['plain']:>9,.0f} events/s   (COPY, no audit)")
    print(f"   audited bulk_create {ingest['bulk_create']:>9,.0f} events/s   (for scale)")
    print(
        f"   audited / plain = {ingest['ratio']:.2f}x   (target >= 0.5x)  "
        f"{'ok' if ingest['ratio'] >= 0.5 else 'MISSED'}"
    )
    print(
        f"2. writers: messages of {MESSAGE_ROWS} events, one service each (median of {repeats} pairs)"
    )
    off = {label: eight for label, how, _, eight, _ in table if how == "off"}
    one_stripe = {label: eight for label, how, _, eight, _ in table if how == "one"}
    for label, how, one, eight, ratio in table:
        allowed = ceiling(cpu, one, per_message["unaudited" if how == "off" else "audited"])
        verdict = f"; {cpu} cores allow {allowed:.2f}x" if allowed is not None else ""
        if how == "commit":
            verdict += "  ok" if ratio >= 4 else "  MISSED (target 4x)"
            verdict += f"; 8 audited / 8 unaudited {eight / off[label]:.2f}x"
            verdict += f"; 8 striped / 8 on one stripe {eight / one_stripe[label]:.2f}x"
        print(
            f"   {label:<22} {HOW[how]:<42} 1: {one:7,.0f}/s  8: {eight:7,.0f}/s  "
            f"ratio {ratio:4.2f}x (load {loads[label, how]:.1f}){verdict}"
        )
    print(
        "   (N cores allow at most N / (CPU a message, writer and backend, section 3) messages a"
        " second, whoever writes them: that over one writer's rate bounds the ratio)"
    )
    print(
        f"3. CPU per message of {MESSAGE_ROWS} events, one process (median of rounds; "
        f"load {cpu_load:.1f}: busy cores inflate every figure alike)"
    )
    for name, spent in per_message.items():
        backend = spent["backend"]
        together = f"{spent['writer'] + backend:6,.0f} us" if backend is not None else "n/a"
        print(
            f"   {name:<10} writer {spent['writer']:6,.0f} us  backend "
            f"{'n/a' if backend is None else f'{backend:6,.0f} us'}  together {together}  "
            f"statements {spent['statements']:.0f}"
        )


if __name__ == "__main__":
    main()
