"""Local Python models (docs/gateway.md, "To the model"): a callable that takes a study's
datasets and answers an ``Answer`` (score, call, findings, confidence) or a ``Rejection``
with a reason.  It is run by the worker in place of a send, and its answer is made into an SR
(the form ``radgov.gateway.results`` reads) recorded like a DICOM node's.

Models are registered by name: installed packages declare them under the entry point group
``radgov.models`` (``name = "package.module:callable"``), and ``RADGOV_LOCAL_MODELS`` adds
``name=module:callable`` pairs (for a model not packaged, and for tests).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from radgov.core import config

GROUP = "radgov.models"


@dataclass(frozen=True)
class Answer:
    score: float | None = None
    call: str = ""  # positive, negative or indeterminate (exams' Call)
    confidence: float | None = None
    findings: tuple[str, ...] = ()  # each finding's label
    model_version: str = ""


@dataclass(frozen=True)
class Rejection:
    reason: str  # in words a technologist understands


Model = Callable[[list[Dataset]], Answer | Rejection]


class LocalModelError(ValueError):
    """A local model that is not registered, cannot be loaded, or answered nonsense."""


def registered() -> dict[str, str]:
    """Every local model's name and its ``module:callable``."""
    found = {ep.name: ep.value for ep in metadata.entry_points(group=GROUP)}
    for pair in (config.get("RADGOV_LOCAL_MODELS") or "").split(","):
        name, _, target = pair.strip().partition("=")
        if name and target:
            found[name.strip()] = target.strip()
    return found


def load(name: str) -> Model:
    target = registered().get(name)
    if target is None:
        raise LocalModelError(f"model: no local model named {name!r} is registered")
    module, _, attribute = target.partition(":")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError):
        raise LocalModelError(f"model: {name} ({target}) cannot be loaded") from None
    if not callable(found):
        raise LocalModelError(f"model: {name} ({target}) is not callable")
    return found  # type: ignore[no-any-return]


def run(name: str, files: Sequence[Path]) -> Answer | Rejection:
    """Run the model ``name`` on the study's files; ``LocalModelError`` when it cannot be run
    or answers something other than an Answer or a Rejection (the model's own exceptions go
    up, to be counted as a failed attempt)."""
    model = load(name)
    answer = model([pydicom.dcmread(path) for path in files])
    if not isinstance(answer, Answer | Rejection):
        raise LocalModelError(f"the local model {name} answered neither an Answer nor a Rejection")
    return answer
