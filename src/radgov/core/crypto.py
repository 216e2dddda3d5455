"""Encryption and pseudonyms for identifiers (ARCHITECTURE.md rule 5).

``encrypt`` gives a self-describing token ``v1.<key_id>.<base64url(nonce + ciphertext)>``:
AES-256-GCM under the key ``key_id`` from the key store, a random 96-bit nonce,
and the caller's ``context`` (e.g. ``"core.patientidentity.mrn"``) as associated
data, so a token copied into another column or purpose does not decrypt.

``pseudonym`` gives a keyed HMAC-SHA256 (hex) for joining and searching without
the plaintext.  Normalization, applied before hashing: Unicode NFC, then
leading and trailing whitespace stripped.  Case and inner spaces are kept
("mrn12" and "MRN12" are different identifiers).  An empty value is refused.

Errors never include a key, a plaintext or a token; at most a key id and the context,
and Django's error reports hide the local variables that hold them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import unicodedata
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.views.decorators.debug import sensitive_variables

from radgov.core import keys

VERSION = "v1"
NONCE_BYTES = 12
# The context allauth's MFA adapter uses for TOTP secrets and recovery-code seeds.
MFA_CONTEXT = "mfa.totp"


class DecryptionError(ValueError):
    """A token that is malformed, under an unknown key, or does not authenticate."""


@sensitive_variables("plaintext")
def encrypt(plaintext: str, *, context: str) -> str:
    if not isinstance(plaintext, str):
        raise TypeError("encrypt takes a str")
    return encrypt_many([plaintext], context=context)[0]


@sensitive_variables("plaintexts", "key", "nonces", "aead")
def encrypt_many(plaintexts: Sequence[str], *, context: str) -> list[str]:
    """``encrypt`` of each value (a bulk write's column): the key, the cipher and the
    nonces' random bytes are taken once for all of them."""
    if not all(isinstance(v, str) for v in plaintexts):
        raise TypeError("encrypt_many takes a sequence of str")
    _check_context(context)
    key_id, key = keys.active_encryption_key()
    aead, data = AESGCM(key), context.encode("utf-8")
    nonces = os.urandom(NONCE_BYTES * len(plaintexts))
    prefix = f"{VERSION}.{key_id}."
    return [
        prefix + _b64encode(nonce + aead.encrypt(nonce, text.encode("utf-8"), data))
        for nonce, text in zip(
            (nonces[i : i + NONCE_BYTES] for i in range(0, len(nonces), NONCE_BYTES)),
            plaintexts,
            strict=True,
        )
    ]


@sensitive_variables("token", "key", "blob", "plain")
def decrypt(token: str, *, context: str) -> str:
    _check_context(context)
    key_id, blob = _split(token)
    try:
        key = keys.encryption_key(key_id)
    except keys.UnknownKeyId:
        raise DecryptionError(
            f"encrypted value under unknown key id {key_id!r} (is {keys.SETTING} the right file?)"
        ) from None
    try:
        plain = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode("utf-8"))
    except InvalidTag:
        raise DecryptionError(
            f"encrypted value under key {key_id!r} does not authenticate for context {context!r} "
            "(tampered, or stored for another field)"
        ) from None
    return plain.decode("utf-8")


def key_id_of(token: str) -> str:
    return _split(token)[0]


def is_token(value: object) -> bool:
    """True when ``value`` is shaped like a token (it may still fail to decrypt)."""
    if not isinstance(value, str):
        return False
    try:
        _split(value)
    except DecryptionError:
        return False
    return True


def normalize(value: str) -> str:
    """The form of an identifier that is pseudonymized: NFC, outer whitespace stripped."""
    return unicodedata.normalize("NFC", value).strip()


@sensitive_variables("value")
def pseudonym(value: str, *, namespace: str) -> str:
    if not isinstance(value, str):
        raise TypeError("pseudonym takes a str")
    return pseudonyms([value], namespace=namespace)[0]


@sensitive_variables("values", "key", "texts")
def pseudonyms(values: Sequence[str], *, namespace: str) -> list[str]:
    """``pseudonym`` of each value (a bulk write's column), the key taken once."""
    if not all(isinstance(v, str) for v in values):
        raise TypeError("pseudonyms takes a sequence of str")
    if not namespace or "\x00" in namespace:
        raise ValueError("pseudonym needs a non-empty namespace without NUL characters")
    texts = [normalize(v) for v in values]
    if not all(texts):
        raise ValueError(f"an empty identifier has no pseudonym (namespace {namespace!r})")
    key, prefix = keys.pseudonym_key(), namespace.encode("utf-8") + b"\x00"
    return [hmac.digest(key, prefix + t.encode("utf-8"), "sha256").hex() for t in texts]


def _check_context(context: str) -> None:
    if not isinstance(context, str) or not context:
        raise ValueError("encryption needs a non-empty context")


def _split(token: str) -> tuple[str, bytes]:
    if not isinstance(token, str):
        raise DecryptionError("not an encrypted value (expected a str token)")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION or not parts[1].isascii() or not parts[1].isalnum():
        raise DecryptionError(f"not an encrypted value (expected '{VERSION}.<key id>.<data>')")
    try:
        blob = _b64decode(parts[2])
    except (binascii.Error, ValueError):
        raise DecryptionError("encrypted value is not valid base64url") from None
    if len(blob) < NONCE_BYTES + 16:
        raise DecryptionError("encrypted value is too short")
    return parts[1], blob


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text.isascii() or "=" in text:
        raise ValueError("not base64url")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
