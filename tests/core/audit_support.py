"""Fixtures shared by the audit tests: a throw-away Ed25519 audit key (instead of
the key file) and a private data folder for the anchor file."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from radgov.core import keys


@pytest.fixture
def audit_key(monkeypatch, settings, tmp_path):
    key = Ed25519PrivateKey.generate()
    monkeypatch.setattr(keys, "audit_signer", lambda: ("testkey", key))
    monkeypatch.setattr(keys, "audit_public_keys", lambda: {"testkey": key.public_key()})
    settings.DATA_DIR = tmp_path
    return key
