"""The re-identification mapping table, encrypted at rest.

Written only when asked (``radgov deid ... --mapping FILE``).  File format, version 1::

    offset  size  content
    0       8     magic b"RGDEIDMP"
    8       1     format version (1)
    9       12    AES-GCM nonce (random)
    21      ...   AES-256-GCM ciphertext + 16-byte tag of the UTF-8 JSON document

The AES key is HKDF-SHA256(deid key, salt=None, info=b"radgov deid mapping v1", length=32); the
9 header bytes (magic + version) are the associated data, so they cannot be altered unnoticed.

The JSON document::

    {"format": "radgov-deid-mapping", "version": 1, "edition": "2026d",
     "created_utc": "...", "options": [...],
     "uids": {"<original UID>": "<new UID>", ...},
     "patients": {"<patient key>": {"pseudonym": "RG...", "date_offset_days": -123 | null}}}

The patient key is ``id:<Patient ID>^<Issuer>`` (or ``name:<name>^<birth date>``, or
``study:<Study Instance UID>`` when the file has no patient identity).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"RGDEIDMP"
VERSION = 1
HKDF_INFO = b"radgov deid mapping v1"
_HEADER = MAGIC + bytes([VERSION])


class MappingError(ValueError):
    """The file is not a radgov mapping table, or the key does not open it."""


def _aes_key(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(key)


def encrypt_mapping(document: dict[str, Any], key: bytes) -> bytes:
    nonce = os.urandom(12)
    plaintext = json.dumps(document, sort_keys=True).encode("utf-8")
    return _HEADER + nonce + AESGCM(_aes_key(key)).encrypt(nonce, plaintext, _HEADER)


def decrypt_mapping(blob: bytes, key: bytes) -> dict[str, Any]:
    if len(blob) < len(_HEADER) + 12 + 16 or not blob.startswith(MAGIC):
        raise MappingError("not a radgov de-identification mapping file")
    if blob[len(MAGIC)] != VERSION:
        raise MappingError(f"unsupported mapping file version {blob[len(MAGIC)]}")
    nonce = blob[len(_HEADER) : len(_HEADER) + 12]
    try:
        plaintext = AESGCM(_aes_key(key)).decrypt(nonce, blob[len(_HEADER) + 12 :], _HEADER)
    except Exception as exc:
        raise MappingError("the key does not open this mapping file (or it was altered)") from exc
    result: dict[str, Any] = json.loads(plaintext)
    return result


def write_mapping(path: str | Path, document: dict[str, Any], key: bytes) -> None:
    """Write the encrypted table (created with mode 0600, replaced atomically)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(encrypt_mapping(document, key))
    os.replace(tmp, target)


def read_mapping(path: str | Path, key: bytes) -> dict[str, Any]:
    """Decrypt a mapping table written by ``radgov deid --mapping``."""
    return decrypt_mapping(Path(path).read_bytes(), key)
