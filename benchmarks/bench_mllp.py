"""HL7 report intake over MLLP, on PostgreSQL (run by ``make bench``, never by tests).

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/bench_mllp.py [--messages 2000]

A RIS sends ORU^R01 final reports (one OBR, a few OBX text lines, a new accession each), in
three ways: waiting for each acknowledgement before the next (MLLP's original mode) over one
connection and over 8 connections at once (several interfaces), and pipelined (100 messages
sent before their answers are read) over 2 connections, to:

* a bare MLLP server that unframes each message and answers AA without reading or storing
  it: the ceiling of this machine's sockets, threads and framing;
* radgov's listener (``radgov.gateway.mllp_listener.MllpListener``), which parses the
  message, checks the peer, stores the report encrypted with its labels and its audit entry,
  and answers AA only after the commit.

Target (issue 15): at least 1,000 messages/s on one listener with ACKs.  The two run in
turn (bare, radgov, bare, ...) ``--repeat`` times; the ratio is the median of the pairs'
ratios.  Everything runs in a scratch database, ``<name>_bench_mllp`` on the server
``DATABASE_URL`` names, created with Django's test-database machinery and dropped at the end.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import socketserver
import statistics
import sys
import threading
import time

from bench_audit import scratch_database, setup_django  # run as a script from benchmarks/

MODES = {  # connections, messages in flight on each
    "original mode (each ACK awaited), 1 connection": (1, 1),
    "original mode (each ACK awaited), 8 connections": (8, 1),
    "pipelined, 2 connections x 100 in flight": (2, 100),
}
MSH = "MSH|^~\\&|RIS|MAIN|RADGOV|MAIN|20260301101500||ORU^R01^ORU_R01|{control}|P|2.5.1"
TEXT = (
    "CT HEAD WITHOUT CONTRAST",
    "Findings: No acute intracranial hemorrhage. No mass effect or midline shift.",
    "Impression: No acute intracranial abnormality.",
)


def oru(n: int, turn: str) -> bytes:
    obr = "|".join(["OBR", "1", "", f"BENCH-{turn}-{n}", "CT HEAD", *[""] * 20, "F"])
    obx = [f"OBX|{i}|TX|REPORT||{line}||||||F" for i, line in enumerate(TEXT, start=1)]
    segments = (MSH.format(control=f"{turn}-{n}"), "PID|1||MRN-BENCH", obr, *obx)
    return "\r".join(segments).encode()


class _BareHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        from radgov.gateway import mllp

        reader = mllp.FrameReader()
        while data := self.request.recv(65536):
            answers = [
                b"MSH|^~\\&|BARE|||||ACK|1|P|2.5.1\rMSA|AA|" + raw.split(b"\r", 1)[0].split(b"|")[9]
                for raw in reader.feed(data)
            ]
            self.request.sendall(b"".join(map(mllp.frame, answers)))


class _BareServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def send_all(port: int, messages: list[bytes], connections: int, window: int) -> float:
    """Send every message over ``connections`` connections, ``window`` at a time on each
    before reading their answers (1: MLLP's original mode); seconds taken.  Exits when any
    answer is not an AA."""
    from radgov.gateway import mllp

    parts = [messages[i::connections] for i in range(connections)]
    failures: list[str] = []

    def client(part: list[bytes]) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            reader = mllp.FrameReader()
            for start in range(0, len(part), window):
                sent = part[start : start + window]
                sock.sendall(b"".join(map(mllp.frame, sent)))
                answers: list[bytes] = []
                while len(answers) < len(sent) and (data := sock.recv(65536)):
                    answers += reader.feed(data)
                if len(answers) < len(sent) or any(b"MSA|AA|" not in a for a in answers):
                    failures.append(b"/".join(answers).decode(errors="replace")[:300])
                    return

    threads = [threading.Thread(target=client, args=(part,)) for part in parts]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - start
    if failures:
        sys.exit(f"not acknowledged AA: {failures[0]!r}")
    return took


def bare(messages: list[bytes], connections: int, window: int) -> float:
    server = _BareServer(("127.0.0.1", 0), _BareHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return send_all(server.server_address[1], messages, connections, window)
    finally:
        server.shutdown()
        server.server_close()


def radgov(messages: list[bytes], connections: int, window: int) -> float:
    from radgov.gateway.mllp_listener import MllpListener

    listener = MllpListener(port=0)
    listener.start()
    try:
        return send_all(listener.server.server_address[1], messages, connections, window)
    finally:
        listener.stop()


def prepare() -> None:
    from radgov.core import machines

    machines.register(
        None,
        kind="mllp_peer",
        name="mllp:RIS",
        address="127.0.0.1",
        application="RIS^MAIN",
        grants=["gateway.report"],
    )


def stored() -> int:
    from radgov.monitoring.models import Report

    return Report.objects.filter(source="hl7").count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup_django("bench_mllp")
    logging.getLogger("radgov").setLevel(logging.WARNING)  # no line per message
    name, original = scratch_database("bench_mllp")
    from django.db import connection

    rates: dict[tuple[str, str], list[float]] = {}
    ratios: dict[str, list[float]] = {}
    try:
        prepare()
        for turn in range(args.repeat):
            for mode, (connections, window) in MODES.items():
                messages = [oru(n, f"{turn}{mode}") for n in range(args.messages)]
                took_bare = bare(messages, connections, window)
                took_radgov = radgov(messages, connections, window)
                rates.setdefault((mode, "bare"), []).append(args.messages / took_bare)
                rates.setdefault((mode, "radgov"), []).append(args.messages / took_radgov)
                ratios.setdefault(mode, []).append(took_bare / took_radgov)
        count = stored()
    finally:
        connection.close()
        connection.creation.destroy_test_db(original, verbosity=0)
    if count != args.messages * args.repeat * len(MODES):
        sys.exit(f"{count} reports stored, not {args.messages * args.repeat * len(MODES)}")
    print(
        f"PostgreSQL, scratch database {name} (dropped); {os.cpu_count()} CPU cores, "
        f"load average {os.getloadavg()[0]:.1f}; {args.messages:,} ORU^R01 per run, "
        f"median of {args.repeat}"
    )
    for mode in MODES:
        bare_rate = statistics.median(rates[(mode, "bare")])
        radgov_rate = statistics.median(rates[(mode, "radgov")])
        print(f"  {mode}:")
        print(f"    bare   {bare_rate:>8,.0f} messages/s")
        print(
            f"    radgov {radgov_rate:>8,.0f} messages/s  (target >= 1,000: "
            f"{'ok' if radgov_rate >= 1000 else 'MISSED'}); radgov / bare = "
            f"{statistics.median(ratios[mode]):.2f}x"
        )


if __name__ == "__main__":
    main()
