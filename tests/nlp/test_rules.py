"""Rule files: the shipped default, a practice's file on top of it, and every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from radgov.nlp import RulesError, default_rules, load_rules, parse_rules

TARGETS = {
    "intracranial_hemorrhage",
    "pulmonary_embolism",
    "pneumothorax",
    "large_vessel_occlusion",
    "fracture",
    "pulmonary_nodule",
    "pleural_effusion",
}


def test_default_rules_cover_the_seven_targets_and_every_modifier_category() -> None:
    rules = default_rules()
    assert set(rules.finding_names) == TARGETS
    categories = {m.category for m in rules.modifiers}
    assert categories == {"negated", "uncertain", "historical", "hypothetical", "pseudo",
                          "terminate"}  # fmt: skip
    assert rules.history == "positive"
    assert {"impression", "findings", "ignore"} == set(rules.sections)
    assert load_rules(None) is rules


def test_a_practice_file_needs_only_its_findings(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("findings:\n  - name: aortic_dissection\n    terms: [aortic dissection]\n")
    rules = load_rules(path)
    assert rules.finding_names == ("aortic_dissection",)
    assert rules.modifiers == default_rules().modifiers
    assert rules.sections == default_rules().sections
    assert rules.source == "rules.yaml"


def test_the_hash_is_of_the_content_not_the_layout() -> None:
    block = parse_rules(
        "history: negative\nfindings:\n- name: x\n  terms: [a b, c]\n", source="one"
    )
    flow = parse_rules(
        "findings: [{terms: ['a   b', c], name: x}]\n# a comment\nhistory: negative\n",
        source="two",
    )
    assert block.sha256 == flow.sha256
    other = parse_rules("history: ignore\nfindings: [{name: x, terms: [a b, c]}]\n")
    assert other.sha256 != block.sha256


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("findings: [{name: x, terms: [a]}]\nmodifier: []\n",
         "the rule file: unknown key 'modifier'"),
        ("findings: [{name: x, term: [a]}]\n", "findings[0]: unknown key 'term'"),
        ("findings: [{name: x, terms: [a]}, {name: y, patterns: ['(unclosed']}]\n",
         "findings[1] (y).patterns[0]: not a valid regular expression"),
        ("findings: [{name: x, patterns: ['(?P<g>a)']}]\n",
         "findings[0] (x).patterns[0]: named groups and backreferences are not allowed"),
        ("findings: [{name: x, patterns: ['a*']}]\n",
         "findings[0] (x).patterns[0]: the expression matches empty text"),
        ("findings: [{name: x, terms: []}]\n", "findings[0] (x).terms: expected a non-empty list"),
        ("findings: [{name: x, terms: [a]}, {name: x, terms: [b]}]\n",
         "the name 'x' is used more than once"),
        ("findings: [{name: 'a,b', terms: [a]}]\n", "findings[0]: 'name' must be"),
        ("findings: [{name: x, terms: [a]}]\nhistory: maybe\n", "history: must be one of"),
        ("findings: [{name: x, terms: [a]}]\nmodifiers: [{category: negated, direction: forward,"
         " terms: [no]}]\n", "modifiers[0] (negated).terms[0]: YAML read this as False"),
        ("findings: [{name: x, terms: [a]}]\nmodifiers: [{category: denied, terms: [a]}]\n",
         "modifiers[0]: 'category' must be one of"),
        ("findings: [{name: x, terms: [a]}]\nmodifiers: [{category: terminate, direction: forward,"
         " terms: [but]}]\n", "modifiers[0]: a terminate modifier has no direction"),
        ("findings: [{name: x, terms: [a]}]\nsections: {impression: [a], findings: [a], "
         "ignore: [b]}\n", "sections: 'a' is both in impression and in findings"),
        ("findings: [{name: x, terms: [a]}]\nsections: {impression: [a], findings: [b]}\n",
         "sections: missing ignore"),
        ("findings:\n  - name: x\n   terms: [a]\n", "not valid YAML at line 3"),
        ("- just a list\n", "the rule file: expected a mapping"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_naming_where(text: str, message: str) -> None:
    with pytest.raises(RulesError) as err:
        parse_rules(text)
    assert message in str(err.value)


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read the rule file missing.yaml"):
        load_rules(tmp_path / "missing.yaml")
