"""The sending side of tests/gateway/test_fuzz.py, run in a process of its own so that its
threads do not take the listener's turn at the interpreter lock (standard library only):

    python -m tests.gateway.fuzz_client PORT RECORDED_JSON SEED CONNECTIONS DATASETS WORKERS
        MAX_BYTES

``RECORDED_JSON`` holds the PDUs of a real C-ECHO and a real C-STORE association (hex) and the
CT dataset the C-STORE carried.  First ``CONNECTIONS`` connection cases, 16 connections open
together; then ``DATASETS`` dataset cases shared by ``WORKERS`` threads, each sending its
cases one after another inside an association it keeps open, and opening another when a case
ended it (tests/gateway/fuzz_pdus.py makes the cases).  Prints, as JSON, the count of each
kind of case by outcome, every case whose outcome was not the one its kind must get (with
its seed and index), and the SHA-256 of each dataset by answer: stored (success), refused
(a failure status) or unanswered (the association ended first)."""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.gateway import fuzz_pdus

AT_ONCE = 16  # connection cases open together
ANSWER_WITHIN = 30.0  # seconds; a listener this slow to answer a case of definite kind fails
OPEN_TRIES = 10
SILENT_AFTER = 1.0  # seconds without an answer to a mangled message: the case ends there
RELEASE = fuzz_pdus.pdu(5, bytes(4))
ABORT = fuzz_pdus.pdu(7, bytes(4))


class NotOpened(Exception):
    """A valid association request was not accepted: how it was answered."""


class Ended(Exception):
    """The association ended: how (the outcome of the case that ended it)."""


def read_pdu(s: socket.socket) -> tuple[int, bytes]:
    head = _exactly(s, 6)
    kind, _, length = struct.unpack(">BBI", head)
    return kind, _exactly(s, length)


def _exactly(s: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        try:
            more = s.recv(size - len(data))
        except TimeoutError:
            raise Ended("silent") from None
        except OSError:
            raise Ended("closed") from None
        if not more:
            raise Ended("closed")
        data += more
    return data


def presentation_context(request: bytes, abstract_syntax: str) -> int:
    """The ID of the presentation context proposing ``abstract_syntax`` in an A-ASSOCIATE-RQ."""
    at = 74
    while at < len(request):
        kind, length = request[at], struct.unpack_from(">H", request, at + 2)[0]
        if kind == 0x20:
            sub = at + 8
            syntax = request[sub + 4 : sub + 4 + struct.unpack_from(">H", request, sub + 2)[0]]
            if syntax.rstrip(b"\0").decode() == abstract_syntax:
                return request[at + 4]
        at += 4 + length
    raise ValueError(f"no presentation context for {abstract_syntax} in the request")


def answer(s: socket.socket) -> str:
    """The listener's answer to one C-STORE: its status, or how the association ended."""
    command = b""
    while True:
        kind, body = read_pdu(s)
        if kind != 4:
            raise Ended(f"pdu {kind}" if kind != 7 else "aborted")
        at = 0
        while at + 6 <= len(body):
            length, _context, header = struct.unpack_from(">IBB", body, at)
            command += body[at + 6 : at + 4 + length]
            at += 4 + length
            if header & 0b11 == 0b11:
                status = fuzz_pdus.command_status(command)
                return "no status" if status is None else f"status 0x{status:04X}"


class Association:
    """An accepted association of the dataset family, on a connection of its own."""

    def __init__(self, port: int, request: bytes) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)
        try:
            self.socket.sendall(request)
            kind, body = read_pdu(self.socket)
        except (OSError, Ended) as exc:
            self.socket.close()
            raise NotOpened(f"no answer ({exc})") from None
        if kind != 2:
            self.socket.close()
            raise NotOpened(f"answered with PDU {kind} {body[:4].hex()}")

    def send(self, case: fuzz_pdus.DatasetCase) -> str:
        """Send one case and read its answer; raises Ended when the association ended."""
        self.socket.settimeout(ANSWER_WITHIN if case.expected is not None else SILENT_AFTER)
        try:
            self.socket.sendall(case.sent)
            if case.kind == "last_fragment_missing":  # end it rather than wait for a timeout
                self.socket.sendall(RELEASE)
        except OSError:
            raise Ended("closed") from None
        return answer(self.socket)

    def close(self, how: str) -> None:
        try:
            self.socket.sendall(RELEASE if how == "released" else ABORT)
            if how == "released":
                read_pdu(self.socket)
        except (OSError, Ended):
            pass
        self.socket.close()


class Tally:
    """What the cases got, gathered from every thread."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.violations: list[dict[str, Any]] = []
        self.digests: dict[str, list[str]] = {"stored": [], "refused": [], "unanswered": []}

    def add(self, family: str, index: int, kind: str, outcome: str, expected: set[str]) -> None:
        with self.lock:
            self.outcomes[f"{family} {kind}: {outcome}"] += 1
            if expected and outcome not in expected:
                case = {"seed": self.seed, "index": index, "family": family, "kind": kind}
                self.violations.append({**case, "expected": sorted(expected), "got": outcome})

    def dataset(self, case: fuzz_pdus.DatasetCase, outcome: str) -> None:
        expected = {f"status 0x{status:04X}" for status in case.expected or ()}
        self.add("dataset", case.index, case.kind, outcome, expected)
        answered = "unanswered" if not outcome.startswith("status") else "refused"
        with self.lock:
            self.digests["stored" if outcome == "status 0x0000" else answered].append(case.digest)


def throw(port: int, kind: str, data: bytes) -> str:
    """Send a connection case on a fresh connection: an association reject's result, source
    and reason, or what the listener did once the peer said it had sent everything."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)
    except OSError:
        return "not connected"
    with s:
        try:
            s.sendall(data)
            if kind.startswith("unknown"):
                reply, body = read_pdu(s)
                return f"reject {body[1]}/{body[2]}/{body[3]}" if reply == 3 else f"pdu {reply}"
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except Ended as ended:
            return str(ended)
        except OSError:  # reset: an answer too
            return "reset"
    return "closed"


REJECTS = {"unknown_calling_ae": "reject 1/1/3", "unknown_called_ae": "reject 1/1/7"}


def connection_cases(port: int, recorded: dict[str, Any], tally: Tally, count: int) -> None:
    echo, store = ([bytes.fromhex(p) for p in recorded[k]] for k in ("echo", "store"))

    def one(index: int) -> None:
        kind, data = fuzz_pdus.connection_case(tally.seed, index, echo, store)
        expected = {REJECTS[kind]} if kind in REJECTS else set()
        tally.add("connection", index, kind, throw(port, kind, data), expected)

    with ThreadPoolExecutor(AT_ONCE) as pool:
        list(pool.map(one, range(count)))


def opened(port: int, request: bytes, tally: Tally) -> Association:
    """An association for the dataset cases, asked for again (as a scanner would) when the
    listener does not accept it; each refusal is counted."""
    for _ in range(OPEN_TRIES - 1):
        try:
            return Association(port, request)
        except NotOpened as refused:
            tally.add("association", 0, "not opened", str(refused), set())
            time.sleep(0.5)
    return Association(port, request)


def dataset_cases(
    port: int, recorded: dict[str, Any], tally: Tally, count: int, workers: int, max_bytes: int
) -> None:
    request = bytes.fromhex(recorded["store"][0])
    template = bytes.fromhex(recorded["template"])
    context = presentation_context(request, fuzz_pdus.CT_IMAGE)

    def worker(first: int) -> None:
        association: Association | None = None
        for index in range(first, count, workers):
            case = fuzz_pdus.dataset_case(tally.seed, index, template, context, max_bytes=max_bytes)
            association = association or opened(port, request, tally)
            try:
                outcome = association.send(case)
            except Ended as ended:
                outcome = str(ended)
                association.close(outcome)
                association = None
            tally.dataset(case, outcome)
        if association is not None:
            association.close("released")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, range(workers)))


def main(port: int, recorded: Path, seed: int, counts: list[int]) -> dict[str, Any]:
    connections, datasets, workers, max_bytes = counts
    data = json.loads(recorded.read_text())
    tally = Tally(seed)
    started = time.monotonic()
    connection_cases(port, data, tally, connections)
    halfway = time.monotonic()
    dataset_cases(port, data, tally, datasets, workers, max_bytes)
    seconds = {"connections": halfway - started, "datasets": time.monotonic() - halfway}
    return {
        "seconds": seconds,
        "outcomes": dict(sorted(tally.outcomes.items())),
        "violations": tally.violations,
        **tally.digests,
    }


if __name__ == "__main__":
    port, recorded, seed, *counts = sys.argv[1:]
    print(json.dumps(main(int(port), Path(recorded), int(seed), [int(n) for n in counts])))
