"""Encryption-key rotation: a new active key, then every stored value re-encrypted under it.

``rotate_keys()`` adds a key to the key file (old keys stay, so every value
still decrypts at every moment), then walks every ``EncryptedTextField`` of every
installed model and the MFA secrets of allauth's ``Authenticator`` rows, in
primary-key order, ``batch_size`` rows per transaction (each batch is a
``@service``).  A value already under the active key is skipped, so a run that
stopped midway is finished by running again (``resume=True`` re-encrypts to the
current active key without adding another).  ``rotate_keys`` itself is
deliberately not one ``@service``: one transaction over every table would hold
SQLite's write lock for the whole run and lose all progress on a failure.
Other processes pick up the new key on their next use (the key store reloads
when the file changes), so new writes go under it too.

Re-encryption does not change a value, so rows are rewritten with a plain
queryset update rather than through ``AuditedModel`` (which would write one
audit entry per row); the run records one ``key_rotated`` entry with the key id
and the counts, or with ``outcome="failure"`` and the counts so far.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models

from radgov.core import crypto, keys
from radgov.core.audit import Action, EventCode, record
from radgov.core.fields import EncryptedTextField, EncryptedValue
from radgov.core.services import service

logger = logging.getLogger("radgov.keys")
Progress = Callable[[str, int, int], None]
MFA_LABEL = "mfa.authenticator.data"


@dataclass
class RotationReport:
    key_id: str
    reencrypted: dict[str, int] = field(default_factory=dict)  # "app.model.field" -> rows
    already_current: int = 0
    mfa_unencrypted: int = 0  # MFA secrets that are not tokens (left as they are)

    @property
    def total_reencrypted(self) -> int:
        return sum(self.reencrypted.values())

    def as_detail(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "reencrypted": dict(sorted(self.reencrypted.items())),
            "already_current": self.already_current,
            "mfa_unencrypted": self.mfa_unencrypted,
        }


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    """Every (model, field) whose table column holds tokens, each column once."""
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for f in model._meta.local_concrete_fields:
            if isinstance(f, EncryptedTextField):
                yield model, f


def rotate_keys(
    *, batch_size: int = 500, resume: bool = False, progress: Progress | None = None
) -> RotationReport:
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    key_id = keys.active_encryption_key()[0] if resume else keys.add_encryption_key()
    report = RotationReport(key_id=key_id)
    try:
        for model, f in encrypted_fields():
            label = f"{model._meta.label_lower}.{f.name}"
            _rotate_column(model, f, report, batch_size=batch_size, label=label, progress=progress)
        if apps.is_installed("allauth.mfa"):
            _rotate_mfa(report, batch_size=batch_size, label=MFA_LABEL, progress=progress)
    except BaseException:
        try:
            _record(report, outcome="failure")
        except Exception:
            logger.exception("key rotation failed and its audit entry could not be written")
        raise
    _record(report, outcome="success")
    return report


@service
def _record(report: RotationReport, *, outcome: str) -> None:
    record(
        action=Action.KEY_ROTATED,
        object_type="core.keys",
        object_id=report.key_id,
        outcome=outcome,
        event_code=EventCode.SECURITY_ALERT,
        detail=report.as_detail(),
    )


def _walk(
    model: type[models.Model],
    only: dict[str, Any],
    step: Callable[[list[Any], Counter[str]], None],
    report: RotationReport,
    *,
    batch_size: int,
    label: str,
    progress: Progress | None,
) -> None:
    """Hand ``step`` the rows of ``model`` matching ``only``, in primary-key order, a batch per
    transaction; add its counts to ``report`` once the batch has committed."""
    report.reencrypted[label] = 0
    total = models.QuerySet(model).filter(**only).count()
    last, done = None, 0
    while (result := _batch(model, only, last, batch_size, step)) is not None:
        last, n, counts = result
        report.reencrypted[label] += counts["reencrypted"]
        report.already_current += counts["already_current"]
        report.mfa_unencrypted += counts["mfa_unencrypted"]
        done += n
        if progress:
            progress(label, done, total)


@service
def _batch(
    model: type[models.Model],
    only: dict[str, Any],
    after: Any,
    batch_size: int,
    step: Callable[[list[Any], Counter[str]], None],
) -> tuple[Any, int, Counter[str]] | None:
    """One transaction: lock the next rows after primary key ``after`` and hand them to ``step``."""
    qs = models.QuerySet(model).filter(**only).order_by("pk").select_for_update()
    if after is not None:
        qs = qs.filter(pk__gt=after)
    rows = list(qs[:batch_size])
    if not rows:
        return None
    counts: Counter[str] = Counter()
    step(rows, counts)
    return rows[-1].pk, len(rows), counts


def _rotate_column(
    model: type[models.Model], f: EncryptedTextField, report: RotationReport, **walk: Any
) -> None:
    def step(rows: list[Any], counts: Counter[str]) -> None:
        for row in rows:
            value = getattr(row, f.attname)
            if value.key_id == report.key_id:
                counts["already_current"] += 1
                continue
            fresh = EncryptedValue(
                context=f.context, token=crypto.encrypt(value.reveal(), context=f.context)
            )
            models.QuerySet(model).filter(pk=row.pk).update(**{f.attname: fresh})
            counts["reencrypted"] += 1

    _walk(model, {f"{f.attname}__isnull": False}, step, report, **walk)


def _rotate_mfa(report: RotationReport, **walk: Any) -> None:
    from allauth.mfa.models import Authenticator

    def reencrypt(value: Any, counts: Counter[str]) -> Any:
        if not crypto.is_token(value):
            counts["mfa_unencrypted"] += 1
            return value
        if crypto.key_id_of(value) == report.key_id:
            counts["already_current"] += 1
            return value
        return crypto.encrypt(
            crypto.decrypt(value, context=crypto.MFA_CONTEXT), context=crypto.MFA_CONTEXT
        )

    def step(rows: list[Any], counts: Counter[str]) -> None:
        for auth in rows:
            data = dict(auth.data or {})
            # TOTP keeps "secret"; recovery codes keep "seed" (and "migrated_codes"
            # from older allauth); all go through the MFA adapter's encrypt().
            for name in ("secret", "seed"):
                if isinstance(data.get(name), str):
                    data[name] = reencrypt(data[name], counts)
            if isinstance(data.get("migrated_codes"), list):
                data["migrated_codes"] = [
                    reencrypt(c, counts) if isinstance(c, str) else c
                    for c in data["migrated_codes"]
                ]
            if data != auth.data:
                models.QuerySet(Authenticator).filter(pk=auth.pk).update(data=data)
                counts["reencrypted"] += 1

    _walk(Authenticator, {}, step, report, **walk)
