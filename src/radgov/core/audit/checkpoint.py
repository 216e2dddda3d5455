"""Signed checkpoints of the chain head, and the anchor file outside the database.

A checkpoint says "entry ``seq`` of stripe 0 has hash ``entry_hash``" and, in ``heads``,
where every other stripe's head stood, all read in one statement (one snapshot); it is signed with the
audit Ed25519 key from the key file (``radgov.core.keys``), never stored in the
database.  Each checkpoint also signs the previous checkpoint's signature, so
removing or replacing one breaks the next.  Checkpoints are made:

* automatically by ``record`` every ``CHECKPOINT_EVERY`` entries of a stripe (same
  transaction);
* every minute by the Huey task ``radgov.core.tasks.checkpoint_audit_trail``;
* on demand by ``radgov audit checkpoint``.

After a checkpoint commits, it is also written to ``DATA_DIR/audit-anchor.json``
(atomically, never moving backwards), keyed by database, so that deleting the
newest checkpoints together with the newest entries is still caught.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from radgov.core.audit.chain import GENESIS, Problem, canonical_json, format_timestamp
from radgov.core.audit.head import lock_head
from radgov.core.models import AuditCheckpoint, AuditHead
from radgov.core.models.audit import appending

CHECKPOINT_EVERY = 100
SIGNED_FIELDS = ("number", "seq", "entry_hash", "created", "prev_signature", "key_id")
CHECKPOINT_FIELDS = (*SIGNED_FIELDS, "heads_json", "signature")
ANCHOR_FORMAT = "radgov-audit-anchor/1"


def signer() -> tuple[str, Any]:
    from radgov.core import keys

    return keys.audit_signer()


def public_keys() -> dict[str, Ed25519PublicKey]:
    from radgov.core import keys

    return keys.audit_public_keys()


def signed_bytes(cp: Mapping[str, Any]) -> bytes:
    doc = {name: cp[name] for name in SIGNED_FIELDS}
    doc["created"] = (
        format_timestamp(doc["created"]) if not isinstance(doc["created"], str) else doc["created"]
    )
    others = json.loads(cp.get("heads_json") or "[]")
    if others:  # a one-stripe checkpoint signs what it signed before stripes existed
        doc["heads"] = others
    doc["v"] = 1
    return canonical_json(doc).encode("ascii")


def heads(cp: Mapping[str, Any]) -> dict[int, tuple[int, str]]:
    """{stripe: (seq, entry_hash)} a checkpoint covers (stripe 0 always)."""
    found = {0: (cp["seq"], cp["entry_hash"])}
    for stripe, seq, entry_hash in json.loads(cp.get("heads_json") or "[]"):
        found[stripe] = (seq, entry_hash)
    return found


def make_checkpoint() -> AuditCheckpoint | None:
    """Checkpoint the current heads; None when nothing was added since the last one."""
    with transaction.atomic():
        lock_head(0)
        return checkpoint_locked()


def checkpoint_locked() -> AuditCheckpoint | None:
    """Checkpoint every stripe's head; the caller holds stripe 0's head, which makes
    checkpoints one at a time.  The heads are read in one statement: the stripes as one
    snapshot (the caller's own append included)."""
    now = {
        row[0] - 1: (row[1], row[2])
        for row in AuditHead.objects.order_by("pk").values_list("pk", "seq", "entry_hash")
        if row[1] > 0 or row[0] == 1
    }
    last = AuditCheckpoint.objects.order_by("-number").first()
    if not any(seq for seq, _ in now.values()) or (
        last is not None and heads(last.__dict__) == now
    ):
        return None
    key_id, key = signer()
    seq, entry_hash = now.pop(0, (0, GENESIS))
    cp = AuditCheckpoint(
        number=(last.number + 1) if last else 1,
        seq=seq,
        entry_hash=entry_hash,
        heads_json=canonical_json([[stripe, *now[stripe]] for stripe in sorted(now)]),
        created=timezone.now(),
        prev_signature=last.signature if last else "",
        key_id=key_id,
    )
    cp.signature = key.sign(signed_bytes(cp.__dict__)).hex()
    with appending():
        cp.save(force_insert=True)
    values = {name: getattr(cp, name) for name in CHECKPOINT_FIELDS}
    # robust: the checkpoint is committed; a failed anchor write is logged, and
    # the next checkpoint writes a newer anchor anyway.
    transaction.on_commit(lambda: write_anchor(values), robust=True)
    return cp


def verify_checkpoints(
    checkpoints: Iterable[Mapping[str, Any]], keys: Mapping[str, Ed25519PublicKey]
) -> tuple[Problem | None, dict[int, dict[int, tuple[int, str]]]]:
    """Check numbering, the signature chain and each signature.  Returns the first problem
    and, per stripe, {seq: (number, entry_hash)} of the checkpoints before it."""
    expected: dict[int, dict[int, tuple[int, str]]] = {}
    number, prev_sig, prev_heads = 1, "", {0: (0, GENESIS)}
    for cp in checkpoints:
        now = heads(cp)
        where = f"checkpoint {cp['number']} (at entry {cp['seq']})"
        problem = None
        if cp["number"] != number:
            problem = f"checkpoint {number} is missing (deleted); found {where}"
        elif cp["prev_signature"] != prev_sig:
            problem = f"{where}: does not follow checkpoint {number - 1} (checkpoints replaced or reordered)"
        elif not _moved_on(prev_heads, now):
            problem = f"{where}: covers no entry past the previous checkpoint"
        elif not _signature_ok(cp, keys):
            problem = f"{where}: signature does not verify (forged or altered)"
        if problem:
            return Problem("signature", problem, cp["seq"], cp.get("id")), expected
        for stripe, (seq, entry_hash) in now.items():
            expected.setdefault(stripe, {})[seq] = (cp["number"], entry_hash)
        number, prev_sig, prev_heads = number + 1, cp["signature"], now
    return None, expected


def _moved_on(before: Mapping[int, tuple[int, str]], now: Mapping[int, tuple[int, str]]) -> bool:
    """Some stripe's head moved forward and none moved back."""
    ahead = any(seq > before.get(stripe, (0, ""))[0] for stripe, (seq, _) in now.items())
    return ahead and all(now.get(stripe, (0, ""))[0] >= seq for stripe, (seq, _) in before.items())


def _signature_ok(cp: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> bool:
    key = keys.get(cp["key_id"])
    if key is None:
        return False
    try:
        key.verify(bytes.fromhex(cp["signature"]), signed_bytes(cp))
    except (InvalidSignature, ValueError):
        return False
    return True


# --- the anchor file ---------------------------------------------------------------------


def anchor_path() -> Path:
    return Path(settings.DATA_DIR) / "audit-anchor.json"


def database_key() -> str:
    """Which database an anchor belongs to (no credentials)."""
    s = connection.settings_dict
    return f"{connection.vendor}:{s.get('HOST') or ''}:{s.get('PORT') or ''}/{s['NAME']}"


class AnchorUnreadable(ValueError):
    pass


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise AnchorUnreadable(f"the anchor file {path} is unreadable or not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("databases", {}), dict):
        raise AnchorUnreadable(f"the anchor file {path} is not a {ANCHOR_FORMAT} file")
    return data


def read_anchor() -> dict[str, Any] | None:
    """This database's entry in the anchor file; raises AnchorUnreadable."""
    path = anchor_path()
    if not path.exists():
        return None
    return _load(path).get("databases", {}).get(database_key())


def write_anchor(cp: Mapping[str, Any]) -> None:
    """Record ``cp`` as this database's newest checkpoint unless a newer one is there."""
    path = anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        k: (format_timestamp(v) if k == "created" else v)
        for k, v in cp.items()
        if k in CHECKPOINT_FIELDS
    }
    with _locked(path.with_name(path.name + ".lock")):
        # An unreadable file is evidence: raise (logged by on_commit) rather than overwrite it.
        data = _load(path) if path.exists() else {"format": ANCHOR_FORMAT}
        databases = data.setdefault("databases", {})
        current = databases.get(database_key())
        if current is not None and current["number"] >= entry["number"]:
            return
        databases[database_key()] = entry
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def check_anchor(
    anchor: Mapping[str, Any] | None, checkpoints: list[Mapping[str, Any]]
) -> Problem | None:
    if anchor is None:
        return None
    number = anchor["number"]
    stored = next((cp for cp in checkpoints if cp["number"] == number), None)
    if stored is None:
        last = checkpoints[-1]["number"] if checkpoints else 0
        return Problem(
            "anchor",
            f"the anchor file records checkpoint {number} (entry {anchor['seq']}) but the database's "
            f"last checkpoint is {last} (checkpoints and entries truncated)",
            anchor["seq"],
        )
    if stored["signature"] != anchor["signature"] or stored["entry_hash"] != anchor["entry_hash"]:
        return Problem(
            "anchor", f"checkpoint {number} differs from the anchor file (replaced)", anchor["seq"]
        )
    return None


class _locked:
    def __init__(self, path: Path) -> None:
        self.path, self.fd = path, -1

    def __enter__(self) -> None:
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)
