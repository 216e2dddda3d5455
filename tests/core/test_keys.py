"""radgov.core.keys: the key file, its generation, validation, rotation and derived keys."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured

from radgov.core import keys
from radgov.core.checks import check_keys_configured

from .keys_support import private_key_file  # noqa: F401


def all_key_material(path) -> list[str]:
    """Every key in the file, base64 as stored and in hex and urlsafe forms."""
    data = json.loads(path.read_text())
    found = [data["pseudonym"], data["master"]]
    for section in ("encryption", "audit_signing"):
        found += [entry["key"] for entry in data[section]["keys"].values()]
    forms = []
    for b64 in found:
        raw = base64.b64decode(b64)
        forms += [
            b64,
            b64.rstrip("="),
            raw.hex(),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
        ]
    return forms


def test_generated_on_first_use_with_mode_0600(key_file):
    assert not key_file.exists()
    key_id, key = keys.active_encryption_key()
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    data = json.loads(key_file.read_text())
    assert data["format"] == "radgov-keys/1"
    assert data["encryption"]["active"] == key_id
    assert base64.b64decode(data["encryption"]["keys"][key_id]["key"]) == key
    assert len(key) == 32 and len(keys.pseudonym_key()) == 32
    assert not list(key_file.parent.glob("*.tmp"))


def test_the_data_dir_is_the_default_location(tmp_path, monkeypatch):
    monkeypatch.delenv("RADGOV_KEY_FILE")
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path / "data"))
    assert keys.key_file_path() == (tmp_path / "data" / "keys.json").resolve()


def test_a_relative_location_follows_the_working_folder_and_home(tmp_path, monkeypatch):
    """The resolved path is remembered, but per working folder and per setting: a process
    that changes folder, or a setting changed, never gets the old answer."""
    for name in ("first", "second", "home"):
        (tmp_path / name).mkdir()
    monkeypatch.delenv("RADGOV_KEY_FILE")
    monkeypatch.setenv("RADGOV_DATA_DIR", "data")
    monkeypatch.chdir(tmp_path / "first")
    assert keys.key_file_path() == (tmp_path / "first" / "data" / "keys.json").resolve()
    monkeypatch.chdir(tmp_path / "second")
    assert keys.key_file_path() == (tmp_path / "second" / "data" / "keys.json").resolve()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADGOV_DATA_DIR", "~/var")
    assert keys.key_file_path() == (tmp_path / "home" / "var" / "keys.json").resolve()
    monkeypatch.setenv("RADGOV_KEY_FILE", "~/keys.json")
    assert keys.key_file_path() == (tmp_path / "home" / "keys.json").resolve()


def test_the_same_file_gives_the_same_keys(key_file):
    first = (keys.active_encryption_key(), keys.pseudonym_key(), keys.derive_key("deid"))
    keys.clear_cache()
    assert (keys.active_encryption_key(), keys.pseudonym_key(), keys.derive_key("deid")) == first


def test_production_refuses_a_missing_key_file(key_file, monkeypatch):
    monkeypatch.setenv("RADGOV_PRODUCTION", "1")
    with pytest.raises(ImproperlyConfigured) as info:
        keys.active_encryption_key()
    assert "RADGOV_KEY_FILE" in str(info.value)
    assert "radgov keys init" in str(info.value)
    assert not key_file.exists()  # never generated under production
    with pytest.raises(ImproperlyConfigured):
        keys.check_keys()


def test_production_uses_an_existing_key_file(key_file, monkeypatch):
    keys.init_key_file()
    monkeypatch.setenv("RADGOV_PRODUCTION", "1")
    keys.clear_cache()
    keys.check_keys()


def good_file(key_file) -> dict:
    keys.active_encryption_key()
    return json.loads(key_file.read_text())


def truncate_active(data):
    data["encryption"]["keys"][data["encryption"]["active"]]["key"] = base64.b64encode(
        b"short"
    ).decode()


def remove_active(data):
    data["encryption"]["active"] = "knotthere"


def bad_base64(data):
    data["master"] = "not base64 at all!"


def bad_key_id(data):
    data["encryption"]["keys"]["bad.id"] = data["encryption"]["keys"][data["encryption"]["active"]]


def no_audit_key(data):
    del data["audit_signing"]


def wrong_format(data):
    data["format"] = "something-else"


@pytest.mark.parametrize(
    "damage", [truncate_active, remove_active, bad_base64, bad_key_id, no_audit_key, wrong_format]
)
@pytest.mark.parametrize("production", ["0", "1"])
def test_a_malformed_file_is_refused_and_never_overwritten(
    key_file, monkeypatch, damage, production
):
    data = good_file(key_file)
    secrets_before = all_key_material(key_file)
    damage(data)
    key_file.write_text(json.dumps(data))
    before = key_file.read_bytes()
    monkeypatch.setenv("RADGOV_PRODUCTION", production)
    keys.clear_cache()
    with pytest.raises(ImproperlyConfigured) as info:
        keys.check_keys()
    message = str(info.value)
    assert "RADGOV_KEY_FILE" in message and "malformed" in message
    assert not any(secret in message for secret in secrets_before)
    assert key_file.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"{not json", b"[]", b"\xff\xfe"])
def test_unparseable_files_are_refused_without_quoting_them(key_file, content):
    key_file.write_bytes(content)
    with pytest.raises(ImproperlyConfigured) as info:
        keys.pseudonym_key()
    assert "RADGOV_KEY_FILE" in str(info.value)
    assert "not json" not in str(info.value)
    assert key_file.read_bytes() == content


def test_add_encryption_key_keeps_old_keys_and_rewrites_atomically(key_file):
    old_id, old_key = keys.active_encryption_key()
    inode = key_file.stat().st_ino
    new_id = keys.add_encryption_key()
    assert new_id != old_id
    assert keys.active_encryption_key()[0] == new_id
    assert keys.encryption_key(old_id) == old_key
    assert set(keys.encryption_key_ids()) == {old_id, new_id}
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.stat().st_ino != inode  # replaced, not written in place
    assert not list(key_file.parent.glob("*.tmp"))
    # the rest of the file is untouched
    assert len(keys.pseudonym_key()) == 32
    keys.check_keys()


def test_a_change_by_another_process_is_picked_up(key_file):
    old_id, _ = keys.active_encryption_key()
    data = json.loads(key_file.read_text())
    data["encryption"]["keys"]["kother"] = {"key": base64.b64encode(os.urandom(32)).decode()}
    data["encryption"]["active"] = "kother"
    tmp = key_file.with_suffix(".new")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, key_file)
    assert keys.active_encryption_key()[0] == "kother"
    assert keys.encryption_key(old_id)


def test_unknown_key_id_names_only_the_id():
    keys.active_encryption_key()
    with pytest.raises(KeyError) as info:
        keys.encryption_key("kmissing")
    assert isinstance(info.value, keys.UnknownKeyId)
    assert "kmissing" in str(info.value) and "RADGOV_KEY_FILE" in str(info.value)


def test_derive_key_is_hkdf_sha256_of_the_master_secret(key_file):
    keys.active_encryption_key()
    master = base64.b64decode(json.loads(key_file.read_text())["master"])
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"deid").derive(master)
    assert keys.derive_key("deid") == expected
    assert keys.derive_key("deid") != keys.derive_key("other")
    assert master not in (keys.derive_key("deid"), keys.pseudonym_key())
    with pytest.raises(ValueError):
        keys.derive_key("")


def test_audit_signer_verifies_with_its_public_key():
    key_id, signer = keys.audit_signer()
    signature = signer.sign(b"entry")
    public = keys.audit_public_keys()
    assert key_id in public
    public[key_id].verify(signature, b"entry")


def test_init_refuses_to_overwrite(key_file):
    keys.init_key_file()
    before = key_file.read_bytes()
    with pytest.raises(ImproperlyConfigured):
        keys.init_key_file()
    assert key_file.read_bytes() == before


def test_repr_of_the_key_ring_shows_no_key(key_file):
    ring = keys._ring()
    assert not any(secret in repr(ring) for secret in all_key_material(key_file))


def test_too_open_permissions_are_reported(key_file):
    keys.active_encryption_key()
    assert not keys.file_permissions_too_open()
    key_file.chmod(0o644)
    assert keys.file_permissions_too_open()


# --- production: refuse to start without keys; never show a key -----------------------------


def radgov(*args, data_dir, key_file, production="1"):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        RADGOV_PRODUCTION=production,
        RADGOV_SECRET_KEY="test-secret-key-not-a-radgov-key-0123456789",
        RADGOV_DATA_DIR=str(data_dir),
        RADGOV_KEY_FILE=str(key_file),
        RADGOV_LOG_LEVEL="DEBUG",
    )
    return subprocess.run(
        [sys.executable, "-m", "radgov.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_system_check_fails_under_production_without_keys(key_file, monkeypatch):
    monkeypatch.setenv("RADGOV_PRODUCTION", "1")
    errors = check_keys_configured(None)
    assert [e.id for e in errors] == ["radgov.keys.E001"]
    assert "RADGOV_KEY_FILE" in errors[0].msg and "radgov keys init" in errors[0].hint


def test_the_system_check_passes_with_keys_and_outside_production(key_file, monkeypatch):
    assert check_keys_configured(None) == []  # missing outside production: generated on use
    assert not key_file.exists()
    keys.init_key_file()
    monkeypatch.setenv("RADGOV_PRODUCTION", "1")
    assert check_keys_configured(None) == []
    key_file.chmod(0o640)
    assert [e.id for e in check_keys_configured(None)] == ["radgov.keys.W001"]


def test_the_system_check_fails_on_a_malformed_file_anywhere(key_file):
    key_file.write_text("{}")
    assert [e.id for e in check_keys_configured(None)] == ["radgov.keys.E001"]


def test_keys_check_exits_1_under_production_without_a_key_file(tmp_path):
    missing = tmp_path / "nowhere" / "keys.json"
    result = radgov("keys", "check", data_dir=tmp_path / "data", key_file=missing)
    assert result.returncode == 1
    assert "RADGOV_KEY_FILE" in result.stderr and str(missing) in result.stderr
    assert not missing.exists()


def test_migrate_refuses_to_start_under_production_without_keys(tmp_path):
    result = radgov("migrate", data_dir=tmp_path / "data", key_file=tmp_path / "keys.json")
    assert result.returncode != 0
    assert "radgov.keys.E001" in result.stderr
    assert "Applying" not in result.stdout


def test_serve_refuses_to_start_under_production_without_keys(tmp_path):
    # Were the check not to stop it, the server would run until the timeout.
    result = radgov(
        "serve",
        "--no-worker",
        "--no-migrate",
        "--port",
        "0",
        data_dir=tmp_path / "data",
        key_file=tmp_path / "keys.json",
    )
    assert result.returncode != 0
    assert "radgov.keys.E001" in result.stderr and "serving" not in result.stdout


def test_keys_init_then_check_under_production_never_print_a_key(tmp_path):
    data_dir, path = tmp_path / "data", tmp_path / "secure" / "keys.json"
    created = radgov("keys", "init", data_dir=data_dir, key_file=path)
    assert created.returncode == 0, created.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = radgov("keys", "init", data_dir=data_dir, key_file=path)
    assert again.returncode == 1 and "never overwrites" in again.stderr
    checked = radgov("keys", "check", data_dir=data_dir, key_file=path)
    assert checked.returncode == 0, checked.stderr
    assert "keys usable" in checked.stdout
    path.write_text(path.read_text().replace('"format": "radgov-keys/1"', '"format": "x"'))
    broken = radgov("keys", "check", data_dir=data_dir, key_file=path)
    assert broken.returncode == 1 and "malformed" in broken.stderr
    logs = "".join(p.read_text() for p in (data_dir / "logs").glob("*"))
    shown = "".join(r.stdout + r.stderr for r in (created, again, checked, broken)) + logs
    assert not any(secret in shown for secret in all_key_material(path))


def test_no_key_in_logs_or_errors_of_the_key_store(key_file, caplog):
    caplog.set_level(logging.DEBUG)
    messages = []
    keys.check_keys()
    keys.add_encryption_key()
    keys.derive_key("deid")
    keys.audit_signer()[1].sign(b"x")
    try:
        keys.encryption_key("kmissing")
    except KeyError as exc:
        messages.append(str(exc))
    material = all_key_material(key_file)
    data = json.loads(key_file.read_text())
    data["encryption"]["active"] = "kgone"
    key_file.write_text(json.dumps(data))
    with pytest.raises(ImproperlyConfigured) as info:
        keys.check_keys()
    messages.append(str(info.value))
    assert caplog.text
    assert not any(secret in caplog.text + "".join(messages) for secret in material)
