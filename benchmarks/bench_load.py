"""Bounded load test of ``radgov serve`` (run by ``make bench``, never by the tests).

    .venv/bin/python benchmarks/bench_load.py [--clients 50] [--requests 1500] [--threads N]
        [--processes N]
        [--postgres postgres://postgres@127.0.0.1:5432/radgov_bench [--no-sqlite]]

A real ``radgov serve`` (waitress, ``--no-worker``) on a free port of 127.0.0.1 only, over the
demo practice (``radgov demo``), logged in as its administrator.  ``--clients`` threads, each
with its own keep-alive connection, share ``--requests`` requests of one page at a time, with a
time limit of ``--seconds`` per page; the run stops by itself.  For each page: requests per
second and the 95th percentile latency, and the throughput as a ratio of a minimal Django view
served by the same server and settings (``benchmarks.load_settings.py``: the same middleware and
session, no work of its own).  Target: the dashboard and the deployments list (the page and
the API) at least 0.5x the minimal view, on SQLite and (with ``--postgres``) PostgreSQL.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["/bench/minimal", "/", "/inventory/deployments/", "/api/inventory/deployments"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADGOV_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        RADGOV_DATA_DIR=str(data),
        RADGOV_KEY_FILE=str(data / "keys.json"),
        DJANGO_SETTINGS_MODULE="benchmarks.load_settings",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


SESSION = """
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
user = get_user_model().objects.get(username="admin")
if not Authenticator.objects.filter(user=user, type="totp").exists():
    TOTP.activate(user, generate_totp_secret())
client = Client()
client.force_login(user)
client.get("/")
print(client.cookies[settings.SESSION_COOKIE_NAME].value)
"""


def prepare(env: dict[str, str]) -> str:
    """The demo practice, and a logged-in session's cookie."""
    radgov = [sys.executable, "-m", "radgov.cli"]
    subprocess.run([*radgov, "demo"], env=env, check=True, capture_output=True, timeout=900)
    made = subprocess.run(
        [*radgov, "shell", "-c", SESSION], env=env, check=True, capture_output=True, text=True
    )
    return made.stdout.strip().splitlines()[-1]


def hammer(port: int, path: str, cookie: str, clients: int, total: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    left = [total]
    deadline = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if left[0] <= 0 or time.monotonic() > deadline:
                    break
                left[0] -= 1
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": f"radgov_session={cookie}"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError as exc:
                ok, conn = False, http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                response = None
                with lock:
                    errors.append(type(exc).__name__)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if not ok and response is not None:
                    errors.append(str(response.status))
        conn.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    return {"n": len(latencies), "rps": len(latencies) / wall, "p95": p95, "errors": errors}


def run(label: str, database_url: str | None, args: argparse.Namespace) -> bool:
    with tempfile.TemporaryDirectory(prefix="radgov-load-") as tmp:
        env = _env(Path(tmp), database_url)
        cookie = prepare(env)
        port = free_port()
        command = [sys.executable, "-m", "radgov.cli", "serve", "--no-worker", "--no-migrate"]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if args.processes:
            command += ["--processes", str(args.processes)]
        server = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            hammer(port, "/bench/minimal", cookie, args.clients, 200, 30)  # warm up
            results = {
                p: hammer(port, p, cookie, args.clients, args.requests, args.seconds) for p in PAGES
            }
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    base = results["/bench/minimal"]["rps"]
    print(
        f"== {label}: {args.clients} clients, {args.processes or 'default'} server processes"
        f" of {args.threads or 'default'} threads"
    )
    ok = True
    for page, r in results.items():
        ratio = r["rps"] / base
        target = "" if page == "/bench/minimal" else ("  ok" if ratio >= 0.5 else "  BELOW 0.5")
        ok = ok and (page == "/bench/minimal" or ratio >= 0.5) and not r["errors"]
        print(
            f"{page:32} {r['n']:5d} req {r['rps']:7.1f} req/s  p95 {1000 * r['p95']:7.1f} ms"
            f"  ratio {ratio:4.2f}{target}{'  errors: ' + str(r['errors'][:3]) if r['errors'] else ''}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--postgres", default=os.environ.get("RADGOV_BENCH_POSTGRES"))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    ok = args.no_sqlite or run("SQLite", None, args)
    if args.postgres:
        ok = run("PostgreSQL", args.postgres, args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
