"""The cases of the DICOM socket fuzz (tests/gateway/test_fuzz.py), standard library only so
that tests/gateway/fuzz_client.py runs them from a process of its own.

Two families, each case made from the seed and its index alone (``Random(f"{seed}:{index}")``)
so that a failing case is repeated from the two numbers it prints:

* connection cases, each on a fresh connection: random bytes, mutated, truncated and
  reordered copies of a real C-ECHO or C-STORE association (recorded PDU by PDU), PDUs
  announcing absurd lengths, and association requests from a calling AE not on the list or
  to another called AE (answered with an association reject);
* dataset cases, many in one accepted association: a C-STORE of a CT whose dataset is
  valid, cut inside an element, without its SOP Instance or Study Instance UID, over the
  size limit, noise, or has bytes or a length changed, and P-DATA framing faults (another
  presentation context, the dataset before its command, an item overrunning its PDU, a PDU
  of unknown type, a dataset whose last fragment never comes).
"""

from __future__ import annotations

import hashlib
import random
import struct
from dataclasses import dataclass

SUCCESS, CANNOT_UNDERSTAND, OUT_OF_RESOURCES = 0x0000, 0xC000, 0xA700
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
LONG_LENGTH_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN"}
LONG_LENGTH_VRS |= {b"UR", b"UT", b"UV"}
SOP_INSTANCE_UID, STUDY_INSTANCE_UID, PIXEL_DATA = (
    (0x0008, 0x0018),
    (0x0020, 0x000D),
    (
        0x7FE0,
        0x0010,
    ),
)

# dataset kind: (weight, the status it must get; None: any answer, stored only if success).
# A valid dataset may get out of resources only when its store failed (the database busy
# past its timeout on a loaded machine): the test matches each to the listener's log.
STORED = (SUCCESS, OUT_OF_RESOURCES)
DATASET_KINDS: dict[str, tuple[int, int | tuple[int, int] | None]] = {
    "valid": (4, STORED),
    "fragmented": (4, STORED),
    "cut_inside_element": (12, CANNOT_UNDERSTAND),
    "no_sop_instance_uid": (6, CANNOT_UNDERSTAND),
    "no_study_instance_uid": (4, CANNOT_UNDERSTAND),
    "empty_sop_instance_uid": (4, CANNOT_UNDERSTAND),
    "over_size_limit": (5, OUT_OF_RESOURCES),
    "noise": (8, CANNOT_UNDERSTAND),
    "bytes_changed": (20, None),
    "length_changed": (8, None),
    "command_changed": (3, None),
    "other_context": (3, None),
    "dataset_before_command": (3, None),
    "item_overruns_pdu": (3, None),
    "unknown_pdu_type": (3, None),
    "last_fragment_missing": (1, None),
}
CONNECTION_KINDS = ["noise", "echo_mutated", "store_mutated", "unknown_calling_ae"]
CONNECTION_KINDS += ["unknown_called_ae"]


@dataclass(frozen=True)
class Element:
    tag: tuple[int, int]
    vr: bytes
    value: bytes

    def encode(self) -> bytes:
        head = struct.pack("<HH", *self.tag) + self.vr
        if self.vr in LONG_LENGTH_VRS:
            return head + struct.pack("<HI", 0, len(self.value)) + self.value
        return head + struct.pack("<H", len(self.value)) + self.value


def elements(dataset: bytes) -> list[Element]:
    """The top-level elements of an Explicit VR Little Endian dataset of defined lengths."""
    out, at = [], 0
    while at < len(dataset):
        group, number = struct.unpack_from("<HH", dataset, at)
        vr = dataset[at + 4 : at + 6]
        if vr in LONG_LENGTH_VRS:
            (length,), at = struct.unpack_from("<I", dataset, at + 8), at + 12
        else:
            (length,), at = struct.unpack_from("<H", dataset, at + 6), at + 8
        out.append(Element((group, number), vr, dataset[at : at + length]))
        at += length
    return out


def encode(items: list[Element]) -> bytes:
    return b"".join(item.encode() for item in sorted(items, key=lambda item: item.tag))


def uid_value(uid: str) -> bytes:
    raw = uid.encode()
    return raw + b"\0" * (len(raw) % 2)


def implicit(tag: tuple[int, int], value: bytes) -> bytes:
    return struct.pack("<HHI", *tag, len(value)) + value


def store_command(message_id: int, sop_uid: str) -> bytes:
    """A C-STORE-RQ command set (Implicit VR Little Endian, as PS3.7 sends every command)."""
    body = b"".join(
        [
            implicit((0, 0x0002), uid_value(CT_IMAGE)),
            implicit((0, 0x0100), struct.pack("<H", 0x0001)),
            implicit((0, 0x0110), struct.pack("<H", message_id)),
            implicit((0, 0x0700), struct.pack("<H", 0)),
            implicit((0, 0x0800), struct.pack("<H", 0x0000)),
            implicit((0, 0x1000), uid_value(sop_uid)),
        ]
    )
    return implicit((0, 0x0000), struct.pack("<I", len(body))) + body


def command_status(command: bytes) -> int | None:
    """The Status (0000,0900) of a response command set, None when it has none."""
    at = 0
    while at + 8 <= len(command):
        group, number, length = struct.unpack_from("<HHI", command, at)
        if (group, number) == (0, 0x0900) and length == 2:
            return int(struct.unpack_from("<H", command, at + 8)[0])
        at += 8 + length
    return None


def pdu(kind: int, body: bytes) -> bytes:
    return struct.pack(">BBI", kind, 0, len(body)) + body


def pdv(context: int, header: int, data: bytes) -> bytes:
    """A presentation data value item: header bit 0 command, bit 1 last fragment."""
    return struct.pack(">IBB", len(data) + 2, context, header) + data


def p_data(context: int, command: bytes, dataset: bytes, *, fragment: int = 0) -> bytes:
    """A command and its dataset as P-DATA-TF PDUs, the dataset in fragments of ``fragment``
    bytes (0: one), each in a PDU of its own."""
    out = pdu(4, pdv(context, 0b11, command))
    size = fragment or max(len(dataset), 1)
    parts = [dataset[at : at + size] for at in range(0, len(dataset), size)] or [b""]
    for n, part in enumerate(parts):
        out += pdu(4, pdv(context, 0b10 if n == len(parts) - 1 else 0, part))
    return out


@dataclass(frozen=True)
class DatasetCase:
    index: int
    kind: str
    sent: bytes  # the PDUs on the wire
    dataset: bytes  # the dataset they carry: what the listener stores when it answers success

    @property
    def expected(self) -> tuple[int, ...] | None:
        wanted = DATASET_KINDS[self.kind][1]
        return (wanted,) if isinstance(wanted, int) else wanted

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.dataset).hexdigest()


def dataset_case(
    seed: int, index: int, template: bytes, context: int, *, max_bytes: int
) -> DatasetCase:
    """Case ``index`` of the dataset family: a CT with a SOP Instance UID of its own."""
    rng = random.Random(f"{seed}:{index}")
    kinds = list(DATASET_KINDS)
    kind = rng.choices(kinds, weights=[DATASET_KINDS[k][0] for k in kinds])[0]
    sop_uid = f"1.2.826.0.1.3680043.10.99.14.{seed}.{index}"
    items = [
        Element(e.tag, e.vr, uid_value(sop_uid)) if e.tag == SOP_INSTANCE_UID else e
        for e in elements(template)
    ]
    command = store_command(index % 65536, sop_uid)
    dataset = encode(items)
    fragment = 0
    if kind == "fragmented":
        fragment = rng.randint(64, 256)
    elif kind == "cut_inside_element":
        dataset = _cut_inside_an_element(rng, items)
    elif kind in ("no_sop_instance_uid", "no_study_instance_uid"):
        gone = SOP_INSTANCE_UID if kind == "no_sop_instance_uid" else STUDY_INSTANCE_UID
        dataset = encode([e for e in items if e.tag != gone])
    elif kind == "empty_sop_instance_uid":
        dataset = encode(
            [Element(e.tag, e.vr, b"") if e.tag == SOP_INSTANCE_UID else e for e in items]
        )
    elif kind == "over_size_limit":
        pixels = bytes(max_bytes + rng.randint(2, 4096) & ~1)
        dataset = encode(
            [Element(e.tag, e.vr, pixels) if e.tag == PIXEL_DATA else e for e in items]
        )
    elif kind == "noise":
        dataset = rng.randbytes(rng.randint(0, 600))
    elif kind == "bytes_changed":
        dataset = _changed(rng, dataset)
    elif kind == "length_changed":
        dataset = _length_changed(rng, items)
    elif kind == "command_changed":
        command = _changed(rng, command)
    sent = p_data(context, command, dataset, fragment=fragment)
    if kind == "other_context":
        sent = p_data(rng.choice([0, 2, context + 2, 255]), command, dataset)
    elif kind == "dataset_before_command":
        sent = pdu(4, pdv(context, 0b10, dataset)) + pdu(4, pdv(context, 0b11, command))
    elif kind == "item_overruns_pdu":
        item = bytearray(pdv(context, 0b11, command))
        item[0:4] = struct.pack(">I", len(item) + rng.randint(1, 1 << 20))
        sent = pdu(4, bytes(item))
    elif kind == "unknown_pdu_type":
        sent = pdu(rng.choice([0, 8, 9, 0x7F, 0xFF]), rng.randbytes(rng.randint(0, 64)))
    elif kind == "last_fragment_missing":
        sent = pdu(4, pdv(context, 0b11, command)) + pdu(4, pdv(context, 0, dataset))
    return DatasetCase(index, kind, sent, dataset)


def _cut_inside_an_element(rng: random.Random, items: list[Element]) -> bytes:
    """The dataset cut after its tag and before its last byte, inside one element."""
    ordered = sorted(items, key=lambda item: item.tag)
    whole = [item.encode() for item in ordered]
    n = rng.randrange(len(whole))
    return b"".join(whole[:n]) + whole[n][: rng.randint(4, len(whole[n]) - 1)]


def _changed(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def _length_changed(rng: random.Random, items: list[Element]) -> bytes:
    """One element announcing a length it does not carry."""
    ordered = sorted(items, key=lambda item: item.tag)
    n = rng.randrange(len(ordered))
    whole = bytearray(ordered[n].encode())
    long = ordered[n].vr in LONG_LENGTH_VRS
    at, width = (8, "<I") if long else (6, "<H")
    limit = 0xFFFFFFFF if long else 0xFFFF
    struct.pack_into(width, whole, at, rng.choice([0, 1, 3, limit, rng.randrange(limit)]))
    return b"".join(item.encode() for item in ordered[:n]) + whole + encode(ordered[n + 1 :])


def connection_case(
    seed: int, index: int, echo: list[bytes], store: list[bytes]
) -> tuple[str, bytes]:
    """Case ``index`` of the connection family: its kind and the bytes sent."""
    rng = random.Random(f"{seed}:c{index}")
    kind = CONNECTION_KINDS[index % len(CONNECTION_KINDS)]
    if kind == "noise":
        data = rng.randbytes(rng.randint(0, 512))
        if data and rng.random() < 0.5:
            data = bytes([rng.randint(1, 7), 0]) + data
        return kind, data
    if kind in ("unknown_calling_ae", "unknown_called_ae"):
        request = bytearray(store[0])
        at = 26 if kind == "unknown_calling_ae" else 10
        request[at : at + 16] = f"FUZZ{index:012d}".encode()
        return kind, bytes(request)
    return kind, _mutated(rng, echo if kind == "echo_mutated" else store)


def _mutated(rng: random.Random, pdus: list[bytes]) -> bytes:
    stream = bytearray(b"".join(pdus))
    how = rng.choice(["flip", "truncate", "length", "insert", "shuffle"])
    if how == "flip":
        return _changed(rng, bytes(stream))
    if how == "truncate":
        return bytes(stream[: rng.randrange(1, len(stream))])
    if how == "length":  # a PDU announcing a length it does not carry, or an absurd one
        first = bytearray(rng.choice(pdus))
        first[2:6] = struct.pack(">I", rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, len(first)]))
        return bytes(first + stream)
    if how == "insert":
        at = rng.randrange(len(stream))
        stream[at:at] = rng.randbytes(rng.randint(1, 64))
        return bytes(stream)
    parts = list(pdus)
    rng.shuffle(parts)
    return b"".join(parts)
