"""Identifiers at rest: never in the database file, its WAL, or the logs; fields that keep it so."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

import pytest
from django.core.exceptions import FieldError

from radgov.core import crypto, identity
from radgov.core.fields import EncryptedTextField, EncryptedValue, PseudonymField
from radgov.core.models import AccessionIdentity, AuditEntry, PatientIdentity
from radgov.core.services import service

from .keys_support import private_key_file  # noqa: F401

MRN = "MRN-CANARY-7Q4X2"
OTHER_MRN = "MRN-CANARY-9Z8Y7"
ACCESSION = "ACC-CANARY-5K3W1"
CANARIES = (MRN, OTHER_MRN, ACCESSION)


def forms_of(text: str) -> list[bytes]:
    """The canary as UTF-8 and UTF-16 (both byte orders), as given, lower and upper case."""
    out = []
    for variant in {text, text.lower(), text.upper()}:
        out += [variant.encode("utf-8"), variant.encode("utf-16-le"), variant.encode("utf-16-be")]
    return out


def leaks(folder, canaries=CANARIES) -> list[str]:
    """Every (file, canary) where a form of a canary appears in a file below ``folder``."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for canary in canaries:
            if any(form in data for form in forms_of(canary)):
                found.append(f"{path.name}: {canary}")
    return found


FLOW = textwrap.dedent(
    """
    import logging, sys
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    # Every SQL statement and its parameters into the log file too.
    connection.force_debug_cursor = True
    logging.getLogger("django.db.backends").setLevel(logging.DEBUG)
    log = logging.getLogger("radgov.phi_test")

    from radgov.core import identity
    MRN, OTHER_MRN, ACCESSION = sys.argv[1:4]
    patient = identity.get_or_create_patient(MRN, issuer="HOSP_A")
    accession = identity.get_or_create_accession(ACCESSION, patient=patient)
    log.debug("registered %s %r %s %r", patient, patient.mrn_encrypted, accession, accession.accession_number_encrypted)
    assert identity.get_or_create_patient(MRN, issuer="HOSP_A") == patient
    assert identity.get_or_create_accession(ACCESSION, patient=patient) == accession
    assert patient.mrn_encrypted.reveal() == MRN
    assert accession.accession_number_encrypted.reveal() == ACCESSION
    other = identity.get_or_create_patient(OTHER_MRN)
    try:
        identity.get_or_create_accession(ACCESSION, patient=other)
    except identity.IdentityConflict:
        log.exception("refused an accession registered to another patient")
    log.info("patient %s has %s", patient, patient.mrn_encrypted)
    print("PSEUDONYM", patient.pseudonym, flush=True)
    print("READY", flush=True)
    sys.stdin.readline()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print("CHECKPOINTED", flush=True)
    sys.stdin.readline()
    """
)


def flow_env(data_dir) -> dict[str, str]:
    """The environment of a flow run in a process of its own: SQLite in ``data_dir`` (its
    file is searched afterwards), its own keys, everything logged."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="radgov.settings",
        RADGOV_DATA_DIR=str(data_dir),
        RADGOV_KEY_FILE=str(data_dir / "keys.json"),
        RADGOV_LOG_LEVEL="DEBUG",
    )
    return env


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="reads the SQLite file")
def test_planted_identifiers_appear_nowhere_on_disk(tmp_path):
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", FLOW, *CANARIES],
        env=flow_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        ready = proc.stdout.readline()
        if ready.strip() != "READY":
            proc.kill()
            pytest.fail(f"the flow failed: {first}{ready}{proc.stderr.read()[-3000:]}")
        pseudonym = first.split()[1].encode()
        db, wal = data_dir / "radgov.sqlite3", data_dir / "radgov.sqlite3-wal"
        # 1. connection open, nothing checkpointed: the rows live in the WAL
        assert wal.exists() and wal.stat().st_size > 0
        assert (data_dir / "radgov.sqlite3-shm").exists()
        assert pseudonym in db.read_bytes() + wal.read_bytes()  # the scan sees the real rows
        assert leaks(data_dir) == []
        # 2. checkpointed into the main file
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "CHECKPOINTED"
        assert pseudonym in db.read_bytes()
        assert leaks(data_dir) == []
        # 3. after the process ends (last connection closed)
        proc.stdin.write("\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert leaks(data_dir) == []
    log_text = (data_dir / "logs" / "radgov.log").read_text()
    assert "refused an accession" in log_text and "INSERT INTO" in log_text  # the logs were written
    assert not any(form in (out + err).encode("utf-8") for c in CANARIES for form in forms_of(c))


# --- the fields ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_stored_column_holds_a_token_bound_to_its_column():
    patient = identity.get_or_create_patient(MRN)
    raw = (
        PatientIdentity.objects.filter(pk=patient.pk).values_list("mrn_encrypted", flat=True).get()
    )
    assert isinstance(raw, EncryptedValue) and raw.context == "core.patientidentity.mrn_encrypted"
    assert MRN not in raw.token and crypto.is_token(raw.token)
    assert crypto.decrypt(raw.token, context="core.patientidentity.mrn_encrypted") == MRN
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(raw.token, context="core.accessionidentity.accession_number_encrypted")


@pytest.mark.django_db
def test_an_encrypted_value_never_shows_its_plaintext():
    patient = PatientIdentity.objects.get(pk=identity.get_or_create_patient(MRN).pk)
    value = patient.mrn_encrypted
    for shown in (str(value), repr(value), f"{value}", str(patient), repr(patient)):
        assert MRN not in shown
    assert str(value) == "[encrypted]"
    assert value == MRN and value.reveal() == MRN
    assert MRN.encode() not in pickle.dumps(patient)
    assert pickle.loads(pickle.dumps(value)).reveal() == MRN  # noqa: S301
    unsaved = PatientIdentity.build(OTHER_MRN)
    assert OTHER_MRN.encode() not in pickle.dumps(unsaved.mrn_encrypted)


@pytest.mark.django_db
def test_registering_normalizes_and_finds_by_pseudonym():
    patient = identity.get_or_create_patient(f"  {MRN}\n", issuer="HOSP_A")
    assert identity.get_or_create_patient(MRN, issuer="HOSP_A") == patient
    assert PatientIdentity.objects.count() == 1
    assert patient.mrn_encrypted.reveal() == MRN
    assert patient.pseudonym == crypto.pseudonym(MRN, namespace="patient:HOSP_A")
    assert identity.get_or_create_patient(MRN) != patient  # another issuer, another patient


@pytest.mark.django_db
def test_an_accession_belongs_to_one_patient():
    first, second = identity.get_or_create_patient(MRN), identity.get_or_create_patient(OTHER_MRN)
    accession = identity.get_or_create_accession(ACCESSION, patient=first)
    assert identity.get_or_create_accession(ACCESSION, patient=first) == accession
    with pytest.raises(identity.IdentityConflict) as info:
        identity.get_or_create_accession(ACCESSION, patient=second)
    assert not any(c in str(info.value) for c in CANARIES)
    assert AccessionIdentity.objects.count() == 1


@pytest.mark.django_db
def test_registering_is_audited_and_the_audit_holds_no_identifier():
    # Reading an identifier for a person to see is audited by the exam's study view
    # (tests/exams/test_api.py::test_identifiers_only_for_the_roles_that_may_see_them...).
    patient = identity.get_or_create_patient(MRN)
    accession = identity.get_or_create_accession(ACCESSION, patient=patient)
    assert patient.mrn_encrypted.reveal() == MRN
    assert accession.accession_number_encrypted.reveal() == ACCESSION
    created = AuditEntry.objects.filter(action="create").order_by("seq")
    assert [e.object_type for e in created] == ["core.patientidentity", "core.accessionidentity"]
    for entry in AuditEntry.objects.all():
        assert not any(c in entry.detail_json + entry.changes_json for c in CANARIES)
    assert created[0].changes["mrn_encrypted"] == [None, "<changed>"]


@pytest.mark.django_db
def test_encrypted_fields_cannot_be_searched_except_isnull():
    identity.get_or_create_patient(MRN)
    with pytest.raises(FieldError):
        PatientIdentity.objects.filter(mrn_encrypted=MRN).count()
    with pytest.raises(FieldError):
        PatientIdentity.objects.filter(mrn_encrypted__icontains="CANARY").count()
    assert PatientIdentity.objects.filter(mrn_encrypted__isnull=False).count() == 1


@pytest.mark.django_db
def test_a_pseudonym_field_refuses_an_identifier():
    with pytest.raises(ValueError) as info:
        PatientIdentity.objects.filter(pseudonym=MRN).count()
    assert MRN not in str(info.value)
    patient = PatientIdentity.build(MRN)
    patient.pseudonym = MRN
    with pytest.raises(ValueError):
        service(patient.save)()
    assert PatientIdentity.objects.count() == 0


def test_field_deconstruction_round_trips():
    field = EncryptedTextField(context="legacy.name")
    _, path, args, kwargs = field.deconstruct()
    assert path == "radgov.core.fields.EncryptedTextField" and kwargs == {"context": "legacy.name"}
    assert EncryptedTextField(**kwargs).explicit_context == "legacy.name"
    assert EncryptedTextField().deconstruct()[3] == {}
    assert PseudonymField().deconstruct()[3] == {}
    assert PseudonymField(unique=True).deconstruct()[3] == {"unique": True}
    assert EncryptedTextField.audit_redact is True
