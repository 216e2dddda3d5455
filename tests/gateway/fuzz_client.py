"""The sending side of tests/gateway/test_fuzz.py, run in a process of its own so that its
threads do not take the listener's turn at the interpreter lock (standard library only):

    python -m tests.gateway.fuzz_client PORT PDUS_JSON CASES AT_ONCE SEED

``PDUS_JSON`` holds the PDUs of a real C-ECHO and a real C-STORE association (hex); the
connections are made from them and the seed, ``AT_ONCE`` open together.  Prints, as JSON,
how many connections were made and how many could not connect."""

from __future__ import annotations

import json
import random
import socket
import struct
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def mutate(rng: random.Random, pdus: list[bytes]) -> bytes:
    stream = bytearray(b"".join(pdus))
    how = rng.choice(["flip", "truncate", "length", "insert", "shuffle"])
    if how == "flip":
        for _ in range(rng.randint(1, 8)):
            stream[rng.randrange(len(stream))] = rng.randrange(256)
    elif how == "truncate":
        del stream[rng.randrange(1, len(stream)) :]
    elif how == "length":  # a PDU announcing a length it does not carry, or an absurd one
        first = bytearray(rng.choice(pdus))
        first[2:6] = struct.pack(">I", rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, len(first)]))
        stream = first + stream
    elif how == "insert":
        at = rng.randrange(len(stream))
        stream[at:at] = rng.randbytes(rng.randint(1, 64))
    else:
        parts = list(pdus)
        rng.shuffle(parts)
        stream = bytearray(b"".join(parts))
    return bytes(stream)


def cases(echo: list[bytes], store: list[bytes], count: int, seed: int) -> list[bytes]:
    """A third random bytes (half of them opening with a PDU type), a third mutated C-ECHO
    associations, a third mutated C-STORE associations."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        if n % 3 == 0:
            data = rng.randbytes(rng.randint(0, 512))
            if data and rng.random() < 0.5:
                data = bytes([rng.randint(1, 7), 0]) + data
        else:
            data = mutate(rng, echo if n % 3 == 1 else store)
        out.append(data)
    return out


def throw(port: int, data: bytes) -> bool:
    """Send ``data`` on a fresh connection, say it is all, and read what comes back until
    the listener closes or falls silent; False when no connection could be made."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
    except OSError:
        return False
    with s:
        s.settimeout(2)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except OSError:  # reset or silent: either is an answer
            pass
    return True


def main(port: int, pdus: Path, count: int, at_once: int, seed: int) -> dict[str, int]:
    recorded = json.loads(pdus.read_text())
    echo, store = ([bytes.fromhex(p) for p in recorded[k]] for k in ("echo", "store"))
    with ThreadPoolExecutor(at_once) as pool:
        made = list(pool.map(lambda data: throw(port, data), cases(echo, store, count, seed)))
    return {"connections": len(made), "not_connected": made.count(False)}


if __name__ == "__main__":
    port, pdus, count, at_once, seed = sys.argv[1:6]
    print(json.dumps(main(int(port), Path(pdus), int(count), int(at_once), int(seed))))
