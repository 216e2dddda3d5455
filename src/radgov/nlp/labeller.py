"""Label a radiology report per finding: positive, negative or uncertain, with the evidence.

The algorithm is ConText (Harkema, Dowling, Thornblade & Chapman 2009, "ConText: an
algorithm for determining negation, experiencer, and temporal status from clinical
reports", J Biomed Inform 42:839-851), itself grown from NegEx (Chapman, Bridewell, Hanbury,
Cooper & Buchanan 2001, J Biomed Inform 34:301-310), on sentences of a sectioned report:

1. Sections: a line starting with a header name of the rule set (``IMPRESSION:``) opens that
   section; ignored sections (history, indication, comparison, technique, ...) are not read.
2. Targets: one regular expression for every finding's terms finds the mentions; a mention
   inside an ``exclude`` phrase ("pericardial effusion") is no mention.
3. Modifiers: in each sentence holding a mention, one regular expression finds the trigger
   phrases; at one place the longest phrase wins, so a pseudo-trigger ("no change in")
   hides the negation inside it.  A trigger's scope runs forward to the end of the sentence
   and/or backward to its start, ended earlier by a termination phrase ("but", "however")
   or a pseudo-trigger.
4. A mention in the scope of a hypothetical trigger ("evaluate for") asserts nothing and is
   dropped; otherwise uncertain beats negated, negated beats historical, and a historical
   mention counts as the rule set's ``history`` says (dropped when ``ignore``); a mention
   without a trigger is positive.
5. Per finding, the impression's mentions decide when it has any, else the findings' (and
   text before any header); among those, positive beats uncertain beats negative.  The
   label carries the deciding mention's sentence, the trigger that fired and the section.

Python loops run over mentions and triggers only; the text itself is scanned by compiled
regular expressions (targets once per report, triggers once per sentence with a mention).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .rules import Modifier, RuleSet, default_rules

__all__ = [
    "LABELLER_VERSION",
    "Label",
    "LabelValue",
    "Labeller",
    "Mention",
]

# bump when the algorithm changes in a way that can change a label
LABELLER_VERSION = "1"

LabelValue = Literal["positive", "negative", "uncertain"]
LABEL_VALUES: tuple[LabelValue, ...] = ("positive", "negative", "uncertain")
RANK = {"positive": 0, "uncertain": 1, "negative": 2}  # within a section: lower wins
NO_HEADER = "(no header)"
# a mention's status -> its label (historical: as the rule set's ``history`` says;
# hypothetical: none)
STATUS_LABEL: dict[str, LabelValue] = {
    "positive": "positive",
    "negated": "negative",
    "uncertain": "uncertain",
}

# a sentence ends at . ! ? ; before whitespace (not after "vs", "e.g", "i.e", "Dr"), at a
# blank line, and at a line break before a capital, a digit or a bullet
_SPLIT = re.compile(
    r"[.!?;](?=\s|$)(?<!\bvs.)(?<!\be\.g.)(?<!\bi\.e.)(?<!\bDr.)"
    r"|\n[ \t]*(?=\n|[ \t]*[A-Z0-9\u2022*\-])"
)


def _normal(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def _trie(phrases: Iterable[str]) -> tuple[str, str]:
    """One expression for many literal phrases, factored as a trie so that the engine tries
    each next character once instead of every phrase at every place; at one place it takes
    the longest phrase that ends on a word boundary (whole words).  Two expressions: for
    the phrases that start with a letter or digit (to be tried at the start of a word only),
    and for the others (": none")."""
    root: dict[str, Any] = {}
    for phrase in phrases:
        node = root
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any], last: str) -> str:
        branches = [
            (r"\s+" if ch == " " else re.escape(ch)) + build(node[ch], ch)
            for ch in sorted(k for k in node if k)
        ]
        if "" in node:
            branches.append(r"(?!\w)" if re.match(r"\w", last) else "")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    words = {ch: node for ch, node in root.items() if re.match(r"\w", ch)}
    others = {ch: node for ch, node in root.items() if ch not in words}
    return (build(words, "") if words else "", build(others, "") if others else "")


def _matcher(patterns: Sequence[str], phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Patterns first (named groups ``p0``, ``p1``, ...), then the phrases (group ``lit``, or
    ``lit_`` for phrases starting with punctuation).  The start-of-word test is made once per
    place for all of them, not once per alternative: half the time of scanning a report."""
    words, others = _trie(phrases)
    at_word = [f"(?P<p{i}>(?:{p})(?!\\w))" for i, p in enumerate(patterns)]
    if words:
        at_word.append(f"(?P<lit>{words})")
    alternatives = [r"(?<!\w)(?:" + "|".join(at_word) + ")"] if at_word else []
    if others:
        alternatives.append(f"(?P<lit_>{others})")
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


@dataclass(frozen=True, slots=True)
class _Trigger:
    start: int
    end: int
    category: str
    direction: str | None
    phrase: str


@dataclass(frozen=True, slots=True)
class Mention:
    """One mention of a finding, with what ConText made of it."""

    finding: str
    status: str  # positive | negated | uncertain | historical | hypothetical
    start: int  # the mention's own span
    end: int
    sentence_start: int
    sentence_end: int
    section: str
    rule: str


@dataclass(frozen=True, slots=True)
class Label:
    """The labeller's answer for one finding of one report."""

    finding: str
    label: LabelValue
    evidence: str  # the deciding sentence, whitespace collapsed
    evidence_start: int  # offsets of that sentence in the report text
    evidence_end: int
    term: str  # the words that named the finding
    rule: str  # the trigger that decided, e.g. "negated forward 'no evidence of'"
    section: str
    version: str


class Labeller:
    """Compiled rules; ``label(text)`` labels one report.  Safe to share between threads."""

    def __init__(self, rules: RuleSet | None = None) -> None:
        self.rules = rules if rules is not None else default_rules()
        self.rules_hash = self.rules.sha256
        # the version a label carries: the algorithm's and the exact rules'
        self.version = f"radgov-nlp/{LABELLER_VERSION}+rules.{self.rules_hash[:16]}"
        self._compile()

    # ----------------------------------------------------------------- compiling

    def _compile(self) -> None:
        # a matched phrase, lower-cased with single spaces, names its finding (None: an
        # exclusion); a term also stands for its plural in -s and -es
        self._target_of: dict[str, str | None] = {}
        target_patterns: list[str] = []
        self._target_pattern_of: list[str] = []
        for finding in self.rules.findings:
            for term in finding.terms:
                plural = ("", "s", "es") if term[-1:].isalpha() else ("",)
                for ending in plural:
                    self._target_of.setdefault(_normal(term + ending), finding.name)
            for x in finding.exclude:
                self._target_of.setdefault(_normal(x), None)
            target_patterns += finding.patterns
            self._target_pattern_of += [finding.name] * len(finding.patterns)
        self._targets = _matcher(target_patterns, self._target_of)

        # a phrase may stand in several modifiers ("resolved" both forward and backward)
        self._trigger_of: dict[str, list[tuple[Modifier, str]]] = {}
        trigger_patterns: list[str] = []
        self._trigger_pattern_of: list[tuple[Modifier, str]] = []
        for modifier in self.rules.modifiers:
            for term in modifier.terms:
                self._trigger_of.setdefault(_normal(term), []).append((modifier, term))
            trigger_patterns += modifier.patterns
            self._trigger_pattern_of += [(modifier, p) for p in modifier.patterns]
        self._triggers = _matcher(trigger_patterns, self._trigger_of)

        kinds: dict[str, str] = {}
        for kind, names in self.rules.sections.items():
            for name in names:
                kinds[" ".join(name.lower().split())] = kind
        self._section_kind = kinds
        headers = sorted(kinds, key=len, reverse=True)
        alternatives = "|".join(r"[ \t]+".join(map(re.escape, h.split())) for h in headers)
        self._headers = re.compile(
            rf"(?:^|(?<=[.!?]\s))[ \t]*(?P<h>{alternatives})[ \t]*(?::|$)",
            re.IGNORECASE | re.MULTILINE,
        )

    # ----------------------------------------------------------------- labelling

    def label(self, text: str) -> list[Label]:
        """One label per finding the report mentions, in the rule set's finding order."""
        return self.decide(text, self.mentions(text))

    def decide(self, text: str, mentions: Iterable[Mention]) -> list[Label]:
        """Labels from a report's mentions (step 5): ``label`` without finding the mentions,
        for mentions found some other way (the benchmark feeds medspacy's through it)."""
        chosen: dict[str, tuple[tuple[int, int], Mention]] = {}
        for mention in mentions:
            value = self._value(mention.status)
            if value is None:
                continue
            section_rank = 0 if mention.section == "impression" else 1
            key = (section_rank, RANK[value])
            if mention.finding not in chosen or key < chosen[mention.finding][0]:
                chosen[mention.finding] = (key, mention)
        labels: list[Label] = []
        for name in self.rules.finding_names:
            if name in chosen:
                m = chosen[name][1]
                labels.append(
                    Label(
                        finding=name,
                        label=self._value(m.status) or "positive",
                        evidence=" ".join(text[m.sentence_start : m.sentence_end].split()),
                        evidence_start=m.sentence_start,
                        evidence_end=m.sentence_end,
                        term=" ".join(text[m.start : m.end].split()),
                        rule=m.rule,
                        section=m.section,
                        version=self.version,
                    )
                )
        return labels

    def _value(self, status: str) -> LabelValue | None:
        if status == "historical":
            history = self.rules.history
            return None if history == "ignore" else history
        return STATUS_LABEL.get(status)

    def mentions(self, text: str) -> list[Mention]:
        """Every mention of a finding outside ignored sections, with its ConText status."""
        if self._targets is None:
            return []
        found = [
            (m.start(), m.end(), name)
            for m in self._targets.finditer(text)
            if (name := self._target_name(m)) is not None
        ]
        if not found:
            return []
        section_starts, section_names, header_ends = self._sections(text)
        # a header is a sentence of its own: "IMPRESSION: Negative for PE" must not read as
        # the backward trigger ": negative"
        splits = [m.end() for m in _SPLIT.finditer(text)]
        splits = sorted({0, *splits, *section_starts, *header_ends, len(text)})
        triggers_in: dict[int, list[_Trigger]] = {}
        mentions: list[Mention] = []
        spans = [(s, e) for s, e, _ in found]
        for start, end, finding in found:
            section = section_names[bisect_right(section_starts, start) - 1]
            if self._section_kind.get(section) == "ignore":
                continue
            i = bisect_right(splits, start)
            s_start, s_end = splits[i - 1], splits[i] if i < len(splits) else len(text)
            s_end = max(s_end, end)
            if s_start not in triggers_in:
                triggers_in[s_start] = self._find_triggers(text, s_start, s_end, spans)
            status, rule = self._status(triggers_in[s_start], start, end, s_start, s_end)
            kind = self._section_kind.get(section)
            mentions.append(
                Mention(
                    finding=finding,
                    status=status,
                    start=start,
                    end=end,
                    sentence_start=s_start,
                    sentence_end=s_end,
                    section=kind if kind in ("impression", "findings") else section,
                    rule=rule,
                )
            )
        return mentions

    def _sections(self, text: str) -> tuple[list[int], list[str], list[int]]:
        """Where each section starts, its header's name, and where each header ends."""
        starts, names, ends = [0], [NO_HEADER], []
        for m in self._headers.finditer(text):
            starts.append(m.start("h"))
            names.append(" ".join(m.group("h").lower().split()))
            ends.append(m.end())
        return starts, names, ends

    def _find_triggers(
        self, text: str, start: int, end: int, targets: list[tuple[int, int]]
    ) -> list[_Trigger]:
        if self._triggers is None:
            return []
        out: list[_Trigger] = []
        for m in self._triggers.finditer(text, start, end):
            a, b = m.span()
            # a trigger overlapping a mention is part of the finding's name, not a trigger
            if any(a < t_end and t_start < b for t_start, t_end in targets):
                continue
            if m.lastgroup in ("lit", "lit_"):
                entries = self._trigger_of[_normal(m.group())]
            else:
                entries = [self._trigger_pattern_of[int(m.lastgroup[1:])]]  # type: ignore[index]
            for modifier, phrase in entries:
                out.append(_Trigger(a, b, modifier.category, modifier.direction, phrase))
        return out

    def _target_name(self, m: re.Match[str]) -> str | None:
        if m.lastgroup in ("lit", "lit_"):
            return self._target_of[_normal(m.group())]
        return self._target_pattern_of[int(m.lastgroup[1:])]  # type: ignore[index]

    @staticmethod
    def _status(
        triggers: list[_Trigger], start: int, end: int, s_start: int, s_end: int
    ) -> tuple[str, str]:
        """The mention's status and the trigger that decided it (ConText scope rules)."""
        # termination phrases and pseudo-triggers end every other trigger's scope
        stops = [t for t in triggers if t.category in ("terminate", "pseudo")]
        hits: dict[str, _Trigger] = {}
        for t in triggers:
            if t.category in ("terminate", "pseudo"):
                continue
            if t.direction in ("forward", "both") and t.end <= start:
                limit = min((x.start for x in stops if x.start >= t.end), default=s_end)
                if start < limit:
                    hits[t.category] = t  # the closest trigger before the mention
            if t.direction in ("backward", "both") and end <= t.start:
                limit = max((x.end for x in stops if x.end <= t.start), default=s_start)
                if end > limit and t.category not in hits:
                    hits[t.category] = t
        for category, status in (
            ("hypothetical", "hypothetical"),
            ("uncertain", "uncertain"),
            ("negated", "negated"),
            ("historical", "historical"),
        ):
            if category in hits:
                t = hits[category]
                return status, f"{category} {t.direction} {t.phrase!r}"
        return "positive", "affirmed (no modifier in scope)"
