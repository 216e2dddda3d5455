"""A model's outputs for one inference (III.F.1): score, call, confidence, structured
findings, the version it reported and the vendor's own status.  :meth:`Outputs.validated`
gives the ``Inference`` fields or raises ``ExamError`` naming each bad place
(``findings[2].measurements[0].value``).  The findings' shape is in docs/exams.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from radgov.exams.errors import ExamError, Problem
from radgov.exams.metadata import as_number
from radgov.exams.statuses import Call

FINDING_KEYS = ("label", "present", "score", "confidence", "code", "location", "measurements")
CODE_KEYS = ("scheme", "value", "meaning")
MEASUREMENT_KEYS = ("name", "value", "unit")
MAX_FINDINGS = 500
TEXT_MAX = 200
CALLS = frozenset(Call.values)  # an enum's values are worked out at each call


@dataclass(frozen=True)
class Outputs:
    score: float | None = None
    call: str = ""
    confidence: float | None = None
    findings: list[dict[str, Any]] | str | None = None  # a list, or JSON text of one
    model_version: str = ""
    vendor_status: str = ""
    vendor_reason: str = ""

    def validated(self) -> dict[str, Any]:
        problems: list[Problem] = []
        score = _number(self.score, "score", problems)
        confidence = _number(self.confidence, "confidence", problems, low=0.0, high=1.0)
        call = (self.call or "").strip().lower()
        if call and call not in CALLS:
            problems.append(Problem("call", f"must be one of {', '.join(Call.values)}"))
        findings = _findings(self.findings, problems)
        texts = {}
        for name, limit in (("model_version", 64), ("vendor_status", 64), ("vendor_reason", 2000)):
            texts[name] = (getattr(self, name) or "").strip()
            if len(texts[name]) > limit:
                problems.append(Problem(name, f"is longer than {limit} characters"))
        if problems:
            raise ExamError(problems)
        return {
            "score": score,
            "call": call,
            "confidence": confidence,
            "findings": findings,
            **texts,
        }


def _number(
    value: object,
    where: str,
    problems: list[Problem],
    *,
    low: float | None = None,
    high: float | None = None,
) -> float | None:
    if value is None:
        return None
    number = as_number(value)
    if number is None or isinstance(value, str):
        problems.append(Problem(where, "must be a finite number"))
        return None
    if (low is not None and number < low) or (high is not None and number > high):
        problems.append(Problem(where, f"must be from {low:g} to {high:g}"))
        return None
    return number


def _text(value: object, where: str, problems: list[Problem], *, required: bool = False) -> None:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > TEXT_MAX:
        need = "non-empty text" if required else "text"
        problems.append(Problem(where, f"must be {need} of at most {TEXT_MAX} characters"))


def _objects(
    items: list[Any], where: str, keys: tuple[str, ...], needs: str, problems: list[Problem]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each item that is an object, with its place (``where[i]``); an item that is not an
    object, and a key not in ``keys``, are problems."""
    for i, item in enumerate(items):
        place = f"{where}[{i}]"
        if not isinstance(item, dict):
            problems.append(Problem(place, f"must be an object with {needs}"))
            continue
        problems.extend(
            Problem(f"{place}.{key}", f"is not a known key ({', '.join(keys)})")
            for key in item
            if key not in keys
        )
        yield place, item


def _findings(value: object, problems: list[Problem]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):  # a file's cell holds them as JSON text
        try:
            value = json.loads(value)
        except ValueError:
            problems.append(Problem("findings", "is not JSON (a list of findings)"))
            return []
    if not isinstance(value, list) or len(value) > MAX_FINDINGS:
        problems.append(Problem("findings", f"must be a list of at most {MAX_FINDINGS} findings"))
        return []
    for where, item in _objects(value, "findings", FINDING_KEYS, "a label", problems):
        _text(item.get("label"), f"{where}.label", problems, required=True)
        if "present" in item and not isinstance(item["present"], bool):
            problems.append(Problem(f"{where}.present", "must be true or false"))
        _number(item.get("score"), f"{where}.score", problems)
        _number(item.get("confidence"), f"{where}.confidence", problems, low=0.0, high=1.0)
        if "location" in item:
            _text(item["location"], f"{where}.location", problems)
        if "code" in item:
            _code(item["code"], f"{where}.code", problems)
        if "measurements" in item:
            _measurements(item["measurements"], f"{where}.measurements", problems)
    return list(value)


def _code(code: object, where: str, problems: list[Problem]) -> None:
    if not isinstance(code, dict) or set(code) != set(CODE_KEYS):
        problems.append(Problem(where, f"must be an object with exactly {', '.join(CODE_KEYS)}"))
        return
    for key in CODE_KEYS:
        _text(code[key], f"{where}.{key}", problems, required=True)


def _measurements(items: object, where: str, problems: list[Problem]) -> None:
    if not isinstance(items, list):
        problems.append(Problem(where, "must be a list of {name, value, unit}"))
        return
    for place, m in _objects(items, where, MEASUREMENT_KEYS, "name, value and unit", problems):
        _text(m.get("name"), f"{place}.name", problems, required=True)
        _text(m.get("unit"), f"{place}.unit", problems, required=True)
        if m.get("value") is None:
            problems.append(Problem(f"{place}.value", "must be a finite number"))
        else:
            _number(m["value"], f"{place}.value", problems)
