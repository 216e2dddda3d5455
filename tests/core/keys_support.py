"""A private key file for each test, so tests never touch ./var/keys.json.

Import it into a test module (``from .keys_support import private_key_file``);
it is autouse there, and tests get the file's path as the fixture ``key_file``.
"""

from __future__ import annotations

import pytest

from radgov.core import keys


@pytest.fixture(autouse=True, name="key_file")
def private_key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RADGOV_KEY_FILE", str(tmp_path / "keys.json"))
    monkeypatch.delenv("RADGOV_PRODUCTION", raising=False)
    keys.clear_cache()
    yield tmp_path / "keys.json"
    keys.clear_cache()
