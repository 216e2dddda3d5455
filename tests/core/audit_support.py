"""Fixtures shared by the audit tests: a throw-away Ed25519 audit key (instead of
the key file) and a private data folder for the anchor file; tables for throw-away audited
models."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.apps import apps
from django.db import connection, models

from radgov.core import keys


@pytest.fixture
def audit_key(monkeypatch, settings, tmp_path):
    key = Ed25519PrivateKey.generate()
    monkeypatch.setattr(keys, "audit_signer", lambda: ("testkey", key))
    monkeypatch.setattr(keys, "audit_public_keys", lambda: {"testkey": key.public_key()})
    settings.DATA_DIR = tmp_path
    return key


@contextmanager
def scratch_tables(test_models: list[type[models.Model]], *, extra_names: tuple[str, ...] = ()):
    """Tables for throw-away models of the core app (so Django sees their relations), for
    one test module only: created with the schema editor, dropped and unregistered after.
    No migration ever sees them.  ``extra_names``: auto-created models (m2m tables)."""
    apps.clear_cache()
    with connection.schema_editor() as editor:
        for model in test_models:
            editor.create_model(model)
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            for model in reversed(test_models):
                editor.delete_model(model)
        for name in [model._meta.model_name for model in test_models] + list(extra_names):
            apps.all_models["core"].pop(name, None)
        apps.clear_cache()


def define_event_model() -> type[models.Model]:
    """An audited model shaped like an inference event: ids, a status, a score, a time, JSON."""
    from radgov.core.models import AuditedModel

    class AuditTestEvent(AuditedModel):
        exam_id = models.BigIntegerField()
        deployment_id = models.BigIntegerField()
        sop_instance_uid = models.CharField(max_length=64)
        status = models.CharField(max_length=16)
        score = models.FloatField(null=True)
        received_at = models.DateTimeField()
        outputs = models.JSONField(default=dict)

        class Meta:
            app_label = "core"

    return AuditTestEvent


# the event model's columns, in the order a feed gives them
EVENT_COLUMNS = (
    "exam_id",
    "deployment_id",
    "sop_instance_uid",
    "status",
    "score",
    "received_at",
    "outputs",
)
