"""Key rotation: every value re-encrypted under the new key, none lost, even when interrupted."""

from __future__ import annotations

import io

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt as mfa_decrypt
from django.contrib.auth import get_user_model
from django.core.management import call_command

from radgov.core import crypto, identity, keys, rotation
from radgov.core.models import AccessionIdentity, AuditEntry, PatientIdentity

from .keys_support import private_key_file  # noqa: F401

pytestmark = pytest.mark.django_db

N = 40


@pytest.fixture
def originals() -> dict[str, str]:
    """N patients with one accession each: {pseudonym: plaintext} of every identifier."""
    plain = {}
    for i in range(N):
        patient = identity.get_or_create_patient(f"MRN-{i:05d}")
        accession = identity.get_or_create_accession(f"ACC-{i:05d}", patient=patient)
        plain[patient.pseudonym] = f"MRN-{i:05d}"
        plain[accession.pseudonym] = f"ACC-{i:05d}"
    return plain


def stored() -> dict[str, tuple[str, str]]:
    """{pseudonym: (key id, plaintext)} read back from the database."""
    out = {}
    for model in (PatientIdentity, AccessionIdentity):
        for row in model.objects.all():
            value = getattr(row, model.encrypted_field)
            out[row.pseudonym] = (value.key_id, value.reveal())
    return out


def assert_all_readable(originals, *, key_id=None):
    now = stored()
    assert {p: text for p, (_, text) in now.items()} == originals
    if key_id is not None:
        assert {kid for kid, _ in now.values()} == {key_id}


def test_the_identity_fields_are_discovered():
    labels = {f"{m._meta.label_lower}.{f.name}" for m, f in rotation.encrypted_fields()}
    assert {
        "core.patientidentity.mrn_encrypted",
        "core.accessionidentity.accession_number_encrypted",
    } <= labels


def test_rotation_reencrypts_every_value_under_the_new_key(originals):
    old_id = keys.active_encryption_key()[0]
    report = rotation.rotate_keys(batch_size=7)
    assert report.key_id != old_id and report.key_id == keys.active_encryption_key()[0]
    assert report.reencrypted["core.patientidentity.mrn_encrypted"] == N
    assert report.reencrypted["core.accessionidentity.accession_number_encrypted"] == N
    assert report.already_current == 0
    assert_all_readable(originals, key_id=report.key_id)
    assert old_id in keys.encryption_key_ids()  # kept, for backups and stragglers


def test_rotating_twice_keeps_every_value(originals):
    first = rotation.rotate_keys(batch_size=11)
    second = rotation.rotate_keys(batch_size=500)
    assert first.key_id != second.key_id
    assert second.total_reencrypted == 2 * N
    assert len(keys.encryption_key_ids()) == 3
    assert_all_readable(originals, key_id=second.key_id)


def test_a_value_already_under_the_active_key_is_skipped(originals):
    rotation.rotate_keys()
    again = rotation.rotate_keys(resume=True)
    assert again.total_reencrypted == 0
    assert again.already_current == 2 * N


def test_an_interrupted_rotation_loses_nothing_and_resumes(originals, monkeypatch):
    old_id = keys.active_encryption_key()[0]
    real_encrypt, calls = crypto.encrypt, {"n": 0}

    def failing_encrypt(plaintext, *, context):
        calls["n"] += 1
        if calls["n"] > 25:
            raise RuntimeError("power cut")
        return real_encrypt(plaintext, context=context)

    monkeypatch.setattr(crypto, "encrypt", failing_encrypt)
    with pytest.raises(RuntimeError, match="power cut"):
        rotation.rotate_keys(batch_size=10)
    monkeypatch.setattr(crypto, "encrypt", real_encrypt)

    new_id = keys.active_encryption_key()[0]
    key_ids = [kid for kid, _ in stored().values()]
    # two whole batches committed, the failing third rolled back: both keys in use
    assert key_ids.count(new_id) == 20 and key_ids.count(old_id) == 2 * N - 20
    assert_all_readable(originals)
    failed = AuditEntry.objects.get(action="key_rotated", outcome="failure")
    assert failed.detail["reencrypted"]["core.patientidentity.mrn_encrypted"] == 20

    resumed = rotation.rotate_keys(resume=True, batch_size=10)
    assert resumed.key_id == new_id
    assert resumed.total_reencrypted == 2 * N - 20 and resumed.already_current == 20
    assert_all_readable(originals, key_id=new_id)


def test_one_audit_entry_with_counts_and_no_values(originals):
    before = AuditEntry.objects.count()
    report = rotation.rotate_keys(batch_size=9)
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.get(action="key_rotated")
    assert (entry.object_id, entry.event_code, entry.outcome) == (
        report.key_id,
        "110113",
        "success",
    )
    assert entry.detail == report.as_detail()
    assert not any(text in entry.detail_json for text in originals.values())


def test_mfa_secrets_are_reencrypted(originals):
    user = get_user_model().objects.create(username="reader")
    secret = "JBSWY3DPEHPK3PXP"
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user)
    seed_before = mfa_decrypt(Authenticator.objects.get(type="recovery_codes").data["seed"])
    codes_before = codes.get_unused_codes()

    report = rotation.rotate_keys()
    assert report.reencrypted[rotation.MFA_LABEL] == 2
    totp = Authenticator.objects.get(type="totp")
    recovery = Authenticator.objects.get(type="recovery_codes")
    assert crypto.key_id_of(totp.data["secret"]) == report.key_id
    assert crypto.key_id_of(recovery.data["seed"]) == report.key_id
    assert mfa_decrypt(totp.data["secret"]) == secret
    assert mfa_decrypt(recovery.data["seed"]) == seed_before
    assert RecoveryCodes(recovery).get_unused_codes() == codes_before


def test_unencrypted_mfa_secrets_are_counted_not_touched():
    user = get_user_model().objects.create(username="legacy")
    Authenticator.objects.create(user=user, type="totp", data={"secret": "PLAINSECRET"})
    report = rotation.rotate_keys()
    assert report.mfa_unencrypted == 1
    assert Authenticator.objects.get().data == {"secret": "PLAINSECRET"}


def test_the_rotate_command_prints_counts_and_no_values(originals):
    out = io.StringIO()
    call_command("keys", "rotate", "--batch-size", "13", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert f"new active encryption key {keys.active_encryption_key()[0]}" in text
    assert f"core.patientidentity.mrn_encrypted: {N} re-encrypted" in text
    assert not any(value in text for value in originals.values())
    assert_all_readable(originals, key_id=keys.active_encryption_key()[0])
