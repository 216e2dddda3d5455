"""The key store: every secret key radgov uses, in one JSON file outside the database.

The file is ``RADGOV_KEY_FILE`` (default ``DATA_DIR/keys.json``), mode 0600,
always written atomically (a temporary file, then ``os.replace``).  Keys never
go into the database, the logs or an error message; errors name the setting,
the path and at most a key id.

Outside production a missing file is generated on first use.  Under
``RADGOV_PRODUCTION=1`` a missing file is an ``ImproperlyConfigured`` error
(create one with ``radgov keys init``): radgov never falls back to plaintext.
A malformed file is an error everywhere and is never overwritten.

File format (``"format": "radgov-keys/1"``), every key base64 (standard
alphabet) of 32 raw bytes::

    {
      "format": "radgov-keys/1",
      "encryption": {"active": "k1a2b3c4d",
                     "keys": {"k1a2b3c4d": {"key": "...", "created": "2026-11-23T19:00:00+00:00"}}},
      "pseudonym": "...",                      # HMAC-SHA256 key for pseudonyms
      "audit_signing": {"active": "a5e6f7a8b",
                        "keys": {"a5e6f7a8b": {"key": "...", "created": "..."}}},  # Ed25519 seeds
      "master": "..."                          # HKDF-SHA256 input for derive_key()
    }

Old encryption keys stay in the file after ``add_encryption_key()`` so values
not yet re-encrypted still decrypt.  The loaded file is cached per process and
reloaded when the file on disk changes (another process rotated) or when an
unknown key id is asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured

from radgov.core import config

logger = logging.getLogger("radgov.keys")

FORMAT = "radgov-keys/1"
KEY_BYTES = 32
SETTING = "RADGOV_KEY_FILE"


class UnknownKeyId(KeyError):
    """No encryption key with this id is in the key file (the message names only the id)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(key_id)
        self.key_id = key_id

    def __str__(self) -> str:
        return f"no encryption key with id {self.key_id!r} in the key file ({SETTING})"


@dataclass(frozen=True)
class KeyRing:
    """The parsed key file.  Its repr never shows key material."""

    path: Path
    active_id: str
    encryption: dict[str, bytes]
    pseudonym: bytes
    audit_active_id: str
    audit_signing: dict[str, bytes]
    master: bytes

    def __repr__(self) -> str:
        return f"<KeyRing {self.path} active={self.active_id} keys={sorted(self.encryption)}>"


_lock = threading.RLock()
_cache: tuple[tuple[str, int, int, int], KeyRing] | None = None


def key_file_path() -> Path:
    configured = config.get(SETTING)
    return config.absolute(configured) if configured else config.data_dir() / "keys.json"


def clear_cache() -> None:
    """Forget the loaded key file (tests, and after the file changed)."""
    global _cache
    with _lock:
        _cache = None


# --- public API ----------------------------------------------------------------------


def active_encryption_key() -> tuple[str, bytes]:
    ring = _ring()
    return ring.active_id, ring.encryption[ring.active_id]


def encryption_key(key_id: str) -> bytes:
    ring = _ring()
    if key_id not in ring.encryption:
        clear_cache()  # another process may have added it
        ring = _ring()
    try:
        return ring.encryption[key_id]
    except KeyError:
        raise UnknownKeyId(key_id) from None


def encryption_key_ids() -> list[str]:
    return sorted(_ring().encryption)


def pseudonym_key() -> bytes:
    return _ring().pseudonym


def audit_signer() -> tuple[str, Ed25519PrivateKey]:
    ring = _ring()
    return ring.audit_active_id, Ed25519PrivateKey.from_private_bytes(
        ring.audit_signing[ring.audit_active_id]
    )


def audit_public_keys() -> dict[str, Ed25519PublicKey]:
    return {
        key_id: Ed25519PrivateKey.from_private_bytes(seed).public_key()
        for key_id, seed in _ring().audit_signing.items()
    }


def derive_key(purpose: str) -> bytes:
    """32 bytes from HKDF-SHA256 of the master secret with ``info=purpose``.

    The same purpose always gives the same key (for one key file); different
    purposes give independent keys.
    """
    if not purpose:
        raise ValueError("derive_key needs a non-empty purpose")
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode("utf-8")
    )
    return hkdf.derive(_ring().master)


def add_encryption_key() -> str:
    """Add a new encryption key, make it the active one and return its id.

    Old keys stay in the file for decryption.  The file is rewritten
    atomically under a lock, so two concurrent calls cannot lose a key.
    """
    with _lock, _file_lock(key_file_path()):
        clear_cache()
        ring = _ring()
        key_id = _new_key_id(set(ring.encryption))
        data = _read_json(ring.path)
        data["encryption"]["keys"][key_id] = _entry(secrets.token_bytes(KEY_BYTES))
        data["encryption"]["active"] = key_id
        _write_atomic(ring.path, data)
        clear_cache()
    logger.info("added encryption key %s; it is now the active key", key_id)
    return key_id


def check_keys() -> None:
    """Raise ``ImproperlyConfigured`` unless the key file is present, well formed and usable.

    Outside production a missing file is generated (as on any first use).
    """
    clear_cache()
    ring = _ring()
    # Prove the keys work, not only that they parse.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    aes = AESGCM(ring.encryption[ring.active_id])
    if aes.decrypt(nonce, aes.encrypt(nonce, b"check", b"check"), b"check") != b"check":
        raise ImproperlyConfigured(f"{SETTING}: the active encryption key does not round-trip")
    key_id, signer = audit_signer()
    audit_public_keys()[key_id].verify(signer.sign(b"check"), b"check")


def init_key_file(path: Path | None = None) -> Path:
    """Create a new key file; refuse to overwrite an existing one."""
    path = path or key_file_path()
    if path.exists():
        raise ImproperlyConfigured(
            f"{SETTING}: {path} already exists; radgov never overwrites a key file"
        )
    _create(path)
    return path


def file_permissions_too_open(path: Path | None = None) -> bool:
    path = path or key_file_path()
    return path.exists() and bool(path.stat().st_mode & 0o077)


# --- loading ---------------------------------------------------------------------------


def _ring() -> KeyRing:
    global _cache
    path = key_file_path()
    with _lock:
        stamp = _stamp(path)
        if _cache is not None and stamp is not None and _cache[0] == stamp:
            return _cache[1]
        if stamp is None:
            if config.get_bool("RADGOV_PRODUCTION"):
                raise ImproperlyConfigured(
                    f"{SETTING}: no key file at {path}. Under RADGOV_PRODUCTION=1 radgov will not start "
                    "without its keys; create one with `radgov keys init` (and back it up) or point "
                    f"{SETTING} at the existing file."
                )
            _create(path)
            stamp = _stamp(path)
            assert stamp is not None
        ring = _parse(path, _read_json(path))
        _cache = (stamp, ring)
        return ring


def _stamp(path: Path) -> tuple[str, int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (str(path), st.st_ino, st.st_mtime_ns, st.st_size)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        # The parser's message may quote file content: keep it out.
        raise ImproperlyConfigured(
            f"{SETTING}: the key file {path} is unreadable or not JSON"
        ) from None
    if not isinstance(data, dict):
        raise ImproperlyConfigured(
            f"{SETTING}: the key file {path} is malformed: not a JSON object"
        )
    return data


def _parse(path: Path, data: dict[str, Any]) -> KeyRing:
    def bad(what: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"{SETTING}: the key file {path} is malformed: {what}")

    if data.get("format") != FORMAT:
        raise bad(f"'format' is not {FORMAT!r}")

    def key(value: Any, where: str) -> bytes:
        raw = value.get("key") if isinstance(value, dict) else value
        if not isinstance(raw, str):
            raise bad(f"{where} is not a base64 string")
        try:
            decoded = base64.b64decode(raw.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise bad(f"{where} is not valid base64") from None
        if len(decoded) != KEY_BYTES:
            raise bad(f"{where} is not {KEY_BYTES} bytes")
        return decoded

    def keyset(name: str) -> tuple[str, dict[str, bytes]]:
        section = data.get(name)
        if (
            not isinstance(section, dict)
            or not isinstance(section.get("keys"), dict)
            or not section["keys"]
        ):
            raise bad(f"'{name}' has no keys")
        keys = {}
        for key_id, value in section["keys"].items():
            if not _valid_key_id(key_id):
                raise bad(f"'{name}' has a key id that is not 1-32 letters and digits")
            keys[key_id] = key(value, f"{name} key {key_id!r}")
        active = section.get("active")
        if active not in keys:
            raise bad(f"'{name}.active' names no key in the file")
        return active, keys

    active_id, encryption = keyset("encryption")
    audit_active_id, audit_signing = keyset("audit_signing")
    return KeyRing(
        path=path,
        active_id=active_id,
        encryption=encryption,
        pseudonym=key(data.get("pseudonym"), "'pseudonym'"),
        audit_active_id=audit_active_id,
        audit_signing=audit_signing,
        master=key(data.get("master"), "'master'"),
    )


def _valid_key_id(key_id: Any) -> bool:
    return (
        isinstance(key_id, str) and 0 < len(key_id) <= 32 and key_id.isascii() and key_id.isalnum()
    )


# --- writing ---------------------------------------------------------------------------


def _new_key_id(taken: set[str], prefix: str = "k") -> str:
    while True:
        key_id = prefix + secrets.token_hex(4)
        if key_id not in taken:
            return key_id


def _entry(raw: bytes) -> dict[str, str]:
    return {
        "key": base64.b64encode(raw).decode("ascii"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _create(path: Path) -> None:
    enc_id, audit_id = _new_key_id(set()), _new_key_id(set(), prefix="a")
    data = {
        "format": FORMAT,
        "encryption": {"active": enc_id, "keys": {enc_id: _entry(secrets.token_bytes(KEY_BYTES))}},
        "pseudonym": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii"),
        "audit_signing": {
            "active": audit_id,
            "keys": {audit_id: _entry(secrets.token_bytes(KEY_BYTES))},
        },
        "master": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(path, data)
    try:
        os.link(tmp, path)  # atomic create-if-absent: a concurrent first use keeps one file
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    logger.warning(
        "generated a new key file at %s; back it up: without it encrypted values are lost", path
    )


def _write_tmp(path: Path, data: dict[str, Any]) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = _write_tmp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _file_lock:
    """An exclusive advisory lock on ``<key file>.lock`` (POSIX only; a no-op elsewhere)."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + ".lock")
        self.fd: int | None = None

    def __enter__(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None
