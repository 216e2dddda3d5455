"""A socket fuzz of the MLLP listener (issue 15, "Bad input"): 10,000 malformed frames and
HL7 messages over real localhost connections, several at once.  Every complete frame gets one
answer: AE or AR naming a segment and field, never a value from the message (each case
carries a canary the answers must not hold), or AA when a mutation happened to leave a usable
report.  Framing faults (bytes outside a frame, an end block without its carriage return, a
frame over the size limit, a frame cut off) are answered AE naming MLLP where an answer can
still be read, and end that connection.  Afterwards the listener stores a valid ORU^R01
(AA), exactly the reports it acknowledged are stored, and ``audit verify`` passes.  The
seed is fixed, so a failure here is repeatable."""

from __future__ import annotations

import random
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from radgov.core.audit.verify import verify_trail
from radgov.gateway import mllp
from radgov.gateway.mllp_listener import MllpListener
from radgov.monitoring import intake
from radgov.monitoring.models import Report, ReportLabel
from tests.gateway.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

CASES = int(__import__("os").environ.get("FZ", 10_000))
SEED = 15
CONNECTIONS = 16
MAX_BYTES = 64 * 1024
CANARY = "QZXCANARY"
NAMES = re.compile(r"\b(MSH|PID|OBR|OBX|TXA)(-\d+)?\b|MLLP")


def oru(n: int, text: str = "No acute intracranial hemorrhage.") -> str:
    msh = f"MSH|^~\\&|RIS|MAIN|RADGOV|MAIN|20260301101500||ORU^R01^ORU_R01|FZ{n}|P|2.5.1"
    obr = "|".join(["OBR", "1", "", f"ACC{CANARY}{n}", "CT HEAD", *[""] * 20, "F"])
    obx = f"OBX|1|TX|REPORT||{text} {CANARY}{n}||||||F"
    return "\r".join((msh, f"PID|1||MRN{CANARY}{n}", obr, obx))


def _fields(rng: random.Random, message: str) -> str:
    """One field of one segment emptied, cut or filled with noise."""
    segments = message.split("\r")
    i = rng.randrange(len(segments))
    fields = segments[i].split("|")
    j = rng.randrange(1, len(fields)) if len(fields) > 1 else 0
    fields[j] = rng.choice(["", fields[j][: len(fields[j]) // 2], "^^^~~~&&&", "\\", "\\X00\\"])
    segments[i] = "|".join(fields)
    return "\r".join(segments)


def _segments(rng: random.Random, message: str) -> str:
    """A segment dropped, doubled, moved or renamed."""
    segments = message.split("\r")
    i = rng.randrange(len(segments))
    how = rng.choice(["drop", "double", "move", "rename"])
    if how == "drop":
        del segments[i]
    elif how == "double":
        segments.insert(i, segments[i])
    elif how == "move":
        segments.insert(rng.randrange(len(segments)), segments.pop(i))
    else:
        segments[i] = rng.choice(["ZZZ", "OBX", "OB", "obr", "M5H", "", "1234"]) + segments[i][3:]
    return "\r".join(segments)


def _separators(rng: random.Random, message: str) -> str:
    """MSH-1 or MSH-2 (the separators and encoding characters) wrong, or other line ends."""
    how = rng.choice(["field", "encoding", "short", "newline", "crlf", "repeat"])
    if how == "field":
        return "MSH" + rng.choice("#^~\\&a1 \t") + message[4:].replace("|", "#")
    if how == "encoding":
        return (
            "MSH|"
            + rng.choice(["", "^", "^^^^", "abcd", "^~\\", "|||", "\x00\x01\x02\x03"])
            + message[8:]
        )
    if how == "short":
        return message[: rng.randrange(3, 12)]
    if how == "newline":
        return message.replace("\r", "\n")
    if how == "crlf":
        return message.replace("\r", "\r\n")
    return message.replace("|", "||", rng.randint(1, 12))


def _content(rng: random.Random, message: str) -> str:
    """A frame that is HL7 in form but not a usable report."""
    how = rng.choice(["status", "no obx", "numeric obx", "no accession", "type", "mdm", "ctrl"])
    if how == "status":
        return message.replace("|F\rPID", "|F\rPID").replace(
            "||||F\rOBX", f"||||{rng.choice('PIRXD ')}\rOBX"
        )
    if how == "no obx":
        return message.rsplit("\r", 1)[0]
    if how == "numeric obx":
        return message.replace("|TX|", rng.choice(["|NM|", "|CE|", "||", "|ED|"]))
    if how == "no accession":
        return message.replace(f"|ACC{CANARY}", "|").replace("||ACC", "||")
    if how == "type":
        kind = rng.choice(["ADT^A01", "ORM^O01", "ORU", "^R01", "ACK", "ORU^R99", ""])
        return message.replace("ORU^R01^ORU_R01", kind)
    if how == "mdm":
        return message.replace("ORU^R01^ORU_R01", "MDM^T02").replace("\rOBR|", "\rTXA|1|RAD|")
    return message.replace("|FZ", "|" + rng.choice(["", "\x0b", "\x00", "^~", "\\F\\"]) + "FZ")


def _bytes(rng: random.Random, message: str) -> str:
    """Binary noise, bytes flipped, a huge segment, another character set."""
    how = rng.choice(["noise", "flip", "huge", "latin1", "utf16", "nul"])
    if how == "noise":
        return rng.randbytes(rng.randint(0, 400)).decode("latin-1")
    if how == "flip":
        chars = list(message) or [" "]
        for _ in range(rng.randint(1, 10)):
            chars[rng.randrange(len(chars))] = chr(rng.randrange(256))
        return "".join(chars)
    if how == "huge":
        return message + "\rNTE|1||" + "x" * rng.randint(10_000, 40_000)
    if how == "latin1":
        return message.replace("hemorrhage", "h\xe9morragie")
    if how == "utf16":
        return message.encode("utf-16").decode("latin-1")
    return message.replace("|", "\x00", rng.randint(1, 3))


MUTATIONS: list[Callable[[random.Random, str], str]] = [
    _fields, _segments, _separators, _content, _bytes,
]  # fmt: skip


def whole_frame(rng: random.Random, n: int) -> bytes:
    """A complete MLLP frame carrying a malformed message (the block characters removed, so
    that it stays one frame)."""
    message = oru(n)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        message = rng.choice(MUTATIONS)(rng, message)
    body = (
        message.encode("latin-1", errors="replace").replace(b"\x1c", b"").replace(b"\x0b", b"\x0c")
    )
    return mllp.frame(body)


def broken_framing(rng: random.Random, n: int) -> bytes:
    """Bytes that are not a stream of whole MLLP frames."""
    body = oru(n).encode()
    how = rng.choice(["no start", "no end", "no cr", "cut", "noise", "huge", "http"])
    if how == "no start":
        return body + mllp.END
    if how == "no end":
        return mllp.START + body
    if how == "no cr":
        return mllp.START + body + b"\x1c" + rng.choice([b"X", b"\x0b", b"\x1c"])
    if how == "cut":
        whole = mllp.frame(body)
        return whole[: rng.randrange(1, len(whole) - 1)]
    if how == "noise":
        return rng.randbytes(rng.randint(1, 300)).lstrip(b" \t\r\n\x0b") or b"x"
    if how == "huge":
        return mllp.START + b"x" * (MAX_BYTES + 10)
    return b"GET / HTTP/1.1\r\nHost: radgov\r\n\r\n"


@dataclass
class Seen:
    """What the connections saw, under ``lock``."""

    answers: int = 0
    accepted: int = 0  # reports the AA answers say were created
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def check(answer: bytes, n: int, seen: Seen) -> bool:
    """Check one answer; True when the listener ends the connection after it."""
    text = answer.decode("latin-1")
    msa = next((s.split("|") for s in text.split("\r") if s.startswith("MSA|")), None)
    if msa is None or len(msa) < 3 or msa[1] not in ("AA", "AE", "AR"):
        seen.problem(f"case {n}: not an acknowledgement: {text[:200]!r}")
        return True
    if CANARY in text:
        seen.problem(f"case {n}: the answer repeats a value from the message: {text!r}")
    with seen.lock:
        seen.answers += 1
        seen.accepted += msa[3].count("created") if msa[1] == "AA" and len(msa) > 3 else 0
    if msa[1] != "AA" and not NAMES.search(text):
        seen.problem(f"case {n}: {msa[1]} names no segment and field: {text[:200]!r}")
    return msa[1] == "AR" or "MLLP" in text


def throw(port: int, n: int, data: bytes, seen: Seen) -> None:
    """Broken framing on a fresh connection: an answer if one comes (never AA), then the
    listener closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            answer = mllp.read_message(sock, mllp.FrameReader(max_bytes=1 << 20))
        except (OSError, mllp.FrameError):
            return
        if answer is not None and not check(answer, n, seen):
            seen.problem(f"case {n}: broken framing answered AA")


def converse(port: int, cases: list[tuple[int, bytes, bool]], seen: Seen) -> None:
    """Send each case: a whole frame on the open connection, reading its one answer (a new
    connection after one the listener ends); broken framing on a connection of its own."""
    sock: socket.socket | None = None
    for n, data, whole in cases:
        if not whole:
            throw(port, n, data, seen)
            continue
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            reader = mllp.FrameReader(max_bytes=1 << 20)
        sock.sendall(data)
        try:
            answer = mllp.read_message(sock, reader)
        except (OSError, mllp.FrameError) as exc:
            answer, why = None, str(exc)
        else:
            why = "closed"
        if answer is None:
            seen.problem(f"case {n}: no answer to a whole frame ({why})")
        if answer is None or check(answer, n, seen):
            sock.close()
            sock = None
    if sock is not None:
        sock.close()


def test_ten_thousand_malformed_frames_are_each_answered_and_the_listener_keeps_serving(
    ris,
) -> None:
    rng = random.Random(SEED)
    cases = []
    for n in range(CASES):
        whole = rng.random() < 0.7
        cases.append((n, (whole_frame if whole else broken_framing)(rng, n), whole))
    listener = MllpListener(port=free_port(), max_bytes=MAX_BYTES)
    listener.start()
    seen = Seen()
    try:
        workers = [
            threading.Thread(target=converse, args=(listener.port, cases[i::CONNECTIONS], seen))
            for i in range(CONNECTIONS)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        fuzz_reports = Report.objects.count()
        after = mllp.exchange("127.0.0.1", listener.port, oru(CASES).encode(), timeout=30)
    finally:
        listener.stop()
    assert not seen.problems, "\n".join(seen.problems[:12])
    assert seen.answers >= sum(1 for _, _, whole in cases if whole)
    assert fuzz_reports == seen.accepted  # what was acknowledged is stored, and nothing else
    assert "|AA|FZ10000|1 report(s) created" in after.decode()
    assert Report.objects.count() == fuzz_reports + 1
    # no report without its labels: each stored whole
    labelled = sum(len(intake.labeller().label(r.text.reveal())) for r in Report.objects.all())
    assert ReportLabel.objects.count() == labelled > 0
    assert verify_trail(record_use=False).ok
