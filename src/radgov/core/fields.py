"""Model fields for identifiers: encrypted for people who must see them, pseudonymized for joins.

``EncryptedTextField`` stores a token from ``radgov.core.crypto.encrypt`` and
gives an ``EncryptedValue`` back.  Assigning a ``str`` encrypts it on save;
``value.reveal()`` decrypts.  ``str()``/``repr()`` of the value never show the
plaintext, so templates, logs and error pages show ``[encrypted]``.  Go through
a selector that audits the read (e.g. ``radgov.exams.selectors.study``)
rather than calling ``reveal()`` in a view.  The field admits no lookup but
``isnull``: search by the pseudonym instead.  The associated data ("context")
is ``"<app_label>.<model_name>.<field_name>"`` unless ``context=`` is given;
renaming a model or field therefore needs ``context=`` with the old name.

``PseudonymField`` is a 64-character indexed column holding
``crypto.pseudonym(...)``.  It refuses any other value, so an identifier can
never be saved or searched in it by mistake.

``set_identifier(instance, plaintext, ...)`` fills a pseudonym field and an
encrypted field from one plaintext, keeping them in sync.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from django.core import validators
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from radgov.core import crypto

MASK = "[encrypted]"
_PSEUDONYM = re.compile(r"\A[0-9a-f]{64}\Z")


class EncryptedValue:
    """An encrypted identifier: holds the token, or a plaintext not yet saved."""

    __slots__ = ("_plaintext", "_token", "context")

    def __init__(
        self, *, context: str, token: str | None = None, plaintext: str | None = None
    ) -> None:
        if (token is None) == (plaintext is None):
            raise ValueError("EncryptedValue needs exactly one of token and plaintext")
        self.context = context
        self._token = token
        self._plaintext = plaintext

    @property
    def token(self) -> str:
        """The stored form (encrypting a new plaintext under the active key once)."""
        if self._token is None:
            assert self._plaintext is not None
            self._token = crypto.encrypt(self._plaintext, context=self.context)
        return self._token

    @property
    def saved_token(self) -> str | None:
        """The token once made (the value saved or read), None before: never encrypts."""
        return self._token

    @property
    def key_id(self) -> str:
        return crypto.key_id_of(self.token)

    def reveal(self) -> str:
        if self._plaintext is not None:
            return self._plaintext
        return crypto.decrypt(self.token, context=self.context)

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"<EncryptedValue {self.context}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EncryptedValue):
            if self._token is not None and self._token == other._token:
                return True
            other_text = other.reveal()
        elif isinstance(other, str):
            other_text = other
        else:
            return NotImplemented
        return hmac.compare_digest(self.reveal().encode("utf-8"), other_text.encode("utf-8"))

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, str]:
        # Pickles (cache, sessions) carry the token, never the plaintext.
        return {"context": self.context, "token": self.token}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.context, self._token, self._plaintext = state["context"], state["token"], None


class _EncryptedDescriptor(DeferredAttribute):
    """Wraps an assigned ``str`` in an ``EncryptedValue`` so the attribute is always one type."""

    def __set__(self, instance: Any, value: Any) -> None:
        if isinstance(value, str):
            value = EncryptedValue(context=self.field.context, plaintext=value)
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    audit_redact = True  # the audit trail records that it changed, never its value
    descriptor_class = _EncryptedDescriptor
    description = "Text encrypted with AES-GCM (see radgov.core.crypto)"

    def __init__(self, *args: Any, context: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        self.explicit_context = context
        self.context = context or ""
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        if not self.explicit_context:
            self.context = f"{cls._meta.app_label}.{cls._meta.model_name}.{name}"

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        else:
            kwargs["editable"] = True
        if self.explicit_context:
            kwargs["context"] = self.explicit_context
        return name, path, args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> EncryptedValue | None:
        return None if value is None else EncryptedValue(context=self.context, token=value)

    def to_python(self, value: Any) -> EncryptedValue | None:
        if value is None or isinstance(value, EncryptedValue):
            return value
        if isinstance(value, str):  # deserialization (loaddata) carries tokens
            if crypto.is_token(value):
                return EncryptedValue(context=self.context, token=value)
            return EncryptedValue(context=self.context, plaintext=value)
        raise TypeError(f"{self.context} takes a str or an EncryptedValue")

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return crypto.encrypt(value, context=self.context)
        if isinstance(value, EncryptedValue):
            if value.context == self.context:
                return value.token
            return crypto.encrypt(value.reveal(), context=self.context)
        raise TypeError(f"{self.context} takes a str or an EncryptedValue")

    def value_to_string(self, obj: Any) -> str | None:
        value = self.value_from_object(obj)
        return None if value is None else self.get_prep_value(value)

    def get_lookup(self, lookup_name: str) -> Any:
        # Tokens are randomized: equality and pattern lookups could only
        # mislead.  Search by the pseudonym instead.
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def get_transform(self, lookup_name: str) -> Any:
        return None


class PseudonymField(models.CharField):
    description = "Keyed pseudonym (HMAC-SHA256, hex) of an identifier"
    default_validators = [
        validators.RegexValidator(_PSEUDONYM, "not a pseudonym (64 lowercase hex characters)")
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        # Leave out what __init__ defaults to; spell out what differs from it.
        for key, default in (("max_length", 64), ("db_index", True), ("editable", False)):
            kwargs.pop(key, None)
            if getattr(self, key) != default:
                kwargs[key] = getattr(self, key)
        return name, path, args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is not None and not (isinstance(value, str) and _PSEUDONYM.match(value)):
            # Never echo the value: it may be an identifier given by mistake.
            raise ValueError(
                f"{self.model.__name__}.{self.name} takes a pseudonym from radgov.core.crypto.pseudonym(), "
                "not an identifier"
            )
        return value


def set_identifier(
    instance: models.Model,
    plaintext: str,
    *,
    pseudonym_field: str,
    encrypted_field: str,
    namespace: str,
) -> None:
    """Set ``pseudonym_field`` and ``encrypted_field`` of ``instance`` from one plaintext.

    The value is normalized once (``crypto.normalize``), so the encrypted copy is
    exactly what the pseudonym was computed from.  Nothing is saved.
    """
    value = crypto.normalize(plaintext)
    setattr(instance, pseudonym_field, crypto.pseudonym(value, namespace=namespace))
    setattr(instance, encrypted_field, value)
