"""Report-labelling rules as data: findings, ConText modifiers, sections, the history option.

A rule set is read from YAML (``load_rules``) or is the shipped default
(``default_rules.yaml`` beside this module).  A practice's file must list its ``findings``;
``modifiers``, ``sections`` and ``history`` are optional and, when left out, are the
default's.  Every key is checked: an unknown key, a wrong type, an empty list or a regular
expression that does not compile is refused with a message naming where it is
(``findings[2] (pneumothorax).patterns[0]: ...``).

``RuleSet.sha256`` hashes the canonical JSON of the whole resolved rule set (defaults filled
in), so two files that say the same thing in a different layout have the same hash, and a
label can name exactly which rules made it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast, get_args

import yaml

__all__ = [
    "Category",
    "Direction",
    "Finding",
    "History",
    "Modifier",
    "RuleSet",
    "RulesError",
    "SectionKind",
    "default_rules",
    "load_rules",
    "parse_rules",
]

Category = Literal["negated", "uncertain", "historical", "hypothetical", "pseudo", "terminate"]
Direction = Literal["forward", "backward", "both"]
History = Literal["positive", "negative", "uncertain", "ignore"]
SectionKind = Literal["impression", "findings", "ignore"]

CATEGORIES: tuple[str, ...] = get_args(Category)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
HISTORY_CHOICES: tuple[str, ...] = get_args(History)
SECTION_KINDS: tuple[str, ...] = get_args(SectionKind)

TOP_KEYS = ("findings", "modifiers", "sections", "history")
FINDING_KEYS = ("name", "terms", "patterns", "exclude")
MODIFIER_KEYS = ("category", "direction", "terms", "patterns")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\- ]*$")


class RulesError(ValueError):
    """A rule file that cannot be used; the message names where and why."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A model's target: the phrases (``terms``) and regular expressions (``patterns``) that
    name it, and phrases containing a term that are not it (``exclude``)."""

    name: str
    terms: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Modifier:
    """ConText trigger phrases of one category and direction (``terminate`` has none)."""

    category: Category
    direction: Direction | None
    terms: tuple[str, ...]
    patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleSet:
    findings: tuple[Finding, ...]
    modifiers: tuple[Modifier, ...]
    sections: Mapping[str, tuple[str, ...]]  # impression / findings / ignore -> header names
    history: History = "positive"
    source: str = "default"

    def canonical(self) -> dict[str, Any]:
        """The rule set as plain data (what is hashed; ``source`` is not part of it)."""
        return {
            "findings": [
                {"name": f.name, "terms": list(f.terms), "patterns": list(f.patterns),
                 "exclude": list(f.exclude)}
                for f in self.findings
            ],
            "modifiers": [
                {"category": m.category, "direction": m.direction, "terms": list(m.terms),
                 "patterns": list(m.patterns)}
                for m in self.modifiers
            ],
            "sections": {kind: list(self.sections[kind]) for kind in SECTION_KINDS},
            "history": self.history,
        }  # fmt: skip

    @property
    def sha256(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def finding_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.findings)


# --------------------------------------------------------------------------- checking


def _mapping(value: object, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RulesError(f"{where}: expected a mapping with keys {', '.join(allowed)}")
    unknown = [str(k) for k in value if k not in allowed]
    if unknown:
        raise RulesError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(allowed)})")
    return cast(dict[str, Any], value)


def _phrases(value: object, where: str, *, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise RulesError(f"{where}: expected a non-empty list of phrases")
    out: list[str] = []
    for i, item in enumerate(value):
        # YAML reads a bare no/yes/on/off as a boolean: say so rather than guess
        if isinstance(item, bool):
            raise RulesError(
                f'{where}[{i}]: YAML read this as {item!r}; quote the phrase, e.g. "no"'
            )
        if not isinstance(item, str | int | float) or not str(item).strip():
            raise RulesError(f"{where}[{i}]: expected a non-empty phrase")
        out.append(" ".join(str(item).split()))
    return tuple(out)


def _patterns(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RulesError(f"{where}: expected a list of regular expressions")
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise RulesError(f"{where}[{i}]: expected a regular expression")
        try:
            compiled = re.compile(item, re.IGNORECASE)
        except re.error as err:
            raise RulesError(f"{where}[{i}]: not a valid regular expression ({err})") from None
        if compiled.groupindex or re.search(r"\\[1-9]", item):
            raise RulesError(
                f"{where}[{i}]: named groups and backreferences are not allowed "
                "(patterns are combined into one expression)"
            )
        if compiled.fullmatch("") is not None:
            raise RulesError(f"{where}[{i}]: the expression matches empty text")
        out.append(item)
    return tuple(out)


def _finding(value: object, i: int) -> Finding:
    where = f"findings[{i}]"
    data = _mapping(value, where, FINDING_KEYS)
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise RulesError(
            f"{where}: 'name' must be letters, digits, '_', '-' or spaces (got {name!r})"
        )
    where = f"findings[{i}] ({name})"
    terms = _phrases(data.get("terms"), f"{where}.terms", required="patterns" not in data)
    patterns = _patterns(data.get("patterns"), f"{where}.patterns")
    if not terms and not patterns:
        raise RulesError(f"{where}: give at least one term or pattern")
    exclude = _phrases(data.get("exclude"), f"{where}.exclude", required=False)
    return Finding(name, terms, patterns, exclude)


def _modifier(value: object, i: int) -> Modifier:
    where = f"modifiers[{i}]"
    data = _mapping(value, where, MODIFIER_KEYS)
    category = data.get("category")
    if category not in CATEGORIES:
        raise RulesError(f"{where}: 'category' must be one of {', '.join(CATEGORIES)}")
    direction = data.get("direction")
    if category == "terminate":
        if direction is not None:
            raise RulesError(f"{where}: a terminate modifier has no direction")
    elif direction not in DIRECTIONS:
        raise RulesError(f"{where}: 'direction' must be one of {', '.join(DIRECTIONS)}")
    where = f"{where} ({category})"
    terms = _phrases(data.get("terms"), f"{where}.terms", required="patterns" not in data)
    patterns = _patterns(data.get("patterns"), f"{where}.patterns")
    return Modifier(cast(Category, category), cast(Direction | None, direction), terms, patterns)


def _sections(value: object) -> dict[str, tuple[str, ...]]:
    data = _mapping(value, "sections", SECTION_KINDS)
    missing = [k for k in SECTION_KINDS if k not in data]
    if missing:
        raise RulesError(f"sections: missing {', '.join(missing)}")
    out = {kind: _phrases(data[kind], f"sections.{kind}", required=True) for kind in SECTION_KINDS}
    seen: dict[str, str] = {}
    for kind, names in out.items():
        for name in names:
            if name.lower() in seen and seen[name.lower()] != kind:
                raise RulesError(
                    f"sections: {name!r} is both in {seen[name.lower()]} and in {kind}"
                )
            seen[name.lower()] = kind
    return out


def _rule_set(data: object, source: str, defaults: RuleSet | None) -> RuleSet:
    top = _mapping(data, "the rule file", TOP_KEYS)
    if "findings" not in top and defaults is None:
        raise RulesError("the rule file: 'findings' is required")
    if "findings" in top:
        raw = top["findings"]
        if not isinstance(raw, list) or not raw:
            raise RulesError("findings: expected a non-empty list")
        findings = tuple(_finding(item, i) for i, item in enumerate(raw))
        names = [f.name for f in findings]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise RulesError(f"findings: the name {dupes[0]!r} is used more than once")
    else:
        findings = cast(RuleSet, defaults).findings
    if "modifiers" in top:
        raw = top["modifiers"]
        if not isinstance(raw, list) or not raw:
            raise RulesError("modifiers: expected a non-empty list")
        modifiers = tuple(_modifier(item, i) for i, item in enumerate(raw))
    else:
        modifiers = cast(RuleSet, defaults).modifiers
    sections = (
        _sections(top["sections"]) if "sections" in top else dict(cast(RuleSet, defaults).sections)
    )
    history = top.get("history", defaults.history if defaults else "positive")
    if history not in HISTORY_CHOICES:
        raise RulesError(f"history: must be one of {', '.join(HISTORY_CHOICES)}")
    return RuleSet(findings, modifiers, sections, cast(History, history), source)


# --------------------------------------------------------------------------- loading


def _read_yaml(text: str, source: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "not valid YAML"
        raise RulesError(f"{source}: not valid YAML{where}: {problem}") from None


_DEFAULT: RuleSet | None = None


def default_rules() -> RuleSet:
    """The rule set shipped with radgov (``radgov/nlp/default_rules.yaml``)."""
    global _DEFAULT
    if _DEFAULT is None:
        text = resources.files("radgov.nlp").joinpath("default_rules.yaml").read_text("utf-8")
        _DEFAULT = _rule_set(_read_yaml(text, "default_rules.yaml"), "default", None)
    return _DEFAULT


def parse_rules(text: str, *, source: str = "rules") -> RuleSet:
    """A practice's rules from YAML text; keys left out are the default rule set's."""
    return _rule_set(_read_yaml(text, source), source, default_rules())


def load_rules(path: str | Path | None = None) -> RuleSet:
    """The rules in ``path``, or the default rule set when ``path`` is None."""
    if path is None:
        return default_rules()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RulesError(f"cannot read the rule file {p.name}: {err}") from None
    return parse_rules(text, source=p.name)
