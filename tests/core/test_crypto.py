"""radgov.core.crypto: AES-GCM tokens bound to a context, keyed pseudonyms."""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys

import pytest
from django.utils.html import escape
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_variables
from hypothesis import given
from hypothesis import strategies as st

from radgov.core import crypto, keys

from .keys_support import private_key_file  # noqa: F401


def test_round_trip_and_token_shape():
    token = crypto.encrypt("MRN-0001 Zoë", context="core.patientidentity.mrn")
    version, key_id, data = token.split(".")
    assert version == "v1"
    assert key_id == keys.active_encryption_key()[0] == crypto.key_id_of(token)
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    assert len(raw) == 12 + len("MRN-0001 Zoë".encode()) + 16  # nonce + ciphertext + tag
    assert "MRN" not in token
    assert crypto.decrypt(token, context="core.patientidentity.mrn") == "MRN-0001 Zoë"


def test_each_encryption_uses_a_fresh_nonce():
    tokens = {crypto.encrypt("same", context="c") for _ in range(50)}
    assert len(tokens) == 50


@given(st.text(max_size=200))
def test_any_text_round_trips(text):
    assert crypto.decrypt(crypto.encrypt(text, context="prop"), context="prop") == text


def test_a_token_does_not_decrypt_in_another_context():
    token = crypto.encrypt("ACC-123", context="core.accessionidentity.accession_number")
    with pytest.raises(crypto.DecryptionError) as info:
        crypto.decrypt(token, context="core.patientidentity.mrn")
    assert "ACC-123" not in str(info.value)
    assert "core.patientidentity.mrn" in str(info.value)


def test_a_tampered_token_fails_without_echoing_it():
    token = crypto.encrypt("secret-identifier", context="c")
    head, data = token.rsplit(".", 1)
    flipped = data[:-2] + ("A" if data[-2] != "A" else "B") + data[-1]
    with pytest.raises(crypto.DecryptionError) as info:
        crypto.decrypt(f"{head}.{flipped}", context="c")
    assert data not in str(info.value) and flipped not in str(info.value)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain text",
        "v1.kabc",
        "v2.kabc.AAAA",
        "v1.k-b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.kabc.!!!!",
        "v1.kabc.AAAA",
        "v1.kabc.AAAA=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1..AAAA",
    ],
)
def test_malformed_tokens_are_clear_errors(bad):
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(bad, context="c")
    assert not crypto.is_token(bad)


def test_unknown_key_id_is_named_and_nothing_else():
    token = crypto.encrypt("x", context="c")
    _, _, data = token.split(".")
    with pytest.raises(crypto.DecryptionError) as info:
        crypto.decrypt(f"v1.kdeadbeef.{data}", context="c")
    assert "kdeadbeef" in str(info.value)
    assert data not in str(info.value)


def test_old_tokens_still_decrypt_after_a_new_key():
    old = crypto.encrypt("before", context="c")
    new_id = keys.add_encryption_key()
    new = crypto.encrypt("after", context="c")
    assert crypto.key_id_of(new) == new_id != crypto.key_id_of(old)
    assert crypto.decrypt(old, context="c") == "before"
    assert crypto.decrypt(new, context="c") == "after"


def test_encrypt_refuses_non_text_and_empty_context():
    with pytest.raises(TypeError):
        crypto.encrypt(b"bytes", context="c")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        crypto.encrypt("x", context="")


def test_pseudonym_is_keyed_hmac_of_the_normalized_value():
    expected = hmac.new(keys.pseudonym_key(), b"patient\x00MRN-1", hashlib.sha256).hexdigest()
    assert crypto.pseudonym("MRN-1", namespace="patient") == expected
    assert crypto.pseudonym("  MRN-1\t\n", namespace="patient") == expected
    assert len(expected) == 64 and int(expected, 16) >= 0


def test_pseudonym_normalization_is_nfc_and_keeps_case():
    composed, decomposed = "ZO\u00cb", "ZOE\u0308"
    assert crypto.pseudonym(composed, namespace="p") == crypto.pseudonym(decomposed, namespace="p")
    assert crypto.pseudonym("mrn1", namespace="p") != crypto.pseudonym("MRN1", namespace="p")
    assert crypto.normalize("  a b  ") == "a b"


def test_pseudonym_namespaces_are_separate():
    assert crypto.pseudonym("123", namespace="patient") != crypto.pseudonym(
        "123", namespace="accession"
    )
    # the separator keeps "ab"+"c" and "a"+"bc" apart
    assert crypto.pseudonym("c", namespace="ab") != crypto.pseudonym("bc", namespace="a")


def test_pseudonym_depends_on_the_key(tmp_path, monkeypatch):
    first = crypto.pseudonym("MRN-1", namespace="patient")
    monkeypatch.setenv("RADGOV_KEY_FILE", str(tmp_path / "other.json"))
    keys.clear_cache()
    assert crypto.pseudonym("MRN-1", namespace="patient") != first


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_empty_identifiers_have_no_pseudonym(value):
    with pytest.raises(ValueError):
        crypto.pseudonym(value, namespace="patient")


def test_pseudonym_namespace_must_be_plain():
    with pytest.raises(ValueError):
        crypto.pseudonym("x", namespace="")
    with pytest.raises(ValueError):
        crypto.pseudonym("x", namespace="a\x00b")


def test_error_reports_hide_keys_and_plaintexts():
    @sensitive_variables("args")  # this helper's own frame holds the plaintext
    def report_of(fn, *args, **kwargs) -> str:
        try:
            fn(*args, **kwargs)
        except Exception:
            return ExceptionReporter(None, *sys.exc_info(), is_email=True).get_traceback_html()
        raise AssertionError("expected an error")

    token = crypto.encrypt("MRN-REPORT-1", context="c")
    key = keys.encryption_key(crypto.key_id_of(token))
    failed_decrypt = report_of(crypto.decrypt, token, context="another")
    failed_encrypt = report_of(crypto.encrypt, "MRN-REPORT-2", context="")
    failed_pseudonym = report_of(crypto.pseudonym, "MRN-REPORT-3", namespace="a\x00b")
    for report in (failed_decrypt, failed_encrypt, failed_pseudonym):
        assert "Local Vars" in report  # the report does list local variables
        for secret in (repr(key), key.hex(), "MRN-REPORT-1", "MRN-REPORT-2", "MRN-REPORT-3"):
            assert escape(secret) not in report and secret not in report


def test_a_column_at_once_is_each_value_alone():
    values = ["1.2.3", " 1.2.4 ", "Zoë", "1.2.3"]
    assert crypto.pseudonyms(values, namespace="exams:study_uid") == [
        crypto.pseudonym(v, namespace="exams:study_uid") for v in values
    ]
    tokens = crypto.encrypt_many(values, context="exams.exam.study_uid_encrypted")
    assert [crypto.decrypt(t, context="exams.exam.study_uid_encrypted") for t in tokens] == values
    assert len({t.split(".")[2][:16] for t in tokens}) == len(values)  # a nonce per value
    with pytest.raises(ValueError, match="empty identifier"):
        crypto.pseudonyms(["1.2", "  "], namespace="exams:study_uid")
    with pytest.raises(TypeError):
        crypto.encrypt_many(["1.2", 3], context="exams.exam.study_uid_encrypted")  # type: ignore[list-item]
